// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas=library=cuda | FileCheck %s --check-prefix=CUDA
// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas=fold-epilogues=false | FileCheck %s --check-prefix=NOFOLD
// RUN: not lorc-opt %s -split-input-file -lorc-dispatch-blas=library=mkl 2>&1 | FileCheck %s --check-prefix=BADLIB
// RUN: lorc-opt %s -split-input-file -lorc-dispatch-blas="library=cuda precision=bf16" | FileCheck %s --check-prefix=CUDABF16
// RUN: not lorc-opt %s -split-input-file -lorc-dispatch-blas=precision=f16 2>&1 | FileCheck %s --check-prefix=BADPREC
// RUN: not lorc-opt %s -split-input-file -lorc-dispatch-blas="library=cuda precision=f16" 2>&1 | FileCheck %s --check-prefix=BADPREC

// BADLIB: error: lorc-dispatch-blas: library=mkl: expected cpu or cuda
// BADPREC: error: lorc-dispatch-blas: precision=f16: expected f32 or bf16

// precision=bf16 calls the bf16 entry points (same operands and flags).
// BF16-LABEL: func.func @matmul
//       BF16:   call @lorc_cpu_matmul_bf16(
//       BF16: func.func private @lorc_cpu_matmul_bf16(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}
// BF16-LABEL: func.func @batch_matmul
//       BF16:   call @lorc_cpu_batch_matmul_bf16(

// With library=cuda (the CUDA pipeline) the same calls go to the cuBLAS entry points, which
// take device buffers (lib/Runtime/Cuda.cpp).
// CUDA-LABEL: func.func @matmul
//       CUDA:   call @lorc_cuda_matmul_f32(
//       CUDA: func.func private @lorc_cuda_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}
// CUDA-LABEL: func.func @matmul_transpose_b
// CUDA-LABEL: func.func @batch_matmul
//       CUDA:   call @lorc_cuda_batch_matmul_f32(

// library=cuda precision=bf16: A and B are rounded into new bf16 buffers (a truncf generic
// each, a generated kernel in the CUDA pipeline, freed after the call) and the cuBLAS bf16 entry
// points take them with the f32 C (cublasGemmEx, bf16 inputs, f32 accumulation).
// CUDABF16-LABEL: func.func @matmul
//       CUDABF16:   %[[A:.*]] = memref.alloc() : memref<4x8xbf16>
//       CUDABF16:   linalg.generic {{.*}} ins(%arg0 : memref<4x8xf32>) outs(%[[A]] : memref<4x8xbf16>)
//       CUDABF16:     arith.truncf %{{.*}} : f32 to bf16
//       CUDABF16:   %[[B:.*]] = memref.alloc() : memref<8x16xbf16>
//       CUDABF16:   linalg.generic {{.*}} ins(%arg1 : memref<8x16xf32>) outs(%[[B]] : memref<8x16xbf16>)
//       CUDABF16:   call @lorc_cuda_matmul_bf16(
//  CUDABF16-NEXT:   memref.dealloc %[[A]]
//  CUDABF16-NEXT:   memref.dealloc %[[B]]
//       CUDABF16: func.func private @lorc_cuda_matmul_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}
// Dynamic shapes: the buffers take the operands' sizes.
// CUDABF16-LABEL: func.func @matmul_transpose_b
//       CUDABF16:   %[[D0:.*]] = memref.dim %arg0, %c0
//       CUDABF16:   %[[D1:.*]] = memref.dim %arg0, %c1
//       CUDABF16:   memref.alloc(%[[D0]], %[[D1]]) : memref<?x?xbf16>
// CUDABF16-LABEL: func.func @batch_matmul
//       CUDABF16:   call @lorc_cuda_batch_matmul_bf16(
//       CUDABF16: func.func private @lorc_cuda_batch_matmul_bf16(memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}

// f32 linalg.matmul / linalg.batch_matmul on buffers become calls of the lorc runtime with the
// operands cast to fully dynamic strided memrefs, transpose flags read off the indexing maps,
// and (cpu only) whether B is a parameter: 0 here, B is an ordinary argument.

