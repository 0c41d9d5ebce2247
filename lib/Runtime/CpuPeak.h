//===- CpuPeak.h - this CPU's vector arithmetic rates, measured -----------===//
//
// The arithmetic ceiling of the CPU the runtime runs on, measured rather than looked up:
// chains of independent vector multiply-adds that touch no memory, one thread.
//   f32 AVX-512:  VFMADD231PS zmm (_mm512_fmadd_ps):  16 lanes × 2 flop = 32 flop per instruction
//   f32 AVX2:     VFMADD231PS ymm (_mm256_fmadd_ps):   8 lanes × 2 flop = 16
//   bf16:         VDPBF16PS zmm   (_mm512_dpbf16_ps): 16 lanes × 2 pairs × 2 flop = 64
// (Intel's intrinsics guide gives the operations; VDPBF16PS accumulates in f32, as oneDNN's bf16
// GEMM does.)
//
// Why measure: VDPBF16PS does not run at the same rate everywhere. On the project's Zen 4 it
// reached 1.84× the f32 FMA rate (456 vs 248 GFLOP/s on 2 threads), so bf16 GEMMs pay; on the
// Intel Xeon (family 6 model 207, no AMX exposed) of 2026-12-06 it reached 0.47× (82 vs 175 GFLOP/s
// per thread), so oneDNN's bf16 GEMM is slower than its f32 one there (MiniLM 8 × 128: 168 ms
// bf16 vs 97 ms f32). The runtime's bf16 GEMM choice (CpuGemm.h, chooseBf16Gemm) and
// bench/cpu_peak.cpp both use these measurements.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_LIB_RUNTIME_CPUPEAK_H
#define LORC_LIB_RUNTIME_CPUPEAK_H

#include <cstdint>

namespace lorc {

enum class VectorOp {
  FmaF32Avx512, ///< VFMADD231PS zmm, 32 flop
  FmaF32Avx2,   ///< VFMADD231PS ymm (AVX2 + FMA), 16 flop
  DotBf16,      ///< VDPBF16PS zmm (AVX512_BF16), 64 flop
};

/// Independent accumulators per chain run: more than latency × throughput needs on every CPU
/// measured (FMA: 4 cycles × 2 per cycle), so the chains never wait on each other.
constexpr int kVectorOpChains = 12;

/// Flop per instruction of `op` (above).
double vectorOpFlop(VectorOp op);

/// Whether this CPU can execute `op` (__builtin_cpu_supports).
bool cpuSupports(VectorOp op);

/// Runs `iterations` × kVectorOpChains instructions of `op` on the calling thread and returns
/// the rate in GFLOP/s (wall clock, steady_clock). `op` must be supported (cpuSupports); the
/// caller picks `iterations` (1e5 takes ~0.2–1 ms) and repeats to take the best.
double measureVectorOpGflops(VectorOp op, int64_t iterations);

} // namespace lorc

#endif // LORC_LIB_RUNTIME_CPUPEAK_H
