//===- Fp8Test.cpp - reference FP8 casts against PyTorch --------------------===//
//
// lorc::fp8Encode / fp8Decode against test/e2e/goldens/fp8.safetensors (PyTorch's float8 casts
// of the clamped values, scripts/make-goldens/fp8.py): every code and every golden input, bit
// for bit (NaN as a class when decoding).
//
//===----------------------------------------------------------------------===//

#include "lorc/Support/Fp8.h"
#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <immintrin.h>
#include <random>

using namespace lorc;

namespace {

std::unique_ptr<SafetensorsFile> golden() {
  llvm::SmallString<256> p(LORC_SOURCE_DIR);
  llvm::sys::path::append(p, "test", "e2e", "goldens", "fp8.safetensors");
  auto f = SafetensorsFile::open(p);
  if (!f) {
    ADD_FAILURE() << llvm::toString(f.takeError());
    return nullptr;
  }
  return std::move(*f);
}

template <typename T> std::vector<T> tensor(const SafetensorsFile &f, const std::string &name) {
  const TensorInfo *info = f.find(name);
  EXPECT_NE(info, nullptr) << name;
  if (!info)
    return {};
  llvm::ArrayRef<uint8_t> raw = f.data(*info);
  std::vector<T> v(raw.size() / sizeof(T));
  std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

void checkFormat(Fp8Kind kind, const std::string &name) {
  auto f = golden();
  ASSERT_TRUE(f);
  std::vector<float> inputs = tensor<float>(*f, name + ".inputs"), decode =
                                                                        tensor<float>(*f, name + ".decode");
  std::vector<int32_t> codes = tensor<int32_t>(*f, name + ".codes");
  ASSERT_EQ(inputs.size(), codes.size());
  ASSERT_EQ(decode.size(), 256u);
  int wrong = 0;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (fp8Encode(inputs[i], kind) != codes[i] && ++wrong <= 5)
      ADD_FAILURE() << name << ": " << inputs[i] << " -> " << int(fp8Encode(inputs[i], kind))
                    << ", PyTorch " << codes[i];
  EXPECT_EQ(wrong, 0);
  for (int c = 0; c < 256; ++c) {
    float got = fp8Decode(static_cast<uint8_t>(c), kind), want = decode[c];
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got)) << name << " code " << c;
    else
      EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << name << " code " << c << ": " << got
                                                << " vs " << want;
  }
}

TEST(Fp8, E4M3FNMatchesPyTorch) { checkFormat(Fp8Kind::E4M3FN, "e4m3"); }
TEST(Fp8, E5M2MatchesPyTorch) { checkFormat(Fp8Kind::E5M2, "e5m2"); }

TEST(Fp8, SaturatesAndKeepsSign) {
  EXPECT_EQ(fp8Encode(1e9f, Fp8Kind::E4M3FN), 0x7E);
  EXPECT_EQ(fp8Encode(-INFINITY, Fp8Kind::E4M3FN), 0xFE);
  EXPECT_EQ(fp8Encode(INFINITY, Fp8Kind::E5M2), 0x7B);
  EXPECT_EQ(fp8Encode(-0.0f, Fp8Kind::E4M3FN), 0x80);
  EXPECT_FLOAT_EQ(fp8FakeQuant(0.3f, 1.0f, Fp8Kind::E4M3FN), 0.3125f);
  EXPECT_FLOAT_EQ(fp8FakeQuant(1000.0f, 0.25f, Fp8Kind::E4M3FN), 1024.0f); // 250 -> 256
}