// CHECK-LABEL: func.func @matmul
//  CHECK-SAME:   %[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<8x16xf32>, %[[C:.*]]: memref<4x16xf32>
//   CHECK-DAG:   %[[CA:.*]] = memref.cast %[[A]] : memref<4x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[CB:.*]] = memref.cast %[[B]] : memref<8x16xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[CC:.*]] = memref.cast %[[C]] : memref<4x16xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[TA:.*]] = arith.constant 0 : i32
//   CHECK-DAG:   %[[TB:.*]] = arith.constant 0 : i32
//   CHECK-DAG:   %[[P:.*]] = arith.constant 0 : i32
//       CHECK:   call @lorc_cpu_matmul_f32(%[[CA]], %[[CB]], %[[CC]], %[[TA]], %[[TB]], %[[P]]) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) -> ()
//   CHECK-NOT:   linalg.matmul
//       CHECK:   return
//       CHECK: func.func private @lorc_cpu_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}
func.func @matmul(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// C += A·Bᵀ (the lowering of lorc.linear): transB = 1. Two matmuls share one declaration.

// CHECK-LABEL: func.func @matmul_transpose_b
//  CHECK-SAME:   %[[A:.*]]: memref<?x?xf32>, %[[B:.*]]: memref<?x?xf32>, %[[C:.*]]: memref<?x?xf32>
//   CHECK-DAG:   %[[CA:.*]] = memref.cast %[[A]] : memref<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[CB:.*]] = memref.cast %[[B]] : memref<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[CC:.*]] = memref.cast %[[C]] : memref<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//   CHECK-DAG:   %[[TA:.*]] = arith.constant 0 : i32
//   CHECK-DAG:   %[[TB:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_matmul_f32(%[[CA]], %[[CB]], %[[CC]], %[[TA]], %[[TB]], %{{.*}})
//       CHECK:   call @lorc_cpu_matmul_f32(
//   CHECK-NOT:   linalg.matmul
//       CHECK: func.func private @lorc_cpu_matmul_f32(
//   CHECK-NOT: func.func private @lorc_cpu_matmul_f32(
func.func @matmul_transpose_b(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  return
}

// -----

// C += Aᵀ·B: transA = 1; C += Aᵀ·Bᵀ: both.

// CHECK-LABEL: func.func @matmul_transpose_a
//   CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0 : i32
//   CHECK-DAG:   %[[ONE:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[ONE]], %[[ZERO]], %{{.*}})
//       CHECK:   %[[ONE2:.*]] = arith.constant 1 : i32
//       CHECK:   %[[ONE3:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[ONE2]], %[[ONE3]], %{{.*}})
//   CHECK-NOT:   linalg.matmul
func.func @matmul_transpose_a(%a: memref<8x4xf32>, %b: memref<8x16xf32>, %bt: memref<16x8xf32>, %c: memref<4x16xf32>) {
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                                 affine_map<(d0, d1, d2) -> (d2, d1)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%a, %b : memref<8x4xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%a, %bt : memref<8x4xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// Strided views (a subview with an offset) are passed with their layout in the descriptor.

// CHECK-LABEL: func.func @matmul_subview
//       CHECK:   %[[SV:.*]] = memref.subview
//       CHECK:   %[[CA:.*]] = memref.cast %[[SV]] : memref<4x8xf32, strided<[16, 1], offset: ?>> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//       CHECK:   call @lorc_cpu_matmul_f32(%[[CA]],
func.func @matmul_subview(%a: memref<8x16xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %i: index) {
  %sv = memref.subview %a[%i, 0] [4, 8] [1, 1] : memref<8x16xf32> to memref<4x8xf32, strided<[16, 1], offset: ?>>
  linalg.matmul ins(%sv, %b : memref<4x8xf32, strided<[16, 1], offset: ?>>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// linalg.batch_matmul: plain, and with the transposed right-hand side of Q·Kᵀ.

// CHECK-LABEL: func.func @batch_matmul
//  CHECK-SAME:   %[[A:.*]]: memref<2x4x8xf32>, %[[B:.*]]: memref<2x8x16xf32>, %[[C:.*]]: memref<2x4x16xf32>, %[[K:.*]]: memref<2x16x8xf32>
//   CHECK-DAG:   %[[CA:.*]] = memref.cast %[[A]] : memref<2x4x8xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
//   CHECK-DAG:   %[[CB:.*]] = memref.cast %[[B]] : memref<2x8x16xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
//   CHECK-DAG:   %[[CC:.*]] = memref.cast %[[C]] : memref<2x4x16xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
//   CHECK-DAG:   %[[F0:.*]] = arith.constant 0 : i32
//   CHECK-DAG:   %[[F1:.*]] = arith.constant 0 : i32
//       CHECK:   call @lorc_cpu_batch_matmul_f32(%[[CA]], %[[CB]], %[[CC]], %[[F0]], %[[F1]], %{{.*}}) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32, i32) -> ()
//       CHECK:   %[[CK:.*]] = memref.cast %[[K]] : memref<2x16x8xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
//       CHECK:   %[[G0:.*]] = arith.constant 0 : i32
//       CHECK:   %[[G1:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_batch_matmul_f32(%{{.*}}, %[[CK]], %{{.*}}, %[[G0]], %[[G1]], %{{.*}})
//   CHECK-NOT:   linalg.batch_matmul
//       CHECK: func.func private @lorc_cpu_batch_matmul_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32, i32) attributes {llvm.emit_c_interface}
//   CHECK-NOT: func.func private @lorc_cpu_matmul_f32
func.func @batch_matmul(%a: memref<2x4x8xf32>, %b: memref<2x8x16xf32>, %c: memref<2x4x16xf32>, %k: memref<2x16x8xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf32>, memref<2x8x16xf32>) outs(%c : memref<2x4x16xf32>)
  linalg.batch_matmul indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>,
                                       affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>,
                                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]
    ins(%a, %k : memref<2x4x8xf32>, memref<2x16x8xf32>) outs(%c : memref<2x4x16xf32>)
  return
}

// -----

// Left alone: other element types (f16, and mixed f16 inputs with an f32 accumulator).

// CHECK-LABEL: func.func @matmul_f16
//       CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x8xf16>, memref<8x16xf16>) outs(%{{.*}} : memref<4x16xf16>)
//       CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x8xf16>, memref<8x16xf16>) outs(%{{.*}} : memref<4x16xf32>)
//   CHECK-NOT:   call
//   CHECK-NOT:   func.func private
func.func @matmul_f16(%a: memref<4x8xf16>, %b: memref<8x16xf16>, %c: memref<4x16xf16>, %d: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf16>, memref<8x16xf16>) outs(%c : memref<4x16xf16>)
  linalg.matmul ins(%a, %b : memref<4x8xf16>, memref<8x16xf16>) outs(%d : memref<4x16xf32>)
  return
}

// -----

// Left alone: matmuls on tensors (before bufferization).

// CHECK-LABEL: func.func @matmul_tensor
//       CHECK:   %[[R:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<4x16xf32>) -> tensor<4x16xf32>
//       CHECK:   return %[[R]]
//   CHECK-NOT:   func.func private
func.func @matmul_tensor(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// Left alone: maps BLAS cannot express (a broadcast left-hand side, a transposed result).

// CHECK-LABEL: func.func @matmul_unsupported_maps
//       CHECK:   linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : memref<8xf32>, memref<8x16xf32>)
//       CHECK:   linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : memref<4x8xf32>, memref<8x16xf32>) outs(%{{.*}} : memref<16x4xf32>)
//   CHECK-NOT:   call
//   CHECK-NOT:   func.func private
func.func @matmul_unsupported_maps(%v: memref<8xf32>, %a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %ct: memref<16x4xf32>) {
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2)>,
                                 affine_map<(d0, d1, d2) -> (d2, d1)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%v, %b : memref<8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d2, d1)>,
                                 affine_map<(d0, d1, d2) -> (d1, d0)>]
    ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%ct : memref<16x4xf32>)
  return
}

