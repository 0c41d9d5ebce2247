//===- cpu_peak.cpp - the CPU's f32 FMA and bf16 dot-product peaks --------===//
//
// The arithmetic ceiling of this CPU, measured: the runtime's chains of independent vector
// FMAs (lib/Runtime/CpuPeak.h: f32 AVX-512 or, without AVX-512F, AVX2 + FMA; bf16 VDPBF16PS),
// which keep every vector pipe busy and touch no memory, on T threads at once. A GEMM's GFLOP/s
// is bounded by these; bench/cpu_peak.sh puts lorc's MiniLM run next to them.
//
// Usage: lorc-bench-cpu-peak [THREADS] — prints one line per precision:
//   peak f32: <GFLOP/s total> GFLOP/s (<per thread> per thread, T threads)
// (the f32 line names the instruction set) and exits 2 (with a message) on a CPU with neither
// AVX-512F nor AVX2 + FMA; bf16 is skipped without AVX512_BF16.
//
//===----------------------------------------------------------------------===//

#include "CpuPeak.h" // lib/Runtime: the kernels, shared with the runtime's bf16 GEMM choice

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

constexpr int64_t kIterations = 20'000'000;

/// GFLOP/s of `threads` threads each running `op`'s chains at once (best of three runs).
double measure(lorc::VectorOp op, int threads) {
  lorc::measureVectorOpGflops(op, kIterations / 20); // warm-up: clocks up, code paged in
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    std::vector<std::thread> pool;
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([op] { lorc::measureVectorOpGflops(op, kIterations); });
    for (std::thread &t : pool)
      t.join();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double flop = lorc::vectorOpFlop(op) * lorc::kVectorOpChains *
                  static_cast<double>(kIterations) * threads;
    best = std::max(best, flop / seconds / 1e9);
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  if (threads <= 0) {
    std::fprintf(stderr, "lorc-bench-cpu-peak: THREADS must be a positive integer\n");
    return 1;
  }
  bool avx512 = lorc::cpuSupports(lorc::VectorOp::FmaF32Avx512);
  if (!avx512 && !lorc::cpuSupports(lorc::VectorOp::FmaF32Avx2)) {
    std::fprintf(stderr, "lorc-bench-cpu-peak: this CPU has neither AVX-512F nor AVX2 + FMA\n");
    return 2;
  }
  double f32 = measure(avx512 ? lorc::VectorOp::FmaF32Avx512 : lorc::VectorOp::FmaF32Avx2, threads);
  std::printf("peak f32: %.1f GFLOP/s (%.1f per thread, %d threads, %s)\n", f32, f32 / threads,
              threads, avx512 ? "AVX-512" : "AVX2");
  if (!lorc::cpuSupports(lorc::VectorOp::DotBf16)) {
    std::printf("peak bf16: (no AVX512_BF16 on this CPU)\n");
    return 0;
  }
  double bf16 = measure(lorc::VectorOp::DotBf16, threads);
  std::printf("peak bf16: %.1f GFLOP/s (%.1f per thread, %d threads)\n", bf16, bf16 / threads,
              threads);
  return 0;
}