// Per-output-channel quantisation of a weight (what an FP8 layer stores): row r's scale is
// fp8_max / amax(row r) / 2^margin, an all-zero row gets scale 1 and codes ±0, and the codes
// decoded and divided by the scale give fp8FakeQuantRows' values bit for bit.
TEST(Fp8, QuantizeRowsPerOutputChannel) {
  const float w[3][4] = {{1.0f, -2.0f, 0.3f, 8.0f}, {0.0f, -0.0f, 0.0f, 0.0f},
                         {1e-3f, -5e-4f, 2e-3f, 0.0f}};
  Fp8Rows q = fp8QuantizeRows(&w[0][0], 3, 4, Fp8Kind::E4M3FN, /*marginBits=*/1);
  ASSERT_EQ(q.codes.size(), 12u);
  ASSERT_EQ(q.scales.size(), 3u);
  EXPECT_FLOAT_EQ(q.scales[0], 448.0f / 8.0f / 2.0f);
  EXPECT_EQ(q.scales[1], 1.0f);
  EXPECT_FLOAT_EQ(q.scales[2], 448.0f / 2e-3f / 2.0f);
  EXPECT_EQ(q.codes[3], fp8Encode(8.0f * 28.0f, Fp8Kind::E4M3FN)); // 224: half the range
  EXPECT_EQ(q.codes[4], 0x00);
  EXPECT_EQ(q.codes[5], 0x80);
  std::vector<float> fake = fp8FakeQuantRows(&w[0][0], 3, 4, Fp8Kind::E4M3FN, 1);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      float v = fp8Decode(q.codes[r * 4 + c], Fp8Kind::E4M3FN) / q.scales[r];
      EXPECT_EQ(std::memcmp(&v, &fake[r * 4 + c], sizeof v), 0) << r << "," << c;
      EXPECT_NEAR(v, w[r][c], std::fabs(w[r][c]) / 8) << r << "," << c; // 3 mantissa bits
    }
}

/// The CPU's own f32 → bf16 conversion (AVX512_BF16 VCVTNEPS2BF16: round to nearest even; it
/// flushes subnormal inputs and outputs to zero and quiets NaN, keeping sign and payload).
__attribute__((target("avx512bf16,avx512vl"))) uint16_t hardwareBf16(float x) {
  __m128bh h = _mm_cvtneps_pbh(_mm_set1_ps(x));
  uint16_t out;
  std::memcpy(&out, &h, 2);
  return out;
}

uint16_t bf16Bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return static_cast<uint16_t>(b >> 16);
}

float fromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// lorc::bf16Round (the compile-time rounding of bf16 weights) against the CPU's conversion
// instruction on ties, carries into the exponent, overflow to inf and a million random finite
// normal values; NaN and subnormals (which the instruction quiets or flushes) by their rules.
TEST(Bf16, RoundMatchesTheCpuInstruction) {
  if (!__builtin_cpu_supports("avx512bf16"))
    GTEST_SKIP() << "this CPU has no AVX512_BF16 to compare with";
  std::vector<uint32_t> bits = {0x3F808000, 0x3F818000, 0x3F80FFFF, 0x3F807FFF, 0x3E99999A,
                                0x3A83126F, 0x7F7FFFFF, 0xFF7F8000, 0x7F7F7FFF, 0x00800000,
                                0x80000000, 0x7F800000, 0xFF800000, 0x3FFFFFFF, 0x4B7FFFFF};
  std::mt19937 rng(7);
  for (int i = 0; i < 1000000; ++i) {
    uint32_t b = rng();
    uint32_t exponent = (b >> 23) & 0xFF;
    if (exponent != 0 && exponent != 0xFF)
      bits.push_back(b);
  }
  int wrong = 0;
  for (uint32_t b : bits) {
    float x = fromBits(b);
    if (bf16Bits(bf16Round(x)) != hardwareBf16(x) && ++wrong <= 5)
      ADD_FAILURE() << std::hex << "0x" << b << " -> 0x" << bf16Bits(bf16Round(x))
                    << ", the CPU 0x" << hardwareBf16(x);
  }
  EXPECT_EQ(wrong, 0);
  // Its own rules where the instruction differs: NaN → MLIR's canonical 0x7FC0, subnormals
  // rounded (not flushed), and an exact low half kept.
  EXPECT_EQ(bf16Bits(bf16Round(fromBits(0xFF812345))), 0x7FC0);
  EXPECT_EQ(bf16Bits(bf16Round(fromBits(0x00018000))), 0x0002); // tie to even, up
  EXPECT_EQ(bf16Bits(bf16Round(fromBits(0x00008000))), 0x0000); // tie to even, down
  EXPECT_EQ(bf16Round(1.0f), 1.0f);
}

} // namespace
