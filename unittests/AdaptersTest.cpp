//===- AdaptersTest.cpp - Tests of the PEFT/LyCORIS adapter readers -------===//
//
// Every adapter here is synthetic: written to a temporary directory with SafetensorsWriter and a
// JSON string, then read back with readAdapter. Expected ΔW values come from naive index loops
// written from the formulas' definitions (peft tuners/lora/layer.py, LyCORIS functional/*.py),
// and the DoRA cases from values worked out by hand.
//
//===----------------------------------------------------------------------===//

#include "lorc/Support/Adapters.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace lorc;
using llvm::StringRef;

namespace {

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec = llvm::sys::fs::createUniqueDirectory("lorc-adapters-test", dir);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(dir); }
  /// `name` inside the directory.
  std::string path(StringRef name) const {
    llvm::SmallString<256> result(dir);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }
  /// Creates the subdirectory `name` and returns its path.
  std::string subdir(StringRef name) const {
    std::string result = path(name);
    std::error_code ec = llvm::sys::fs::create_directories(result);
    EXPECT_FALSE(ec) << ec.message();
    return result;
  }

private:
  llvm::SmallString<256> dir;
};

/// One tensor to write. `dtype` F32, F16 or BF16; for F16/BF16 `bits` holds the raw values.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  DType dtype = DType::F32;
  std::vector<uint16_t> bits = {};
};

void writeFile(const std::string &path, StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << text;
}

void writeSafetensors(const std::string &path, const std::vector<Tensor> &tensors) {
  SafetensorsWriter writer;
  for (const Tensor &tensor : tensors) {
    std::vector<uint8_t> bytes;
    if (tensor.dtype == DType::F32) {
      bytes.resize(tensor.values.size() * 4);
      std::memcpy(bytes.data(), tensor.values.data(), bytes.size());
    } else {
      bytes.resize(tensor.bits.size() * 2);
      std::memcpy(bytes.data(), tensor.bits.data(), bytes.size());
    }
    writer.addOwned(tensor.name, tensor.dtype, tensor.shape, std::move(bytes));
  }
  llvm::Error error = writer.write(path);
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
}

/// Writes a PEFT adapter directory `name` with `config` and `tensors`; returns its path.
std::string writePeft(const TempDir &tmp, StringRef name, StringRef config,
                      const std::vector<Tensor> &tensors) {
  std::string dir = tmp.subdir(name);
  writeFile(dir + "/adapter_config.json", config);
  writeSafetensors(dir + "/adapter_model.safetensors", tensors);
  return dir;
}

/// Deterministic pseudo-random multiples of 1/8 in [-1, 1], distinct for each (offset, k), so
/// that no index pattern of the tensors repeats (a periodic sequence could hide a wrong index).
std::vector<float> values(int64_t count, int offset = 0, int k = 5) {
  std::vector<float> result(count);
  uint32_t state = 2654435761u * static_cast<uint32_t>(offset + 1) + static_cast<uint32_t>(k);
  for (int64_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    result[i] = 0.125f * static_cast<float>(static_cast<int>((state >> 16) % 17) - 8);
  }
  return result;
}

/// Reads an adapter that must be accepted.
AdapterSet readOk(const std::string &path, const std::vector<std::string> &baseModules,
                  AdapterReadOptions options = {}, std::vector<std::string> *warningsOut = nullptr,
                  double multiplier = 1.0) {
  std::vector<std::string> warnings;
  llvm::Expected<AdapterSet> set = readAdapter(path, multiplier, baseModules, options, warnings);
  if (!set) {
    ADD_FAILURE() << "readAdapter failed: " << llvm::toString(set.takeError());
    return AdapterSet();
  }
  if (warningsOut)
    *warningsOut = warnings;
  else
    EXPECT_TRUE(warnings.empty()) << warnings.front();
  return std::move(*set);
}

/// Reads an adapter that must be refused; returns the message.
std::string readError(const std::string &path, const std::vector<std::string> &baseModules,
                      AdapterReadOptions options = {}) {
  std::vector<std::string> warnings;
  llvm::Expected<AdapterSet> set = readAdapter(path, 1.0, baseModules, options, warnings);
  if (set) {
    ADD_FAILURE() << "expected the adapter at " << path << " to be refused";
    return "";
  }
  return llvm::toString(set.takeError());
}

/// Checks that `message` mentions every one of `parts`.
void expectMentions(const std::string &message, std::initializer_list<StringRef> parts) {
  for (StringRef part : parts)
    EXPECT_NE(message.find(part.str()), std::string::npos)
        << "message '" << message << "' lacks '" << part.str() << "'";
}

const ModuleAdapter *findModule(const AdapterSet &set, StringRef module) {
  for (const ModuleAdapter &adapter : set.modules)
    if (adapter.module == module)
      return &adapter;
  ADD_FAILURE() << "no adapter for module " << module.str();
  return nullptr;
}

std::vector<float> delta(const ModuleAdapter &adapter, std::vector<int64_t> baseShape) {
  llvm::Expected<std::vector<float>> result = computeDeltaWeight(adapter, baseShape);
  if (!result) {
    ADD_FAILURE() << "computeDeltaWeight failed: " << llvm::toString(result.takeError());
    return {};
  }
  return std::move(*result);
}

std::string deltaError(const ModuleAdapter &adapter, std::vector<int64_t> baseShape) {
  llvm::Expected<std::vector<float>> result = computeDeltaWeight(adapter, baseShape);
  if (result) {
    ADD_FAILURE() << "expected computeDeltaWeight to fail";
    return "";
  }
  return llvm::toString(result.takeError());
}

void expectClose(const std::vector<float> &actual, const std::vector<double> &expected,
                 double tolerance = 1e-5) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tolerance * std::max(1.0, std::fabs(expected[i])))
        << "element " << i;
}

/// A LyCORIS module as a std::map of factors, for calling computeDeltaWeight directly.
ModuleAdapter makeAdapter(AdapterAlgo algo, double scale,
                          std::map<std::string, AdapterTensor> factors) {
  ModuleAdapter adapter;
  adapter.module = "m";
  adapter.algo = algo;
  adapter.rank = 1;
  adapter.scale = scale;
  adapter.factors = std::move(factors);
  return adapter;
}

const char *kLoraConfig = R"({"peft_type": "LORA", "r": 2, "lora_alpha": 6,
  "target_modules": "all-linear", "some_future_field": {"x": [1, 2]}, "bias": "none"})";

//===----------------------------------------------------------------------===//
// PEFT: scale, defaults, patterns, module mapping
//===----------------------------------------------------------------------===//

