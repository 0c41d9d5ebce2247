// RUN: lorc-opt %s --lorc-cuda-loops-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner | FileCheck %s
// RUN: lorc-opt %s --lorc-cuda-loops-cpu-pipeline | FileCheck %s --check-prefix=TWIN
// RUN: lorc-opt %s --lorc-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: lorc-opt %s --lorc-cuda-pipeline="format=" | FileCheck %s --check-prefix=CUDA
// RUN: %if ptxas %{ lorc-opt %s --lorc-cuda-pipeline > %t.mlir %}
// RUN: %if ptxas %{ rm -rf %t.ptx && %python %S/../Pipelines/Inputs/extract_ptx.py %t.mlir %t.ptx %}
// RUN: %if ptxas %{ for f in %t.ptx/*.ptx; do %ptxas -arch=sm_90 $f -o $f.cubin || exit 1; done %}

// An FP8 layer (issue 10) as the CUDA pipelines lower it: the GEMM on the FP8 codes (cuBLASLt's
// FP8 GEMM on the device, lorc_cpu_matmul_fp8_* in the CPU twin), then the scales and the bias,
// Y = (Σ_k x_q·w_q) / (s_x · s_w[n]) + b. The CPU pipeline runs the emulation (dequantise, f32
// GEMM); every value here is exact, so all three print the same numbers:
//   x_q = x · 2: row 0 all 1, row 1 alternating 2, -2; w_q[n][k] = ±(k % 4 + 1) / 2 (+ for
//   even n), s_w = [1, 2, 4, 0.5], b = [0, 1, 0, -1].
//   Row 0: Σ_k w_q = ±20, so y = [20/2, -20/4 + 1, 20/8, -20/1 - 1] = [10, -4, 2.5, -21].
//   Row 1: Σ_k x_q·w_q = ±2·4·(0.5 - 1 + 1.5 - 2) = ∓8: [-8/2, 8/4 + 1, -8/8, 8/1 - 1].
// CHECK: [10, -4, 2.5, -21]
// CHECK-NEXT: [-4, 3, -1, 7]

// TWIN: llvm.call @_mlir_ciface_lorc_cpu_matmul_fp8_e4m3_e4m3
// CPU-NOT: matmul_fp8_
// CUDA-NOT: lorc_cuda_matmul_f32
// CUDA: llvm.call @lorc_cuda_matmul_fp8_e4m3_e4m3(
// CUDA-NOT: lorc_cuda_matmul_f32
func.func @main() {
  %x = arith.constant dense<[[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
                             [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0]]> : tensor<2x16xf32>
  %sx = arith.constant dense<2.0> : tensor<f32>
  %wq = arith.constant dense<[
      [0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0],
      [-0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0],
      [0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0],
      [-0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0, -0.5, -1.0, -1.5, -2.0]]> : tensor<4x16xf8E4M3FN>
  %sw = arith.constant dense<[1.0, 2.0, 4.0, 0.5]> : tensor<4xf32>
  %b = arith.constant dense<[0.0, 1.0, 0.0, -1.0]> : tensor<4xf32>
  %xq = lorc.quantize %x, %sx : tensor<2x16xf32>, tensor<f32> -> tensor<2x16xf8E4M3FN>
  %xd = lorc.dequantize %xq, %sx : tensor<2x16xf8E4M3FN>, tensor<f32> -> tensor<2x16xf32>
  %w = lorc.dequantize %wq, %sw {axis = 0 : i64} : tensor<4x16xf8E4M3FN>, tensor<4xf32> -> tensor<4x16xf32>
  %y = lorc.linear %xd, %w, %b : tensor<2x16xf32>, tensor<4x16xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %c = tensor.cast %y : tensor<2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%c) : (tensor<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(tensor<*xf32>) attributes {llvm.emit_c_interface}
