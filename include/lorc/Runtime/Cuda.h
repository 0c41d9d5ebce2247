//===- Cuda.h - the lorc CUDA runtime (driver and cuBLAS over dlopen) -*- C++ -*-===//
//
// lorc never links libcuda or cuBLAS: both are loaded with dlopen on first use, so every lorc
// binary starts on a machine without a GPU and reports "no CUDA driver" / "no CUDA device"
// cleanly. The driver is `libcuda.so.1` ($LORC_CUDA_DRIVER overrides the path), cuBLAS the
// first of libcublas.so.13, .12, .11 ($LORC_CUBLAS overrides), cuBLASLt (FP8 GEMMs only, loaded
// on the first one) the first of libcublasLt.so.13, .12 ($LORC_CUBLASLT overrides).
//
// Compiled CUDA artifacts (lorc-compile --target=cuda) call the host ABI of MLIR's gpu-to-llvm
// lowering (`mgpuModuleLoad`, `mgpuLaunchKernel`, `mgpuMemAlloc`, ...; Debian ships no MLIR
// CUDA runtime library) and `_mlir_ciface_lorc_cuda_(batch_)matmul_{f32,bf16}` (device
// buffers; `_f32`: f32 A, B, C, cublasSgemm; `_bf16`: bf16 A and B, which the compiled code
// rounds from f32 in a generated kernel, f32 C, cublasGemmEx with CUBLAS_COMPUTE_32F: f32
// accumulation on the tensor cores) and `_mlir_ciface_lorc_cuda_matmul_fp8_<A>_<B>` (FP8 layers:
// A = the quantised input [M, K], B = the weight's codes [N, K], formats e4m3_e4m3, e4m3_e5m2 or
// e5m2_e4m3, f32 C unscaled; cublasLtMatmul in its "TN" layout with f32 accumulation, M padded
// to a multiple of 16 inside the runtime, a 32 MiB workspace and the heuristic's algorithm cached
// per shape; layouts cuBLASLt cannot take are errors naming the strides);
// lib/Runtime/Cuda.cpp implements them.
// Execution model (docs/CudaPipeline.md):
//   * one stream: every launch, cuBLAS call, copy, allocation and free of a forward pass is
//     ordered on the runtime's stream; the stream synchronisations the lowering emits are
//     deferred to the end of the pass (host code never reads device memory: the pipeline
//     rejects host loops that would);
//   * stream-ordered allocation (cuMemAllocAsync: the driver's pool), so intermediates cost no
//     device-wide synchronisation;
//   * errors are sticky: the first failing call is recorded with the call, the CUDA error name
//     and the kernel or GEMM it served, later calls do nothing, and run() returns it.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_CUDA_H
#define LORC_RUNTIME_CUDA_H

#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace lorc::cuda {

/// Loads the driver, initialises it and makes device 0's primary context current, once.
/// Errors start with "no CUDA driver" (library missing or a stub) or "no CUDA device".
llvm::Error initialize();

/// The device's name ("NVIDIA H100 80GB HBM3"); initialize() must have succeeded.
std::string deviceName();

/// Device memory on the runtime's stream: a released block of the same size if one is cached,
/// else the driver's pool (cuMemAllocAsync; on failure the cache is given back and the driver
/// asked again). Out of memory is an error giving the bytes asked and the bytes free; `what`
/// names the buffer in errors.
llvm::Expected<void *> allocate(size_t bytes, const char *what);
/// Keeps the block for reuse by the next allocation of its size (up to 4 GiB of cached blocks;
/// beyond, and for pointers this runtime did not allocate, cuMemFreeAsync). Stream-ordered:
/// the block's next user runs after its last one on the runtime's one stream.
void release(void *devicePtr);

/// Copies on the runtime's stream (host memory may be pageable or pinned).
llvm::Error copyToDevice(void *dst, const void *src, size_t bytes, const char *what);
llvm::Error copyToHost(void *dst, const void *src, size_t bytes, const char *what);

/// Pinned (page-locked) host memory for inputs and outputs, grown on demand and kept.
llvm::Expected<void *> pinnedStaging(size_t bytes);

/// Kernel launches (mgpuLaunchKernel with a non-empty grid), cuBLAS GEMM calls and device
/// allocations that reached the driver (cuMemAllocAsync: the runtime reuses released blocks of
/// the same size, so after a first run of a shape a forward pass makes none) since the process
/// started: a forward pass's counts are the difference around Artifact::run.
struct CallCounts {
  uint64_t launches = 0, gemms = 0, driverAllocations = 0;
};
CallCounts callCounts();

/// Waits for the stream and returns the first error recorded since the last call (by the
/// mgpu* entry points, the cuBLAS GEMMs or the synchronisation itself), naming the call.
llvm::Error synchronize();

} // namespace lorc::cuda

#endif // LORC_RUNTIME_CUDA_H
