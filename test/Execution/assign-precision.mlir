// RUN: %python %S/../Transforms/Inputs/make_gram.py %t.amax.safetensors w0=scalar:1
// RUN: lorc-opt %s --lorc-assign-precision="layers=all amax=%t.amax.safetensors" --lorc-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner | FileCheck %s --check-prefix=F32
// RUN: lorc-opt %s --lorc-assign-precision="layers=w0:bf16" --lorc-cpu-pipeline | %lorc_runner \
// RUN:   | FileCheck %s --check-prefix=BF16
// RUN: lorc-opt %s --lorc-assign-precision="precision=bf16 layers=all" | FileCheck %s --check-prefix=BF16-IR
// RUN: lorc-opt %s --lorc-assign-precision="layers=w0:bf16" --lorc-cpu-pipeline | FileCheck %s --check-prefix=BF16-GEMM
// RUN: %if ptxas %{ lorc-opt %s --lorc-assign-precision="precision=bf16 layers=all" --lorc-cuda-pipeline="chip=sm_80" > %t.bf16.mlir %}
// RUN: %if ptxas %{ rm -rf %t.bf16 && %python %S/../Pipelines/Inputs/extract_ptx.py %t.bf16.mlir %t.bf16 %}
// RUN: %if ptxas %{ cat %t.bf16/*.ptx | FileCheck %s --check-prefix=BF16-PTX %}
// RUN: %if ptxas %{ for f in %t.bf16/*.ptx; do %ptxas -arch=sm_80 $f -o $f.cubin || exit 1; done %}
// RUN: not lorc-opt %s --lorc-assign-precision="layers=w0:int4" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not lorc-opt %s --lorc-assign-precision="layers=all" 2>&1 | FileCheck %s --check-prefix=NOAMAX

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
// bf16 (nearest even; no amax needed): 0.3 = 0x3E99999A → 0x3E9A = 0.30078125, 0.001 =
// 0x3A83126F → 0x3A83 = 0.000999450684, 1 stays 1; the products are exact in f32:
// 0.30078125² = 0.0904693604.
// BF16: [0.0904694, 0.0904694]
// BF16-NEXT: [1, 0.000999451]
// BF16-IR: %[[W:.*]] = arith.constant dense_resource<w0.bf16>
// BF16-IR: %[[T:.*]] = arith.truncf %{{.*}} : tensor<2x2xf32> to tensor<2x2xbf16>
// BF16-IR: %[[X:.*]] = arith.extf %[[T]] : tensor<2x2xbf16> to tensor<2x2xf32>
// BF16-IR: lorc.linear %[[X]], %[[W]] {lorc.precision = {layer = "w0", precision = "bf16"}}
// On the CPU a bf16 layer's GEMM is oneDNN's bf16 matmul: its operands are bf16 values already.
// BF16-GEMM: llvm.call @_mlir_ciface_lorc_cpu_matmul{{(_epilogue)?}}_bf16
// BF16-GEMM-NOT: lorc_cpu_matmul{{(_epilogue)?}}_f32
// On the CUDA path the bf16 casts are PTX conversions (sm_80 and later):
// BF16-PTX: cvt.rn.bf16.f32
// BF16-PTX: cvt.f32.bf16
// BAD: error: --lorc-assign-precision: layer 'w0': unknown precision 'int4' (expected fp8-e4m3, fp8-e5m2 or bf16)
// NOAMAX: error: --lorc-assign-precision: amax=<file> is required for FP8 layers
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
