//===- AdapterGoldensTest.cpp - Adapters against PEFT/LyCORIS goldens -----===//
//
// Checks lorc's adapter readers and ΔW formulas against the values the real libraries computed
// (test/e2e/goldens/adapters, made by scripts/make-goldens/adapters.py with peft and
// lycoris-lora; see the README there):
//
//  * every PEFT folder and LyCORIS file made for all-MiniLM-L6-v2 is read with readAdapter
//    against the BERT module list; every stored key must land on a module, the scale must be the
//    one the library used (reference metadata `modules`), and ΔW of the reference modules must
//    equal rows 0, 7, 14, … of the library's ΔW (`delta.<module>.weight`);
//  * PEFT DoRA: W from the base model + ΔW, renormalised by applyDora, against the rows of
//    merge_and_unload's weight (`merged.<module>.weight`); needs the model (skipped without it);
//  * standalone.safetensors: LyCORIS modules on small conv/linear layers (LoCon, LoCon-Tucker,
//    LoHa, LoHa-Tucker, LoKr full/decomposed/factor 4/conv/Tucker-conv, LoCon with DoRA at
//    multipliers 1 and 0.5), built into a ModuleAdapter from the stored factors with the
//    metadata's algorithm and scale, and also read back through readAdapter; the full ΔW (or the
//    DoRA-merged weight) is compared;
//  * LyCORIS' factorization table (standalone metadata) against lycorisFactorization.
//
// The worst relative error of each case is printed, so the numbers show in the test log.
//
//===----------------------------------------------------------------------===//

#include "lorc/Import/HuggingFace.h"
#include "lorc/Support/Adapters.h"
#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <string>
#include <vector>

using namespace lorc;
using llvm::StringRef;