TEST(PeftAdapter, LoraScaleIsAlphaOverRank) {
  TempDir tmp;
  std::string dir = writePeft(
      tmp, "lora", kLoraConfig,
      {{"base_model.model.encoder.layer.0.attention.self.query.lora_A.weight", {2, 4}, values(8)},
       {"base_model.model.encoder.layer.0.attention.self.query.lora_B.weight", {3, 2}, values(6)}});
  AdapterSet set = readOk(dir, {"encoder.layer.0.attention.self.query"});
  EXPECT_EQ(set.format, "peft");
  EXPECT_EQ(set.path, dir);
  ASSERT_EQ(set.modules.size(), 1u);
  const ModuleAdapter &adapter = set.modules[0];
  EXPECT_EQ(adapter.module, "encoder.layer.0.attention.self.query");
  EXPECT_EQ(adapter.algo, AdapterAlgo::LoRA);
  EXPECT_EQ(adapter.rank, 2);
  EXPECT_DOUBLE_EQ(adapter.alpha, 6);
  EXPECT_DOUBLE_EQ(adapter.scale, 3); // 6 / 2
  EXPECT_FALSE(adapter.fanInFanOut);
  EXPECT_EQ(adapter.factors.count("down"), 1u);
  EXPECT_EQ(adapter.factors.count("up"), 1u);
}

TEST(PeftAdapter, RsLoraScaleIsAlphaOverSqrtRank) {
  TempDir tmp;
  std::string dir = writePeft(
      tmp, "rslora", R"({"peft_type": "LORA", "r": 4, "lora_alpha": 6, "use_rslora": true})",
      {{"base_model.model.fc.lora_A.weight", {4, 3}, values(12)},
       {"base_model.model.fc.lora_B.weight", {2, 4}, values(8)}});
  AdapterSet set = readOk(dir, {"fc"}, {}, nullptr, 0.5);
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_DOUBLE_EQ(set.multiplier, 0.5);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 3); // 6 / √4
}

// LoraConfig defaults r = 8 and lora_alpha = 8 (peft tuners/lora/config.py); PEFT fills a
// config without them with those defaults, and so does lorc.
TEST(PeftAdapter, MissingAlphaAndRankUseLoraConfigDefaults) {
  TempDir tmp;
  std::string noAlpha = writePeft(tmp, "no-alpha", R"({"peft_type": "LORA", "r": 4})",
                                  {{"base_model.model.fc.lora_A.weight", {4, 3}, values(12)},
                                   {"base_model.model.fc.lora_B.weight", {2, 4}, values(8)}});
  AdapterSet set = readOk(noAlpha, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_DOUBLE_EQ(set.modules[0].alpha, 8);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 2); // 8 / 4

  std::string minimal = writePeft(tmp, "minimal", R"({"peft_type": "LORA"})",
                                  {{"base_model.model.fc.lora_A.weight", {8, 3}, values(24)},
                                   {"base_model.model.fc.lora_B.weight", {2, 8}, values(16)}});
  set = readOk(minimal, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].rank, 8);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 1); // 8 / 8
}

// peft utils/other.py get_pattern_key: re.match(rf"(.*\.)?({key})$", module), first key wins.
TEST(PeftAdapter, RankAndAlphaPatterns) {
  TempDir tmp;
  const std::string q0 = "encoder.layer.0.attention.self.query";
  const std::string q1 = "encoder.layer.1.attention.self.query";
  const std::string v1 = "encoder.layer.1.attention.self.value";
  std::vector<Tensor> tensors = {
      {"base_model.model." + q0 + ".lora_A.weight", {4, 3}, values(12)},
      {"base_model.model." + q0 + ".lora_B.weight", {2, 4}, values(8)},
      {"base_model.model." + q1 + ".lora_A.weight", {2, 3}, values(6)},
      {"base_model.model." + q1 + ".lora_B.weight", {2, 2}, values(4)},
      {"base_model.model." + v1 + ".lora_A.weight", {2, 3}, values(6)},
      {"base_model.model." + v1 + ".lora_B.weight", {2, 2}, values(4)},
  };
  // "layer.0.attention.self.query" matches q0 only (after the optional "(.*\.)?" prefix);
  // "uery" must not match "query" (the pattern must start at a '.' boundary);
  // "layer\.\d\.attention\.self\.value" is a regular expression (Python's \d).
  std::string dir = writePeft(tmp, "patterns", R"({"peft_type": "LORA", "r": 2, "lora_alpha": 2,
      "rank_pattern": {"layer.0.attention.self.query": 4},
      "alpha_pattern": {"uery": 100, "layer\\.\\d\\.attention\\.self\\.value": 8}})",
                              tensors);
  AdapterSet set = readOk(dir, {q0, q1, v1});
  ASSERT_EQ(set.modules.size(), 3u);
  const ModuleAdapter *a0 = findModule(set, q0);
  const ModuleAdapter *a1 = findModule(set, q1);
  const ModuleAdapter *av = findModule(set, v1);
  ASSERT_TRUE(a0 && a1 && av);
  EXPECT_EQ(a0->rank, 4);
  EXPECT_DOUBLE_EQ(a0->alpha, 2); // "uery" does not match
  EXPECT_DOUBLE_EQ(a0->scale, 0.5);
  EXPECT_EQ(a1->rank, 2);
  EXPECT_DOUBLE_EQ(a1->alpha, 2);
  EXPECT_DOUBLE_EQ(av->alpha, 8);
  EXPECT_DOUBLE_EQ(av->scale, 4);
}

// Two keys match the same module: the first one in the file's order wins, as in Python's dict.
TEST(PeftAdapter, FirstMatchingPatternInFileOrderWins) {
  TempDir tmp;
  std::vector<Tensor> tensors = {
      {"base_model.model.encoder.layer.0.attention.self.query.lora_A.weight", {2, 3}, values(6)},
      {"base_model.model.encoder.layer.0.attention.self.query.lora_B.weight", {2, 2}, values(4)}};
  std::vector<std::string> base = {"encoder.layer.0.attention.self.query"};
  std::string first = writePeft(
      tmp, "first",
      R"({"peft_type": "LORA", "r": 2, "alpha_pattern": {"self.query": 3, "query": 5}})", tensors);
  std::string second = writePeft(
      tmp, "second",
      R"({"peft_type": "LORA", "r": 2, "alpha_pattern": {"query": 5, "self.query": 3}})", tensors);
  AdapterSet a = readOk(first, base);
  AdapterSet b = readOk(second, base);
  ASSERT_EQ(a.modules.size(), 1u);
  ASSERT_EQ(b.modules.size(), 1u);
  EXPECT_DOUBLE_EQ(a.modules[0].alpha, 3);
  EXPECT_DOUBLE_EQ(b.modules[0].alpha, 5);
}

