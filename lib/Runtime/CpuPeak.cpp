//===- CpuPeak.cpp - this CPU's vector arithmetic rates, measured ---------===//
//
// See CpuPeak.h. Each kernel is compiled for its instruction set through a target attribute, so
// the library itself stays baseline x86-64 and only runs a kernel the CPU supports.
//
//===----------------------------------------------------------------------===//

#include "CpuPeak.h"

#include <immintrin.h>

#include <chrono>

using namespace lorc;

namespace {

constexpr int kChains = kVectorOpChains;

__attribute__((target("avx512f"))) float runF32Avx512(int64_t iterations) {
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

volatile float sink; // keeps each kernel's result alive

} // namespace

double lorc::vectorOpFlop(VectorOp op) {
  switch (op) {
  case VectorOp::FmaF32Avx512:
    return 32;
  case VectorOp::FmaF32Avx2:
    return 16;
  case VectorOp::DotBf16:
    return 64;
  }
  return 0;
}

bool lorc::cpuSupports(VectorOp op) {
  __builtin_cpu_init();
  switch (op) {
  case VectorOp::FmaF32Avx512:
    return __builtin_cpu_supports("avx512f");
  case VectorOp::FmaF32Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case VectorOp::DotBf16:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

double lorc::measureVectorOpGflops(VectorOp op, int64_t iterations) {
  float (*kernel)(int64_t) = op == VectorOp::FmaF32Avx512 ? runF32Avx512
                             : op == VectorOp::FmaF32Avx2 ? runF32Avx2
                                                          : runBf16;
  auto start = std::chrono::steady_clock::now();
  sink = kernel(iterations);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double flop = vectorOpFlop(op) * kChains * static_cast<double>(iterations);
  return seconds > 0 ? flop / seconds / 1e9 : 0;
}
