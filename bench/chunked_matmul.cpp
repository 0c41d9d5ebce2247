//===- chunked_matmul.cpp - a matmul larger than the memory budget ---------===//
//
// lorc-bench-chunked-matmul: C = A·B for f32 matrices stored in safetensors files, chunked by the
// plan of lib/CostModel/Chunking.h (what --lorc-chunk-matmul chooses) and run by the runtime's
// streaming matmul (lib/Runtime/StreamingMatmul.cpp: pread into double buffers on a loader
// thread, the runtime's GEMM (lorc::cpuGemm, oneDNN) per chunk, pwrite of C blocks). Three modes, each meant for a fresh process
// so that getrusage's peak resident set belongs to that mode alone (bench/chunked_matmul.sh):
//
//   generate  DIR/a.safetensors [M, K] and DIR/b.safetensors [K, N] (values in [-1, 1) from a
//             hash of the index, written 16 MiB at a time)
//   chunked   DIR/c.safetensors [M, N] = A·B under --memory-budget; prints JSON with the plan,
//             the timings, the overlap of loading with compute, and the peak resident set above
//             the baseline taken just before the matmul (files open, the GEMM warmed up)
//   whole     the same product with A and B read whole into memory and one lorc::cpuGemm (the
//             unchunked reference for the throughput ratio); writes nothing
//
//===----------------------------------------------------------------------===//

#include "lorc/CostModel/Chunking.h"
#include "lorc/Runtime/StreamingMatmul.h"
#include "lorc/Support/ByteSize.h"
#include "CpuGemm.h" // lib/Runtime: the GEMM the streaming matmul runs per chunk

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using namespace llvm;

namespace {

cl::opt<std::string> mode(cl::Positional, cl::desc("generate | chunked | whole"), cl::Required);
cl::opt<std::string> dir("dir", cl::desc("Directory of a/b/c.safetensors"),
                         cl::init("/tmp/lorc-bench-chunked"));
cl::opt<int64_t> sizeM("m", cl::desc("Rows of A and C"), cl::init(16384));
cl::opt<int64_t> sizeN("n", cl::desc("Columns of B and C"), cl::init(16384));
cl::opt<int64_t> sizeK("k", cl::desc("Columns of A, rows of B"), cl::init(16384));
cl::opt<std::string> budgetFlag("memory-budget", cl::desc("Bytes the chunks may hold (MiB, GiB)"),
                                cl::init("256MiB"));
cl::opt<std::string> strategyFlag("strategy", cl::desc("row, tile or adaptive"),
                                  cl::init("adaptive"));

[[noreturn]] void die(const Twine &msg) {
  WithColor::error(errs(), "lorc-bench-chunked-matmul") << msg << "\n";
  std::exit(1);
}

double peakRssBytes() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) * 1024.0; // Linux: KiB
}

/// The safetensors header of one F32 tensor, padded to 8 bytes.
std::string header(StringRef name, int64_t rows, int64_t cols) {
  json::Object t{{"dtype", "F32"},
                 {"shape", json::Array{rows, cols}},
                 {"data_offsets", json::Array{0, rows * cols * 4}}};
  std::string text = formatv("{0}", json::Value(json::Object{{name, std::move(t)}})).str();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t n = text.size();
  std::string out(reinterpret_cast<const char *>(&n), 8);
  return out + text;
}

/// Opens `path` and checks its header describes one F32 [rows, cols] tensor `name`.
lorc::FileMatrix openMatrix(const std::string &path, StringRef name, int64_t rows, int64_t cols,
                            int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0)
    die(path + ": cannot open: " + std::strerror(errno));
  std::string expected = header(name, rows, cols);
  std::string got(expected.size(), '\0');
  if (::pread(fd, got.data(), got.size(), 0) != ssize_t(got.size()) || got != expected)
    die(path + ": not the safetensors file of '" + name + "' [" + Twine(rows) + ", " +
        Twine(cols) + "] f32 (run 'generate' with the same sizes)");
  return {fd, expected.size(), rows, cols};
}

float valueAt(uint64_t seed, uint64_t index) {
  uint64_t z = index * 0x9E3779B97F4A7C15ull + seed;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) / float(1 << 24) * 2.0f - 1.0f;
}