// -----

// Left alone: other contractions (linalg.matvec).

// CHECK-LABEL: func.func @other_contractions
//       CHECK:   linalg.matvec
//   CHECK-NOT:   call
func.func @other_contractions(%a: memref<4x8xf32>, %x: memref<8xf32>, %y: memref<4xf32>) {
  linalg.matvec ins(%a, %x : memref<4x8xf32>, memref<8xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

// Buffers outside the default memory space are not host BLAS operands.
// CHECK-LABEL: func.func @matmul_memory_space
// CHECK-NOT: call @lorc_cpu_matmul_f32
// CHECK: linalg.matmul
func.func @matmul_memory_space(%a: memref<4x8xf32, 1>, %b: memref<8x16xf32, 1>, %c: memref<4x16xf32, 1>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, 1>, memref<8x16xf32, 1>) outs(%c : memref<4x16xf32, 1>)
  return
}

// -----

// B read through views (subview, expand_shape) of argument 0 of a function carrying
// lorc.parameters (lorc-externalize-weights' parameter buffer) is a parameter: flag 1, so the
// runtime packs it once. The same views of another argument, or of argument 0 of a function
// without lorc.parameters, are not.

// CHECK-LABEL: func.func @parameter_operand
//       CHECK:   arith.constant 0 : i32
//  CHECK-NEXT:   arith.constant 1 : i32
//  CHECK-NEXT:   %[[P:.*]] = arith.constant 1 : i32
//  CHECK-NEXT:   call @lorc_cpu_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P]])
//       CHECK:   arith.constant 0 : i32
//  CHECK-NEXT:   arith.constant 1 : i32
//  CHECK-NEXT:   %[[NP:.*]] = arith.constant 0 : i32
//  CHECK-NEXT:   call @lorc_cpu_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NP]])
// CHECK-LABEL: func.func @no_parameter_attribute
//       CHECK:   arith.constant 0 : i32
//  CHECK-NEXT:   arith.constant 1 : i32
//  CHECK-NEXT:   %[[Z:.*]] = arith.constant 0 : i32
//  CHECK-NEXT:   call @lorc_cpu_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Z]])
func.func @parameter_operand(%params: memref<1024xf32>, %x: memref<4x32xf32>, %other: memref<1024xf32>, %y: memref<4x16xf32>)
    attributes {lorc.parameters = [{name = "w", offset = 64 : i64, shape = array<i64: 16, 32>}]} {
  %flat = memref.subview %params[64] [512] [1] : memref<1024xf32> to memref<512xf32, strided<[1], offset: 64>>
  %w = memref.expand_shape %flat [[0, 1]] output_shape [16, 32] : memref<512xf32, strided<[1], offset: 64>> into memref<16x32xf32, strided<[32, 1], offset: 64>>
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%x, %w : memref<4x32xf32>, memref<16x32xf32, strided<[32, 1], offset: 64>>) outs(%y : memref<4x16xf32>)
  %oflat = memref.subview %other[64] [512] [1] : memref<1024xf32> to memref<512xf32, strided<[1], offset: 64>>
  %ow = memref.expand_shape %oflat [[0, 1]] output_shape [16, 32] : memref<512xf32, strided<[1], offset: 64>> into memref<16x32xf32, strided<[32, 1], offset: 64>>
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%x, %ow : memref<4x32xf32>, memref<16x32xf32, strided<[32, 1], offset: 64>>) outs(%y : memref<4x16xf32>)
  return
}
func.func @no_parameter_attribute(%params: memref<1024xf32>, %x: memref<4x32xf32>, %y: memref<4x16xf32>) {
  %flat = memref.subview %params[64] [512] [1] : memref<1024xf32> to memref<512xf32, strided<[1], offset: 64>>
  %w = memref.expand_shape %flat [[0, 1]] output_shape [16, 32] : memref<512xf32, strided<[1], offset: 64>> into memref<16x32xf32, strided<[32, 1], offset: 64>>
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                 affine_map<(d0, d1, d2) -> (d1, d2)>,
                                 affine_map<(d0, d1, d2) -> (d0, d1)>]
    ins(%x, %w : memref<4x32xf32>, memref<16x32xf32, strided<[32, 1], offset: 64>>) outs(%y : memref<4x16xf32>)
  return
}

