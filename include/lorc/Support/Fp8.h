//===- Fp8.h - reference FP8 casts (E4M3FN, E5M2) ---------------*- C++ -*-===//
//
// Scalar f32 <-> FP8 conversions with the semantics of `lorc.quantize` / `lorc.dequantize`
// (round to nearest even; finite overflow and ±inf saturate to ±max as PTX cvt.rn.satfinite and
// Transformer Engine; NaN -> S.1111.111 / S.11111.11 as PyTorch). The compiler's own lowering
// emits the same algorithm as IR (lib/Conversion/LorcToLinalg); this copy serves compile-time
// work (precision assignment's sensitivity, fake-quantised weights) and is tested bit for bit
// against PyTorch's goldens (unittests/Fp8Test.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_SUPPORT_FP8_H
#define LORC_SUPPORT_FP8_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lorc {

enum class Fp8Kind { E4M3FN, E5M2 };

/// Largest finite value: 448 (E4M3FN) or 57344 (E5M2).
double fp8Max(Fp8Kind kind);
/// The FP8 code of `x` (no scaling).
uint8_t fp8Encode(float x, Fp8Kind kind);
/// The exact f32 value of an FP8 code.
float fp8Decode(uint8_t code, Fp8Kind kind);
/// Round trip through FP8: fp8Decode(fp8Encode(x · scale)) / scale.
inline float fp8FakeQuant(float x, float scale, Fp8Kind kind) {
  return fp8Decode(fp8Encode(x * scale, kind), kind) / scale;
}

/// Transformer Engine's delayed-scaling scale for a tensor of amax `amax`:
/// fp8_max / amax / 2^marginBits (transformer_engine/common/recipe).
inline double fp8Scale(double fp8Max, double amax, int64_t marginBits) {
  return fp8Max / amax / std::ldexp(1.0, static_cast<int>(marginBits));
}

/// The amax delayed scaling uses from a history (oldest first): the max of its last
/// `historyLen` entries, or the most recent one; 0 for an empty history.
float delayedScalingAmax(const std::vector<float> &history, int64_t historyLen, bool mostRecent);

/// An [n, k] row-major weight quantised to FP8 per output channel: the codes ([n, k], row-major)
/// and each row's scale_r = fp8_max / amax(row r) / 2^marginBits (1 for an all-zero row), so
/// that fp8Decode(codes[r·k + c]) / scales[r] is fp8FakeQuantRows' value. What a weight stored
/// FP8 holds (`--lorc-narrow-weights`, docs/Artifact.md).
struct Fp8Rows {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
};
Fp8Rows fp8QuantizeRows(const float *w, int64_t n, int64_t k, Fp8Kind kind, int64_t marginBits);
/// fp8Decode(codes[r·k + c]) / scales[r] for every element of `q` ([n, k] row-major).
std::vector<float> fp8DequantizeRows(const Fp8Rows &q, int64_t n, int64_t k, Fp8Kind kind);
/// An [n, k] row-major weight through FP8 per output channel, dequantised: row r uses
/// scale_r = fp8_max / amax(row r) / 2^marginBits (all-zero rows stay zero). What
/// `--lorc-assign-precision` computes an FP8 layer with (fp8QuantizeRows' codes, decoded).
std::vector<float> fp8FakeQuantRows(const float *w, int64_t n, int64_t k, Fp8Kind kind,
                                    int64_t marginBits);

/// `x` rounded to bfloat16 (8 exponent, 7 mantissa bits), round to nearest even, as f32:
/// what `arith.truncf` to bf16 computes (MLIR's arith-expand bf16 patterns, PyTorch's
/// `.to(torch.bfloat16)`); ±inf stays ±inf, and NaN becomes the canonical quiet NaN 0x7FC0 as
/// in MLIR's expansion (PyTorch keeps the sign).
float bf16Round(float x);

/// The bfloat16 bit pattern of `x` rounded as bf16Round: the upper 16 bits of bf16Round(x).
uint16_t toBf16Bits(float x);

/// A bfloat16 bit pattern as f32 (exact: the pattern is the upper half of the f32 bits).
/// Inline, so that code which must not link LorcSupport (unittests/FakeCuda.cpp) can use it.
inline float fromBf16Bits(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof(f));
  return f;
}

} // namespace lorc

#endif // LORC_SUPPORT_FP8_H
