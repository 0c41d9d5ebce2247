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

} // namespace
