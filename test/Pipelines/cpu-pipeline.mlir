// RUN: lorc-opt %s --lorc-cpu-pipeline | FileCheck %s --check-prefixes=COMMON,BLAS,APPROX
// RUN: lorc-opt %s --lorc-cpu-pipeline | FileCheck %s --check-prefix=NOTLEFT
// RUN: lorc-opt %s --lorc-cpu-pipeline="blas=false approximate-math=false" | FileCheck %s --check-prefixes=COMMON,LIBM
// RUN: lorc-opt %s --lorc-cpu-pipeline=blas=false | FileCheck %s --check-prefixes=NOTLEFT,NOBLAS
// RUN: lorc-opt %s --lorc-cpu-pipeline | FileCheck %s --check-prefix=THREADS
// RUN: lorc-opt %s --lorc-cpu-pipeline=parallel-loops=false | FileCheck %s --check-prefix=SERIAL
// RUN: lorc-opt %s --lorc-cpu-pipeline=tile-attention=false | FileCheck %s --check-prefix=UNTILED
// RUN: lorc-opt %s --lorc-cpu-pipeline=tile-rows=false | FileCheck %s --check-prefix=NOROWS
// RUN: lorc-opt %s --lorc-cpu-pipeline | FileCheck %s --check-prefix=VECTOR
// RUN: lorc-opt %s --lorc-cpu-pipeline=vectorize=false | FileCheck %s --check-prefix=SCALAR

// The non-GEMM loops run on the CPU's threads: OpenMP regions (in LLVM-dialect form, translated
// to __kmpc_* calls that lib/Runtime/CpuParallel.cpp implements on libgomp), each forking only
// above --lorc-omp-parallel-if's row count. parallel-loops=false keeps one thread.
// THREADS: llvm.func @forward(
// THREADS:   omp.parallel if(%{{.*}}) {
// THREADS:     omp.wsloop {
// THREADS:       omp.loop_nest
// SERIAL-NOT: omp.

// The non-GEMM loops are vector code (--lorc-vectorize): the layer norms' row sums over 32
// features as tree reductions (reassoc), rows of a dynamic extent (the attention's key padding
// mask over Sk) as masked 16-lane loads and stores. vectorize=false leaves them scalar loops.
// VECTOR: llvm.func @forward(
// VECTOR-DAG: "llvm.intr.vector.reduce.fadd"(%{{.*}}, %{{.*}}) <{fastmathFlags = #llvm.fastmath<reassoc>}> : (f32, vector<32xf32>) -> f32
// VECTOR-DAG: llvm.intr.masked.load %{{.*}} : (!llvm.ptr, vector<16xi1>, vector<16xf32>) -> vector<16xf32>
// VECTOR-DAG: llvm.intr.masked.store %{{.*}} : vector<16xf32>, vector<16xi1> into !llvm.ptr
// SCALAR-NOT: vector<

// The whole CPU pipeline on a small encoder-like function with dynamic batch and sequence
// sizes: lorc.linear, lorc.attention with a key-padding mask, math.erf (GELU's), lorc.layer_norm.
// The result is in the LLVM dialect only. With BLAS (the default) the linear and both attention
// matmuls call the lorc runtime through its C interface; with blas=false they are loops.
// Attention is tiled (--lorc-tile-attention): its two products are per-tile GEMM calls inside
// the OpenMP region over (batch, head), which forks from two iterations on since they call the
// library; tile-attention=false keeps the batched products over materialised scores.

// Module-level declarations come first: libm's erff (math.erf through convert-math-to-libm, only
// with approximate-math=false; by default erf and exp are inline polynomials) and the weights,
// which stay constants here (--lorc-externalize-weights is not part of the pipeline).
//        LIBM-DAG: llvm.func @erff(f32) -> f32
//      APPROX-NOT: llvm.func @erff
//      APPROX-NOT: llvm.func @expf
//      COMMON-DAG: llvm.mlir.global private constant @{{.*}}(dense<0.00999999977> : tensor<96x32xf32>)

// The linear's bias broadcast and the per-tile S = Q·Kᵀ's zero fill are absorbed by the GEMM
// call (--lorc-dispatch-blas: bias argument / no accumulation), which P·V's accumulation is not.
// The last layer norm (marked lorc.row_tile) runs with its linear in one OpenMP region over
// row tiles (--lorc-tile-rows): per tile, the GEMM call with its residual, then the norm's
// rsqrt on the rows it just wrote; tile-rows=false gives the linear its own call outside any
// region and the norm its own regions.
// COMMON-LABEL: llvm.func @forward(
//        BLAS:   llvm.call @lorc_cpu_matmul_epilogue_f32(
//        BLAS:   omp.parallel if(
//        BLAS:     llvm.call @lorc_cpu_matmul_epilogue_f32(
//        BLAS:     llvm.call @lorc_cpu_matmul_f32(
//        BLAS:   omp.terminator
//        BLAS:   llvm.intr.sqrt
//        BLAS:   omp.terminator
//        BLAS:   omp.parallel if(
//        BLAS:     omp.wsloop
//        BLAS:       llvm.call @lorc_cpu_matmul_epilogue_f32(
//        BLAS:       llvm.intr.sqrt
//        BLAS:   omp.terminator
//    BLAS-NOT:   lorc_cpu_batch_matmul_f32
//     NOROWS:   llvm.intr.sqrt
//     NOROWS:   omp.terminator
//     NOROWS-NOT: omp.parallel
//     NOROWS:   llvm.call @lorc_cpu_matmul_epilogue_f32(
//     NOROWS:   omp.parallel if(
//     NOROWS:   llvm.intr.sqrt
//     UNTILED:   llvm.call @lorc_cpu_matmul_epilogue_f32(
//     UNTILED:   llvm.call @lorc_cpu_batch_matmul_f32(
//     UNTILED:   llvm.call @lorc_cpu_batch_matmul_f32(
//        LIBM:   llvm.call @erff(
//        LIBM:   llvm.intr.sqrt
//      COMMON:   llvm.return

