//===- lorc-compile.cpp - ahead-of-time compiler driver ------------------===//
//
// lorc-compile <model-dir> -o <artifact-dir> [--target=cpu] [--emit=artifact|mlir|llvm]
//
//===----------------------------------------------------------------------===//

#include "lorc/Pipelines/Compile.h"

#include "lorc/Support/CommandLine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

using namespace llvm;

namespace {
/// Tool flags, kept out of global scope (circt:lib/Firtool/Firtool.cpp style).
struct Flags {
  cl::opt<std::string> modelDir{cl::Positional, cl::desc("<model-dir>"), cl::Required};
  cl::opt<std::string> output{"o", cl::desc("Output artifact directory (or IR file for --emit)"),
                              cl::value_desc("path"), cl::init("")};
  cl::opt<std::string> target{
      "target",
      cl::desc("Targets, comma-separated, the first primary: cpu, cuda[:sm_90|sm_80|...[+ptxNN]], "
               "cuda-loops-cpu (the CUDA pipeline's mapped loops on the CPU); e.g. cuda:sm_90,cpu"),
      cl::init("cpu")};
  cl::opt<lorc::EmitKind> emit{
      "emit", cl::desc("What to produce"), cl::init(lorc::EmitKind::Artifact),
      cl::values(clEnumValN(lorc::EmitKind::Artifact, "artifact", "the artifact directory"),
                 clEnumValN(lorc::EmitKind::MlirImport, "mlir-import", "MLIR as imported"),
                 clEnumValN(lorc::EmitKind::Mlir, "mlir",
                            "MLIR after the lorc passes (merge, rank selection, fusion)"),
                 clEnumValN(lorc::EmitKind::Llvm, "llvm", "LLVM IR of the host code"))};
  cl::list<std::string> adapters{
      "adapter",
      cl::desc("Adapter to apply: a PEFT directory or a LyCORIS .safetensors, with an optional "
               ":multiplier (repeatable)"),
      cl::value_desc("path[:multiplier]")};
  cl::opt<std::string> adapterMode{
      "adapter-mode", cl::desc("merge: fold ΔW into the weights; unmerged: keep side paths"),
      cl::init("merge")};
  cl::opt<std::string> selectRank{
      "select-rank",
      cl::desc("Rank selection (--lorc-select-rank's options, plus calibration=<inputs."
               "safetensors> and min-cosine=C): rank=R | retained-energy=E | energy-ratio=F | "
               "budget-mj=X | preset=P | threshold=T | sv-ratio=R | quantile=Q | min-cosine=C"
               "[,targets=dense|adapters|all,calibration=F,profile=...,dynamic-size=N,step=S]"),
      cl::value_desc("key=value[,key=value...]"), cl::init("")};
  cl::opt<std::string> assignPrecision{
      "assign-precision",
      cl::desc("Per-layer precision (f32, bf16, FP8): max-cosine-drop=D | energy-ratio=R | "
               "layers=all [,precision=fp8-e4m3|fp8-e5m2|bf16,bf16=true|false,confidence-z=Z,"
               "profile=P,dynamic-size=N,samples=S,amax-history-len=N,"
               "amax-compute-algo=max|most_recent,margin=M,batch=B] (needs --calibration)"),
      cl::value_desc("key=value[,key=value...]"), cl::init("")};
  cl::opt<std::string> calibration{
      "calibration",
      cl::desc("Calibration inputs (input_ids, attention_mask) for --assign-precision and "
               "--select-rank"),
      cl::value_desc("inputs.safetensors"), cl::init("")};
  cl::opt<std::string> report{
      "report",
      cl::desc("Write a JSON report of per-layer cost and rank selection (and an SVG chart "
               "beside it)"),
      cl::value_desc("r.json"), cl::init("")};
  cl::opt<std::string> memoryBudget{
      "memory-budget",
      cl::desc("Chunk matmuls whose operands and result exceed this many bytes (e.g. 32MiB, "
               "1GiB, 4000000)"),
      cl::value_desc("SIZE"), cl::init("")};
  cl::opt<std::string> chunkStrategy{
      "chunk-strategy", cl::desc("Chunking strategy under --memory-budget: row, tile or adaptive"),
      cl::init("adaptive")};
  cl::opt<std::string> precision{
      "precision",
      cl::desc("GEMM input precision: f32, or bf16 (A and B rounded to bf16, f32 "
               "accumulation, everything else f32). cpu: oneDNN on AVX512_BF16 (runs in f32 "
               "with a note on CPUs without it); cuda: generated kernels round A and B, "
               "cuBLAS multiplies them on tensor cores; "
               "cuda-loops-cpu: the CPU's bf16 GEMMs"),
      cl::init("f32")};
  cl::opt<bool> fuse{"fuse",
                     cl::desc("Fusion (default true): GELU and residual adds become their "
                              "linear's GEMM epilogue, projections sharing an input one GEMM "
                              "(--lorc-fuse); on the cpu target, attention as one key-tiled "
                              "loop nest (--lorc-tile-attention)"),
                     cl::init(true)};
  cl::opt<bool> vectorize{"vectorize",
                          cl::desc("cpu target (default true): the non-GEMM loops (norms, "
                                   "softmax, transposes) as vector-dialect code, row by row "
                                   "(--lorc-vectorize); false: scalar loops for LLVM's loop "
                                   "vectoriser"),
                          cl::init(true)};
  cl::opt<bool> allowUnknownKeys{"allow-unknown-keys",
                                 cl::desc("Warn about unknown adapter keys instead of failing")};
  cl::opt<bool> allowNonFinite{"allow-non-finite",
                               cl::desc("Accept NaN/Inf in adapter weights")};
  cl::opt<std::string> hostCpu{
      "host-cpu",
      cl::desc("CPU the host code is compiled for: host (this machine's CPU and features; "
               "default), or an LLVM CPU name such as x86-64-v3, x86-64-v4, znver4, "
               "sapphirerapids for an artifact that runs on another machine"),
      cl::value_desc("cpu"), cl::init("host")};
  cl::opt<unsigned> optLevel{"O", cl::desc("LLVM optimisation level (default 2)"), cl::init(2), cl::Prefix};
  cl::opt<bool> quiet{"quiet", cl::desc("Do not print progress"), cl::init(false)};
};
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  Flags flags;
  lorc::hideForeignOptions(flags);
  cl::ParseCommandLineOptions(argc, argv, "lorc ahead-of-time compiler\n");
  lorc::CompileOptions options;
  options.modelDir = flags.modelDir;
  options.output = flags.output;
  options.target = flags.target;
  options.emit = flags.emit;
  options.optLevel = flags.optLevel;
  options.hostCpu = flags.hostCpu;
  options.adapters.assign(flags.adapters.begin(), flags.adapters.end());
  options.adapterMode = flags.adapterMode;
  options.allowUnknownKeys = flags.allowUnknownKeys;
  options.selectRank = flags.selectRank;
  options.report = flags.report;
  options.assignPrecision = flags.assignPrecision;
  options.calibration = flags.calibration;
  options.memoryBudget = flags.memoryBudget;
  options.fuse = flags.fuse;
  options.vectorize = flags.vectorize;
  options.precision = flags.precision;
  options.chunkStrategy = flags.chunkStrategy;
  options.allowNonFinite = flags.allowNonFinite;
  if (options.output.empty() && options.emit != lorc::EmitKind::Artifact)
    options.output = "-";
  auto start = std::chrono::steady_clock::now();
  raw_ostream &log = flags.quiet || options.output == "-" ? nulls() : errs();
  if (Error err = lorc::compileModel(options, log)) {
    WithColor::error(errs(), "lorc-compile") << toString(std::move(err)) << "\n";
    return 1;
  }
  if (options.emit == lorc::EmitKind::Artifact && !flags.quiet)
    outs() << "lorc-compile: wrote " << options.output << " in "
           << format("%.1f", std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                           start)
                                 .count())
           << " s\n";
  return 0;
}
