//===- Pipelines.h - named lorc pass pipelines ------------------*- C++ -*-===//
//
// The CPU pipeline takes a module of lorc + upstream ops on tensors (the importer's output) to
// the LLVM dialect:
//
//   externalize weights → convert-lorc-to-linalg → elementwise fusion → one-shot bufferize
//   → buffer deallocation → lorc-dispatch-blas → linalg to loops → LLVM dialect
//
// Weights are externalized first so that no large constant reaches bufferization or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_PIPELINES_PIPELINES_H
#define LORC_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace lorc {

/// Options of `--lorc-cpu-pipeline`.
struct CpuPipelineOptions : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> dispatchBlas{*this, "blas",
                            llvm::cl::desc("Dispatch f32 matmuls to BLAS (else generated loops)"),
                            llvm::cl::init(true)};
  Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Inline polynomial erf/exp instead of libm calls (vectorisable)"),
      llvm::cl::init(true)};
  Option<bool> parallelLoops{
      *this, "parallel-loops",
      llvm::cl::desc("Run the non-GEMM loops on the CPU's threads (OpenMP on libgomp, the pool "
                     "oneDNN uses); off: one thread"),
      llvm::cl::init(true)};
  Option<std::string> gemmPrecision{
      *this, "gemm-precision",
      llvm::cl::desc("Input precision of the BLAS-dispatched GEMMs: f32, or bf16 (f32 "
                     "accumulation; --lorc-dispatch-blas's precision option)"),
      llvm::cl::init("f32")};
  Option<bool> tileAttention{
      *this, "tile-attention",
      llvm::cl::desc("Fused, key-tiled attention with the online softmax "
                     "(--lorc-tile-attention); off: materialised [B, H, Sq, Sk] scores"),
      llvm::cl::init(true)};
  Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Vectorise the non-GEMM linalg ops row by row with the vector dialect "
                     "(--lorc-vectorize); off: scalar loops for LLVM's loop vectoriser"),
      llvm::cl::init(true)};
  Option<bool> tileRows{
      *this, "tile-rows",
      llvm::cl::desc("Run layer norms marked lorc.row_tile and their linear row tile by row "
                     "tile (--lorc-tile-rows)"),
      llvm::cl::init(true)};
};

/// Options of `--lorc-cuda-pipeline` and its CPU twin `--lorc-cuda-loops-cpu-pipeline`.
struct CudaPipelineOptions : public mlir::PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("NVIDIA chip (sm_80, sm_90, ...)"),
                           llvm::cl::init("sm_90")};
  Option<int64_t> ptxVersion{*this, "ptx",
                             llvm::cl::desc("PTX ISA version times ten (80 = PTX 8.0); "
                                            "check it with lorc::checkNvptxTarget first"),
                             llvm::cl::init(80)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu-module-to-binary format: isa (PTX), bin (cubin), fatbin; empty: "
                     "stop before serialisation (gpu.module in NVVM)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{*this, "toolkit",
                              llvm::cl::desc("CUDA toolkit for ptxas/fatbinary (bin, fatbin)"),
                              llvm::cl::init("")};
  Option<int64_t> blockSize{*this, "block-size", llvm::cl::desc("Threads per block"),
                            llvm::cl::init(256)};
  Option<std::string> gemmPrecision{
      *this, "gemm-precision",
      llvm::cl::desc("Input precision of the dispatched GEMMs: f32, or bf16 (A and B rounded "
                     "to bf16 by generated kernels, cuBLAS on bf16 operands; the CPU twin's "
                     "oneDNN bf16; f32 accumulation)"),
      llvm::cl::init("f32")};
};

/// Lowers lorc ops to linalg on tensors (the tensor-level half of the CPU pipeline).
/// `nvvmFp8Cast`: lorc.quantize encodes with NVVM's cvt (CUDA kernels on FP8-capable targets);
/// `fp8Gemm`: FP8 layers become GEMMs on their FP8 codes (convert-lorc-to-linalg's fp8-gemm).
void buildLorcToLinalgPipeline(mlir::OpPassManager &pm, bool nvvmFp8Cast = false,
                               bool fp8Gemm = false);

/// From linalg on tensors to the LLVM dialect, ready for translation to LLVM IR.
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &options);

/// The whole CPU pipeline (`--lorc-cpu-pipeline`): both of the above.
void buildCpuPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &options);

/// From lorc ops on tensors to the loop-mapped form: bufferized, GEMMs dispatched to BLAS
/// (cuBLAS with `deviceAllocations`, else the CPU BLAS), copies as linalg.copy, every other
/// linalg op an `scf.parallel` tiled into blocks of `blockSize` threads with GPU mapping
/// attributes. `deviceAllocations` also puts host allocations on the device (gpu.alloc).
/// `gemmPrecision` is --lorc-dispatch-blas's precision (f32 or bf16).
void buildGpuMappedLoopsPipeline(mlir::OpPassManager &pm, bool deviceAllocations,
                                 int64_t blockSize, bool nvvmFp8Cast = false,
                                 llvm::StringRef gemmPrecision = "f32");

/// The CUDA pipeline's first half: (chip, PTX) check, mapped loops → gpu.launch, kernel
/// outlining, one stream per function, kernels in NVVM, host gpu ops → mgpu* calls.
void buildCudaKernelPipeline(mlir::OpPassManager &pm, const CudaPipelineOptions &options);

/// The second half: gpu-module-to-binary in `options.format` (none if empty), then, with
/// `lowerHost`, the host code to the LLVM dialect.
void buildCudaSerializePipeline(mlir::OpPassManager &pm, const CudaPipelineOptions &options,
                                bool lowerHost);

/// `--lorc-cuda-pipeline`: both halves; the mapped loops become gpu.launch, kernels are outlined, lowered
/// to NVVM and serialised (gpu-module-to-binary); the host side calls the mgpu* ABI and
/// lorc_cuda_* GEMMs that lib/Runtime provides.
void buildCudaPipeline(mlir::OpPassManager &pm, const CudaPipelineOptions &options);

/// `--lorc-cuda-loops-cpu-pipeline`: the same mapped loops, run sequentially on the CPU.
void buildCudaLoopsCpuPipeline(mlir::OpPassManager &pm, const CudaPipelineOptions &options);

/// Registers `--lorc-cpu-pipeline` and the CUDA pipelines for lorc-opt.
void registerLorcPipelines();

} // namespace lorc

#endif // LORC_PIPELINES_PIPELINES_H
