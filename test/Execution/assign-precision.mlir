// RUN: %python %S/../Transforms/Inputs/make_gram.py %t.amax.safetensors w0=scalar:1
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" --lorc-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner | FileCheck %s --check-prefix=F32

// --lorc-assign-precision (E4M3FN) on y = x·Wᵀ with W = [[0.3, 1], [0.3, 0.001]] and an
// activation amax of 1 (scale 448):
//   weight, per row: row 0 amax 1 → 0.3·448 = 134.4 → 128 → 0.285714; 1 stays 1.
//                    row 1 amax 0.3 → 0.3 stays 0.3; 0.001·1493.3 = 1.493 → 1.5 → 0.0010045.
//   input: 0.3·448 = 134.4 → 128 → 0.285714; 1 stays 1.
// y row 0 = 0.285714·[0.285714, 0.3] = [0.0816327, 0.0857143]; row 1 = [1, 0.0010045].
// CHECK: [0.0816327, 0.0857143]
// CHECK-NEXT: [1, 0.00100446]
// In f32: [0.09, 0.09] and [1, 0.001].
// F32: [0.09, 0.09]
// F32-NEXT: [1, 0.001]
func.func @main() {
  %x = arith.constant dense<[[0.3, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %y = lorc.linear %x, %w : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  %c = tensor.cast %y : tensor<2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%c) : (tensor<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(tensor<*xf32>) attributes {llvm.emit_c_interface}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000009A99993E0000803F9A99993E6F12833A"
    }
  }
#-}