// The runtime entry points are declared with the C interface (memref descriptors by pointer);
// the private wrappers unpack the descriptors and call them.
//        BLAS-DAG: llvm.func private @lorc_cpu_matmul_f32(
//        BLAS-DAG: llvm.call @_mlir_ciface_lorc_cpu_matmul_f32(
//        BLAS-DAG: llvm.func @_mlir_ciface_lorc_cpu_matmul_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, i32)
//        BLAS-DAG: llvm.func @_mlir_ciface_lorc_cpu_matmul_epilogue_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, i32, i32, i32)
//     UNTILED-DAG: llvm.func private @lorc_cpu_batch_matmul_f32(
//     UNTILED-DAG: llvm.call @_mlir_ciface_lorc_cpu_batch_matmul_f32(
//     UNTILED-DAG: llvm.func @_mlir_ciface_lorc_cpu_batch_matmul_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, i32)

// Nothing but the LLVM dialect is left anywhere in the module.
// NOTLEFT-NOT: lorc.
// NOTLEFT-NOT: linalg.
// NOTLEFT-NOT: tensor.
// NOTLEFT-NOT: memref.
// NOTLEFT-NOT: bufferization.
// NOTLEFT-NOT: arith.
// NOTLEFT-NOT: math.
// NOTLEFT-NOT: scf.
// NOTLEFT-NOT: cf.
// NOTLEFT-NOT: func.func
// NOTLEFT-NOT: func.call
// NOTLEFT-NOT: unrealized_conversion_cast

// Without BLAS, no runtime call remains.
// NOBLAS-NOT: lorc_cpu

func.func @forward(%x: tensor<?x?x32xf32>, %m: tensor<?x?xi64>) -> tensor<?x?x32xf32> {
  %w = arith.constant dense<0.01> : tensor<96x32xf32>
  %b = arith.constant dense<0.5> : tensor<96xf32>
  %g = arith.constant dense<1.0> : tensor<32xf32>
  %be = arith.constant dense<0.0> : tensor<32xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %qkv = lorc.linear %x, %w, %b : tensor<?x?x32xf32>, tensor<96x32xf32>, tensor<96xf32> -> tensor<?x?x96xf32>
  %B = tensor.dim %x, %c0 : tensor<?x?x32xf32>
  %S = tensor.dim %x, %c1 : tensor<?x?x32xf32>
  %q = tensor.extract_slice %qkv[0, 0, 0] [%B, %S, 32] [1, 1, 1] : tensor<?x?x96xf32> to tensor<?x?x32xf32>
  %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [%B, %S, 2, 16] : tensor<?x?x32xf32> into tensor<?x?x2x16xf32>
  %e = tensor.empty(%B, %S) : tensor<?x2x?x16xf32>
  %qt = linalg.transpose ins(%q4 : tensor<?x?x2x16xf32>) outs(%e : tensor<?x2x?x16xf32>) permutation = [0, 2, 1, 3]
  %o = lorc.attention %qt, %qt, %qt, mask %m : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x?xi64> -> tensor<?x2x?x16xf32>
  %e2 = tensor.empty(%B, %S) : tensor<?x?x2x16xf32>
  %ot = linalg.transpose ins(%o : tensor<?x2x?x16xf32>) outs(%e2 : tensor<?x?x2x16xf32>) permutation = [0, 2, 1, 3]
  %o3 = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<?x?x2x16xf32> into tensor<?x?x32xf32>
  %h = math.erf %o3 : tensor<?x?x32xf32>
  %y = lorc.layer_norm %h, %g, %be {epsilon = 1.0e-12 : f32} : tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>
  %w2 = arith.constant dense<0.02> : tensor<32x32xf32>
  %z = lorc.linear %y, %w2, %be residual(%x : tensor<?x?x32xf32>) : tensor<?x?x32xf32>, tensor<32x32xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  %n = lorc.layer_norm %z, %g, %be {epsilon = 1.0e-12 : f32, lorc.row_tile = 64 : i64} : tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>
  return %n : tensor<?x?x32xf32>
}