// -----

// Epilogues (lorc.linear's lowering after bufferization): the bias broadcast into C, the matmul
// and the tagged in-place epilogue become one call: bias argument, residual argument,
// accumulate = 0 (C's old contents are not read), activation 1 (GELU erf). The alloc of another
// buffer and a view in between do not separate them.
// CHECK-LABEL: func.func @epilogue
//  CHECK-SAME:   %[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<16x8xf32>, %[[BIAS:.*]]: memref<16xf32>, %[[R:.*]]: memref<4x16xf32>
//   CHECK-NOT:   linalg.
//   CHECK-DAG:   %[[CBIAS:.*]] = memref.cast %[[BIAS]] : memref<16xf32> to memref<?xf32, strided<[?], offset: ?>>
//   CHECK-DAG:   %[[V:.*]] = memref.cast %[[R]] : memref<4x16xf32> to memref<4x16xf32>
//   CHECK-DAG:   %[[CR:.*]] = memref.cast %[[V]] : memref<4x16xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
//       CHECK:   %[[TA:.*]] = arith.constant 0 : i32
//       CHECK:   %[[TB:.*]] = arith.constant 1 : i32
//       CHECK:   %[[P:.*]] = arith.constant 0 : i32
//       CHECK:   %[[ACC:.*]] = arith.constant 0 : i32
//       CHECK:   %[[ACT:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_matmul_epilogue_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[CBIAS]], %[[CR]], %[[TA]], %[[TB]], %[[P]], %[[ACC]], %[[ACT]])
//   CHECK-NOT:   linalg.
//       CHECK:   return
//       CHECK: func.func private @lorc_cpu_matmul_epilogue_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32, i32, i32) attributes {llvm.emit_c_interface}
// BF16-LABEL: func.func @epilogue
//       BF16:   call @lorc_cpu_matmul_epilogue_bf16(
// fold-epilogues=false (the CUDA pipeline's CPU twin): the plain call between the two ops.
// NOFOLD-LABEL: func.func @epilogue
//       NOFOLD:   linalg.broadcast
//       NOFOLD:   call @lorc_cpu_matmul_f32(
//       NOFOLD:   linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @epilogue(%a: memref<4x8xf32>, %b: memref<16x8xf32>, %bias: memref<16xf32>, %r: memref<4x16xf32>) -> memref<4x16xf32> {
  %cst = arith.constant 0.707106769 : f32
  %c = memref.alloc() : memref<4x16xf32>
  linalg.broadcast ins(%bias : memref<16xf32>) outs(%c : memref<4x16xf32>) dimensions = [0]
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%a, %b : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  %other = memref.alloc() : memref<4x16xf32>
  %view = memref.cast %r : memref<4x16xf32> to memref<4x16xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%view : memref<4x16xf32>) outs(%c : memref<4x16xf32>) attrs = {lorc.epilogue = {activation = "gelu_erf", residual}} {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %out, %cst : f32
    %1 = math.erf %0 : f32
    %2 = arith.addf %1, %in : f32
    linalg.yield %2 : f32
  }
  memref.dealloc %other : memref<4x16xf32>
  return %c : memref<4x16xf32>
}