void generate(const std::string &path, StringRef name, int64_t rows, int64_t cols, uint64_t seed) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    die(tmp + ": cannot create: " + std::strerror(errno));
  std::string h = header(name, rows, cols);
  if (::write(fd, h.data(), h.size()) != ssize_t(h.size()))
    die(tmp + ": write failed");
  std::vector<float> block(size_t(4) << 20);
  uint64_t total = uint64_t(rows) * uint64_t(cols);
  for (uint64_t at = 0; at < total; at += block.size()) {
    size_t n = size_t(std::min<uint64_t>(block.size(), total - at));
    for (size_t i = 0; i < n; ++i)
      block[i] = valueAt(seed, at + i);
    if (::write(fd, block.data(), n * 4) != ssize_t(n * 4))
      die(tmp + ": write failed: " + std::strerror(errno));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0)
    die(path + ": cannot finish: " + std::strerror(errno));
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "lorc chunked matmul benchmark\n");
  int64_t m = sizeM, n = sizeN, k = sizeK;
  std::string a = dir + "/a.safetensors", b = dir + "/b.safetensors", c = dir + "/c.safetensors";
  double flops = 2.0 * double(m) * double(n) * double(k);

  if (mode == "generate") {
    generate(a, "a", m, k, 1);
    generate(b, "b", k, n, 2);
    outs() << "generated " << a << " [" << m << ", " << k << "] and " << b << " [" << k << ", "
           << n << "]\n";
    return 0;
  }

  lorc::FileMatrix fa = openMatrix(a, "a", m, k, O_RDONLY);
  lorc::FileMatrix fb = openMatrix(b, "b", k, n, O_RDONLY);
  // Warm the GEMM up (threads, JIT kernels) before the baseline.
  {
    std::vector<float> x(512 * 512, 1.0f), y(512 * 512);
    lorc::rowMajorGemm(512, 512, 512, x.data(), 512, x.data(), 512, y.data(), 512, false);
  }
  double baseline = peakRssBytes();

  if (mode == "whole") {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<float> A(size_t(m * k)), B(size_t(k * n)), C(size_t(m * n));
    auto readAll = [](const lorc::FileMatrix &f, std::vector<float> &v) {
      char *p = reinterpret_cast<char *>(v.data());
      uint64_t want = v.size() * 4, off = f.offset;
      while (want) {
        ssize_t got = ::pread(f.fd, p, std::min<uint64_t>(want, 1u << 30), off_t(off));
        if (got <= 0)
          die("read failed");
        p += got, off += uint64_t(got), want -= uint64_t(got);
      }
    };
    readAll(fa, A);
    readAll(fb, B);
    auto t1 = std::chrono::steady_clock::now();
    lorc::rowMajorGemm(m, n, k, A.data(), k, B.data(), n, C.data(), n, /*accumulate=*/false);
    auto t2 = std::chrono::steady_clock::now();
    double load = std::chrono::duration<double>(t1 - t0).count();
    double gemm = std::chrono::duration<double>(t2 - t1).count();
    json::Object o{{"mode", "whole"},           {"m", m}, {"n", n}, {"k", k},
                   {"load_s", load},            {"gemm_s", gemm},
                   {"gflops", flops / gemm / 1e9},
                   {"peak_rss_above_baseline_bytes", peakRssBytes() - baseline}};
    outs() << formatv("{0:2}", json::Value(std::move(o))) << "\n";
    return 0;
  }
  if (mode != "chunked")
    die("mode '" + mode + "': expected generate, chunked or whole");

  Expected<uint64_t> parsed = lorc::parseByteSize(budgetFlag, "--memory-budget");
  if (!parsed)
    die(toString(parsed.takeError()));
  uint64_t budget = *parsed;
  std::optional<lorc::ChunkStrategy> strategy = lorc::parseChunkStrategy(strategyFlag);
  if (!strategy)
    die("--strategy=" + strategyFlag + ": expected row, tile or adaptive");
  std::optional<lorc::ChunkPlan> plan = lorc::planChunkedMatmul(m, n, k, 4, budget, *strategy);
  if (!plan)
    die("[" + Twine(m) + ", " + Twine(n) + ", " + Twine(k) + "] does not fit --memory-budget=" +
        budgetFlag + ": the smallest feasible budget is " +
        Twine(lorc::smallestChunkBudget(m, n, k, 4, *strategy)) + " bytes");
  std::string ctmp = c + ".tmp";
  {
    int fd = ::open(ctmp.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    std::string h = header("c", m, n);
    if (fd < 0 || ::write(fd, h.data(), h.size()) != ssize_t(h.size()) ||
        ::ftruncate(fd, off_t(h.size() + uint64_t(m) * uint64_t(n) * 4)) != 0)
      die(ctmp + ": cannot create: " + std::strerror(errno));
    ::close(fd);
  }
  lorc::FileMatrix fc = openMatrix(ctmp, "c", m, n, O_RDWR);
  Expected<lorc::StreamingStats> stats = lorc::streamingMatmul(fa, fb, fc, *plan);
  if (!stats) {
    ::unlink(ctmp.c_str());
    die(toString(stats.takeError()));
  }
  double peak = peakRssBytes();
  if (::fsync(fc.fd) != 0 || ::close(fc.fd) != 0 || ::rename(ctmp.c_str(), c.c_str()) != 0)
    die(c + ": cannot finish: " + std::strerror(errno));
  json::Object o{
      {"mode", "chunked"},
      {"m", m},
      {"n", n},
      {"k", k},
      {"memory_budget_bytes", int64_t(budget)},
      {"strategy", lorc::chunkStrategyName(plan->strategy)},
      {"chunk", json::Array{plan->tileM, plan->tileN, plan->tileK}},
      {"working_set_bytes", int64_t(plan->workingSetBytes)},
      {"planned_traffic_bytes", plan->trafficBytes},
      {"steps", stats->steps},
      {"seconds", stats->seconds},
      {"compute_s", stats->computeSeconds},
      {"load_s", stats->loadSeconds},
      {"stall_s", stats->stallSeconds},
      {"store_s", stats->storeSeconds},
      {"overlap", stats->overlap()},
      {"bytes_read", int64_t(stats->bytesRead)},
      {"bytes_written", int64_t(stats->bytesWritten)},
      {"gflops", flops / stats->seconds / 1e9},
      {"baseline_rss_bytes", baseline},
      {"peak_rss_bytes", peak},
      {"peak_rss_above_baseline_bytes", peak - baseline},
      {"rss_within_budget_plus_10pct", peak - baseline <= 1.1 * double(budget)}};
  outs() << formatv("{0:2}", json::Value(std::move(o))) << "\n";
  return 0;
}
