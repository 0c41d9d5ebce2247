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
};

/// Lowers lorc ops to linalg on tensors (the tensor-level half of the CPU pipeline).
void buildLorcToLinalgPipeline(mlir::OpPassManager &pm);

/// From linalg on tensors to the LLVM dialect, ready for translation to LLVM IR.
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &options);

/// The whole CPU pipeline (`--lorc-cpu-pipeline`): both of the above.
void buildCpuPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `--lorc-cpu-pipeline` for lorc-opt.
void registerLorcPipelines();

} // namespace lorc

#endif // LORC_PIPELINES_PIPELINES_H