// -----

// A zero fill is dropped (accumulate = 0), with no bias (an empty memref<0xf32>) and no
// epilogue (an empty residual, activation 0); a fill of another value is kept, and the GEMM then
// accumulates onto it (accumulate = 1) with the plain entry point.
// CHECK-LABEL: func.func @fills
//       CHECK:   %[[NOBIAS:.*]] = memref.alloca() : memref<0xf32>
//       CHECK:   %[[NORES:.*]] = memref.alloca() : memref<0x0xf32>
//       CHECK:   call @lorc_cpu_matmul_epilogue_f32(
//   CHECK-NOT:   linalg.fill
//       CHECK:   linalg.fill
//       CHECK:   call @lorc_cpu_matmul_f32(
// On cuda the zero fill becomes beta = 0 (the call's last flag, accumulate, is 0); the other
// fill stays and the GEMM accumulates onto it (accumulate 1).
// CUDA-LABEL: func.func @fills
//   CUDA-NOT:   linalg.fill
//       CUDA:   call @lorc_cuda_matmul_f32({{.*}}, %c0_i32{{[_0-9]*}}) :
//       CUDA:   linalg.fill
//       CUDA:   call @lorc_cuda_matmul_f32({{.*}}, %c1_i32{{[_0-9]*}}) :
func.func @fills(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %d: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.fill ins(%one : f32) outs(%d : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%d : memref<4x16xf32>)
  return
}

// -----

// Not absorbed: an op that reads C between the init and the matmul (the init stays), a tagged
// epilogue that writes another buffer, and a broadcast along the wrong dimension.
// CHECK-LABEL: func.func @not_adjacent
//       CHECK:   linalg.broadcast
//       CHECK:   memref.copy
//       CHECK:   call @lorc_cpu_matmul_f32(
//       CHECK:   linalg.generic
//       CHECK:   linalg.broadcast
//       CHECK:   call @lorc_cpu_matmul_f32(
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @not_adjacent(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %bias: memref<16xf32>, %c: memref<4x16xf32>,
                        %snap: memref<4x16xf32>, %out: memref<4x16xf32>, %col: memref<4xf32>, %d: memref<4x16xf32>) {
  linalg.broadcast ins(%bias : memref<16xf32>) outs(%c : memref<4x16xf32>) dimensions = [0]
  memref.copy %c, %snap : memref<4x16xf32> to memref<4x16xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<4x16xf32>) outs(%out : memref<4x16xf32>) attrs = {lorc.epilogue = {activation = "gelu_erf"}} {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.broadcast ins(%col : memref<4xf32>) outs(%d : memref<4x16xf32>) dimensions = [1]
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%d : memref<4x16xf32>)
  return
}

// -----