// Adapters trained on BertFor* carry "bert." module names; BertModel checkpoints do not.
TEST(PeftAdapter, BertPrefixIsAddedOrRemoved) {
  TempDir tmp;
  std::string withPrefix = writePeft(
      tmp, "with", kLoraConfig,
      {{"base_model.model.bert.encoder.layer.0.output.dense.lora_A.weight", {2, 3}, values(6)},
       {"base_model.model.bert.encoder.layer.0.output.dense.lora_B.weight", {2, 2}, values(4)}});
  AdapterSet set = readOk(withPrefix, {"encoder.layer.0.output.dense"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].module, "encoder.layer.0.output.dense");

  std::string without = writePeft(
      tmp, "without", kLoraConfig,
      {{"base_model.model.encoder.layer.0.output.dense.lora_A.weight", {2, 3}, values(6)},
       {"base_model.model.encoder.layer.0.output.dense.lora_B.weight", {2, 2}, values(4)}});
  set = readOk(without, {"bert.encoder.layer.0.output.dense"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].module, "bert.encoder.layer.0.output.dense");
}

TEST(PeftAdapter, WeightsFileGivenDirectlyIsReadWithItsConfig) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "direct", kLoraConfig,
                              {{"base_model.model.fc.lora_A.weight", {2, 3}, values(6)},
                               {"base_model.model.fc.lora_B.weight", {2, 2}, values(4)}});
  AdapterSet set = readOk(dir + "/adapter_model.safetensors", {"fc"});
  EXPECT_EQ(set.format, "peft");
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 3);
}

TEST(PeftAdapter, HalfAndBFloat16FactorsAreConvertedToF32) {
  TempDir tmp;
  // 0.5, -1.25, 3, 1 in binary16 and bfloat16.
  std::vector<uint16_t> f16 = {0x3800, 0xBD00, 0x4200, 0x3C00};
  std::vector<uint16_t> bf16 = {0x3F00, 0xBFA0, 0x4040, 0x3F80};
  std::string dir =
      writePeft(tmp, "half", kLoraConfig,
                {{"base_model.model.fc.lora_A.weight", {2, 2}, {}, DType::F16, f16},
                 {"base_model.model.fc.lora_B.weight", {2, 2}, {}, DType::BF16, bf16}});
  AdapterSet set = readOk(dir, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  std::vector<float> expected = {0.5f, -1.25f, 3.0f, 1.0f};
  EXPECT_EQ(set.modules[0].factors.at("down").data, expected);
  EXPECT_EQ(set.modules[0].factors.at("up").data, expected);
}

//===----------------------------------------------------------------------===//
// ΔW
//===----------------------------------------------------------------------===//

TEST(DeltaWeight, LoraLinear) {
  TempDir tmp;
  std::vector<float> a = values(8, 1), b = values(6, 2); // A [2, 4], B [3, 2]
  std::string dir = writePeft(tmp, "linear", kLoraConfig,
                              {{"base_model.model.fc.lora_A.weight", {2, 4}, a},
                               {"base_model.model.fc.lora_B.weight", {3, 2}, b}});
  AdapterSet set = readOk(dir, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  std::vector<double> expected(12);
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 4; ++i)
      expected[o * 4 + i] = 3.0 * (b[o * 2 + 0] * a[0 * 4 + i] + b[o * 2 + 1] * a[1 * 4 + i]);
  expectClose(delta(set.modules[0], {3, 4}), expected);
}

TEST(DeltaWeight, LoraFanInFanOutIsTransposed) {
  TempDir tmp;
  std::vector<float> a = values(8, 1), b = values(6, 2); // A [2, 4], B [3, 2]
  std::string dir = writePeft(
      tmp, "fifo", R"({"peft_type": "LORA", "r": 2, "lora_alpha": 2, "fan_in_fan_out": true})",
      {{"base_model.model.h.0.attn.c_attn.lora_A.weight", {2, 4}, a},
       {"base_model.model.h.0.attn.c_attn.lora_B.weight", {3, 2}, b}});
  AdapterSet set = readOk(dir, {"h.0.attn.c_attn"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_TRUE(set.modules[0].fanInFanOut);
  // GPT-2 Conv1D stores [in, out] = [4, 3]; ΔW[i][o] = Σ_r B[o, r] A[r, i].
  std::vector<double> expected(12);
  for (int i = 0; i < 4; ++i)
    for (int o = 0; o < 3; ++o)
      expected[i * 3 + o] = b[o * 2] * a[i] + b[o * 2 + 1] * a[4 + i];
  expectClose(delta(set.modules[0], {4, 3}), expected);
  // The [out, in] layout does not fit a fan_in_fan_out adapter.
  expectMentions(deltaError(set.modules[0], {3, 4}),
                 {"adapter shape does not fit the base layer", "[3, 4]"});
}

TEST(DeltaWeight, PeftEmbeddingIsTransposed) {
  TempDir tmp;
  std::vector<float> a = values(10, 1), b = values(6, 2); // A [r=2, num=5], B [dim=3, r=2]
  std::string dir =
      writePeft(tmp, "embedding", kLoraConfig,
                {{"base_model.model.embeddings.word_embeddings.lora_embedding_A", {2, 5}, a},
                 {"base_model.model.embeddings.word_embeddings.lora_embedding_B", {3, 2}, b}});
  AdapterSet set = readOk(dir, {"embeddings.word_embeddings"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_TRUE(set.modules[0].fanInFanOut);
  std::vector<double> expected(15); // [num, dim]
  for (int n = 0; n < 5; ++n)
    for (int d = 0; d < 3; ++d)
      expected[n * 3 + d] = 3.0 * (b[d * 2] * a[n] + b[d * 2 + 1] * a[5 + n]);
  expectClose(delta(set.modules[0], {5, 3}), expected);
}

TEST(DeltaWeight, LoconConv) {
  TempDir tmp;
  // Conv2d [out=4, in=3, 3, 3]: down [2, 3, 3, 3], up [4, 2, 1, 1].
  std::vector<float> down = values(54, 1), up = values(8, 3);
  std::string file = tmp.path("conv.safetensors");
  writeSafetensors(file, {{"lora_unet_conv_in.lora_down.weight", {2, 3, 3, 3}, down},
                          {"lora_unet_conv_in.lora_up.weight", {4, 2, 1, 1}, up},
                          {"lora_unet_conv_in.alpha", {}, {1.0f}}});
  AdapterSet set = readOk(file, {"conv_in"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 0.5);
  std::vector<double> expected(4 * 3 * 9);
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 9; ++k) {
        double sum = 0;
        for (int r = 0; r < 2; ++r)
          sum += up[o * 2 + r] * down[(r * 3 + i) * 9 + k];
        expected[(o * 3 + i) * 9 + k] = 0.5 * sum;
      }
  expectClose(delta(set.modules[0], {4, 3, 3, 3}), expected);
}

// functional/general.py rebuild_tucker: einsum("i j ..., i p, j r -> p r ...", mid, upᵀ, down),
// i.e. ΔW[o, i, k] = Σ_ab mid[a, b, k] · up[o, a] · down[b, i].
TEST(DeltaWeight, LoconTucker) {
  TempDir tmp;
  std::vector<float> down = values(6, 1), mid = values(36, 2, 7), up = values(8, 3);
  std::string file = tmp.path("tucker.safetensors");
  writeSafetensors(file, {{"lycoris_conv.lora_down.weight", {2, 3, 1, 1}, down},
                          {"lycoris_conv.lora_mid.weight", {2, 2, 3, 3}, mid},
                          {"lycoris_conv.lora_up.weight", {4, 2, 1, 1}, up},
                          {"lycoris_conv.alpha", {}, {2.0f}}});
  AdapterSet set = readOk(file, {"conv"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].rank, 2);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 1);
  std::vector<double> expected(4 * 3 * 9);
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 9; ++k) {
        double sum = 0;
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b)
            sum += mid[(a * 2 + b) * 9 + k] * up[o * 2 + a] * down[b * 3 + i];
        expected[(o * 3 + i) * 9 + k] = sum;
      }
  expectClose(delta(set.modules[0], {4, 3, 3, 3}), expected);
  // A 1x1 base does not fit a 3x3 mid factor.
  expectMentions(deltaError(set.modules[0], {4, 3, 1, 1}),
                 {"module 'conv'", "adapter shape does not fit the base layer", "'mid'"});
}

TEST(DeltaWeight, LohaPlain) {
  TempDir tmp;
  // Linear [3, 4], rank 2: w?a [3, 2], w?b [2, 4].
  std::vector<float> w1a = values(6, 1), w1b = values(8, 2), w2a = values(6, 3), w2b = values(8, 4);
  std::string file = tmp.path("loha.safetensors");
  writeSafetensors(file, {{"lycoris_fc.hada_w1_a", {3, 2}, w1a},
                          {"lycoris_fc.hada_w1_b", {2, 4}, w1b},
                          {"lycoris_fc.hada_w2_a", {3, 2}, w2a},
                          {"lycoris_fc.hada_w2_b", {2, 4}, w2b},
                          {"lycoris_fc.alpha", {}, {1.0f}}});
  AdapterSet set = readOk(file, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].algo, AdapterAlgo::LoHa);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 0.5);
  std::vector<double> expected(12);
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 4; ++i) {
      double p1 = 0, p2 = 0;
      for (int r = 0; r < 2; ++r) {
        p1 += w1a[o * 2 + r] * w1b[r * 4 + i];
        p2 += w2a[o * 2 + r] * w2b[r * 4 + i];
      }
      expected[o * 4 + i] = 0.5 * p1 * p2;
    }
  expectClose(delta(set.modules[0], {3, 4}), expected);
}

