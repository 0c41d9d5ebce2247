// RUN: lorc-opt %s --lorc-cuda-pipeline="format=" | FileCheck %s --check-prefix=NVVM
// RUN: lorc-opt %s --lorc-cuda-pipeline | FileCheck %s --check-prefix=PTX90
// RUN: lorc-opt %s --lorc-cuda-pipeline="chip=sm_80" | FileCheck %s --check-prefix=PTX80
// RUN: lorc-opt %s --lorc-cuda-loops-cpu-pipeline | FileCheck %s --check-prefix=TWIN
// RUN: lorc-opt %s --lorc-cuda-pipeline="format= gemm-precision=bf16" | FileCheck %s --check-prefix=BF16
// RUN: lorc-opt %s --lorc-cuda-loops-cpu-pipeline="gemm-precision=bf16" | FileCheck %s --check-prefix=TWINBF16
// RUN: not lorc-opt %s --lorc-cuda-pipeline="chip=sm_90 ptx=60" 2>&1 | FileCheck %s --check-prefix=PAIR
// RUN: not lorc-opt %s --lorc-cuda-pipeline="chip=sm_61" 2>&1 | FileCheck %s --check-prefix=CHIP

// The CUDA pipeline on the encoder-like function of cpu-pipeline.mlir (lorc.linear, attention
// with a key-padding mask, erf, layer norm; dynamic batch and sequence): GEMMs become cuBLAS
// calls on the host, everything else generated kernels (one per linalg op left after fusion),
// outlined into gpu.modules in NVVM and serialised to PTX (gpu-module-to-binary).

// Stopped before serialisation (format=""): kernels in the NVVM dialect, with block and thread
// ids from the mapping; the host calls cuBLAS and the mgpu* ABI (one stream per function).
// NVVM-LABEL: llvm.func @forward(
//       NVVM:   llvm.call @mgpuStreamCreate()
//       NVVM:   llvm.call @mgpuMemAlloc(
//       NVVM:   gpu.launch_func <%{{.*}} : !llvm.ptr> @forward_kernel::@forward_kernel blocks in
//       NVVM:   llvm.call @lorc_cuda_matmul_f32(
//       NVVM:   llvm.call @lorc_cuda_batch_matmul_f32(
//       NVVM:   llvm.call @lorc_cuda_batch_matmul_f32(
//       NVVM:   llvm.call @mgpuMemFree(
//       NVVM:   llvm.call @mgpuStreamSynchronize(
//       NVVM: gpu.module @forward_kernel [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">]
//       NVVM:   llvm.func @forward_kernel(
//  NVVM-SAME:     nvvm.kernel
//   NVVM-DAG:     nvvm.read.ptx.sreg.ctaid.x
//   NVVM-DAG:     nvvm.read.ptx.sreg.tid.x
// The layer norm's rsqrt goes through libdevice, linked at serialisation.
//       NVVM:   llvm.call @__nv_sqrtf(
//       NVVM: llvm.func @_mlir_ciface_lorc_cuda_matmul_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, i32)
// Nothing of the tensor or buffer level is left on the host.
//   NVVM-NOT: linalg.
//   NVVM-NOT: memref.alloc
//   NVVM-NOT: scf.parallel

// Serialised for sm_90 (PTX 8.0, the default): one gpu.binary per kernel, PTX text inside;
// test/Tools/lorc-compile-cuda.test assembles such PTX with ptxas.
//   PTX90: gpu.binary @forward_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
//  PTX90-SAME: .version 8.0\0A.target sm_90\0A.address_size 64
//  PTX90-SAME: .visible .entry forward_kernel(
//   PTX80: gpu.binary @forward_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
//  PTX80-SAME: .target sm_80

// The CPU twin: the same mapped loops lowered for the host, GEMMs through the CPU BLAS, no GPU op.
// TWIN-LABEL: llvm.func @forward(
//       TWIN:   llvm.call @lorc_cpu_matmul_f32(
//   TWIN-NOT:   gpu.
//   TWIN-NOT:   mgpu
//   TWIN-NOT:   scf.

// gemm-precision=bf16: every GEMM through the bf16 entry points (cuBLAS down-converts the
// inputs and accumulates in f32; the twin, the CPU's bf16 GEMMs), on the same f32 buffers.
// BF16-LABEL: llvm.func @forward(
//       BF16:   llvm.call @lorc_cuda_matmul_bf16(
//       BF16:   llvm.call @lorc_cuda_batch_matmul_bf16(
//       BF16:   llvm.call @lorc_cuda_batch_matmul_bf16(
//   BF16-NOT:   @lorc_cuda_{{(batch_)?}}matmul_f32
// TWINBF16-LABEL: llvm.func @forward(
//       TWINBF16:   llvm.call @lorc_cpu_matmul_bf16(
//   TWINBF16-NOT:   @lorc_cpu_{{(batch_)?}}matmul_f32

// PAIR: error: lorc-check-nvptx-target: PTX 6.0 cannot target sm_90: it needs PTX 7.8 to 9.0
// CHIP: error: lorc-check-nvptx-target: unknown CUDA chip 'sm_61'

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
  return %y : tensor<?x?x32xf32>
}