// A matmul tagged lorc.gemm_precision = "bf16" (a bf16 layer of --lorc-assign-precision) takes
// the bf16 entry point even when the pass's precision is f32, on either library.
// CHECK-LABEL: func.func @tagged_bf16
//       CHECK:   call @lorc_cpu_matmul_bf16(
//       CHECK:   call @lorc_cpu_matmul_f32(
// CUDA-LABEL: func.func @tagged_bf16
//       CUDA:   call @lorc_cuda_matmul_bf16(
//       CUDA:   call @lorc_cuda_matmul_f32(
// CUDABF16-LABEL: func.func @tagged_bf16
//   CUDABF16-COUNT-2:   call @lorc_cuda_matmul_bf16(
//   CUDABF16-NOT:   call @lorc_cuda_matmul_f32(
func.func @tagged_bf16(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul {lorc.gemm_precision = "bf16"} ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// A bf16 GEMM whose B is stored bf16 (a weight narrowed by --lorc-narrow-weights, a view of the
// bf16 parameter argument 1): the CPU takes it as is through the `_bf16w` entry points, as a
// parameter (packed once); the CUDA library converts A only. In an f32 GEMM (the untagged
// matmul without precision=bf16) it stays a linalg.matmul, whose loops widen B exactly.
// CHECK-LABEL: func.func @bf16_weight
//       CHECK:   %[[B:.*]] = memref.cast %{{.*}} : memref<16x8xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
//       CHECK:   %[[F:.*]] = arith.constant 0 : i32
//       CHECK:   %[[T:.*]] = arith.constant 1 : i32
//       CHECK:   %[[P:.*]] = arith.constant 1 : i32
//       CHECK:   call @lorc_cpu_matmul_bf16w(%{{.*}}, %[[B]], %{{.*}}, %[[F]], %[[T]], %[[P]])
//       CHECK:   linalg.matmul
//       CHECK: func.func private @lorc_cpu_matmul_bf16w(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32)
// BF16-LABEL: func.func @bf16_weight
//   BF16-COUNT-2:   call @lorc_cpu_matmul_bf16w(
//   BF16-NOT:   linalg.matmul
// NOFOLD-LABEL: func.func @bf16_weight
//       NOFOLD:   call @lorc_cpu_matmul_bf16w(
//       NOFOLD:   linalg.matmul
// CUDABF16-LABEL: func.func @bf16_weight
//   CUDABF16-NOT:   memref<16x8xbf16> to memref<16x8xbf16>
//       CUDABF16:   %[[A:.*]] = memref.alloc() : memref<4x8xbf16>
//   CUDABF16-NOT:   memref.alloc() : memref<16x8xbf16>
//       CUDABF16:   %[[B:.*]] = memref.cast %{{.*}} : memref<16x8xbf16> to memref<?x?xbf16
//       CUDABF16:   call @lorc_cuda_matmul_bf16(%{{.*}}, %[[B]],
func.func @bf16_weight(%p: memref<4xf32>, %p16: memref<128xbf16>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) attributes {lorc.parameters = [], lorc.parameters_bf16 = []} {
  %v = memref.subview %p16[0] [128] [1] : memref<128xbf16> to memref<128xbf16, strided<[1]>>
  %w = memref.expand_shape %v [[0, 1]] output_shape [16, 8] : memref<128xbf16, strided<[1]>> into memref<16x8xbf16>
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xbf16>) outs(%c : memref<4x16xf32>) {lorc.gemm_precision = "bf16"}
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xbf16>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// An FP8 layer's weight stored FP8 (--lorc-narrow-weights): B is the buffer a
// lorc.fp8_row_decode generic writes from E4M3 codes (a view of the FP8 parameter argument)
// and row scales (a view of the f32 one). The CPU calls take the codes and scales in B's
// place, as a parameter (decoded and packed once), and the decode and its buffer go. The CUDA
// library and the CPU twin (fold-epilogues=false) keep the decode kernel and the f32 call.
// CHECK-LABEL: func.func @fp8_weight
//   CHECK-NOT:   memref.alloc
//   CHECK-NOT:   linalg.generic
//       CHECK:   %[[Q:.*]] = memref.cast %{{.*}} : memref<16x8xf8E4M3FN> to memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>
//       CHECK:   %[[S:.*]] = memref.cast %{{.*}} : memref<16xf32, strided<[1], offset: 64>> to memref<?xf32, strided<[?], offset: ?>>
// (Flags: transA, transB, bIsParameter, accumulate, activation; the printer names an i32
// constant 0 %c0_i32[_N] and a 1 %c1_i32[_N]. The first call absorbs the zero fill, so it
// does not accumulate; the second, with nothing to absorb, is the plain C += A·B.)
//       CHECK:   call @lorc_cpu_matmul_epilogue_fp8w(%{{.*}}, %[[Q]], %[[S]], %{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})
//       CHECK:   call @lorc_cpu_matmul_epilogue_fp8w(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})
//   CHECK-NOT:   memref.dealloc
//       CHECK:   return
//       CHECK: func.func private @lorc_cpu_matmul_epilogue_fp8w(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf8E4M3FN, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32, i32, i32)
// CUDA-LABEL: func.func @fp8_weight
//       CUDA:   linalg.generic
//   CUDA-COUNT-2:   call @lorc_cuda_matmul_f32(
// NOFOLD-LABEL: func.func @fp8_weight
//       NOFOLD:   linalg.generic
//   NOFOLD-COUNT-2:   call @lorc_cpu_matmul_f32(
func.func @fp8_weight(%p: memref<80xf32>, %p8: memref<128xf8E4M3FN>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) attributes {lorc.parameters = [], lorc.parameters_fp8 = []} {
  %v = memref.subview %p8[0] [128] [1] : memref<128xf8E4M3FN> to memref<128xf8E4M3FN, strided<[1]>>
  %q = memref.expand_shape %v [[0, 1]] output_shape [16, 8] : memref<128xf8E4M3FN, strided<[1]>> into memref<16x8xf8E4M3FN>
  %s = memref.subview %p[64] [16] [1] : memref<80xf32> to memref<16xf32, strided<[1], offset: 64>>
  %w = memref.alloc() : memref<16x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q, %s : memref<16x8xf8E4M3FN>, memref<16xf32, strided<[1], offset: 64>>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
  ^bb0(%in: f8E4M3FN, %sc: f32, %out: f32):
    %e = arith.extf %in : f8E4M3FN to f32
    %d = arith.divf %e, %sc : f32
    linalg.yield %d : f32
  }
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x16xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  memref.dealloc %w : memref<16x8xf32>
  return
}

