//===- Compile.h - ahead-of-time compilation of a model ---------*- C++ -*-===//
//
// The library behind lorc-compile: model directory → artifact directory.
//
// Artifact layout (all paths relative to the artifact directory; docs/Artifact.md):
//   manifest.json        format, target, entry symbol, inputs/outputs (names, dtypes, shapes),
//                        parameter buffers, tokenizer
//   forward.so           host code; exports the C entry point `_mlir_ciface_forward`
//   weights.safetensors  the parameter buffer: its data section is passed to the entry point
//   vocab.txt            the tokenizer vocabulary, when the model has one
//
//===----------------------------------------------------------------------===//

#ifndef LORC_PIPELINES_COMPILE_H
#define LORC_PIPELINES_COMPILE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace lorc {

/// What lorc-compile produces.
enum class EmitKind {
  Artifact, ///< the artifact directory
  MlirImport, ///< the module as imported, adapters as lorc ops (weights elided)
  Mlir,     ///< the module after lorc-level passes: merge, rank selection, LoRA fusion
  Llvm,     ///< the LLVM IR of the host code
};

struct CompileOptions {
  std::string modelDir;
  /// Artifact directory (EmitKind::Artifact) or IR file, "-" for stdout (the others).
  std::string output;
  /// `--target`: comma-separated cpu, cuda[:sm_XX[+ptxNN]], cuda-loops-cpu (Targets.h).
  std::string target = "cpu";
  EmitKind emit = EmitKind::Artifact;
  /// Adapters, each "<path>[:<multiplier>]": a PEFT adapter directory or a LyCORIS .safetensors.
  std::vector<std::string> adapters;
  /// "merge" (fold ΔW into the weights at compile time) or "unmerged" (side paths at run time).
  std::string adapterMode = "merge";
  /// `--select-rank=key=value[,key=value...]`: options of --lorc-select-rank ("" = off).
  std::string selectRank;
  /// `--assign-precision=key=value[,...]`: FP8 precision assignment ("" = off).
  std::string assignPrecision;
  /// `--calibration=<inputs.safetensors>`: calibration inputs (input_ids, attention_mask) for
  /// --assign-precision and, unless it names its own, --select-rank.
  std::string calibration;
  /// `--report=r.json`: per-layer cost and rank-selection report (and r.svg beside it); "" = off.
  std::string report;
  /// `--memory-budget=SIZE` ("32MiB", "1GiB", "4000000"; "" = off): matmuls whose working set
  /// exceeds it are chunked by --lorc-chunk-matmul with `chunkStrategy`.
  std::string memoryBudget;
  /// `--chunk-strategy=row|tile|adaptive`.
  std::string chunkStrategy = "adaptive";
  /// `--precision=f32|bf16`: input precision of the CPU library's GEMMs (bf16: weights packed
  /// to bf16 at load, activations rounded per call, f32 accumulation; everything else f32).
  std::string precision = "f32";
  /// `--fuse`: run --lorc-fuse (GEMM epilogues: GELU, residual add; projections sharing an
  /// input become one GEMM) and, on the cpu target, --lorc-tile-attention (fused, key-tiled
  /// attention); false: neither.
  bool fuse = true;
  /// `--vectorize`: on the cpu target, --lorc-vectorize (the non-GEMM linalg ops as vector
  /// code, one row per iteration); false: scalar loops that LLVM's loop vectoriser sees.
  bool vectorize = true;
  bool allowUnknownKeys = false;
  bool allowNonFinite = false;
  /// LLVM optimisation level of the host code (0-3). O2 by default: on MiniLM, O3 took 18 s of
  /// LLVM time against 4.7 s for O2, and the code ran no faster (docs/CpuPipeline.md).
  unsigned optLevel = 2;
  /// `--host-cpu`: the CPU the host code (the cpu library, and the CUDA library's host side) is
  /// compiled for: "host" (this machine's CPU with all its features) or an LLVM CPU name
  /// (x86-64-v3, x86-64-v4, znver4, sapphirerapids, …) for an artifact that runs elsewhere. The
  /// manifest records the CPU and its features (`cpu`, `cpu_features`); Artifact::load refuses a
  /// library whose features the running CPU lacks, instead of dying of SIGILL.
  std::string hostCpu = "host";
};

/// Compiles `options.modelDir`. The artifact is written atomically: into a temporary directory
/// beside `options.output`, renamed into place only when complete; on failure nothing is left.
/// An existing artifact at `output` is replaced; any other existing path is an error.
/// Progress (one line per stage, with wall times) goes to `log`.
llvm::Error compileModel(const CompileOptions &options, llvm::raw_ostream &log);

} // namespace lorc

#endif // LORC_PIPELINES_COMPILE_H