// functional/loha.py, Tucker: einsum("i j ..., j r, i p -> p r ...", t, w_b, w_a) per branch, with
// w_a [r, out] and w_b [r, in].
TEST(DeltaWeight, LohaTucker) {
  TempDir tmp;
  const int r = 2, out = 3, in = 2, kk = 4; // kernel 2x2
  std::vector<float> t1 = values(r * r * kk, 1), w1a = values(r * out, 2), w1b = values(r * in, 3);
  std::vector<float> t2 = values(r * r * kk, 4, 7), w2a = values(r * out, 5),
                     w2b = values(r * in, 6);
  std::string file = tmp.path("loha-tucker.safetensors");
  writeSafetensors(file, {{"lycoris_conv.hada_t1", {r, r, 2, 2}, t1},
                          {"lycoris_conv.hada_w1_a", {r, out}, w1a},
                          {"lycoris_conv.hada_w1_b", {r, in}, w1b},
                          {"lycoris_conv.hada_t2", {r, r, 2, 2}, t2},
                          {"lycoris_conv.hada_w2_a", {r, out}, w2a},
                          {"lycoris_conv.hada_w2_b", {r, in}, w2b}});
  AdapterSet set = readOk(file, {"conv"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].rank, 2);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 1); // no alpha tensor: alpha = rank
  auto branch = [&](const std::vector<float> &t, const std::vector<float> &wa,
                    const std::vector<float> &wb, int p, int q, int k) {
    double sum = 0;
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j)
        sum += t[(i * r + j) * kk + k] * wb[j * in + q] * wa[i * out + p];
    return sum;
  };
  std::vector<double> expected(out * in * kk);
  for (int p = 0; p < out; ++p)
    for (int q = 0; q < in; ++q)
      for (int k = 0; k < kk; ++k)
        expected[(p * in + q) * kk + k] =
            branch(t1, w1a, w1b, p, q, k) * branch(t2, w2a, w2b, p, q, k);
  expectClose(delta(set.modules[0], {out, in, 2, 2}), expected);
}

/// Naive kron(w1 [a, c], w2 [b, d, K]) → [a·b, c·d, K].
std::vector<double> kron(const std::vector<double> &w1, int a, int c, const std::vector<double> &w2,
                         int b, int d, int kk) {
  std::vector<double> result(a * b * c * d * kk);
  for (int row = 0; row < a * b; ++row)
    for (int col = 0; col < c * d; ++col)
      for (int k = 0; k < kk; ++k)
        result[(row * c * d + col) * kk + k] =
            w1[(row / b) * c + col / d] * w2[((row % b) * d + col % d) * kk + k];
  return result;
}

std::vector<double> matmul(const std::vector<float> &x, const std::vector<float> &y, int m, int k,
                           int n) {
  std::vector<double> result(m * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p)
        result[i * n + j] += static_cast<double>(x[i * k + p]) * y[p * n + j];
  return result;
}

// LyCORIS lokr.py __init__: both factors full → alpha = lora_dim, so scale is 1 whatever the
// stored alpha says.
TEST(DeltaWeight, LokrBothFullHasScaleOne) {
  TempDir tmp;
  std::vector<float> w1 = values(4, 1), w2 = values(6, 2); // w1 [2, 2], w2 [3, 2]
  std::string file = tmp.path("lokr-full.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lokr_w1", {2, 2}, w1},
                          {"lycoris_fc.lokr_w2", {3, 2}, w2},
                          {"lycoris_fc.alpha", {}, {7.0f}}});
  AdapterSet set = readOk(file, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].algo, AdapterAlgo::LoKr);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 1);
  std::vector<double> expected = kron(std::vector<double>(w1.begin(), w1.end()), 2, 2,
                                      std::vector<double>(w2.begin(), w2.end()), 3, 2, 1);
  expectClose(delta(set.modules[0], {6, 4}), expected);
  expectMentions(deltaError(set.modules[0], {6, 6}),
                 {"adapter shape does not fit the base layer [6, 6]", "'w2'"});
}

