//===- Fp8.cpp - reference FP8 casts ----------------------------------------===//

#include "lorc/Support/Fp8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace lorc;

namespace {
struct Format {
  unsigned mantissaBits;
  int bias;
  float maxFinite;
  uint32_t maxCode;
};
Format formatOf(Fp8Kind k) {
  return k == Fp8Kind::E4M3FN ? Format{3, 7, 448.0f, 0x7E} : Format{2, 15, 57344.0f, 0x7B};
}
} // namespace

double lorc::fp8Max(Fp8Kind kind) { return formatOf(kind).maxFinite; }

uint8_t lorc::fp8Encode(float x, Fp8Kind kind) {
  Format f = formatOf(kind);
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  uint32_t sign = (bits >> 24) & 0x80, absBits = bits & 0x7FFFFFFF;
  if (std::isnan(x))
    return static_cast<uint8_t>(0x7F | sign);
  float a;
  std::memcpy(&a, &absBits, 4);
  uint32_t code;
  if (a >= f.maxFinite) {
    code = f.maxCode;
  } else if (a < std::ldexp(1.0f, 1 - f.bias)) { // subnormal: k · 2^(1 − bias − m)
    code = static_cast<uint32_t>(
        std::nearbyint(a * std::ldexp(1.0f, f.bias - 1 + static_cast<int>(f.mantissaBits))));
  } else { // round the f32 bits to m mantissa bits (ties to even), rebias the exponent
    unsigned shift = 23 - f.mantissaBits;
    uint32_t r = (absBits + (1u << (shift - 1)) - 1 + ((absBits >> shift) & 1)) >> shift;
    code = r - (static_cast<uint32_t>(127 - f.bias) << f.mantissaBits);
  }
  return static_cast<uint8_t>(code | sign);
}

float lorc::fp8Decode(uint8_t c, Fp8Kind kind) {
  Format f = formatOf(kind);
  uint32_t expMask = (1u << (7 - f.mantissaBits)) - 1, manMask = (1u << f.mantissaBits) - 1;
  uint32_t e = (c >> f.mantissaBits) & expMask, m = c & manMask;
  bool negative = c & 0x80;
  if (kind == Fp8Kind::E4M3FN && (c & 0x7F) == 0x7F)
    return std::numeric_limits<float>::quiet_NaN();
  if (kind == Fp8Kind::E5M2 && e == expMask)
    return m ? std::numeric_limits<float>::quiet_NaN()
             : (negative ? -std::numeric_limits<float>::infinity()
                         : std::numeric_limits<float>::infinity());
  if (e == 0) {
    float v = std::ldexp(static_cast<float>(m), 1 - f.bias - static_cast<int>(f.mantissaBits));
    return negative ? -v : v;
  }
  uint32_t bits = (negative ? 0x80000000u : 0u) | ((e + 127 - f.bias) << 23) |
                  (m << (23 - f.mantissaBits));
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

Fp8Rows lorc::fp8QuantizeRows(const float *w, int64_t n, int64_t k, Fp8Kind kind,
                               int64_t marginBits) {
  Fp8Rows q{std::vector<uint8_t>(static_cast<size_t>(n * k)),
            std::vector<float>(static_cast<size_t>(n), 1.0f)};
  for (int64_t r = 0; r < n; ++r) {
    const float *row = w + r * k;
    float rowMax = 0;
    for (int64_t c = 0; c < k; ++c)
      rowMax = std::max(rowMax, std::fabs(row[c]));
    if (rowMax > 0)
      q.scales[r] = static_cast<float>(fp8Scale(fp8Max(kind), rowMax, marginBits));
    for (int64_t c = 0; c < k; ++c)
      q.codes[r * k + c] = fp8Encode(row[c] * q.scales[r], kind);
  }
  return q;
}

std::vector<float> lorc::fp8FakeQuantRows(const float *w, int64_t n, int64_t k, Fp8Kind kind,
                                          int64_t marginBits) {
  return fp8DequantizeRows(fp8QuantizeRows(w, n, k, kind, marginBits), n, k, kind);
}

std::vector<float> lorc::fp8DequantizeRows(const Fp8Rows &q, int64_t n, int64_t k,
                                           Fp8Kind kind) {
  std::vector<float> out(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      out[r * k + c] = fp8Decode(q.codes[r * k + c], kind) / q.scales[r];
  return out;
}

float lorc::bf16Round(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (std::isnan(x)) {
    bits = 0x7FC00000u; // MLIR's expansion: the canonical quiet NaN
  } else {
    bits += 0x7FFFu + ((bits >> 16) & 1u); // ties to even; overflow rounds to ±inf
    bits &= 0xFFFF0000u;
  }
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

uint16_t lorc::toBf16Bits(float x) {
  float r = bf16Round(x);
  uint32_t bits;
  std::memcpy(&bits, &r, 4);
  return static_cast<uint16_t>(bits >> 16);
}

float lorc::delayedScalingAmax(const std::vector<float> &history, int64_t historyLen,
                               bool mostRecent) {
  if (history.empty())
    return 0;
  if (mostRecent)
    return history.back();
  size_t from = history.size() > static_cast<size_t>(historyLen) ? history.size() - historyLen : 0;
  return *std::max_element(history.begin() + from, history.end());
}
