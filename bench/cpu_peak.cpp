//===- cpu_peak.cpp - the CPU's f32 FMA and bf16 dot-product peaks --------===//
//
// The arithmetic ceiling of this CPU, measured: chains of independent vector FMAs that keep
// every vector pipe busy and touch no memory, on T threads at once.
//   f32:  VFMADD231PS zmm   (_mm512_fmadd_ps):   16 lanes × 2 flop = 32 flop per instruction;
//         on a CPU without AVX-512F (AMD before Zen 4) VFMADD231PS ymm (_mm256_fmadd_ps, AVX2 +
//         FMA): 8 lanes × 2 flop = 16
//   bf16: VDPBF16PS zmm     (_mm512_dpbf16_ps):  16 lanes × 2 pairs × 2 flop = 64 flop
// (Intel's intrinsics guide gives both operations; VDPBF16PS accumulates in f32, as oneDNN's
// bf16 GEMM does.) A GEMM's GFLOP/s is bounded by these; bench/cpu_peak.sh puts lorc's MiniLM
// run next to them.
//
// Usage: lorc-bench-cpu-peak [THREADS] — prints one line per precision:
//   peak f32: <GFLOP/s total> GFLOP/s (<per thread> per thread, T threads)
// (the f32 line names the instruction set) and exits 2 (with a message) on a CPU with neither
// AVX-512F nor AVX2 + FMA; bf16 is skipped without AVX512_BF16.
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

// Twelve independent accumulators: more than latency (4 cycles) × throughput (2 per cycle)
// needs, so the chains never wait on each other.
constexpr int kChains = 12;
constexpr int64_t kIterations = 20'000'000;

__attribute__((target("avx512f"))) float runF32(int64_t iterations) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm512_set1_ps(0.001f * static_cast<float>(c));
  __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kChains; ++c)
      acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c)
    sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_reduce_add_ps(sum); // consumed, so the loop is not dead code
}

__attribute__((target("avx2,fma"))) float runF32Avx2(int64_t iterations) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm256_set1_ps(0.001f * static_cast<float>(c));
  __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kChains; ++c)
      acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c)
    sum = _mm256_add_ps(sum, acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float v : lanes)
    total += v;
  return total;
}

__attribute__((target("avx512f,avx512bf16"))) float runBf16(int64_t iterations) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm512_set1_ps(0.001f * static_cast<float>(c));
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kChains; ++c)
      acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c)
    sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_reduce_add_ps(sum);
}

/// GFLOP/s of `threads` threads each running `kernel` at once (best of three runs).
double measure(float (*kernel)(int64_t), double flopPerInstruction, int threads) {
  kernel(kIterations / 20); // warm-up: clocks up, code paged in
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    std::vector<std::thread> pool;
    std::vector<float> sink(threads);
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sink[t] = kernel(kIterations); });
    for (std::thread &t : pool)
      t.join();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double flop = flopPerInstruction * kChains * static_cast<double>(kIterations) * threads;
    best = std::max(best, flop / seconds / 1e9);
    if (sink[0] == 12345.0f) // never true; keeps the results alive
      std::puts("");
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
  bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    std::fprintf(stderr, "lorc-bench-cpu-peak: this CPU has neither AVX-512F nor AVX2 + FMA\n");
    return 2;
  }
  double f32 = avx512 ? measure(runF32, 32, threads) : measure(runF32Avx2, 16, threads);
  std::printf("peak f32: %.1f GFLOP/s (%.1f per thread, %d threads, %s)\n", f32, f32 / threads,
              threads, avx512 ? "AVX-512" : "AVX2");
  if (!__builtin_cpu_supports("avx512bf16")) {
    std::printf("peak bf16: (no AVX512_BF16 on this CPU)\n");
    return 0;
  }
  double bf16 = measure(runBf16, 64, threads);
  std::printf("peak bf16: %.1f GFLOP/s (%.1f per thread, %d threads)\n", bf16, bf16 / threads,
              threads);
  return 0;
}