namespace {

/// The tolerance, stated once: max |lorc − reference| ≤ kRelativeTolerance · max |reference|,
/// per compared tensor (ΔW rows, a full ΔW, or a DoRA-merged weight). Both sides are f32 sums
/// of a few products (rank ≤ 16); the differences are summation order and f32 rounding.
constexpr double kRelativeTolerance = 1e-5;

std::string goldensDir() {
  llvm::SmallString<256> dir(LORC_SOURCE_DIR);
  llvm::sys::path::append(dir, "test", "e2e", "goldens", "adapters");
  return std::string(dir);
}

std::string golden(StringRef name) {
  llvm::SmallString<256> path(goldensDir());
  llvm::sys::path::append(path, name);
  return std::string(path);
}

/// The model directory, found as test/lit.cfg.py finds it: $LORC_MODEL_DIR, else
/// $LORC_CACHE/models/all-MiniLM-L6-v2, else ~/.cache/lorc/models/all-MiniLM-L6-v2.
std::string modelDir() {
  if (std::optional<std::string> dir = llvm::sys::Process::GetEnv("LORC_MODEL_DIR"))
    if (!dir->empty())
      return *dir;
  llvm::SmallString<256> path;
  if (std::optional<std::string> cache = llvm::sys::Process::GetEnv("LORC_CACHE")) {
    path = *cache;
  } else {
    std::optional<std::string> home = llvm::sys::Process::GetEnv("HOME");
    path = home ? *home : "";
    llvm::sys::path::append(path, ".cache", "lorc");
  }
  llvm::sys::path::append(path, "models", "all-MiniLM-L6-v2");
  return std::string(path);
}

/// all-MiniLM-L6-v2's linear modules (6 layers), as lorc-compile passes them to readAdapter.
std::vector<std::string> miniLmModules() {
  BertConfig config;
  config.vocabSize = 30522;
  config.hiddenSize = 384;
  config.numLayers = 6;
  config.numHeads = 12;
  config.intermediateSize = 1536;
  config.maxPositions = 512;
  config.typeVocabSize = 2;
  return bertLinearModules(config);
}

/// The [out, in] shape of a MiniLM linear module.
std::vector<int64_t> miniLmShape(StringRef module) {
  if (module.ends_with("intermediate.dense"))
    return {1536, 384};
  if (module.ends_with(".output.dense") && !module.ends_with("attention.output.dense"))
    return {384, 1536};
  return {384, 384};
}

std::unique_ptr<SafetensorsFile> open(const std::string &path) {
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  if (!file) {
    ADD_FAILURE() << llvm::toString(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

/// Tensor `name` of `file` (F32 in every golden) as an AdapterTensor.
AdapterTensor load(const SafetensorsFile &file, StringRef name) {
  AdapterTensor tensor;
  const TensorInfo *info = file.find(name);
  if (!info) {
    ADD_FAILURE() << file.path().str() << ": no tensor '" << name.str() << "'";
    return tensor;
  }
  EXPECT_EQ(info->dtype, DType::F32) << name.str();
  tensor.shape.assign(info->shape.begin(), info->shape.end());
  llvm::ArrayRef<uint8_t> bytes = file.data(*info);
  tensor.data.resize(bytes.size() / 4);
  for (size_t i = 0; i < tensor.data.size(); ++i) {
    uint32_t bits = llvm::support::endian::read32le(bytes.data() + 4 * i);
    std::memcpy(&tensor.data[i], &bits, 4);
  }
  return tensor;
}

/// Metadata entry `key` of `file`, parsed as JSON.
llvm::json::Value metadataJson(const SafetensorsFile &file, StringRef key) {
  auto it = file.metadata().find(key.str());
  if (it == file.metadata().end()) {
    ADD_FAILURE() << file.path().str() << ": no metadata '" << key.str() << "'";
    return nullptr;
  }
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(it->second);
  if (!value) {
    ADD_FAILURE() << file.path().str() << ": metadata '" << key.str()
                  << "': " << llvm::toString(value.takeError());
    return nullptr;
  }
  return std::move(*value);
}

double maxAbs(const std::vector<float> &values) {
  double result = 0;
  for (float v : values)
    result = std::max(result, std::fabs(static_cast<double>(v)));
  return result;
}

/// Compares `actual` with `reference` (same element count) under kRelativeTolerance and
/// returns the relative error max |Δ| / max |reference|.
double compareTensor(const std::string &what, const std::vector<float> &actual,
                     const std::vector<float> &reference) {
  EXPECT_EQ(actual.size(), reference.size()) << what;
  if (actual.size() != reference.size())
    return INFINITY;
  double scale = maxAbs(reference);
  EXPECT_GT(scale, 0) << what << ": the reference is all zeros";
  double worst = 0;
  size_t worstAt = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    double d = std::fabs(static_cast<double>(actual[i]) - reference[i]);
    if (!(d <= worst)) { // NaN counts as worst
      worst = d;
      worstAt = i;
    }
  }
  EXPECT_LE(worst, kRelativeTolerance * scale)
      << what << ": max |delta| " << worst << " at element " << worstAt << " (lorc "
      << actual[worstAt] << ", reference " << reference[worstAt] << "), max |reference| "
      << scale;
  return scale > 0 ? worst / scale : worst;
}

/// Rows 0, 7, 14, … of a [rows, cols] matrix, as the goldens store them.
std::vector<float> everySeventhRow(const std::vector<float> &matrix, int64_t rows, int64_t cols) {
  std::vector<float> result;
  for (int64_t r = 0; r < rows; r += 7)
    result.insert(result.end(), matrix.begin() + r * cols, matrix.begin() + (r + 1) * cols);
  return result;
}

void report(const std::string &name, double relative) {
  char line[256];
  std::snprintf(line, sizeof(line), "[golden] %-52s worst relative error %.3e (tolerance %.0e)",
                name.c_str(), relative, kRelativeTolerance);
  std::cout << line << std::endl;
}

const ModuleAdapter *findModule(const AdapterSet &set, StringRef module) {
  for (const ModuleAdapter &adapter : set.modules)
    if (adapter.module == module)
      return &adapter;
  return nullptr;
}

/// Reads adapter `name` (a PEFT folder or a LyCORIS file of the goldens) against MiniLM's modules.
AdapterSet readGolden(StringRef name) {
  std::vector<std::string> warnings;
  llvm::Expected<AdapterSet> set =
      readAdapter(golden(name), 1.0, miniLmModules(), AdapterReadOptions(), warnings);
  if (!set) {
    ADD_FAILURE() << name.str() << ": " << llvm::toString(set.takeError());
    return AdapterSet();
  }
  EXPECT_TRUE(warnings.empty()) << name.str() << ": " << warnings.front();
  return std::move(*set);
}

/// The module paths the adapter file's keys name, worked out from the keys alone: PEFT
/// "base_model.model.<module>.<param>" with <param> one of `peftParams`; LyCORIS
/// "lycoris_<module with . → _>.<param>", mapped back through MiniLM's module list.
std::set<std::string> modulesInFile(const SafetensorsFile &file, bool peft,
                                    llvm::ArrayRef<StringRef> peftParams) {
  std::set<std::string> modules;
  for (const TensorInfo &info : file.tensors()) {
    StringRef key = info.name;
    if (peft) {
      EXPECT_TRUE(key.consume_front("base_model.model.")) << key.str();
      bool matched = false;
      for (StringRef param : peftParams)
        if (key.ends_with(("." + param).str())) {
          modules.insert(key.drop_back(param.size() + 1).str());
          matched = true;
          break;
        }
      EXPECT_TRUE(matched) << "unexpected key " << info.name;
    } else {
      StringRef flat = key.split('.').first;
      EXPECT_TRUE(flat.consume_front("lycoris_")) << key.str();
      bool matched = false;
      for (const std::string &module : miniLmModules()) {
        std::string underscored = module;
        std::replace(underscored.begin(), underscored.end(), '.', '_');
        if (underscored == flat) {
          modules.insert(module);
          matched = true;
        }
      }
      EXPECT_TRUE(matched) << "unexpected key " << info.name;
    }
  }
  return modules;
}

/// Number `key` of a JSON object (ints and floats alike).
double number(const llvm::json::Object &object, StringRef key) {
  std::optional<double> value = object.getNumber(key);
  EXPECT_TRUE(value.has_value()) << "no number '" << key.str() << "'";
  return value.value_or(NAN);
}

//===----------------------------------------------------------------------===//
// PEFT and LyCORIS adapters for all-MiniLM-L6-v2
//===----------------------------------------------------------------------===//

struct MiniLmVariant {
  const char *name;
  bool peft;
  /// The reference file, relative to the goldens directory.
  const char *reference;
  /// PEFT parameter names (after the module path) the file's keys use.
  std::vector<StringRef> peftParams;
  AdapterAlgo algo;
  size_t numModules;
};

void PrintTo(const MiniLmVariant &variant, std::ostream *os) { *os << variant.name; }

const MiniLmVariant kVariants[] = {
    {"peft-lora", true, "peft-lora/reference.safetensors", {"lora_A.weight", "lora_B.weight"},
     AdapterAlgo::LoRA, 37},
    {"peft-rslora", true, "peft-rslora/reference.safetensors", {"lora_A.weight", "lora_B.weight"},
     AdapterAlgo::LoRA, 12},
    {"peft-patterns", true, "peft-patterns/reference.safetensors",
     {"lora_A.weight", "lora_B.weight"}, AdapterAlgo::LoRA, 12},
    {"peft-loha", true, "peft-loha/reference.safetensors",
     {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"}, AdapterAlgo::LoHa, 12},
    {"peft-lokr", true, "peft-lokr/reference.safetensors",
     {"lokr_w1_a", "lokr_w1_b", "lokr_w2_a", "lokr_w2_b"}, AdapterAlgo::LoKr, 12},
    {"peft-lora-b", true, "peft-lora-b/reference.safetensors", {"lora_A.weight", "lora_B.weight"},
     AdapterAlgo::LoRA, 12},
    {"lycoris-locon.safetensors", false, "lycoris-locon.reference.safetensors", {},
     AdapterAlgo::LoRA, 36},
    {"lycoris-loha.safetensors", false, "lycoris-loha.reference.safetensors", {},
     AdapterAlgo::LoHa, 18},
    {"lycoris-lokr.safetensors", false, "lycoris-lokr.reference.safetensors", {},
     AdapterAlgo::LoKr, 24},
    {"lycoris-lokr-full.safetensors", false, "lycoris-lokr-full.reference.safetensors", {},
     AdapterAlgo::LoKr, 12},
};

class MiniLmDelta : public ::testing::TestWithParam<MiniLmVariant> {};

TEST_P(MiniLmDelta, MatchesLibraryDeltaRows) {
  const MiniLmVariant &variant = GetParam();
  AdapterSet set = readGolden(variant.name);
  ASSERT_FALSE(set.modules.empty());
  EXPECT_EQ(set.format, variant.peft ? "peft" : "lycoris");

  // Every module the file's keys name was read, and nothing else.
  llvm::SmallString<256> weightsPath(golden(variant.name));
  if (variant.peft)
    llvm::sys::path::append(weightsPath, "adapter_model.safetensors");
  std::unique_ptr<SafetensorsFile> weights = open(std::string(weightsPath));
  ASSERT_TRUE(weights);
  std::set<std::string> expected = modulesInFile(*weights, variant.peft, variant.peftParams);
  std::set<std::string> read;
  for (const ModuleAdapter &adapter : set.modules) {
    read.insert(adapter.module);
    EXPECT_EQ(adapter.algo, variant.algo) << adapter.module;
  }
  EXPECT_EQ(read, expected);
  EXPECT_EQ(read.size(), variant.numModules);

  // ΔW of every module has the base layer's shape (the formulas accept each one).
  for (const ModuleAdapter &adapter : set.modules) {
    std::vector<int64_t> shape = miniLmShape(adapter.module);
    llvm::Expected<std::vector<float>> delta = computeDeltaWeight(adapter, shape);
    ASSERT_TRUE(static_cast<bool>(delta)) << llvm::toString(delta.takeError());
    EXPECT_EQ(delta->size(), static_cast<size_t>(shape[0] * shape[1])) << adapter.module;
  }

  // The reference modules: scale as the library used it, and the ΔW rows.
  std::unique_ptr<SafetensorsFile> reference = open(golden(variant.reference));
  ASSERT_TRUE(reference);
  llvm::json::Value modules = metadataJson(*reference, "modules");
  const llvm::json::Object *moduleInfo = modules.getAsObject();
  ASSERT_TRUE(moduleInfo);
  double worst = 0;
  for (const auto &entry : *moduleInfo) {
    std::string module = entry.first.str();
    const llvm::json::Object *info = entry.second.getAsObject();
    ASSERT_TRUE(info);
    const ModuleAdapter *adapter = findModule(set, module);
    ASSERT_TRUE(adapter) << "no adapter for " << module;
    double scale = number(*info, variant.peft ? "scaling" : "scale");
    EXPECT_NEAR(adapter->scale, scale, 1e-12 * scale) << module;
    if (variant.peft) {
      EXPECT_EQ(adapter->rank, static_cast<int64_t>(number(*info, "r"))) << module;
      EXPECT_EQ(adapter->alpha, number(*info, "alpha")) << module;
    }

    std::vector<int64_t> shape = miniLmShape(module);
    llvm::Expected<std::vector<float>> delta = computeDeltaWeight(*adapter, shape);
    ASSERT_TRUE(static_cast<bool>(delta)) << llvm::toString(delta.takeError());
    AdapterTensor rows = load(*reference, "delta." + module + ".weight");
    ASSERT_EQ(rows.shape, (std::vector<int64_t>{(shape[0] + 6) / 7, shape[1]}));
    double relative = compareTensor(std::string(variant.name) + " " + module,
                                    everySeventhRow(*delta, shape[0], shape[1]), rows.data);
    worst = std::max(worst, relative);
  }
  EXPECT_FALSE(moduleInfo->empty());
  report(std::string(variant.name) + " (" + std::to_string(moduleInfo->size()) + " modules)",
         worst);
}

INSTANTIATE_TEST_SUITE_P(Goldens, MiniLmDelta, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<MiniLmVariant> &info) {
                           std::string name = info.param.name;
                           name = name.substr(0, name.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(MiniLmGoldens, PeftDoraMergedRows) {
  llvm::SmallString<256> modelPath(modelDir());
  llvm::sys::path::append(modelPath, "model.safetensors");
  if (!llvm::sys::fs::exists(modelPath))
    GTEST_SKIP() << "the base model is absent (" << modelPath.str().str()
                 << "); run scripts/fetch-model.sh or set LORC_MODEL_DIR";
  std::unique_ptr<SafetensorsFile> model = open(std::string(modelPath));
  ASSERT_TRUE(model);

  AdapterSet set = readGolden("peft-dora");
  ASSERT_EQ(set.modules.size(), 12u);
  for (const ModuleAdapter &adapter : set.modules) {
    EXPECT_EQ(adapter.factors.count("magnitude"), 1u) << adapter.module;
    EXPECT_EQ(adapter.scale, 2.0) << adapter.module; // lora_alpha 8 / r 4
  }
  std::unique_ptr<SafetensorsFile> reference = open(golden("peft-dora/reference.safetensors"));
  ASSERT_TRUE(reference);
  double worst = 0;
  for (StringRef module :
       {"encoder.layer.0.attention.self.query", "encoder.layer.5.attention.self.value"}) {
    const ModuleAdapter *adapter = findModule(set, module);
    ASSERT_TRUE(adapter);
    AdapterTensor weight = load(*model, (module + ".weight").str());
    ASSERT_EQ(weight.shape, (std::vector<int64_t>{384, 384}));
    llvm::Expected<std::vector<float>> delta = computeDeltaWeight(*adapter, weight.shape);
    ASSERT_TRUE(static_cast<bool>(delta)) << llvm::toString(delta.takeError());
    std::vector<float> merged = weight.data;
    for (size_t i = 0; i < merged.size(); ++i)
      merged[i] += (*delta)[i];
    llvm::Error error = applyDora(*adapter, weight.shape, 1.0, merged);
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    AdapterTensor rows = load(*reference, ("merged." + module + ".weight").str());
    worst = std::max(worst, compareTensor(("peft-dora " + module).str(),
                                          everySeventhRow(merged, 384, 384), rows.data));
  }
  report("peft-dora (merged W', 2 modules)", worst);
}

//===----------------------------------------------------------------------===//
// standalone.safetensors: LyCORIS modules on small conv and linear layers
//===----------------------------------------------------------------------===//

/// LyCORIS parameter name → lorc factor name ("" for alpha, which is not a factor).
std::string factorName(StringRef param) {
  static const std::pair<StringRef, StringRef> kNames[] = {
      {"lora_down.weight", "down"}, {"lora_up.weight", "up"},   {"lora_mid.weight", "mid"},
      {"hada_w1_a", "w1a"},         {"hada_w1_b", "w1b"},       {"hada_w2_a", "w2a"},
      {"hada_w2_b", "w2b"},         {"hada_t1", "t1"},          {"hada_t2", "t2"},
      {"lokr_w1", "w1"},            {"lokr_w1_a", "w1a"},       {"lokr_w1_b", "w1b"},
      {"lokr_w2", "w2"},            {"lokr_w2_a", "w2a"},       {"lokr_w2_b", "w2b"},
      {"lokr_t2", "t2"},            {"dora_scale", "dora_scale"}, {"alpha", ""},
  };
  for (const auto &[stored, factor] : kNames)
    if (stored == param)
      return factor.str();
  ADD_FAILURE() << "unknown LyCORIS parameter " << param.str();
  return "?";
}

std::vector<int64_t> shapeOf(const llvm::json::Value *value) {
  std::vector<int64_t> shape;
  if (const llvm::json::Array *array = value ? value->getAsArray() : nullptr)
    for (const llvm::json::Value &d : *array)
      shape.push_back(d.getAsInteger().value_or(-1));
  return shape;
}

class Standalone : public ::testing::Test {
protected:
  void SetUp() override {
    file = open(golden("standalone.safetensors"));
    ASSERT_TRUE(file);
    cases = metadataJson(*file, "cases");
    ASSERT_TRUE(cases.getAsObject());
  }

  std::unique_ptr<SafetensorsFile> file;
  llvm::json::Value cases = nullptr;
};

/// One case's adapter, built from the stored factors and the metadata (algo, rank, alpha,
/// scale), without readAdapter.
ModuleAdapter buildCase(const SafetensorsFile &file, StringRef name,
                        const llvm::json::Object &info) {
  ModuleAdapter adapter;
  adapter.module = name.str();
  std::optional<StringRef> algo = info.getString("algo");
  EXPECT_TRUE(algo.has_value());
  if (algo == "locon")
    adapter.algo = AdapterAlgo::LoRA;
  else if (algo == "loha")
    adapter.algo = AdapterAlgo::LoHa;
  else if (algo == "lokr")
    adapter.algo = AdapterAlgo::LoKr;
  else
    ADD_FAILURE() << name.str() << ": unexpected algo " << algo.value_or("?").str();
  adapter.rank = static_cast<int64_t>(number(info, "rank"));
  adapter.alpha = number(info, "alpha");
  adapter.scale = number(info, "scale");
  const llvm::json::Object *params = info.getObject("params");
  EXPECT_TRUE(params) << name.str();
  if (!params)
    return adapter;
  for (const auto &param : *params) {
    std::string key = (name + "." + param.first.str()).str();
    AdapterTensor tensor = load(file, key);
    EXPECT_EQ(tensor.shape, shapeOf(&param.second)) << key;
    std::string factor = factorName(param.first);
    if (!factor.empty())
      adapter.factors[factor] = std::move(tensor);
  }
  return adapter;
}

/// The same case read through readAdapter: its parameters re-keyed as a LyCORIS file
/// ("lycoris_<case>.<param>") for a model whose only module is `<case>`.
AdapterSet readCase(const SafetensorsFile &file, StringRef name, const llvm::json::Object &info,
                    const std::string &tmpDir) {
  SafetensorsWriter writer;
  const llvm::json::Object *params = info.getObject("params");
  if (!params)
    return AdapterSet();
  for (const auto &param : *params) {
    const TensorInfo *tensor = file.find((name + "." + param.first.str()).str());
    if (!tensor) {
      ADD_FAILURE() << "no tensor for " << name.str() << "." << param.first.str();
      return AdapterSet();
    }
    llvm::ArrayRef<uint8_t> bytes = file.data(*tensor);
    writer.addOwned(("lycoris_" + name + "." + param.first.str()).str(), DType::F32,
                    std::vector<int64_t>(tensor->shape.begin(), tensor->shape.end()),
                    std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  llvm::SmallString<256> path(tmpDir);
  llvm::sys::path::append(path, (name + ".safetensors").str());
  if (llvm::Error error = writer.write(path)) {
    ADD_FAILURE() << llvm::toString(std::move(error));
    return AdapterSet();
  }
  std::vector<std::string> warnings;
  llvm::Expected<AdapterSet> set = readAdapter(path, 1.0, {name.str()}, {}, warnings);
  if (!set) {
    ADD_FAILURE() << name.str() << ": " << llvm::toString(set.takeError());
    return AdapterSet();
  }
  EXPECT_TRUE(warnings.empty());
  return std::move(*set);
}

TEST_F(Standalone, FullDeltaOfEveryCase) {
  llvm::SmallString<256> tmpDir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("lorc-adapter-goldens", tmpDir));
  unsigned compared = 0;
  for (const auto &entry : *cases.getAsObject()) {
    std::string name = entry.first.str();
    const llvm::json::Object *info = entry.second.getAsObject();
    ASSERT_TRUE(info) << name;
    if (info->get("dora"))
      continue; // DoraCase below
    SCOPED_TRACE(name);
    std::vector<int64_t> baseShape = shapeOf(info->get("base_shape"));
    AdapterTensor reference = load(*file, name + ".delta");
    ASSERT_EQ(reference.shape, baseShape);

    ModuleAdapter built = buildCase(*file, name, *info);
    llvm::Expected<std::vector<float>> delta = computeDeltaWeight(built, baseShape);
    ASSERT_TRUE(static_cast<bool>(delta)) << llvm::toString(delta.takeError());
    double relative = compareTensor(name, *delta, reference.data);

    // Through the reader: the scale it derives (alpha / rank, or 1 for LoKr with both factors
    // full) is the one LyCORIS' module used.
    AdapterSet set = readCase(*file, name, *info, std::string(tmpDir));
    ASSERT_EQ(set.modules.size(), 1u);
    const ModuleAdapter &read = set.modules.front();
    EXPECT_EQ(read.algo, built.algo);
    EXPECT_NEAR(read.scale, built.scale, 1e-12);
    llvm::Expected<std::vector<float>> readDelta = computeDeltaWeight(read, baseShape);
    ASSERT_TRUE(static_cast<bool>(readDelta)) << llvm::toString(readDelta.takeError());
    relative = std::max(relative, compareTensor(name + " (readAdapter)", *readDelta,
                                                reference.data));
    report("standalone " + name, relative);
    ++compared;
  }
  llvm::sys::fs::remove_directories(tmpDir);
  EXPECT_EQ(compared, 9u);
}

TEST_F(Standalone, DoraCase) {
  const llvm::json::Object *info = cases.getAsObject()->getObject("locon-linear-dora");
  if (!info)
    GTEST_SKIP() << "standalone.safetensors has no DoRA case";
  std::string name = "locon-linear-dora";
  std::vector<int64_t> baseShape = shapeOf(info->get("base_shape"));
  ModuleAdapter adapter = buildCase(*file, name, *info);
  ASSERT_EQ(adapter.factors.count("dora_scale"), 1u);
  AdapterTensor base = load(*file, name + ".base_weight");
  ASSERT_EQ(base.shape, baseShape);
  llvm::Expected<std::vector<float>> delta = computeDeltaWeight(adapter, baseShape);
  ASSERT_TRUE(static_cast<bool>(delta)) << llvm::toString(delta.takeError());

  // lorc-compile's merge: W + m·ΔW, then applyDora with the multiplier m.
  for (auto [multiplier, stored] :
       {std::pair<double, const char *>(1.0, "merged"), {0.5, "merged_m0.5"}}) {
    std::vector<float> merged = base.data;
    for (size_t i = 0; i < merged.size(); ++i)
      merged[i] += static_cast<float>(multiplier) * (*delta)[i];
    llvm::Error error = applyDora(adapter, baseShape, multiplier, merged);
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    AdapterTensor reference = load(*file, name + "." + stored);
    std::string what = name + " multiplier " + (multiplier == 1.0 ? "1" : "0.5");
    report("standalone " + what, compareTensor(what, merged, reference.data));
  }
}

TEST_F(Standalone, LycorisFactorizationTable) {
  llvm::json::Value table = metadataJson(*file, "lycoris_factorization");
  const llvm::json::Array *rows = table.getAsArray();
  ASSERT_TRUE(rows);
  ASSERT_FALSE(rows->empty());
  for (const llvm::json::Value &row : *rows) {
    const llvm::json::Object *entry = row.getAsObject();
    ASSERT_TRUE(entry);
    int64_t dim = entry->getInteger("dim").value_or(-1);
    int64_t factor = entry->getInteger("factor").value_or(0);
    std::vector<int64_t> expected = shapeOf(entry->get("result"));
    ASSERT_EQ(expected.size(), 2u);
    std::pair<int64_t, int64_t> result = lycorisFactorization(dim, factor);
    EXPECT_EQ(result.first, expected[0]) << "factorization(" << dim << ", " << factor << ")";
    EXPECT_EQ(result.second, expected[1]) << "factorization(" << dim << ", " << factor << ")";
  }
  std::cout << "[golden] lycoris factorization: " << rows->size() << " entries compared"
            << std::endl;
}

} // namespace