TEST(DeltaWeight, LokrDecomposedBoth) {
  TempDir tmp;
  // out = 4·3, in = 2·5; w1 = w1a [4, 1] @ w1b [1, 2], w2 = w2a [3, 1] @ w2b [1, 5]; rank 1.
  std::vector<float> w1a = values(4, 1), w1b = values(2, 2), w2a = values(3, 3), w2b = values(5, 4);
  std::string file = tmp.path("lokr-dec.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lokr_w1_a", {4, 1}, w1a},
                          {"lycoris_fc.lokr_w1_b", {1, 2}, w1b},
                          {"lycoris_fc.lokr_w2_a", {3, 1}, w2a},
                          {"lycoris_fc.lokr_w2_b", {1, 5}, w2b},
                          {"lycoris_fc.alpha", {}, {0.5f}}});
  AdapterSet set = readOk(file, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].rank, 1);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 0.5);
  std::vector<double> expected =
      kron(matmul(w1a, w1b, 4, 1, 2), 4, 2, matmul(w2a, w2b, 3, 1, 5), 3, 5, 1);
  for (double &v : expected)
    v *= 0.5;
  expectClose(delta(set.modules[0], {12, 10}), expected);
}

// Conv: w1 is unsqueezed to [a, c, 1, 1]; w2 full [b, d, kh, kw], or w2_a [b, r] @ w2_b
// [r, d·kh·kw], or Tucker t2 [r, r, kh, kw] with w2_a [r, b], w2_b [r, d].
TEST(DeltaWeight, LokrConvForms) {
  const int a = 2, c = 2, b = 3, d = 2, kk = 4, r = 2;
  std::vector<float> w1 = values(a * c, 1);
  std::vector<double> w1d(w1.begin(), w1.end());
  std::vector<int64_t> base = {a * b, c * d, 2, 2};

  std::vector<float> w2 = values(b * d * kk, 2);
  ModuleAdapter full =
      makeAdapter(AdapterAlgo::LoKr, 1.0, {{"w1", {{a, c}, w1}}, {"w2", {{b, d, 2, 2}, w2}}});
  expectClose(delta(full, base),
              kron(w1d, a, c, std::vector<double>(w2.begin(), w2.end()), b, d, kk));

  std::vector<float> w2a = values(b * r, 3), w2b = values(r * d * kk, 4);
  ModuleAdapter flat =
      makeAdapter(AdapterAlgo::LoKr, 2.0,
                  {{"w1", {{a, c}, w1}}, {"w2a", {{b, r}, w2a}}, {"w2b", {{r, d * kk}, w2b}}});
  std::vector<double> expected = kron(w1d, a, c, matmul(w2a, w2b, b, r, d * kk), b, d, kk);
  for (double &v : expected)
    v *= 2;
  expectClose(delta(flat, base), expected);

  std::vector<float> t2 = values(r * r * kk, 5, 7), ta = values(r * b, 6), tb = values(r * d, 7);
  ModuleAdapter tucker = makeAdapter(AdapterAlgo::LoKr, 1.0,
                                     {{"w1", {{a, c}, w1}},
                                      {"t2", {{r, r, 2, 2}, t2}},
                                      {"w2a", {{r, b}, ta}},
                                      {"w2b", {{r, d}, tb}}});
  std::vector<double> w2t(b * d * kk, 0.0);
  for (int j = 0; j < b; ++j)
    for (int q = 0; q < d; ++q)
      for (int k = 0; k < kk; ++k)
        for (int x = 0; x < r; ++x)
          for (int y = 0; y < r; ++y)
            w2t[(j * d + q) * kk + k] += t2[(x * r + y) * kk + k] * ta[x * b + j] * tb[y * d + q];
  expectClose(delta(tucker, base), kron(w1d, a, c, w2t, b, d, kk));
}

TEST(PeftAdapter, LokrAndLohaUseAlphaField) {
  TempDir tmp;
  std::string lokr = writePeft(tmp, "lokr", R"({"peft_type": "LOKR", "r": 4, "alpha": 2})",
                               {{"base_model.model.fc.lokr_w1", {2, 2}, values(4)},
                                {"base_model.model.fc.lokr_w2", {3, 2}, values(6, 1)}});
  AdapterSet set = readOk(lokr, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].algo, AdapterAlgo::LoKr);
  // PEFT's LoKr keeps alpha/r even with both factors full (tuners/lokr/layer.py update_layer).
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 0.5);

  std::string loha = writePeft(tmp, "loha", R"({"peft_type": "LOHA", "r": 2, "alpha": 4,
      "lora_alpha": 99})",
                               {{"base_model.model.fc.hada_w1_a", {3, 2}, values(6)},
                                {"base_model.model.fc.hada_w1_b", {2, 4}, values(8, 1)},
                                {"base_model.model.fc.hada_w2_a", {3, 2}, values(6, 2)},
                                {"base_model.model.fc.hada_w2_b", {2, 4}, values(8, 3)}});
  set = readOk(loha, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_EQ(set.modules[0].algo, AdapterAlgo::LoHa);
  EXPECT_DOUBLE_EQ(set.modules[0].scale, 2);
}

//===----------------------------------------------------------------------===//
// DoRA
//===----------------------------------------------------------------------===//

