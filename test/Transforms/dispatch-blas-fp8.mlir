// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas=library=cuda | FileCheck %s --check-prefix=CUDA
// RUN: not lorc-opt %S/Inputs/dispatch-blas-fp8-bad.mlir -lorc-dispatch-blas=library=cuda 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: lorc-opt %S/Inputs/dispatch-blas-fp8-bad.mlir -lorc-dispatch-blas | FileCheck %s --check-prefix=BAD-CPU

// BAD: error: 'linalg.matmul' op lorc-dispatch-blas: an FP8 GEMM (FP8 A and B, f32 C) on cuda needs A [M, K] row-major and B [N, K] (C += A·Bᵀ, cuBLASLt's only FP8 layout)
// BAD-CPU: call @lorc_cpu_matmul_fp8_e4m3_e4m3(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})

// FP8 GEMMs (issue 10): a matmul with FP8 A and B and f32 C, convert-lorc-to-linalg's fp8-gemm
// form of an FP8 layer (A the quantised input, B the weight's codes [N, K]). On cuda it is
// cuBLASLt's FP8 GEMM, lorc_cuda_matmul_fp8_<A>_<B>, with C's zero fill folded into
// accumulate = 0; on the CPU (the CUDA twin) lorc_cpu_matmul_fp8_<A>_<B> with bIsParameter (1:
// B is a view of the FP8 parameter buffer). The entry point names the formats in order.

// (The printer names an i32 constant 0 %c0_i32[_N] and a 1 %c1_i32[_N].)
// CHECK-LABEL: func.func @fp8_gemm
//       CHECK:   linalg.fill
//       CHECK:   call @lorc_cpu_matmul_fp8_e4m3_e4m3(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}})
//       CHECK:   call @lorc_cpu_matmul_fp8_e5m2_e4m3(
//       CHECK:   call @lorc_cpu_matmul_fp8_e4m3_e5m2(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})
//       CHECK: func.func private @lorc_cpu_matmul_fp8_e4m3_e4m3(memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32)
//       CHECK: func.func private @lorc_cpu_matmul_fp8_e5m2_e4m3(memref<?x?xf8E5M2, strided<[?, ?], offset: ?>>, memref<?x?xf8E4M3FN,
//       CHECK: func.func private @lorc_cpu_matmul_fp8_e4m3_e5m2(memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?x?xf8E5M2,

// CUDA-LABEL: func.func @fp8_gemm
//   CUDA-NOT:   linalg.fill
//       CUDA:   call @lorc_cuda_matmul_fp8_e4m3_e4m3(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})
//       CUDA:   call @lorc_cuda_matmul_fp8_e5m2_e4m3(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}})
//       CUDA:   call @lorc_cuda_matmul_fp8_e4m3_e5m2(
//       CUDA: func.func private @lorc_cuda_matmul_fp8_e4m3_e4m3(memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32)
func.func @fp8_gemm(%p: memref<16xf32>, %p8: memref<128xf8E4M3FN>, %x: memref<4x16xf8E4M3FN>,
                    %x5: memref<4x16xf8E5M2>, %w5: memref<8x16xf8E5M2>, %c: memref<4x8xf32>)
    attributes {lorc.parameters = [], lorc.parameters_fp8 = []} {
  %w = memref.expand_shape %p8 [[0, 1]] output_shape [8, 16] : memref<128xf8E4M3FN> into memref<8x16xf8E4M3FN>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x8xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %w : memref<4x16xf8E4M3FN>, memref<8x16xf8E4M3FN>) outs(%c : memref<4x8xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x5, %w : memref<4x16xf8E5M2>, memref<8x16xf8E4M3FN>) outs(%c : memref<4x8xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %w5 : memref<4x16xf8E4M3FN>, memref<8x16xf8E5M2>) outs(%c : memref<4x8xf32>)
  return
}

// -----

// E5M2 × E5M2 has no cuBLASLt kernel and no entry point: left alone (the lowering never makes
// it; such layers keep the f32 emulation).
// CHECK-LABEL: func.func @e5m2_e5m2
//       CHECK:   linalg.matmul
//   CHECK-NOT:   call
// CUDA-LABEL: func.func @e5m2_e5m2
//       CUDA:   linalg.matmul
func.func @e5m2_e5m2(%x: memref<4x16xf8E5M2>, %w: memref<8x16xf8E5M2>, %c: memref<4x8xf32>) {
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %w : memref<4x16xf8E5M2>, memref<8x16xf8E5M2>) outs(%c : memref<4x8xf32>)
  return
}