// -----

// E5M2 codes (an fp8-e5m2 layer's weight) in the fourth parameter buffer (after the E4M3 one,
// lorc.parameters_e5m2): the call is the `_fp8w_e5m2` form, on f8E5M2 codes, still a parameter.
// CHECK-LABEL: func.func @fp8_e5m2_weight
//   CHECK-NOT:   linalg.generic
//       CHECK:   %[[Q:.*]] = memref.cast %{{.*}} : memref<16x8xf8E5M2> to memref<?x?xf8E5M2, strided<[?, ?], offset: ?>>
//       CHECK:   call @lorc_cpu_matmul_epilogue_fp8w_e5m2(%{{.*}}, %[[Q]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c1_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}})
//       CHECK: func.func private @lorc_cpu_matmul_epilogue_fp8w_e5m2(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf8E5M2, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>,
// NOFOLD-LABEL: func.func @fp8_e5m2_weight
//       NOFOLD:   linalg.generic
//       NOFOLD:   call @lorc_cpu_matmul_f32(
func.func @fp8_e5m2_weight(%p: memref<80xf32>, %p8: memref<64xf8E4M3FN>, %p5: memref<128xf8E5M2>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) attributes {lorc.parameters = [], lorc.parameters_fp8 = [], lorc.parameters_e5m2 = []} {
  %v = memref.subview %p5[0] [128] [1] : memref<128xf8E5M2> to memref<128xf8E5M2, strided<[1]>>
  %q = memref.expand_shape %v [[0, 1]] output_shape [16, 8] : memref<128xf8E5M2, strided<[1]>> into memref<16x8xf8E5M2>
  %s = memref.subview %p[64] [16] [1] : memref<80xf32> to memref<16xf32, strided<[1], offset: 64>>
  %w = memref.alloc() : memref<16x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q, %s : memref<16x8xf8E5M2>, memref<16xf32, strided<[1], offset: 64>>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
  ^bb0(%in: f8E5M2, %sc: f32, %out: f32):
    %e = arith.extf %in : f8E5M2 to f32
    %d = arith.divf %e, %sc : f32
    linalg.yield %d : f32
  }
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  memref.dealloc %w : memref<16x8xf32>
  return
}

// -----

// Codes that are not a parameter (an argument of a function without lorc.parameters) may
// change between runs: the decode stays and the GEMM reads its f32 buffer.
// CHECK-LABEL: func.func @fp8_not_parameter
//       CHECK:   linalg.generic
//       CHECK:   call @lorc_cpu_matmul_f32(
func.func @fp8_not_parameter(%q: memref<16x8xf8E4M3FN>, %s: memref<16xf32>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) {
  %w = memref.alloc() : memref<16x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q, %s : memref<16x8xf8E4M3FN>, memref<16xf32>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
  ^bb0(%in: f8E4M3FN, %sc: f32, %out: f32):
    %e = arith.extf %in : f8E4M3FN to f32
    %d = arith.divf %e, %sc : f32
    linalg.yield %d : f32
  }
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  memref.dealloc %w : memref<16x8xf32>
  return
}

// -----