// W = [[1, 2, 2], [0, 3, 4]], A = [[1, 0, 0]], B = [[2], [0]], scale 1 → W + ΔW =
// [[3, 2, 2], [0, 3, 4]], row norms √17 and 5; m = [2, 10] →
// W' = [[6/√17, 4/√17, 4/√17], [0, 6, 8]].
TEST(Dora, PeftRuleOnTwoByThree) {
  TempDir tmp;
  std::string dir =
      writePeft(tmp, "dora", R"({"peft_type": "LORA", "r": 1, "lora_alpha": 1, "use_dora": true})",
                {{"base_model.model.fc.lora_A.weight", {1, 3}, {1, 0, 0}},
                 {"base_model.model.fc.lora_B.weight", {2, 1}, {2, 0}},
                 {"base_model.model.fc.lora_magnitude_vector", {2}, {2, 10}}});
  AdapterSet set = readOk(dir, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  const ModuleAdapter &adapter = set.modules[0];
  std::vector<float> w = {1, 2, 2, 0, 3, 4};
  std::vector<float> dw = delta(adapter, {2, 3});
  ASSERT_EQ(dw.size(), 6u);
  std::vector<float> merged(6);
  for (int i = 0; i < 6; ++i)
    merged[i] = w[i] + dw[i];
  llvm::Error error = applyDora(adapter, {2, 3}, 1.0, merged);
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  double s17 = std::sqrt(17.0);
  expectClose(merged, {6 / s17, 4 / s17, 4 / s17, 0, 6, 8}, 1e-6);

  // use_dora without the magnitude vector is refused.
  std::string bad = writePeft(tmp, "dora-missing",
                              R"({"peft_type": "LORA", "r": 1, "lora_alpha": 1, "use_dora": true})",
                              {{"base_model.model.fc.lora_A.weight", {1, 3}, {1, 0, 0}},
                               {"base_model.model.fc.lora_B.weight", {2, 1}, {2, 0}}});
  expectMentions(readError(bad, {"fc"}), {"use_dora", "lora_magnitude_vector", "fc"});
}

// LyCORIS apply_weight_decompose: (W + ΔW) · dora_scale / (‖W + ΔW‖ + eps), eps =
// finfo(f32).eps; with multiplier m the factor becomes m·(factor − 1) + 1, and ΔW inside is not
// multiplied by m.
TEST(Dora, LycorisRuleWithEpsAndMultiplier) {
  TempDir tmp;
  std::string file = tmp.path("dora.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lora_down.weight", {1, 3}, {1, 0, 0}},
                          {"lycoris_fc.lora_up.weight", {2, 1}, {2, 0}},
                          {"lycoris_fc.alpha", {}, {1.0f}},
                          {"lycoris_fc.dora_scale", {2, 1}, {2, 10}}});
  AdapterSet set = readOk(file, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  const ModuleAdapter &adapter = set.modules[0];
  const std::vector<double> wd = {3, 2, 2, 0, 3, 4}; // W + ΔW
  const double eps = FLT_EPSILON, n0 = std::sqrt(17.0), n1 = 5;
  for (double m : {1.0, 0.5}) {
    std::vector<float> merged = {1 + 2 * static_cast<float>(m), 2, 2, 0, 3, 4}; // W + m·ΔW
    llvm::Error error = applyDora(adapter, {2, 3}, m, merged);
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    double f0 = 2 / (n0 + eps), f1 = 10 / (n1 + eps);
    if (m != 1) {
      f0 = m * (f0 - 1) + 1;
      f1 = m * (f1 - 1) + 1;
    }
    expectClose(merged, {wd[0] * f0, wd[1] * f0, wd[2] * f0, 0, wd[4] * f1, wd[5] * f1}, 1e-6);
  }

  // wd_on_out = False: dora_scale [1, in] and a norm per input column.
  ModuleAdapter onIn = adapter;
  onIn.factors["dora_scale"] = {{1, 3}, {1, 2, 3}};
  std::vector<float> merged = {3, 2, 2, 0, 3, 4};
  llvm::Error error = applyDora(onIn, {2, 3}, 1.0, merged);
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  double c0 = 1 / (3 + eps), c1 = 2 / (std::sqrt(13.0) + eps), c2 = 3 / (std::sqrt(20.0) + eps);
  expectClose(merged, {3 * c0, 2 * c1, 2 * c2, 0, 3 * c1, 4 * c2}, 1e-6);

  // A dora_scale that fits neither layout.
  onIn.factors["dora_scale"] = {{4}, {1, 2, 3, 4}};
  error = applyDora(onIn, {2, 3}, 1.0, merged);
  ASSERT_TRUE(static_cast<bool>(error));
  expectMentions(llvm::toString(std::move(error)),
                 {"adapter shape does not fit the base layer", "dora_scale"});
}

//===----------------------------------------------------------------------===//
// LyCORIS names, detection, alpha
//===----------------------------------------------------------------------===//

