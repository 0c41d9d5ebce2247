//===- Pipelines.cpp - named lorc pass pipelines --------------------------===//

#include "lorc/Pipelines/Pipelines.h"
#include "lorc/Conversion/Passes.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// Appends an upstream textual pipeline; the strings are fixed, so a parse failure is a bug.
static void addUpstream(OpPassManager &pm, StringRef pipeline) {
  // The textual form needs the upstream passes registered (lorc-opt does it too; idempotent).
  static bool registered = (registerAllPasses(), true);
  (void)registered;
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    llvm::report_fatal_error(llvm::Twine("lorc: invalid built-in pipeline: ") + error);
}

void lorc::buildLorcToLinalgPipeline(OpPassManager &pm) {
  pm.addPass(createConvertLorcToLinalgPass());
  addUpstream(pm, "func.func(convert-elementwise-to-linalg),canonicalize,cse");
  pm.addPass(createLorcFuseElementwisePass());
  addUpstream(pm, "canonicalize,cse");
}

void lorc::buildLinalgToLLVMPipeline(OpPassManager &pm, const CpuPipelineOptions &options) {
  // Results leave `forward` as identity-layout buffers the caller owns and frees.
  addUpstream(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,buffer-deallocation-pipeline,canonicalize");
  if (options.dispatchBlas)
    pm.addPass(createLorcDispatchBlasPass());
  if (options.approximateMath) {
    LorcApproximateMathPassOptions approx;
    approx.ops = {"erf", "exp"};
    pm.addPass(createLorcApproximateMathPass(approx));
  }
  pm.addPass(createLorcLowerExpandShapePass());
  addUpstream(pm, "func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,"
                  "convert-scf-to-cf,convert-math-to-llvm,convert-math-to-libm,"
                  "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
                  "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts");
}

void lorc::buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options) {
  buildLorcToLinalgPipeline(pm);
  buildLinalgToLLVMPipeline(pm, options);
}

void lorc::registerLorcPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "lorc-cpu-pipeline",
      "Lower lorc + upstream ops on tensors to the LLVM dialect for the CPU (run "
      "--lorc-externalize-weights first for real models)",
      buildCpuPipeline);
}
