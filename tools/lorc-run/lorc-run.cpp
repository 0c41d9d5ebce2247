//===- lorc-run.cpp - run a lorc artifact ---------------------------------===//
//
// lorc-run <artifact-dir> (--inputs in.safetensors | --text "..." [--text "..."]...)
//          [-o out.safetensors] [--threads N] [--bench[=N]] [--bench-json=FILE]
//          [--device=auto|cpu|cuda] [--fp8-amax] [--fp8-update-scales]
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Artifact.h"
#include "lorc/Runtime/Cuda.h"
#include "lorc/Support/Safetensors.h"

#include "lorc/Support/CommandLine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

using namespace llvm;

namespace {
struct Flags {
  cl::opt<std::string> artifact{cl::Positional, cl::desc("<artifact-dir>"), cl::Required};
  cl::opt<std::string> inputs{"inputs", cl::desc("Inputs as safetensors (input_ids, "
                                                 "attention_mask: int64 [B, S])"),
                              cl::value_desc("file")};
  cl::list<std::string> texts{"text", cl::desc("A sentence to tokenise (repeatable)"),
                              cl::value_desc("text")};
  cl::opt<std::string> output{"o", cl::desc("Write the outputs to this safetensors file"),
                              cl::value_desc("file")};
  cl::list<std::string> adapters{
      "adapter",
      cl::desc("Swap the i-th unmerged adapter of the artifact for this one (PEFT directory or "
               "LyCORIS .safetensors, same shapes), with an optional :multiplier"),
      cl::value_desc("path[:multiplier]")};
  cl::opt<int> threads{"threads", cl::desc("CPU threads (default: the cores this process may "
                                           "use)"),
                       cl::init(0)};
  cl::opt<unsigned> bench{"bench", cl::desc("Time N runs after warm-up"), cl::ValueOptional,
                          cl::init(0)};
  cl::opt<std::string> benchJson{"bench-json", cl::desc("Write the timings as JSON"),
                                 cl::value_desc("file")};
  cl::opt<bool> fp8Amax{
      "fp8-amax",
      cl::desc("Print each FP8 layer's input amax recorded over the runs (the first and the "
               "--bench ones) against its calibrated amax, the scale delayed scaling would set, "
               "and whether inputs were saturated")};
  cl::opt<bool> fp8UpdateScales{
      "fp8-update-scales",
      cl::desc("Delayed scaling applied, as Transformer Engine does after every step: after "
               "each run (the first and the --bench ones) set every FP8 layer's activation "
               "scale to fp8_max / amax(history) / 2^margin for the next run; -o then writes "
               "the last run's outputs (implies --fp8-amax)")};
  cl::opt<bool> cudaStats{
      "cuda-stats",
      cl::desc("On the CUDA library: print a run's kernel launches, cuBLAS calls and driver "
               "allocations, and the host time spent enqueueing them (first run, and the "
               "median of --bench's)")};
  cl::opt<lorc::Device> device{
      "device", cl::desc("Where to run"), cl::init(lorc::Device::Auto),
      cl::values(clEnumValN(lorc::Device::Auto, "auto",
                            "the artifact's CUDA library if a CUDA device is usable, else its "
                            "CPU library"),
                 clEnumValN(lorc::Device::Cpu, "cpu", "the CPU library"),
                 clEnumValN(lorc::Device::Cuda, "cuda", "the CUDA library (error without one)"))};
};

/// The delayed-scaling table of --fp8-amax.
void printAmax(const lorc::AmaxHistory &h) {
  const lorc::Fp8Scaling &s = h.scaling();
  outs() << format("fp8 amax over %zu runs (history %lld, %s, margin %lld):\n", h.runs(),
                   static_cast<long long>(s.amaxHistoryLen), s.amaxComputeAlgo.c_str(),
                   static_cast<long long>(s.margin));
  outs() << format("  %-56s %-9s %12s %12s %12s %12s  %s\n", "layer", "format", "calibrated",
                   "recorded", "scale", "delayed", "saturated");
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const lorc::Fp8Scaling::Layer &l = s.layers[i];
    outs() << format("  %-56s %-9s %12.6g %12.6g %12.6g %12.6g  %s\n", l.name.c_str(),
                     l.format.c_str(), l.calibratedAmax, h.maxRecorded(i), l.activationScale,
                     h.scale(i), h.saturated(i) ? "yes" : "no");
  }
}