TEST(LycorisAdapter, PrefixesMapBackToModules) {
  TempDir tmp;
  std::string file = tmp.path("names.safetensors");
  writeSafetensors(
      file, {{"lycoris_encoder_layer_0_attention_self_query.lora_down.weight", {1, 2}, {1, 2}},
             {"lycoris_encoder_layer_0_attention_self_query.lora_up.weight", {2, 1}, {1, 1}},
             {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", {1, 2}, {1, 2}},
             {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", {2, 1}, {1, 1}},
             {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", {1, 2}, {1, 2}},
             {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", {2, 1}, {1, 1}}});
  AdapterSet set =
      readOk(file, {"encoder.layer.0.attention.self.query", "text_model.encoder.layers.0.mlp.fc1",
                    "down_blocks.0.attentions.0.proj_in", "unrelated.module"});
  EXPECT_EQ(set.format, "lycoris");
  ASSERT_EQ(set.modules.size(), 3u);
  EXPECT_TRUE(findModule(set, "encoder.layer.0.attention.self.query"));
  EXPECT_TRUE(findModule(set, "text_model.encoder.layers.0.mlp.fc1"));
  EXPECT_TRUE(findModule(set, "down_blocks.0.attentions.0.proj_in"));
}

// modules/__init__.py MODULE_LIST order: LoCon (lora_up.weight) before LoHa (hada_w1_a) before
// LoKr (lokr_w1); the other algorithm's keys are then not parameters of the module.
TEST(LycorisAdapter, DetectionFollowsModuleListOrder) {
  TempDir tmp;
  std::string file = tmp.path("both.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lora_down.weight", {1, 2}, {1, 2}},
                          {"lycoris_fc.lora_up.weight", {2, 1}, {1, 1}},
                          {"lycoris_fc.hada_w1_a", {2, 1}, {1, 1}},
                          {"lycoris_fc2.hada_w1_a", {2, 1}, {1, 1}},
                          {"lycoris_fc2.hada_w1_b", {1, 2}, {1, 1}},
                          {"lycoris_fc2.hada_w2_a", {2, 1}, {1, 1}},
                          {"lycoris_fc2.hada_w2_b", {1, 2}, {1, 1}},
                          {"lycoris_fc2.lokr_w1", {1, 1}, {1}}});
  std::vector<std::string> base = {"fc", "fc2"};
  expectMentions(readError(file, base), {"not adapter parameters: 2 keys",
                                         "'lycoris_fc.hada_w1_a'", "'lycoris_fc2.lokr_w1'"});
  AdapterReadOptions lenient;
  lenient.allowUnknownKeys = true;
  std::vector<std::string> warnings;
  AdapterSet set = readOk(file, base, lenient, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  expectMentions(warnings[0], {"ignoring", "lycoris_fc.hada_w1_a"});
  ASSERT_EQ(set.modules.size(), 2u);
  EXPECT_EQ(findModule(set, "fc")->algo, AdapterAlgo::LoRA);
  EXPECT_EQ(findModule(set, "fc2")->algo, AdapterAlgo::LoHa);
}

// modules/locon.py: alpha := lora_dim if alpha is None or 0; scale = alpha / lora_dim.
TEST(LycorisAdapter, AlphaMissingOrZeroMeansRank) {
  TempDir tmp;
  std::string file = tmp.path("alpha.safetensors");
  writeSafetensors(file, {{"lycoris_a.lora_down.weight", {4, 2}, values(8)},
                          {"lycoris_a.lora_up.weight", {2, 4}, values(8)},
                          {"lycoris_b.lora_down.weight", {4, 2}, values(8)},
                          {"lycoris_b.lora_up.weight", {2, 4}, values(8)},
                          {"lycoris_b.alpha", {}, {0.0f}},
                          {"lycoris_c.lora_down.weight", {4, 2}, values(8)},
                          {"lycoris_c.lora_up.weight", {2, 4}, values(8)},
                          {"lycoris_c.alpha", {}, {2.0f}}});
  AdapterSet set = readOk(file, {"a", "b", "c"});
  ASSERT_EQ(set.modules.size(), 3u);
  EXPECT_DOUBLE_EQ(findModule(set, "a")->alpha, 4);
  EXPECT_DOUBLE_EQ(findModule(set, "a")->scale, 1);
  EXPECT_DOUBLE_EQ(findModule(set, "b")->scale, 1);
  EXPECT_DOUBLE_EQ(findModule(set, "c")->alpha, 2);
  EXPECT_DOUBLE_EQ(findModule(set, "c")->scale, 0.5);
}

//===----------------------------------------------------------------------===//
// lycorisFactorization
//===----------------------------------------------------------------------===//

TEST(LycorisFactorization, Table) {
  struct Row {
    int64_t dimension, factor, m, n;
  };
  const Row rows[] = {
      {127, -1, 1, 127},     {128, -1, 8, 16},    {250, -1, 10, 25},  {360, -1, 18, 20},
      {512, -1, 16, 32},     {1024, -1, 32, 32},  {4096, -1, 64, 64}, {11008, -1, 86, 128},
      {14336, -1, 112, 128}, {250, 8, 5, 50},     {360, 8, 8, 45},    {512, 8, 8, 64},
      {360, 16, 15, 24},     {4096, 16, 16, 256}, {1024, 8, 8, 128},  {128, 2, 2, 64},
  };
  for (const Row &row : rows) {
    std::pair<int64_t, int64_t> result = lycorisFactorization(row.dimension, row.factor);
    EXPECT_EQ(result.first, row.m) << row.dimension << " factor " << row.factor;
    EXPECT_EQ(result.second, row.n) << row.dimension << " factor " << row.factor;
  }
  EXPECT_EQ(lycorisFactorization(360), (std::pair<int64_t, int64_t>(18, 20)));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(AdapterErrors, RankMismatchBetweenAAndB) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "mismatch", kLoraConfig,
                              {{"base_model.model.fc.lora_A.weight", {2, 4}, values(8)},
                               {"base_model.model.fc.lora_B.weight", {3, 3}, values(9)}});
  std::string message = readError(dir, {"fc"});
  expectMentions(message, {"adapter_model.safetensors: ", "module 'fc'", "rank mismatch", "[2, 4]",
                           "[3, 3]", "lora_A.weight", "lora_B.weight"});

  std::string file = tmp.path("mismatch.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lora_down.weight", {2, 4}, values(8)},
                          {"lycoris_fc.lora_up.weight", {3, 1}, values(3)}});
  expectMentions(readError(file, {"fc"}), {"rank mismatch", "[2, 4]", "[3, 1]"});
}

TEST(AdapterErrors, RankDisagreesWithConfig) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "config-rank", R"({"peft_type": "LORA", "r": 4})",
                              {{"base_model.model.fc.lora_A.weight", {2, 4}, values(8)},
                               {"base_model.model.fc.lora_B.weight", {3, 2}, values(6)}});
  expectMentions(readError(dir, {"fc"}), {"module 'fc'", "rank 2", "r=4"});
}

TEST(AdapterErrors, ModuleTheModelLacks) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "lacks", kLoraConfig,
                              {{"base_model.model.decoder.fc.lora_A.weight", {2, 4}, values(8)},
                               {"base_model.model.decoder.fc.lora_B.weight", {3, 2}, values(6)}});
  expectMentions(readError(dir, {"encoder.fc"}),
                 {"adapter for module 'decoder.fc' which the model lacks"});

  std::string file = tmp.path("lacks.safetensors");
  writeSafetensors(file, {{"lora_unet_mid_block_proj.lora_down.weight", {1, 2}, {1, 2}},
                          {"lora_unet_mid_block_proj.lora_up.weight", {2, 1}, {1, 1}}});
  expectMentions(readError(file, {"down_blocks.0.proj"}),
                 {"lacks.safetensors: ",
                  "adapter for module 'lora_unet_mid_block_proj' which the model lacks"});
}

TEST(AdapterErrors, AdapterShapeDoesNotFitBase) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "fit", kLoraConfig,
                              {{"base_model.model.fc.lora_A.weight", {2, 4}, values(8)},
                               {"base_model.model.fc.lora_B.weight", {3, 2}, values(6)}});
  AdapterSet set = readOk(dir, {"fc"});
  ASSERT_EQ(set.modules.size(), 1u);
  expectMentions(
      deltaError(set.modules[0], {3, 5}),
      {"module 'fc'", "adapter shape does not fit the base layer [3, 5]", "'down'", "[2, 4]"});
  expectMentions(deltaError(set.modules[0], {4, 4}),
                 {"adapter shape does not fit the base layer [4, 4]", "'up'", "[3, 2]"});
  expectMentions(deltaError(set.modules[0], {3}), {"module 'fc'", "[3]"});
}

TEST(AdapterErrors, RankZero) {
  TempDir tmp;
  std::string dir = writePeft(tmp, "zero", R"({"peft_type": "LORA", "r": 0})",
                              {{"base_model.model.fc.lora_A.weight", {0, 4}, {}},
                               {"base_model.model.fc.lora_B.weight", {3, 0}, {}}});
  expectMentions(readError(dir, {"fc"}), {"module 'fc'", "rank 0"});

  std::string file = tmp.path("zero.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lora_down.weight", {0, 4}, {}},
                          {"lycoris_fc.lora_up.weight", {3, 0}, {}}});
  expectMentions(readError(file, {"fc"}), {"module 'fc'", "rank 0", "[0, 4]"});
}

