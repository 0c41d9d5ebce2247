//===- Targets.h - lorc-compile's --target values and the CUDA lowering ---*- C++ -*-===//

#ifndef LORC_PIPELINES_TARGETS_H
#define LORC_PIPELINES_TARGETS_H

#include "lorc/Support/NvptxTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace lorc {

/// One library of an artifact.
struct CompileTarget {
  enum Kind {
    Cpu,          ///< `cpu`: the CPU pipeline, forward.so
    Cuda,         ///< `cuda[:sm_XX[+ptxNN]]`: NVPTX kernels + cuBLAS, forward_cuda.so
    CudaLoopsCpu, ///< `cuda-loops-cpu`: the CUDA pipeline's mapped loops run on the CPU,
                  ///< forward.so (validates the GPU tiling without a GPU)
  } kind = Cpu;
  NvptxTarget nvptx; ///< Cuda only
  /// The manifest's name of the target ("cpu", "cuda", "cuda-loops-cpu").
  llvm::StringRef name() const;
  /// The library file in the artifact.
  llvm::StringRef library() const { return kind == Cuda ? "forward_cuda.so" : "forward.so"; }
};

/// Parses `--target`: a comma-separated list, the first the artifact's primary target, e.g.
/// "cpu", "cuda:sm_80", "cuda:sm_90,cpu" (a CUDA artifact with a CPU fallback). At most one CPU
/// library (cpu or cuda-loops-cpu) and one cuda entry. Errors name the flag and the entry.
llvm::Expected<std::vector<CompileTarget>> parseCompileTargets(llvm::StringRef spec);

/// What lowerForCuda produced.
struct CudaLowering {
  unsigned numKernels = 0;
  /// "fatbin": cubin for the chip (assembled by the toolkit's ptxas) + PTX (for newer chips,
  /// JIT-compiled by the driver).
  std::string binaryFormat;
  /// The kernels' PTX (the artifact's kernels.ptx): one module after another, each after a
  /// `//--- <module>.ptx` line, so that `split-file` gives one file per module for ptxas.
  std::string ptx;
};

/// Runs the CUDA pipeline (lorc/Pipelines/Pipelines.h) on `module` (lorc ops on tensors,
/// weights externalized) down to the LLVM dialect, kernels embedded as a fat binary. The CUDA
/// toolkit (ptxas, fatbinary, nvvm/libdevice) is $LORC_CUDA_TOOLKIT, $CUDA_HOME or
/// /usr/local/cuda, the first with bin/ptxas; without one this is an error.
/// `gemmPrecision`: the cuBLAS GEMMs' input precision, f32 or bf16 (--lorc-dispatch-blas).
/// Pipeline errors are emitted as MLIR diagnostics; the returned error names the stage.
llvm::Expected<CudaLowering> lowerForCuda(mlir::ModuleOp module, const NvptxTarget &target,
                                          llvm::StringRef gemmPrecision = "f32");

/// Makes the CUDA pipeline's dispatch decision visible in `lorc-compile --emit=mlir`: runs the
/// pipeline to its loop-mapped form on a copy of `module` (lorc level) and records, on each
/// lorc op of `module`, `lorc.cuda_dispatch = {cublas_gemms = N, kernels = M}`: the cuBLAS
/// calls and the generated kernels (outermost mapped loops) that compute part of it, traced
/// through locations (a kernel fused from several ops counts for each). The function gets the
/// totals, the other ops' kernels (embedding gathers, transposes, pooling) included. With
/// `gemmPrecision` bf16, or bf16 layers of --lorc-assign-precision, the dictionary also has
/// `bf16_gemms = B`: how many of the N calls are the bf16 entry points (absent when none); with
/// FP8 layers, `fp8_gemms = F`: how many are cuBLASLt FP8 GEMMs (lorc_cuda_matmul_fp8_*).
/// The weights are narrowed as lorc-compile narrows the artifact's: `keepF32` names the tensors
/// that stay f32 (unmerged adapters' slots, which lorc-run --adapter rewrites).
llvm::Error annotateCudaDispatch(mlir::ModuleOp module, llvm::StringRef gemmPrecision = "f32",
                                 llvm::ArrayRef<std::string> keepF32 = {});

} // namespace lorc

#endif // LORC_PIPELINES_TARGETS_H
