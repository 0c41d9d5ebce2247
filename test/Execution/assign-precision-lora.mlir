// RUN: %python %S/../Transforms/Inputs/make_gram.py %t.amax.safetensors w0=scalar:1
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" --lorc-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" --lorc-fuse-lora-gemm --lorc-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" | FileCheck %s --check-prefix=IR
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" --lorc-fuse-lora-gemm | FileCheck %s --check-prefix=FUSED

// LoRA on an FP8 base (issue 10): --lorc-assign-precision lowers only the base product; the
// adapter's side path reads the f32 input. y = x·Wᵀ + (x·Aᵀ)·Bᵀ with
// x = [[0.3, 0], [0, 1]], W = [[0.3, 1], [0.3, 0.001]], A = [[1, 1]], B = [[1], [1]]:
//   FP8 base (test/Execution/assign-precision.mlir derives it): [[0.0816327, 0.0857143],
//                                                                [1, 0.00100446]];
//   f32 side path: x·Aᵀ = [0.3, 1] → [[0.3, 0.3], [1, 1]];
//   sum: [[0.381633, 0.385714], [2, 1.001]].
// Had the side path read the FP8 input (0.3 → 0.285714), row 0 would be [0.367347, 0.371429].
// The same through --lorc-fuse-lora-gemm: one GEMM over [dequantize(quantize(x)), x·Aᵀ].
// CHECK: [0.381633, 0.385714]
// CHECK-NEXT: [2, 1.001]
// IR: %[[Q:.*]] = lorc.quantize %[[X:[^ ,]+]]
// IR: %[[D:.*]] = lorc.dequantize %[[Q]]
// IR: lorc.linear %[[X]], %{{.*}} adapters(%{{.*}} : !lorc.adapter<2, 2>) base(%[[D]] : tensor<2x2xf32>) {lorc.precision = {{.*}}precision = "fp8-e4m3"
// FUSED: %[[D:.*]] = lorc.dequantize
// FUSED: %[[A:.*]] = lorc.linear %[[X:[^ ,]+]], %{{.*}} {lorc.adapter_factor}
// FUSED: tensor.concat dim(1) %[[D]], %[[A]]
// FUSED: lorc.linear {{.*}} {lorc.precision = {{.*}}precision = "fp8-e4m3"
func.func @main() {
  %x = arith.constant dense<[[0.3, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %a = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[[1.0], [1.0]]> : tensor<2x1xf32>
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<1x2xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 2>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<2, 2>) : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
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