TEST(AdapterErrors, NonFiniteWeights) {
  TempDir tmp;
  std::string file = tmp.path("nan.safetensors");
  writeSafetensors(file, {{"lycoris_fc.lora_down.weight", {1, 2}, {1, NAN}},
                          {"lycoris_fc.lora_up.weight", {2, 1}, {INFINITY, 1}}});
  expectMentions(readError(file, {"fc"}), {"nan.safetensors: ", "lycoris_fc.lora_", "NaN"});
  AdapterReadOptions allow;
  allow.allowNonFinite = true;
  AdapterSet set = readOk(file, {"fc"}, allow);
  ASSERT_EQ(set.modules.size(), 1u);
  EXPECT_TRUE(std::isnan(set.modules[0].factors.at("down").data[1]));
  EXPECT_TRUE(std::isinf(set.modules[0].factors.at("up").data[0]));

  std::string dir = writePeft(tmp, "inf", kLoraConfig,
                              {{"base_model.model.fc.lora_A.weight", {2, 1}, {0, 1}},
                               {"base_model.model.fc.lora_B.weight", {1, 2}, {-INFINITY, 1}}});
  expectMentions(readError(dir, {"fc"}), {"'base_model.model.fc.lora_B.weight'", "infinite"});
}

TEST(AdapterErrors, UnknownKeysAreListed) {
  TempDir tmp;
  std::vector<Tensor> tensors = {{"base_model.model.fc.lora_A.weight", {2, 4}, values(8)},
                                 {"base_model.model.fc.lora_B.weight", {3, 2}, values(6)}};
  for (int i = 0; i < 7; ++i)
    tensors.push_back({"base_model.model.classifier" + std::to_string(i) + ".weight", {1}, {1}});
  std::string dir = writePeft(tmp, "unknown", kLoraConfig, tensors);
  std::string message = readError(dir, {"fc"});
  expectMentions(message, {"not adapter parameters: 7 keys", "classifier0.weight",
                           "classifier4.weight", "and 2 more", "--allow-unknown-keys"});
  EXPECT_EQ(message.find("classifier5"), std::string::npos) << message;

  AdapterReadOptions lenient;
  lenient.allowUnknownKeys = true;
  std::vector<std::string> warnings;
  AdapterSet set = readOk(dir, {"fc"}, lenient, &warnings);
  EXPECT_EQ(set.modules.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  expectMentions(warnings[0], {"adapter_model.safetensors: ignoring 7 keys", "classifier0"});
}

TEST(AdapterErrors, PickleIsRefused) {
  TempDir tmp;
  std::string dir = tmp.subdir("pickle");
  writeFile(dir + "/adapter_config.json", kLoraConfig);
  writeFile(dir + "/adapter_model.bin", "PK\x03\x04 not really a pickle");
  expectMentions(readError(dir, {"fc"}), {"adapter_model.bin", "pickle"});
  expectMentions(readError(dir + "/adapter_model.bin", {"fc"}), {"adapter_model.bin", "pickle"});
}

TEST(AdapterErrors, MissingFilesAndBadConfigs) {
  TempDir tmp;
  expectMentions(readError(tmp.path("nowhere"), {"fc"}), {"nowhere", "no such file"});

  std::string empty = tmp.subdir("empty");
  expectMentions(readError(empty, {"fc"}), {"adapter_config.json"});

  std::string noWeights = tmp.subdir("no-weights");
  writeFile(noWeights + "/adapter_config.json", kLoraConfig);
  expectMentions(readError(noWeights, {"fc"}), {"adapter_model.safetensors is missing"});

  std::vector<Tensor> tensors = {{"base_model.model.fc.lora_A.weight", {2, 4}, values(8)},
                                 {"base_model.model.fc.lora_B.weight", {3, 2}, values(6)}};
  expectMentions(readError(writePeft(tmp, "ia3", R"({"peft_type": "IA3"})", tensors), {"fc"}),
                 {"adapter_config.json: ", "peft_type 'IA3' is not supported"});
  expectMentions(readError(writePeft(tmp, "no-type", R"({"r": 2})", tensors), {"fc"}),
                 {"adapter_config.json: ", "peft_type"});
  expectMentions(readError(writePeft(tmp, "bad-json", R"({"peft_type": )", tensors), {"fc"}),
                 {"adapter_config.json: ", "invalid JSON"});
  expectMentions(
      readError(writePeft(tmp, "bad-alpha", R"({"peft_type": "LORA", "lora_alpha": "x"})", tensors),
                {"fc"}),
      {"adapter_config.json: ", "'lora_alpha'"});

  std::string text = tmp.path("adapter.txt");
  writeFile(text, "hello");
  expectMentions(readError(text, {"fc"}), {"adapter.txt", "not an adapter"});
}

TEST(AdapterErrors, UnsupportedLycorisAlgorithm) {
  TempDir tmp;
  std::string file = tmp.path("ia3.safetensors");
  writeSafetensors(file, {{"lycoris_fc.weight", {2}, {1, 1}}, {"lycoris_fc.on_input", {1}, {1}}});
  expectMentions(readError(file, {"fc"}), {"module 'lycoris_fc'", "IA3", "not supported"});
}

} // namespace

// target_modules / exclude_modules must agree with the weights (peft tuners_utils.py
// check_target_module_exists: a list matches a name or a '.'-suffix, a string re.fullmatch).
TEST(AdapterErrors, TargetModulesMustSelectTheWeights) {
  TempDir tmp;
  std::vector<Tensor> tensors = {
      {"base_model.model.encoder.layer.0.attention.self.value.lora_A.weight", {2, 4}, values(8)},
      {"base_model.model.encoder.layer.0.attention.self.value.lora_B.weight", {3, 2}, values(6)}};
  std::vector<std::string> base = {"encoder.layer.0.attention.self.value"};
  std::string listed = writePeft(
      tmp, "listed", R"({"peft_type": "LORA", "r": 2, "target_modules": ["query"]})", tensors);
  expectMentions(readError(listed, base),
                 {"encoder.layer.0.attention.self.value", "target_modules does not select it"});
  std::string suffix = writePeft(
      tmp, "suffix", R"({"peft_type": "LORA", "r": 2, "target_modules": ["self.value"]})", tensors);
  EXPECT_EQ(readOk(suffix, base).modules.size(), 1u);
  std::string partial = writePeft(
      tmp, "partial", R"({"peft_type": "LORA", "r": 2, "target_modules": ["alue"]})", tensors);
  expectMentions(readError(partial, base), {"target_modules does not select it"});
  std::string regex = writePeft(tmp, "regex",
                                R"cfg({"peft_type": "LORA", "r": 2,
                                    "target_modules": ".*\\.(query|value)"})cfg",
                                tensors);
  EXPECT_EQ(readOk(regex, base).modules.size(), 1u);
  std::string excluded = writePeft(tmp, "excluded",
                                   R"({"peft_type": "LORA", "r": 2, "target_modules": "all-linear",
                                       "exclude_modules": ["value"]})",
                                   tensors);
  expectMentions(readError(excluded, base), {"exclude_modules excludes it"});
}