// Bufferization may give several layers' decodes one buffer (their tensor.empty inits were
// CSE'd): each GEMM takes the codes of the nearest decode before it. A loop that writes the
// buffer after its GEMM (a later iteration's GEMM would read that) keeps the f32 call.
// CHECK-LABEL: func.func @fp8_shared_buffer
//       CHECK:   %[[Q1:.*]] = memref.expand_shape %{{.*}} output_shape [16, 8] : memref<128xf8E4M3FN, strided<[1]>>
//       CHECK:   %[[Q2:.*]] = memref.expand_shape %{{.*}} output_shape [16, 8] : memref<128xf8E4M3FN, strided<[1], offset: 128>>
//       CHECK:   %[[C1:.*]] = memref.cast %[[Q1]]
//       CHECK:   call @lorc_cpu_matmul_epilogue_fp8w(%{{.*}}, %[[C1]],
//       CHECK:   %[[C2:.*]] = memref.cast %[[Q2]]
//       CHECK:   call @lorc_cpu_matmul_epilogue_fp8w(%{{.*}}, %[[C2]],
//       CHECK:   scf.for
//       CHECK:     call @lorc_cpu_matmul_f32(
//       CHECK:     linalg.generic
func.func @fp8_shared_buffer(%p: memref<80xf32>, %p8: memref<256xf8E4M3FN>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) attributes {lorc.parameters = [], lorc.parameters_fp8 = []} {
  %v1 = memref.subview %p8[0] [128] [1] : memref<256xf8E4M3FN> to memref<128xf8E4M3FN, strided<[1]>>
  %q1 = memref.expand_shape %v1 [[0, 1]] output_shape [16, 8] : memref<128xf8E4M3FN, strided<[1]>> into memref<16x8xf8E4M3FN>
  %v2 = memref.subview %p8[128] [128] [1] : memref<256xf8E4M3FN> to memref<128xf8E4M3FN, strided<[1], offset: 128>>
  %q2 = memref.expand_shape %v2 [[0, 1]] output_shape [16, 8] : memref<128xf8E4M3FN, strided<[1], offset: 128>> into memref<16x8xf8E4M3FN, strided<[8, 1], offset: 128>>
  %s = memref.subview %p[64] [16] [1] : memref<80xf32> to memref<16xf32, strided<[1], offset: 64>>
  %w = memref.alloc() : memref<16x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q1, %s : memref<16x8xf8E4M3FN>, memref<16xf32, strided<[1], offset: 64>>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
  ^bb0(%in: f8E4M3FN, %sc: f32, %out: f32):
    %e = arith.extf %in : f8E4M3FN to f32
    %d = arith.divf %e, %sc : f32
    linalg.yield %d : f32
  }
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q2, %s : memref<16x8xf8E4M3FN, strided<[8, 1], offset: 128>>, memref<16xf32, strided<[1], offset: 64>>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
  ^bb0(%in: f8E4M3FN, %sc: f32, %out: f32):
    %e = arith.extf %in : f8E4M3FN to f32
    %d = arith.divf %e, %sc : f32
    linalg.yield %d : f32
  }
  linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
    linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q1, %s : memref<16x8xf8E4M3FN>, memref<16xf32, strided<[1], offset: 64>>) outs(%w : memref<16x8xf32>) attrs = {lorc.fp8_row_decode} {
    ^bb0(%in: f8E4M3FN, %sc: f32, %out: f32):
      %e = arith.extf %in : f8E4M3FN to f32
      %d = arith.divf %e, %sc : f32
      linalg.yield %d : f32
    }
  }
  memref.dealloc %w : memref<16x8xf32>
  return
}

// -----

// The GEMM of one chunk of a layer under a memory budget (lorc.chunk_gemm, from the lowering
// of lorc.chunked_matmul) reads a view of the parameters but passes bIsParameter = 0: the
// runtime packs it per call rather than keeping every chunk's packed copy resident.
// CHECK-LABEL: func.func @chunk_gemm
// (The printer names an i32 constant 0 %c0_i32[_N] and a 1 %c1_i32[_N].)
//       CHECK:   call @lorc_cpu_matmul_f32(%cast, %cast_0, %cast_1, %c0_i32, %c0_i32_{{[0-9]+}}, %c0_i32_{{[0-9]+}})
//       CHECK:   call @lorc_cpu_matmul_f32(%cast_4, %cast_5, %cast_6, %c0_i32_{{[0-9]+}}, %c0_i32_{{[0-9]+}}, %c1_i32)
func.func @chunk_gemm(%p: memref<128xf32>, %a: memref<4x8xf32>, %c: memref<4x16xf32>) attributes {lorc.parameters = []} {
  %w = memref.expand_shape %p [[0, 1]] output_shape [8, 16] : memref<128xf32> into memref<8x16xf32>
  linalg.matmul {lorc.chunk_gemm} ins(%a, %w : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %w : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