int fail(const Twine &msg) {
  WithColor::error(errs(), "lorc-run") << msg << "\n";
  return 1;
}

/// Reads the inputs file into tensors (copies; inputs are small).
Expected<std::vector<lorc::Tensor>> readInputs(StringRef path) {
  auto file = lorc::SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  std::vector<lorc::Tensor> out;
  for (const lorc::TensorInfo &info : (*file)->tensors()) {
    lorc::Tensor t;
    t.name = info.name;
    t.dtype = info.dtype;
    t.shape.assign(info.shape.begin(), info.shape.end());
    ArrayRef<uint8_t> bytes = (*file)->data(info);
    t.bytes.assign(bytes.begin(), bytes.end());
    out.push_back(std::move(t));
  }
  return out;
}

void printSummary(ArrayRef<lorc::Tensor> outs) {
  for (const lorc::Tensor &t : outs) {
    llvm::outs() << t.name << ": " << lorc::dtypeName(t.dtype) << " [";
    for (size_t i = 0; i < t.shape.size(); ++i)
      llvm::outs() << (i ? ", " : "") << t.shape[i];
    llvm::outs() << "]";
    if (t.dtype == lorc::DType::F32 && t.numElements() > 0) {
      llvm::outs() << "  first values:";
      for (int64_t i = 0; i < std::min<int64_t>(4, t.numElements()); ++i)
        llvm::outs() << format(" %.6f", t.data<float>()[i]);
    }
    llvm::outs() << "\n";
  }
  // Cosine similarities between the rows of a sentence embedding.
  for (const lorc::Tensor &t : outs) {
    if (t.name != "sentence_embedding" || t.shape.size() != 2 || t.shape[0] < 2)
      continue;
    int64_t n = t.shape[0], d = t.shape[1];
    const float *e = t.data<float>();
    auto dot = [&](int64_t a, int64_t b) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k)
        s += static_cast<double>(e[a * d + k]) * e[b * d + k];
      return s;
    };
    llvm::outs() << "cosine similarity of the sentence embeddings:\n";
    for (int64_t a = 0; a < n; ++a) {
      llvm::outs() << format("  [%2lld]", static_cast<long long>(a));
      for (int64_t b = 0; b < n; ++b) {
        double norms = std::sqrt(dot(a, a) * dot(b, b));
        if (norms > 0)
          llvm::outs() << format(" %6.3f", dot(a, b) / norms);
        else
          llvm::outs() << "    n/a"; // an all-padding row pools to the zero vector
      }
      llvm::outs() << "\n";
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // libLLVM registers a global -threads option; lorc-run's --threads replaces it.
  if (auto *opt = cl::getRegisteredOptions().lookup("threads"))
    opt->removeArgument();
  Flags flags;
  lorc::hideForeignOptions(flags);
  cl::ParseCommandLineOptions(argc, argv, "run a lorc artifact\n");
  if (flags.inputs.empty() == flags.texts.empty())
    return fail("give exactly one of --inputs <file> or --text \"...\"");
  if (flags.threads < 0)
    return fail("--threads must be >= 0");
  lorc::setCpuThreads(flags.threads);

  auto artifact = lorc::Artifact::load(flags.artifact, flags.device);
  if (!artifact)
    return fail(toString(artifact.takeError()));
  lorc::Artifact &a = **artifact;
  if (!a.fallbackReason().empty())
    WithColor::note(errs(), "lorc-run")
        << "running the " << a.target() << " library: " << a.fallbackReason() << "\n";
  for (auto [i, spec] : llvm::enumerate(flags.adapters)) {
    auto [path, multiplier] = lorc::parseAdapterSpec(spec);
    if (Error e = a.swapAdapter(static_cast<unsigned>(i), path, multiplier))
      return fail(toString(std::move(e)));
  }

  std::vector<lorc::Tensor> inputs;
  if (!flags.inputs.empty()) {
    auto read = readInputs(flags.inputs);
    if (!read)
      return fail(toString(read.takeError()));
    // Other tensors in the file (e.g. reference outputs beside the inputs) are not inputs.
    for (lorc::Tensor &t : *read) {
      if (llvm::any_of(a.inputs(), [&](const lorc::TensorSpec &s) { return s.name == t.name; }))
        inputs.push_back(std::move(t));
      else
        WithColor::note(errs(), "lorc-run")
            << flags.inputs << ": ignoring tensor '" << t.name << "' (not an input)\n";
    }
  } else {
    const lorc::WordPieceTokenizer *tok = a.tokenizer();
    if (!tok)
      return fail(flags.artifact + ": the artifact has no tokenizer; use --inputs");
    size_t maxLen = a.maxSequenceLength() > 0 ? a.maxSequenceLength() : 512;
    auto batch = tok->encodeBatch(std::vector<std::string>(flags.texts.begin(),
                                                           flags.texts.end()),
                                  maxLen);
    lorc::Tensor ids = lorc::Tensor::zeros("input_ids", lorc::DType::I64,
                                           {batch.batch, batch.seqLen});
    lorc::Tensor mask = lorc::Tensor::zeros("attention_mask", lorc::DType::I64,
                                            {batch.batch, batch.seqLen});
    std::copy(batch.inputIds.begin(), batch.inputIds.end(), ids.data<int64_t>());
    std::copy(batch.attentionMask.begin(), batch.attentionMask.end(), mask.data<int64_t>());
    inputs.push_back(std::move(ids));
    inputs.push_back(std::move(mask));
  }

  std::optional<lorc::AmaxHistory> amax;
  if (flags.fp8Amax || flags.fp8UpdateScales) {
    if (!a.fp8Scaling())
      return fail(Twine(flags.fp8UpdateScales ? "--fp8-update-scales: " : "--fp8-amax: ") +
                  flags.artifact + " records no FP8 amax (compile it with --assign-precision)");
    amax.emplace(*a.fp8Scaling());
  }
  // Records a run's amaxes and, with --fp8-update-scales, sets the scales of the next run. A
  // layer keeps its scale where the new one would not be a positive finite f32 (inputs all
  // zero, an amax of inf or NaN, or one so small the scale overflows), as Transformer Engine
  // keeps it for a zero or non-finite amax.
  auto record = [&](const std::vector<lorc::Tensor> &outs) -> Error {
    if (!amax)
      return Error::success();
    if (Error e = amax->record(outs))
      return e;
    if (!flags.fp8UpdateScales)
      return Error::success();
    std::vector<double> scales;
    for (size_t i = 0; i < a.fp8Scaling()->layers.size(); ++i) {
      double s = amax->scale(i);
      scales.push_back(lorc::isUsableFp8Scale(s) ? s : a.fp8Scaling()->layers[i].activationScale);
    }
    if (Error e = a.setFp8Scales(scales))
      return e;
    amax->setScales(scales);
    return Error::success();
  };
  auto writeOutputs = [&](const std::vector<lorc::Tensor> &outs) -> Error {
    lorc::SafetensorsWriter writer;
    writer.setMetadata("generator", "lorc-run");
    for (const lorc::Tensor &t : outs)
      writer.addReference(t.name, t.dtype, t.shape, t.bytes);
    return writer.write(flags.output);
  };

  if (flags.cudaStats && a.target() != "cuda")
    return fail("--cuda-stats: the run would use the " + a.target().str() +
                " library, not CUDA");
  lorc::cuda::CallCounts before = lorc::cuda::callCounts();
  uint64_t calls = 0;
  auto start = std::chrono::steady_clock::now();
  auto outs = a.run(inputs);
  double firstMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
          .count();
  if (!outs)
    return fail(toString(outs.takeError()));
  if (Error e = record(*outs))
    return fail(toString(std::move(e)));

  // With scale updates the outputs change from run to run: -o gets the last run's.
  bool outputsLater = flags.fp8UpdateScales && flags.bench.getNumOccurrences();
  if (!flags.output.empty() && !outputsLater)
    if (Error e = writeOutputs(*outs))
      return fail(toString(std::move(e)));
  printSummary(*outs);
  int64_t batch = 0, seq = 0;
  for (const lorc::Tensor &t : inputs)
    if (t.name == "input_ids" && t.shape.size() == 2)
      batch = t.shape[0], seq = t.shape[1];
  llvm::outs() << format("ran batch %lld x seq %lld in %.2f ms (first run)\n",
                         static_cast<long long>(batch), static_cast<long long>(seq), firstMs);
  if (flags.cudaStats) {
    lorc::cuda::CallCounts after = lorc::cuda::callCounts();
    calls = (after.launches - before.launches) + (after.gemms - before.gemms);
    llvm::outs() << format("cuda: %llu kernel launches, %llu cuBLAS calls per run\n",
                           static_cast<unsigned long long>(after.launches - before.launches),
                           static_cast<unsigned long long>(after.gemms - before.gemms));
    llvm::outs() << format("cuda: %llu device allocations from the driver in the first run\n",
                           static_cast<unsigned long long>(after.driverAllocations -
                                                           before.driverAllocations));
  }
  // --cuda-stats: the host time the compiled code took to enqueue a run's calls.
  auto printEnqueue = [&](const char *what, double enqueueMs) {
    llvm::outs() << format("host: %.3f ms enqueueing the %s run's %llu calls, %.2f us per call\n",
                           enqueueMs, what, static_cast<unsigned long long>(calls),
                           calls ? enqueueMs * 1e3 / calls : 0.0);
  };
  if (flags.cudaStats)
    printEnqueue("first", a.lastEnqueueMs());

  if (flags.bench.getNumOccurrences()) {
    unsigned iters = flags.bench ? flags.bench : 10;
    for (int i = 0; i < 2; ++i) { // warm-up beyond the first run
      auto r = a.run(inputs);
      if (!r)
        return fail(toString(r.takeError()));
      if (flags.fp8UpdateScales) // every run is a step of delayed scaling
        if (Error e = record(*r))
          return fail(toString(std::move(e)));
    }
    std::vector<lorc::Tensor> last;
    std::vector<double> ms, enqueue;
    uint64_t benchAllocations = lorc::cuda::callCounts().driverAllocations;
    for (unsigned i = 0; i < iters; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = a.run(inputs);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
              .count());
      enqueue.push_back(a.lastEnqueueMs());
      if (!r)
        return fail(toString(r.takeError()));
      if (Error e = record(*r))
        return fail(toString(std::move(e)));
      if (i + 1 == iters)
        last = std::move(*r);
    }
    if (!flags.output.empty() && outputsLater)
      if (Error e = writeOutputs(last))
        return fail(toString(std::move(e)));
    auto medianOf = [](std::vector<double> &v) {
      std::sort(v.begin(), v.end());
      size_t n = v.size();
      return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    };
    double median = medianOf(ms);
    if (flags.cudaStats) {
      printEnqueue("median bench", medianOf(enqueue));
      llvm::outs() << format("cuda: %llu device allocations from the driver in the %u bench "
                             "runs\n",
                             static_cast<unsigned long long>(lorc::cuda::callCounts()
                                                                 .driverAllocations -
                                                             benchAllocations),
                             iters);
    }
    double gflops = a.flops(batch, seq) / (median * 1e6);
    int threads = lorc::getCpuThreads();
    llvm::outs() << format("bench: %u iterations, %d threads: median %.2f ms, min %.2f ms, "
                           "%.1f GFLOP/s\n",
                           iters, threads, median, ms.front(), gflops);
    if (!flags.benchJson.empty()) {
      std::error_code ec;
      raw_fd_ostream os(flags.benchJson, ec);
      if (ec)
        return fail(flags.benchJson + ": cannot write: " + ec.message());
      os << json::Value(json::Object{{"median_ms", median},
                                     {"min_ms", ms.front()},
                                     {"gflops", gflops},
                                     {"iterations", iters},
                                     {"threads", threads}})
         << "\n";
    }
  }
  if (amax)
    printAmax(*amax);
  return 0;
}
