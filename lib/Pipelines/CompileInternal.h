//===- CompileInternal.h - lorc-compile's drivers, shared inside lib/Pipelines -*- C++ -*-===//
//
// What Compile.cpp (the lorc-compile driver) and Precision.cpp (--assign-precision) share: error
// and progress helpers, the backend a variant is lowered with, calibration inputs, and the
// temporary variant artifacts the calibration runs use. Not a public header.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_LIB_PIPELINES_COMPILEINTERNAL_H
#define LORC_LIB_PIPELINES_COMPILEINTERNAL_H

#include "lorc/Import/HuggingFace.h"
#include "lorc/Pipelines/Compile.h"
#include "lorc/Pipelines/Report.h"
#include "lorc/Runtime/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lorc::compile_detail {

using llvm::Twine;
using mlir::Diagnostic;
using mlir::DiagnosticSeverity;
using mlir::MLIRContext;
using mlir::ScopedDiagnosticHandler;

inline llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Collects MLIR diagnostics so a failed pass becomes one llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error) {
            if (!messages.empty())
              messages += "; ";
            messages += d.str();
          }
          return mlir::success();
        }) {}
  llvm::Error take(const Twine &stage) {
    return makeError(stage + ": " + (messages.empty() ? "failed" : takeMessages()));
  }
  /// The errors collected so far; forgets them.
  std::string takeMessages() { return std::exchange(messages, std::string()); }

private:
  std::string messages;
  ScopedDiagnosticHandler handler;
};

/// Times a stage for the progress log; only stages that finish are reported.
struct Stage {
  Stage(llvm::raw_ostream &log, const char *name) : log(log), name(name) {}
  void finish() {
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    log << llvm::format("  %-28s %8.0f ms\n", name, ms.count());
  }
  llvm::raw_ostream &log;
  const char *name;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

/// Removes a directory tree on scope exit unless released.
struct TempDirGuard {
  std::string path;
  ~TempDirGuard() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};

/// What lowering needs besides the module.
struct Backend {
  MLIRContext &context;
  DiagnosticCollector &diags;
  const CompileOptions &options;
  const ImportedModel &model;
};

/// Calibration inputs and what the unreduced model makes of them.
struct Calibration {
  std::vector<Tensor> inputs;
  std::vector<int64_t> mask; // [B·S]: 1 for real tokens
  int64_t batch = 0, seq = 0, tokens = 0;
  std::vector<float> reference; // sentence_embedding [B, D] of the unreduced model
  int64_t dim = 0;
};

/// A variant of the model built into a temporary artifact (LLVM O1: only its outputs matter),
/// loaded, and removed again when this goes away.
struct VariantArtifact {
  TempDirGuard dir;
  std::unique_ptr<Artifact> artifact;
};

/// Reads the entry's inputs (by name) from a safetensors file; other tensors are ignored.
llvm::Expected<Calibration> readCalibration(llvm::StringRef path, mlir::func::FuncOp entry);
/// Builds `variant` (consumed) into a temporary artifact and loads it.
llvm::Expected<std::unique_ptr<VariantArtifact>> buildVariant(mlir::ModuleOp variant,
                                                              Backend &be);
/// Builds `variant`, runs it once on `inputs` and returns the outputs.
llvm::Expected<std::vector<Tensor>> runVariant(mlir::ModuleOp variant, Backend &be,
                                               llvm::ArrayRef<Tensor> inputs);
/// Adds the input of every constant-weight lorc.linear of `clone` as an extra result of
/// `forward`, named "calibration.<i>"; returns (weight name, i) per layer.
llvm::Expected<std::vector<std::pair<std::string, unsigned>>> exposeLayerInputs(mlir::ModuleOp clone);
/// The rows of a layer input `x` ([..., K]) that belong to real tokens, row-major [T, K].
std::vector<float> realRows(const Tensor &x, llvm::ArrayRef<int64_t> mask, int64_t tokensInBatch);
const Tensor *findTensor(llvm::ArrayRef<Tensor> ts, llvm::StringRef name);
/// Mean and minimum over rows of the cosine between `a` and `b` ([rows, dim]); the standard
/// error of the mean in `standardError` when given.
std::pair<double, double> rowCosines(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b,
                                     int64_t dim, double *standardError = nullptr);
/// Rows [begin, end) of every [B, ...] input.
std::vector<Tensor> sliceBatch(llvm::ArrayRef<Tensor> inputs, int64_t begin, int64_t end);

/// `--assign-precision=...` (Precision.cpp, docs/CostModel.md): chooses and applies each
/// eligible layer's precision on `module`, fills `report`; the artifact returns fp8_amax (each
/// FP8 layer's input amax per run, on every target).
llvm::Error assignPrecision(mlir::ModuleOp module, Backend &be, CompileReport *report,
                            llvm::raw_ostream &log);

} // namespace lorc::compile_detail

#endif // LORC_LIB_PIPELINES_COMPILEINTERNAL_H
