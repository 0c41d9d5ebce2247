//===- Adapters.cpp - PEFT and LyCORIS adapter readers --------------------===//
//
// Reads PEFT adapter directories and LyCORIS .safetensors files into lorc::AdapterSet, and
// computes ΔW and the DoRA rescaling from it. LLVM Support only (no MLIR), no exceptions.
//
// Sources the rules below follow (read, not copied):
//  * huggingface/peft @ 5d602fdb: src/peft/tuners/lora/{config,layer,dora,model}.py,
//    tuners/{loha,lokr}/{config,layer}.py, tuners/lycoris_utils.py, utils/other.py
//    (get_pattern_key), utils/constants.py (file names).
//  * KohakuBlueleaf/LyCORIS @ f49d30d: lycoris/modules/{__init__,locon,loha,lokr}.py,
//    lycoris/functional/{general,locon,loha,lokr}.py, lycoris/{kohya,wrapper}.py.
//
// Decisions where the libraries leave room (each is also documented where it is implemented):
//  * A PEFT LoRA config without `lora_alpha` (or `r`) takes LoraConfig's default, 8, as PEFT does
//    when it loads such a config; LoHa/LoKr configs default `alpha` and `r` to 8 likewise. A
//    LyCORIS module without an `alpha` tensor (or with alpha 0) has alpha = rank, as LyCORIS does.
//  * PEFT module names that the base model lacks are retried without a leading "bert." and with
//    one added, so that an adapter trained on BertForSequenceClassification (modules
//    "bert.encoder...") applies to a BertModel checkpoint ("encoder...") and vice versa.
//    rank_pattern/alpha_pattern are matched against the name as it is in the adapter file, which is
//    the name PEFT matched them against when it built the adapter.
//  * An empty `baseModules` list disables the model check for PEFT (names are kept as in the file);
//    LyCORIS names cannot be mapped back without it, so they are then refused.
//  * DoRA: PEFT's rule has no eps; LyCORIS adds torch.finfo(f32).eps to the norm and applies the
//    user multiplier as scale' = m·(scale − 1) + 1 to the DoRA factor (see applyDora).
//
//===----------------------------------------------------------------------===//

#include "lorc/Support/Adapters.h"
#include "lorc/Support/Fp8.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <optional>

using namespace lorc;
using llvm::ArrayRef;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

/// An error "<file>: <what>".
Error fileError(const Twine &file, const Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), (file + ": " + what).str());
}

/// An error "<what>" (used where no file is involved: ΔW and DoRA on an in-memory adapter).
Error plainError(const Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), what.str());
}

/// "[2, 3, 1, 1]".
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

/// Product of `shape[from:]` (1 for an empty range).
int64_t productFrom(ArrayRef<int64_t> shape, size_t from) {
  int64_t result = 1;
  for (size_t i = from; i < shape.size(); ++i)
    result *= shape[i];
  return result;
}

/// "'a', 'b', 'c', 'd', 'e' and 3 more": at most five names, quoted.
std::string listNames(ArrayRef<std::string> names) {
  std::string text;
  size_t shown = std::min<size_t>(names.size(), 5);
  for (size_t i = 0; i < shown; ++i) {
    if (i)
      text += ", ";
    text += "'" + names[i] + "'";
  }
  if (names.size() > shown)
    text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

/// IEEE binary16 → binary32 (exact; subnormals, infinities and NaN included).
float halfToFloat(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa · 2^-24, exactly representable in f32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t bits;
  if (exponent == 31)
    bits = sign | 0x7f800000u | (mantissa << 13);
  else
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// Reads `info` of `file` as f32 (F32, F16 and BF16 are accepted). Unless `allowNonFinite`, a
/// NaN or infinite element is an error naming the tensor.
Expected<AdapterTensor> loadTensor(const SafetensorsFile &file, const TensorInfo &info,
                                   bool allowNonFinite) {
  AdapterTensor tensor;
  tensor.shape.assign(info.shape.begin(), info.shape.end());
  int64_t count = info.numElements();
  tensor.data.resize(static_cast<size_t>(count));
  const uint8_t *bytes = file.data(info).data();
  namespace endian = llvm::support::endian;
  switch (info.dtype) {
  case DType::F32:
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits = endian::read32le(bytes + 4 * i);
      std::memcpy(&tensor.data[i], &bits, sizeof(float));
    }
    break;
  case DType::F16:
    for (int64_t i = 0; i < count; ++i)
      tensor.data[i] = halfToFloat(endian::read16le(bytes + 2 * i));
    break;
  case DType::BF16:
    for (int64_t i = 0; i < count; ++i)
      tensor.data[i] = fromBf16Bits(endian::read16le(bytes + 2 * i));
    break;
  default:
    return fileError(file.path(), "tensor '" + info.name + "': dtype " + dtypeName(info.dtype) +
                                      " is not supported for adapter weights (F32, F16 or BF16)");
  }
  if (!allowNonFinite) {
    for (int64_t i = 0; i < count; ++i)
      if (!std::isfinite(tensor.data[i]))
        return fileError(file.path(), "tensor '" + info.name + "': element " + Twine(i) + " is " +
                                          (std::isnan(tensor.data[i]) ? "NaN" : "infinite") +
                                          " (--allow-non-finite accepts it)");
  }
  return tensor;
}

//===----------------------------------------------------------------------===//
// JSON helpers for adapter_config.json
//===----------------------------------------------------------------------===//

/// Keys of the object `member` of the top-level object in `text`, in document order, which
/// llvm::json::Object (a hash map) does not keep. PEFT's get_pattern_key returns the *first*
/// matching key of rank_pattern/alpha_pattern in dict order, that is the order of the file.
/// `text` has been validated by llvm::json::parse already, so this scanner only skips values.
class OrderedKeyScanner {
public:
  explicit OrderedKeyScanner(StringRef text) : text(text) {}

  std::vector<std::string> keysOf(StringRef member) {
    std::vector<std::string> keys;
    skipSpace();
    if (!consume('{'))
      return keys;
    while (true) {
      skipSpace();
      if (pos >= text.size() || consume('}'))
        break;
      std::string key = readString();
      skipSpace();
      consume(':');
      skipSpace();
      if (key == member && peek() == '{') {
        // Python's json keeps the last duplicate; so do we.
        keys.clear();
        consume('{');
        while (true) {
          skipSpace();
          if (pos >= text.size() || consume('}'))
            break;
          keys.push_back(readString());
          skipSpace();
          consume(':');
          skipSpace();
          skipValue();
          skipSpace();
          consume(',');
        }
      } else {
        skipValue();
      }
      skipSpace();
      consume(',');
    }
    return keys;
  }

private:
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  bool consume(char c) {
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  /// Reads a JSON string and decodes its escapes (through llvm::json, on the string alone).
  std::string readString() {
    if (!consume('"'))
      return "";
    size_t begin = pos;
    while (pos < text.size() && text[pos] != '"')
      pos += text[pos] == '\\' ? 2 : 1;
    StringRef raw = text.slice(begin, std::min(pos, text.size()));
    consume('"');
    Expected<llvm::json::Value> decoded = llvm::json::parse(("\"" + raw + "\"").str());
    if (!decoded) {
      llvm::consumeError(decoded.takeError());
      return raw.str();
    }
    return decoded->getAsString().value_or(raw).str();
  }
  void skipValue() {
    char c = peek();
    if (c == '"') {
      readString();
      return;
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while (pos < text.size()) {
        char d = text[pos];
        if (d == '"') {
          readString();
          continue;
        }
        ++pos;
        if (d == '{' || d == '[')
          ++depth;
        else if ((d == '}' || d == ']') && --depth == 0)
          return;
      }
      return;
    }
    while (pos < text.size() && !StringRef(",}] \t\r\n").contains(text[pos]))
      ++pos;
  }

  StringRef text;
  size_t pos = 0;
};

/// Rewrites the Python regular-expression escapes that PEFT patterns use (\d \w \s and their
/// negations, (?:...) groups) into POSIX ERE, which llvm::Regex implements.
std::string pythonToPosixRegex(StringRef pattern) {
  std::string out;
  bool inBracket = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      const char *inside = nullptr, *outside = nullptr;
      switch (e) {
      case 'd':
        inside = "0-9";
        outside = "[0-9]";
        break;
      case 'w':
        inside = "A-Za-z0-9_";
        outside = "[A-Za-z0-9_]";
        break;
      case 's':
        inside = " \t\n\r\f\v";
        outside = "[ \t\n\r\f\v]";
        break;
      case 'D':
        outside = "[^0-9]";
        break;
      case 'W':
        outside = "[^A-Za-z0-9_]";
        break;
      case 'S':
        outside = "[^ \t\n\r\f\v]";
        break;
      default:
        break;
      }
      if (inBracket && inside)
        out += inside;
      else if (!inBracket && outside)
        out += outside;
      else if (inBracket)
        out += e; // POSIX brackets have no escapes: "[\.]" means '.'.
      else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (!inBracket && c == '(' && pattern.substr(i).starts_with("(?:")) {
      out += '(';
      i += 2;
      continue;
    }
    if (!inBracket && c == '[') {
      inBracket = true;
      out += c;
      // A ']' right after '[' or "[^" is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^')
        out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']')
        out += pattern[++i];
      continue;
    }
    if (inBracket && c == ']')
      inBracket = false;
    out += c;
  }
  return out;
}

/// PEFT's get_pattern_key (utils/other.py): the first key of `keys` (file order) for which
/// re.match(rf"(.*\.)?({key})$", module) succeeds; nullopt if none does.
Expected<std::optional<std::string>> matchPatternKey(ArrayRef<std::string> keys, StringRef module,
                                                     StringRef file, StringRef field) {
  for (const std::string &key : keys) {
    llvm::Regex regex("^(.*\\.)?(" + pythonToPosixRegex(key) + ")$");
    std::string problem;
    if (!regex.isValid(problem))
      return fileError(file, field + " key '" + key +
                                 "' is not a regular expression lorc can evaluate: " + problem);
    if (regex.match(module))
      return std::optional<std::string>(key);
  }
  return std::optional<std::string>();
}

/// The PEFT configuration fields lorc uses.
struct PeftConfig {
  AdapterAlgo algo = AdapterAlgo::LoRA;
  std::string peftType;
  int64_t r = 8;
  double alpha = 8;
  bool useRslora = false;
  bool useDora = false;
  bool fanInFanOut = false;
  /// rank_pattern / alpha_pattern, keys in file order.
  std::vector<std::pair<std::string, int64_t>> rankPattern;
  std::vector<std::pair<std::string, double>> alphaPattern;
  /// "none", "all" or "lora_only": whether trained biases are saved beside the adapter.
  std::string bias = "none";
  std::vector<std::string> modulesToSave;
  /// target_modules: a list of names (exact, or a suffix after '.'), one regular expression
  /// (re.fullmatch), or "all-linear"; empty with no restriction. exclude_modules likewise.
  std::vector<std::string> targetList, excludeList;
  std::optional<std::string> targetRegex, excludeRegex;
  bool allLinear = false;
};

/// PEFT's check_target_module_exists for one selector (tuners/tuners_utils.py): a string is a
/// regular expression that must match the whole name; a list entry matches the name itself or
/// a suffix after '.'.
bool selects(const std::vector<std::string> &list, const std::optional<std::string> &regex,
             StringRef module) {
  if (regex) {
    llvm::Regex re("^(" + pythonToPosixRegex(*regex) + ")$");
    return re.isValid() && re.match(module);
  }
  return llvm::any_of(list, [&](const std::string &entry) {
    return module == entry || module.ends_with("." + entry);
  });
}

Expected<bool> getBool(const llvm::json::Object &object, StringRef key, bool fallback,
                       StringRef file) {
  const llvm::json::Value *value = object.get(key);
  if (!value || value->kind() == llvm::json::Value::Null)
    return fallback;
  if (std::optional<bool> b = value->getAsBoolean())
    return *b;
  return fileError(file, "'" + key + "' must be true or false");
}

/// A positive-or-zero integer given as a JSON number (8 and 8.0 are both accepted).
Expected<int64_t> asRank(const llvm::json::Value &value, const Twine &what, StringRef file) {
  std::optional<double> number = value.getAsNumber();
  if (!number || *number < 0 || *number != std::floor(*number) || *number > 1e12)
    return fileError(file, what + " must be a non-negative integer");
  return static_cast<int64_t>(*number);
}

Expected<double> asAlpha(const llvm::json::Value &value, const Twine &what, StringRef file) {
  std::optional<double> number = value.getAsNumber();
  if (!number || !std::isfinite(*number))
    return fileError(file, what + " must be a finite number");
  return *number;
}

/// Parses adapter_config.json (`text`, named `file` in errors). Unknown fields are ignored.
Expected<PeftConfig> parsePeftConfig(StringRef text, StringRef file) {
  Expected<llvm::json::Value> root = llvm::json::parse(text);
  if (!root)
    return fileError(file, "invalid JSON: " + llvm::toString(root.takeError()));
  const llvm::json::Object *object = root->getAsObject();
  if (!object)
    return fileError(file, "the configuration is not a JSON object");

  PeftConfig config;
  const llvm::json::Value *type = object->get("peft_type");
  if (!type)
    return fileError(file, "missing 'peft_type' (LORA, LOHA or LOKR)");
  std::optional<StringRef> typeName = type->getAsString();
  if (!typeName)
    return fileError(file, "'peft_type' must be a string");
  config.peftType = typeName->str();
  if (*typeName == "LORA")
    config.algo = AdapterAlgo::LoRA;
  else if (*typeName == "LOHA")
    config.algo = AdapterAlgo::LoHa;
  else if (*typeName == "LOKR")
    config.algo = AdapterAlgo::LoKr;
  else
    return fileError(file, "peft_type '" + *typeName +
                               "' is not supported (lorc reads LORA, LOHA and LOKR adapters)");

  // LoraConfig: r = 8, lora_alpha = 8; LoHaConfig/LoKrConfig: r = 8, alpha = 8.
  if (const llvm::json::Value *r = object->get("r")) {
    Expected<int64_t> rank = asRank(*r, "'r'", file);
    if (!rank)
      return rank.takeError();
    config.r = *rank;
  }
  StringRef alphaKey = config.algo == AdapterAlgo::LoRA ? "lora_alpha" : "alpha";
  if (const llvm::json::Value *alpha = object->get(alphaKey)) {
    Expected<double> value = asAlpha(*alpha, "'" + alphaKey + "'", file);
    if (!value)
      return value.takeError();
    config.alpha = *value;
  }
  for (auto [key, field] : {std::pair<StringRef, bool *>("use_rslora", &config.useRslora),
                            std::pair<StringRef, bool *>("use_dora", &config.useDora),
                            std::pair<StringRef, bool *>("fan_in_fan_out", &config.fanInFanOut)}) {
    Expected<bool> value = getBool(*object, key, false, file);
    if (!value)
      return value.takeError();
    *field = *value;
  }

  if (const llvm::json::Value *bias = object->get("bias"); bias && bias->kind() != llvm::json::Value::Null) {
    std::optional<StringRef> b = bias->getAsString();
    if (!b || (*b != "none" && *b != "all" && *b != "lora_only"))
      return fileError(file, "'bias' must be \"none\", \"all\" or \"lora_only\"");
    config.bias = b->str();
  }
  // target_modules / exclude_modules / modules_to_save: a string, a list of strings, or null.
  auto stringList = [&](StringRef field, std::vector<std::string> &list,
                        std::optional<std::string> *regex) -> Error {
    const llvm::json::Value *v = object->get(field);
    if (!v || v->kind() == llvm::json::Value::Null)
      return Error::success();
    if (std::optional<StringRef> one = v->getAsString()) {
      if (!regex)
        list.push_back(one->str());
      else if (*one == "all-linear" && field == "target_modules")
        config.allLinear = true;
      else
        *regex = one->str();
      return Error::success();
    }
    const llvm::json::Array *array = v->getAsArray();
    if (!array)
      return fileError(file, "'" + field + "' must be a string or a list of strings");
    for (const llvm::json::Value &e : *array) {
      std::optional<StringRef> name = e.getAsString();
      if (!name)
        return fileError(file, "'" + field + "' must be a string or a list of strings");
      list.push_back(name->str());
    }
    return Error::success();
  };
  if (Error e = stringList("target_modules", config.targetList, &config.targetRegex))
    return std::move(e);
  if (Error e = stringList("exclude_modules", config.excludeList, &config.excludeRegex))
    return std::move(e);
  if (Error e = stringList("modules_to_save", config.modulesToSave, nullptr))
    return std::move(e);

  OrderedKeyScanner scanner(text);
  for (StringRef field : {StringRef("rank_pattern"), StringRef("alpha_pattern")}) {
    const llvm::json::Value *value = object->get(field);
    if (!value || value->kind() == llvm::json::Value::Null)
      continue;
    const llvm::json::Object *patterns = value->getAsObject();
    if (!patterns)
      return fileError(file, "'" + field + "' must be an object");
    std::vector<std::string> order = scanner.keysOf(field);
    // Should the scanner disagree with the parser (it cannot for valid JSON), fall back to the
    // parser's keys so that no pattern is lost.
    if (order.size() != patterns->size()) {
      order.clear();
      for (const auto &entry : *patterns)
        order.push_back(entry.first.str());
      llvm::sort(order);
    }
    for (const std::string &key : order) {
      const llvm::json::Value *entry = patterns->get(key);
      if (!entry)
        continue;
      if (field == "rank_pattern") {
        Expected<int64_t> rank = asRank(*entry, "rank_pattern['" + key + "']", file);
        if (!rank)
          return rank.takeError();
        config.rankPattern.emplace_back(key, *rank);
      } else {
        Expected<double> alpha = asAlpha(*entry, "alpha_pattern['" + key + "']", file);
        if (!alpha)
          return alpha.takeError();
        config.alphaPattern.emplace_back(key, *alpha);
      }
    }
  }
  return config;
}

//===----------------------------------------------------------------------===//
// Parameter tables
//===----------------------------------------------------------------------===//

/// A stored parameter name and the lorc factor it becomes.
struct ParamName {
  StringRef stored;
  StringRef factor;
};

/// PEFT LoRA parameters after `base_model.model.<module>.` (tuners/lora/layer.py; DoRA's
/// magnitude is saved without ".weight", model.py _get_adapter_state_dict, but accept both).
constexpr ParamName kPeftLoraParams[] = {
    {"lora_A.weight", "down"},
    {"lora_B.weight", "up"},
    {"lora_B.bias", "up_bias"},
    {"lora_magnitude_vector", "magnitude"},
    {"lora_magnitude_vector.weight", "magnitude"},
    {"lora_embedding_A", "down"},
    {"lora_embedding_B", "up"},
};
/// PEFT LoHa parameters (tuners/loha/layer.py).
constexpr ParamName kLohaParams[] = {
    {"hada_w1_a", "w1a"}, {"hada_w1_b", "w1b"}, {"hada_w2_a", "w2a"},
    {"hada_w2_b", "w2b"}, {"hada_t1", "t1"},    {"hada_t2", "t2"},
};
/// LoKr parameters (PEFT tuners/lokr/layer.py and LyCORIS modules/lokr.py use the same names).
constexpr ParamName kLokrParams[] = {
    {"lokr_w1", "w1"},    {"lokr_w1_a", "w1a"}, {"lokr_w1_b", "w1b"}, {"lokr_w2", "w2"},
    {"lokr_w2_a", "w2a"}, {"lokr_w2_b", "w2b"}, {"lokr_t2", "t2"},
};
/// LyCORIS LoCon parameters (modules/locon.py custom_state_dict).
constexpr ParamName kLoconParams[] = {
    {"lora_down.weight", "down"},
    {"lora_up.weight", "up"},
    {"lora_mid.weight", "mid"},
};

template <size_t N>
std::optional<StringRef> lookupParam(const ParamName (&table)[N], StringRef stored) {
  for (const ParamName &param : table)
    if (param.stored == stored)
      return param.factor;
  return std::nullopt;
}

/// The name of an algorithm for messages.
StringRef algoName(AdapterAlgo algo) {
  switch (algo) {
  case AdapterAlgo::LoRA:
    return "LoRA";
  case AdapterAlgo::LoHa:
    return "LoHa";
  case AdapterAlgo::LoKr:
    return "LoKr";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Rank inference (shared by both formats)
//===----------------------------------------------------------------------===//

/// A module being read: its factors and the stored key of each (for messages).
struct PendingModule {
  ModuleAdapter adapter;
  std::map<std::string, std::string> keyOf;
  /// PEFT lora_embedding_A/B (ΔW is transposed, as with fan_in_fan_out).
  bool embedding = false;
  bool hasLinearLora = false;
  /// The module name as stored in the adapter file (PEFT patterns match this one).
  std::string storedName;
};

/// Derives the rank from the factor shapes and checks that every factor agrees. Returns 0 for a
/// LoKr whose two factors are both full (it has no rank).
Expected<int64_t> inferRank(const PendingModule &pending, StringRef file) {
  const ModuleAdapter &adapter = pending.adapter;
  auto has = [&](StringRef name) { return adapter.factors.count(name.str()) != 0; };
  auto shapeOf = [&](StringRef name) -> ArrayRef<int64_t> {
    return adapter.factors.at(name.str()).shape;
  };
  auto keyOf = [&](StringRef name) { return pending.keyOf.at(name.str()); };
  std::string where = "module '" + adapter.module + "': ";
  auto missing = [&](StringRef what) -> Error {
    return fileError(file, where + algoName(adapter.algo) + " adapter lacks " + what);
  };

  // Every rank-carrying dimension, as (factor, dim) pairs; the first one sets the rank.
  std::vector<std::pair<StringRef, unsigned>> dims;
  switch (adapter.algo) {
  case AdapterAlgo::LoRA:
    if (!has("down") || !has("up"))
      return missing(has("down") ? "its up factor (lora_B / lora_up)"
                                 : "its down factor (lora_A / lora_down)");
    dims = {{"down", 0}, {"up", 1}};
    if (has("mid"))
      dims.insert(dims.end(), {{"mid", 0}, {"mid", 1}});
    break;
  case AdapterAlgo::LoHa: {
    for (StringRef name : {"w1a", "w1b", "w2a", "w2b"})
      if (!has(name))
        return missing("hada_" + std::string(name.substr(0, 2)) + "_" + name.substr(2).str());
    if (has("t1") != has("t2"))
      return missing(has("t1") ? "hada_t2 (it has hada_t1)" : "hada_t1 (it has hada_t2)");
    bool tucker = has("t1");
    // Plain: w?a [out, r], w?b [r, in·k]. Tucker: w?a [r, out], w?b [r, in], t? [r, r, k...].
    dims = {{"w1a", tucker ? 0u : 1u}, {"w1b", 0}, {"w2a", tucker ? 0u : 1u}, {"w2b", 0}};
    if (tucker)
      dims.insert(dims.end(), {{"t1", 0}, {"t1", 1}, {"t2", 0}, {"t2", 1}});
    break;
  }
  case AdapterAlgo::LoKr: {
    if (has("w1") == (has("w1a") || has("w1b")))
      return fileError(file, where + "LoKr adapter needs either lokr_w1 or lokr_w1_a + lokr_w1_b");
    if (has("w1a") != has("w1b"))
      return missing(has("w1a") ? "lokr_w1_b" : "lokr_w1_a");
    if (has("w2") == (has("w2a") || has("w2b")))
      return fileError(file, where + "LoKr adapter needs either lokr_w2 or lokr_w2_a + lokr_w2_b");
    if (has("w2a") != has("w2b"))
      return missing(has("w2a") ? "lokr_w2_b" : "lokr_w2_a");
    if (has("t2") && has("w2"))
      return fileError(file, where + "lokr_t2 goes with lokr_w2_a/lokr_w2_b, not with lokr_w2");
    if (has("w1a"))
      dims.insert(dims.end(), {{"w1a", 1}, {"w1b", 0}});
    if (has("w2a")) {
      // Plain: w2_a [b, r], w2_b [r, d·k]. Tucker: w2_a [r, b], w2_b [r, d], t2 [r, r, k...].
      dims.insert(dims.end(), {{"w2b", 0}, {"w2a", has("t2") ? 0u : 1u}});
      if (has("t2"))
        dims.insert(dims.end(), {{"t2", 0}, {"t2", 1}});
    }
    break;
  }
  }
  if (dims.empty())
    return 0; // LoKr with both factors full.
  for (auto [name, dim] : dims)
    if (shapeOf(name).size() < 2)
      return fileError(file, where + "tensor '" + keyOf(name) + "' has shape " +
                                 shapeString(shapeOf(name)) + ", expected at least 2 dimensions");
  auto [firstName, firstDim] = dims.front();
  int64_t rank = shapeOf(firstName)[firstDim];
  for (auto [name, dim] : dims) {
    int64_t other = shapeOf(name)[dim];
    if (other != rank)
      return fileError(file, where + "rank mismatch: tensor '" + keyOf(firstName) + "' " +
                                 shapeString(shapeOf(firstName)) + " has rank " + Twine(rank) +
                                 " but tensor '" + keyOf(name) + "' " + shapeString(shapeOf(name)) +
                                 " has rank " + Twine(other));
  }
  if (rank == 0)
    return fileError(file, where + "rank 0 (tensor '" + keyOf(firstName) + "' has shape " +
                               shapeString(shapeOf(firstName)) + ")");
  return rank;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Loads the factors of `pending` from their keys.
Error loadFactors(PendingModule &pending, const SafetensorsFile &file,
                  const AdapterReadOptions &options) {
  for (const auto &[factor, key] : pending.keyOf) {
    const TensorInfo *info = file.find(key);
    assert(info && "key taken from the file");
    Expected<AdapterTensor> tensor = loadTensor(file, *info, options.allowNonFinite);
    if (!tensor)
      return tensor.takeError();
    pending.adapter.factors[factor] = std::move(*tensor);
  }
  return Error::success();
}

/// Reports `unknown` keys: an error, or with allowUnknownKeys a warning.
Error reportUnknownKeys(std::vector<std::string> unknown, StringRef file,
                        const AdapterReadOptions &options, std::vector<std::string> &warnings) {
  if (unknown.empty())
    return Error::success();
  llvm::sort(unknown);
  std::string count = std::to_string(unknown.size()) + (unknown.size() == 1 ? " key" : " keys");
  std::string names = listNames(unknown);
  if (!options.allowUnknownKeys)
    return fileError(file, "not adapter parameters: " + count + ": " + names +
                               " (--allow-unknown-keys ignores them)");
  warnings.push_back(
      (file + ": ignoring " + count + " that are not adapter parameters: " + names).str());
  return Error::success();
}

/// Reads a PEFT adapter directory.
Expected<AdapterSet> readPeft(StringRef dir, double multiplier, ArrayRef<std::string> baseModules,
                              const AdapterReadOptions &options,
                              std::vector<std::string> &warnings) {
  llvm::SmallString<256> configPath(dir), weightsPath(dir), picklePath(dir);
  llvm::sys::path::append(configPath, "adapter_config.json");
  llvm::sys::path::append(weightsPath, "adapter_model.safetensors");
  llvm::sys::path::append(picklePath, "adapter_model.bin");

  if (!llvm::sys::fs::exists(configPath))
    return fileError(dir, "not a PEFT adapter directory: adapter_config.json is missing");
  if (!llvm::sys::fs::exists(weightsPath)) {
    if (llvm::sys::fs::exists(picklePath))
      return fileError(picklePath,
                       "refusing to read a pickle adapter (adapter_model.bin can run arbitrary "
                       "code when loaded); save it as adapter_model.safetensors");
    return fileError(dir, "adapter_model.safetensors is missing");
  }

  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> configText =
      llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!configText)
    return fileError(configPath, "cannot read: " + configText.getError().message());
  Expected<PeftConfig> config = parsePeftConfig((*configText)->getBuffer(), configPath);
  if (!config)
    return config.takeError();

  Expected<std::unique_ptr<SafetensorsFile>> opened = SafetensorsFile::open(weightsPath);
  if (!opened)
    return opened.takeError();
  const SafetensorsFile &file = **opened;
  StringRef fileName = file.path();

  // Classify every key: base_model.model.<module>.<param>.
  constexpr StringRef kPrefix = "base_model.model.";
  std::map<std::string, PendingModule> byStoredName;
  std::map<std::string, AdapterTensor> replacements;
  std::vector<std::string> unknown;
  for (const TensorInfo &info : file.tensors()) {
    StringRef key = info.name;
    if (!key.starts_with(kPrefix)) {
      unknown.push_back(info.name);
      continue;
    }
    StringRef rest = key.drop_front(kPrefix.size());
    // Find the parameter suffix: try every '.'-separated tail, longest first.
    std::optional<StringRef> factor;
    StringRef module, param;
    for (size_t dot = rest.find('.'); dot != StringRef::npos; dot = rest.find('.', dot + 1)) {
      param = rest.drop_front(dot + 1);
      switch (config->algo) {
      case AdapterAlgo::LoRA:
        factor = lookupParam(kPeftLoraParams, param);
        break;
      case AdapterAlgo::LoHa:
        factor = lookupParam(kLohaParams, param);
        break;
      case AdapterAlgo::LoKr:
        factor = lookupParam(kLokrParams, param);
        break;
      }
      if (factor) {
        module = rest.take_front(dot);
        break;
      }
    }
    if (!factor || module.empty()) {
      // A whole base tensor: a modules_to_save module's parameter, or a trained bias
      // (peft utils/save_and_load.py saves both under the base model's own name).
      bool savedModule = llvm::any_of(config->modulesToSave, [&](const std::string &m) {
        return rest.starts_with(m + ".") || rest.contains("." + m + ".");
      });
      bool trainedBias = config->bias != "none" && rest.ends_with(".bias") &&
                         !rest.contains(".lora_");
      if (savedModule || trainedBias) {
        // With bias="all" PEFT also dumps the wrapper's frozen `original_module` copy and the
        // trained `modules_to_save` copy under its own prefix; the latter is what loads.
        if (rest.contains(".original_module."))
          continue;
        // A LoRA-wrapped layer's own parameters live under `base_layer`.
        std::string name = rest.str();
        bool wrapped = false;
        for (StringRef segment : {StringRef(".modules_to_save"), StringRef(".base_layer")})
          if (size_t at = name.find((segment + ".").str()); at != std::string::npos) {
            name.erase(at, segment.size());
            wrapped = true;
          }
        Expected<AdapterTensor> t = loadTensor(file, info, options.allowNonFinite);
        if (!t)
          return t.takeError();
        if (wrapped || !replacements.count(name))
          replacements[name] = std::move(*t);
        continue;
      }
      unknown.push_back(info.name);
      continue;
    }
    PendingModule &pending = byStoredName[module.str()];
    pending.storedName = module.str();
    pending.adapter.algo = config->algo;
    if (param.starts_with("lora_embedding_"))
      pending.embedding = true;
    else if (param.starts_with("lora_A") || param.starts_with("lora_B"))
      pending.hasLinearLora = true;
    if (!pending.keyOf.emplace(factor->str(), info.name).second)
      return fileError(fileName, "module '" + module + "': tensors '" +
                                     pending.keyOf[factor->str()] + "' and '" + info.name +
                                     "' are the same parameter");
  }
  if (Error error = reportUnknownKeys(std::move(unknown), fileName, options, warnings))
    return std::move(error);

  // Map the stored module names onto the base model's (see the file comment for "bert.").
  llvm::StringSet<> known;
  for (const std::string &name : baseModules)
    known.insert(name);
  auto resolve = [&](StringRef stored) -> std::optional<std::string> {
    if (baseModules.empty() || known.contains(stored))
      return stored.str();
    if (stored.starts_with("bert.") && known.contains(stored.drop_front(5)))
      return stored.drop_front(5).str();
    if (!stored.starts_with("bert.") && known.contains(("bert." + stored).str()))
      return "bert." + stored.str();
    return std::nullopt;
  };

  AdapterSet set;
  set.path = dir.str();
  set.format = "peft";
  set.multiplier = multiplier;
  set.replacements = std::move(replacements);
  std::map<std::string, std::string> storedFor; // base module → stored name
  for (auto &[storedName, pending] : byStoredName) {
    std::optional<std::string> base = resolve(storedName);
    if (!base)
      return fileError(fileName, "adapter for module '" + storedName +
                                     "' which the model lacks (key '" +
                                     pending.keyOf.begin()->second + "')");
    auto [it, inserted] = storedFor.emplace(*base, storedName);
    if (!inserted)
      return fileError(fileName, "modules '" + it->second + "' and '" + storedName +
                                     "' both map to the model's module '" + *base + "'");
    pending.adapter.module = *base;
    // The weights must be for modules the configuration targets (all-linear: any Linear, which
    // the base model check above already establishes).
    bool hasSelector = !config->targetList.empty() || config->targetRegex;
    if (!config->allLinear && hasSelector &&
        !selects(config->targetList, config->targetRegex, storedName))
      return fileError(fileName, "module '" + storedName +
                                     "' has adapter weights but target_modules does not select "
                                     "it (adapter_config.json and the weights disagree)");
    if ((!config->excludeList.empty() || config->excludeRegex) &&
        selects(config->excludeList, config->excludeRegex, storedName))
      return fileError(fileName, "module '" + storedName +
                                     "' has adapter weights but exclude_modules excludes it");
    if (pending.embedding && pending.hasLinearLora)
      return fileError(fileName, "module '" + storedName +
                                     "' mixes lora_A/lora_B with lora_embedding_A/B tensors");

    if (Error error = loadFactors(pending, file, options))
      return std::move(error);
    Expected<int64_t> shapeRank = inferRank(pending, fileName);
    if (!shapeRank)
      return shapeRank.takeError();

    // r and alpha from the config, with rank_pattern/alpha_pattern matched against the stored
    // name (PEFT matches them against the module's name in the model it trained on).
    std::vector<std::string> rankKeys, alphaKeys;
    for (const auto &entry : config->rankPattern)
      rankKeys.push_back(entry.first);
    for (const auto &entry : config->alphaPattern)
      alphaKeys.push_back(entry.first);
    Expected<std::optional<std::string>> rankKey =
        matchPatternKey(rankKeys, storedName, fileName, "rank_pattern");
    if (!rankKey)
      return rankKey.takeError();
    Expected<std::optional<std::string>> alphaKey =
        matchPatternKey(alphaKeys, storedName, fileName, "alpha_pattern");
    if (!alphaKey)
      return alphaKey.takeError();
    int64_t rank = config->r;
    std::string rankSource = "r=" + std::to_string(config->r);
    if (*rankKey) {
      for (const auto &entry : config->rankPattern)
        if (entry.first == **rankKey) {
          rank = entry.second;
          break;
        }
      rankSource = "rank_pattern['" + **rankKey + "']=" + std::to_string(rank);
    }
    double alpha = config->alpha;
    if (*alphaKey) {
      for (const auto &entry : config->alphaPattern)
        if (entry.first == **alphaKey) {
          alpha = entry.second;
          break;
        }
    }
    if (*shapeRank != 0 && *shapeRank != rank)
      return fileError(fileName, "module '" + storedName + "': the tensors have rank " +
                                     Twine(*shapeRank) + " but adapter_config.json says " +
                                     rankSource);
    if (rank == 0)
      return fileError(fileName, "module '" + storedName + "': rank 0 (" + rankSource + ")");

    ModuleAdapter &adapter = pending.adapter;
    adapter.rank = rank;
    adapter.alpha = alpha;
    // tuners/lora/layer.py update_layer: alpha/√r with use_rslora, else alpha/r. LoHa/LoKr
    // (tuners/{loha,lokr}/layer.py update_layer): alpha/r, also when both LoKr factors are full.
    bool rslora = config->algo == AdapterAlgo::LoRA && config->useRslora;
    adapter.scale =
        rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
    // Embedding: ΔW = (B·A)ᵀ (layer.py Embedding.get_delta_weight), the fan_in_fan_out layout.
    adapter.fanInFanOut =
        pending.embedding || (config->algo == AdapterAlgo::LoRA && config->fanInFanOut);
    if (config->algo == AdapterAlgo::LoRA && config->useDora && !adapter.factors.count("magnitude"))
      return fileError(fileName, "module '" + storedName +
                                     "': use_dora is set but the adapter has no "
                                     "lora_magnitude_vector for it");
    set.modules.push_back(std::move(adapter));
  }
  llvm::sort(set.modules,
             [](const ModuleAdapter &a, const ModuleAdapter &b) { return a.module < b.module; });
  return set;
}

/// LyCORIS algorithms in MODULE_LIST order (modules/__init__.py) with their detection keys
/// (weight_list_det). Only LoCon, LoHa and LoKr are read; the others are named in the error.
struct LycorisAlgo {
  StringRef name;
  std::vector<StringRef> detect;
  std::optional<AdapterAlgo> algo;
};

const std::vector<LycorisAlgo> &lycorisAlgos() {
  static const std::vector<LycorisAlgo> algos = {
      {"LoCon", {"lora_up.weight"}, AdapterAlgo::LoRA},
      {"LoHa", {"hada_w1_a"}, AdapterAlgo::LoHa},
      {"IA3", {"on_input"}, std::nullopt},
      {"LoKr", {"lokr_w1", "lokr_w1_a"}, AdapterAlgo::LoKr},
      {"Full", {"diff"}, std::nullopt},
      {"Norm", {"w_norm"}, std::nullopt},
      {"OFT/BOFT", {"oft_blocks"}, std::nullopt},
      {"GLoRA", {"a1.weight"}, std::nullopt},
  };
  return algos;
}

/// Reads a LyCORIS (or kohya-style LoRA) .safetensors file.
Expected<AdapterSet> readLycoris(StringRef path, double multiplier,
                                 ArrayRef<std::string> baseModules,
                                 const AdapterReadOptions &options,
                                 std::vector<std::string> &warnings) {
  Expected<std::unique_ptr<SafetensorsFile>> opened = SafetensorsFile::open(path);
  if (!opened)
    return opened.takeError();
  const SafetensorsFile &file = **opened;
  StringRef fileName = file.path();

  // lycoris (wrapper.py LORA_PREFIX), lora_unet / lora_te / lora_te1 / lora_te2 (kohya.py).
  static constexpr StringRef kPrefixes[] = {"lycoris_", "lora_unet_", "lora_te1_", "lora_te2_",
                                            "lora_te_"};
  // Group the keys by LyCORIS module name (the part before the first '.').
  std::map<std::string, std::map<std::string, std::string>> groups; // lora_name → param → key
  std::vector<std::string> unknown;
  for (const TensorInfo &info : file.tensors()) {
    std::pair<StringRef, StringRef> parts = StringRef(info.name).split('.');
    StringRef loraName = parts.first, param = parts.second;
    bool prefixed = llvm::any_of(kPrefixes, [&](StringRef prefix) {
      return loraName.starts_with(prefix) && loraName.size() > prefix.size();
    });
    if (!prefixed || param.empty()) {
      unknown.push_back(info.name);
      continue;
    }
    groups[loraName.str()][param.str()] = info.name;
  }

  // Detect each module's algorithm; parameters it does not know are unknown keys.
  std::vector<PendingModule> pendings;
  for (auto &group : groups) {
    const std::string &loraName = group.first;
    const std::map<std::string, std::string> &params = group.second;
    const LycorisAlgo *found = nullptr;
    for (const LycorisAlgo &candidate : lycorisAlgos()) {
      if (llvm::any_of(candidate.detect, [&](StringRef key) { return params.count(key.str()); })) {
        found = &candidate;
        break;
      }
    }
    if (!found) {
      for (const auto &entry : params)
        unknown.push_back(entry.second);
      continue;
    }
    if (!found->algo)
      return fileError(fileName, "module '" + loraName + "': LyCORIS algorithm " + found->name +
                                     " is not supported (lorc reads LoCon/LoRA, LoHa and LoKr)");
    PendingModule pending;
    pending.storedName = loraName;
    pending.adapter.algo = *found->algo;
    for (const auto &[param, key] : params) {
      std::optional<StringRef> factor;
      switch (*found->algo) {
      case AdapterAlgo::LoRA:
        factor = lookupParam(kLoconParams, param);
        break;
      case AdapterAlgo::LoHa:
        factor = lookupParam(kLohaParams, param);
        break;
      case AdapterAlgo::LoKr:
        factor = lookupParam(kLokrParams, param);
        break;
      }
      if (param == "alpha")
        factor = "alpha";
      else if (param == "dora_scale")
        factor = "dora_scale";
      if (!factor) {
        unknown.push_back(key);
        continue;
      }
      pending.keyOf[factor->str()] = key;
    }
    pendings.push_back(std::move(pending));
  }
  if (Error error = reportUnknownKeys(std::move(unknown), fileName, options, warnings))
    return std::move(error);

  // Underscored base module names → the module (LyCORIS replaces '.' by '_').
  llvm::StringMap<std::vector<std::string>> underscored;
  for (const std::string &module : baseModules) {
    std::string flat = module;
    std::replace(flat.begin(), flat.end(), '.', '_');
    underscored[flat].push_back(module);
  }

  AdapterSet set;
  set.path = path.str();
  set.format = "lycoris";
  set.multiplier = multiplier;
  std::map<std::string, std::string> loraNameFor; // base module → lora name
  for (PendingModule &pending : pendings) {
    StringRef loraName = pending.storedName;
    StringRef flat;
    for (StringRef prefix : kPrefixes)
      if (loraName.starts_with(prefix)) {
        flat = loraName.drop_front(prefix.size());
        break;
      }
    auto it = underscored.find(flat);
    if (it == underscored.end())
      return fileError(fileName, "adapter for module '" + loraName +
                                     "' which the model lacks (no module of the model is '" + flat +
                                     "' with '.' written as '_')");
    if (it->second.size() > 1)
      return fileError(fileName, "module '" + loraName + "' is ambiguous: the model's modules '" +
                                     it->second[0] + "' and '" + it->second[1] + "' both read '" +
                                     flat + "' with '.' written as '_'");
    auto [previous, inserted] = loraNameFor.emplace(it->second.front(), loraName.str());
    if (!inserted)
      return fileError(fileName, "modules '" + previous->second + "' and '" + loraName +
                                     "' both map to the model's module '" + it->second.front() +
                                     "'");
    pending.adapter.module = it->second.front();

    if (Error error = loadFactors(pending, file, options))
      return std::move(error);
    ModuleAdapter &adapter = pending.adapter;
    std::optional<AdapterTensor> alphaTensor;
    if (auto alphaIt = adapter.factors.find("alpha"); alphaIt != adapter.factors.end()) {
      alphaTensor = std::move(alphaIt->second);
      adapter.factors.erase(alphaIt);
    }
    Expected<int64_t> rank = inferRank(pending, fileName);
    if (!rank)
      return rank.takeError();

    // modules/{locon,loha,lokr}.py __init__: alpha := lora_dim if alpha in (None, 0); the stored
    // alpha already carries rsLoRA (alpha·lora_dim/r_factor), so scale = stored alpha / rank.
    double alpha = 0;
    if (alphaTensor) {
      if (alphaTensor->data.size() != 1)
        return fileError(fileName, "tensor '" + pending.keyOf.at("alpha") + "' has shape " +
                                       shapeString(alphaTensor->shape) + ", expected a scalar");
      alpha = alphaTensor->data.front();
    }
    if (*rank == 0) {
      // LoKr with lokr_w1 and lokr_w2 both full: make_module_from_state_dict uses lora_dim = 1
      // and __init__ forces alpha = lora_dim, so the scale is 1 whatever alpha is stored.
      adapter.rank = 1;
      adapter.alpha = 1;
      adapter.scale = 1;
    } else {
      adapter.rank = *rank;
      adapter.alpha = alpha == 0 ? static_cast<double>(*rank) : alpha;
      adapter.scale = adapter.alpha / static_cast<double>(*rank);
    }
    set.modules.push_back(std::move(adapter));
  }
  llvm::sort(set.modules,
             [](const ModuleAdapter &a, const ModuleAdapter &b) { return a.module < b.module; });
  return set;
}

//===----------------------------------------------------------------------===//
// ΔW
//===----------------------------------------------------------------------===//

/// Checks factor shapes against the base layer; every message names the module and the factor.
class ShapeChecker {
public:
  ShapeChecker(const ModuleAdapter &adapter, ArrayRef<int64_t> baseShape)
      : adapter(adapter), baseShape(baseShape) {}

  /// The factor `name`, or an error if it is missing.
  Expected<const AdapterTensor *> get(StringRef name) const {
    auto it = adapter.factors.find(name.str());
    if (it == adapter.factors.end())
      return plainError("module '" + adapter.module + "': " + algoName(adapter.algo) +
                        " adapter lacks the factor '" + name + "'");
    const AdapterTensor *tensor = &it->second;
    if (static_cast<int64_t>(tensor->data.size()) != productFrom(tensor->shape, 0))
      return plainError("module '" + adapter.module + "': factor '" + name + "' has shape " +
                        shapeString(tensor->shape) + " but " + Twine(tensor->data.size()) +
                        " elements");
    return tensor;
  }
  const AdapterTensor *find(StringRef name) const {
    auto it = adapter.factors.find(name.str());
    return it == adapter.factors.end() ? nullptr : &it->second;
  }

  /// The two factors `a` and `b` of a low-rank pair: `a` must be a matrix, `b` too unless
  /// `bMayHaveKernel` (then at least 2 dimensions).
  Expected<std::pair<const AdapterTensor *, const AdapterTensor *>>
  pair(StringRef a, StringRef b, bool bMayHaveKernel = false) const {
    Expected<const AdapterTensor *> ta = get(a);
    if (!ta)
      return ta.takeError();
    Expected<const AdapterTensor *> tb = get(b);
    if (!tb)
      return tb.takeError();
    bool aBad = (*ta)->shape.size() != 2;
    bool bBad = bMayHaveKernel ? (*tb)->shape.size() < 2 : (*tb)->shape.size() != 2;
    if (aBad || bBad)
      return misfit(aBad ? a : b, aBad ? **ta : **tb, "a matrix");
    return std::make_pair(*ta, *tb);
  }

  /// Checks that `tensor` has at least two dimensions, dims 0 and 1 equal `d0`, `d1` (-1: any),
  /// and the product of the remaining dims equals `rest`.
  Error expect(StringRef name, const AdapterTensor &tensor, int64_t d0, int64_t d1, int64_t rest,
               StringRef expected) const {
    ArrayRef<int64_t> shape = tensor.shape;
    bool ok = shape.size() >= 2 && (d0 < 0 || shape[0] == d0) && (d1 < 0 || shape[1] == d1) &&
              productFrom(shape, 2) == rest;
    if (ok)
      return Error::success();
    return misfit(name, tensor, expected);
  }

  Error misfit(StringRef name, const AdapterTensor &tensor, StringRef expected) const {
    return plainError("module '" + adapter.module +
                      "': adapter shape does not fit the base layer " + shapeString(baseShape) +
                      ": factor '" + name + "' has shape " + shapeString(tensor.shape) +
                      ", expected " + expected);
  }

  Error rankMismatch(StringRef a, const AdapterTensor &ta, StringRef b,
                     const AdapterTensor &tb) const {
    return plainError("module '" + adapter.module + "': rank mismatch between factor '" + a + "' " +
                      shapeString(ta.shape) + " and factor '" + b + "' " + shapeString(tb.shape));
  }

private:
  const ModuleAdapter &adapter;
  ArrayRef<int64_t> baseShape;
};

/// C[m, n] = Σ_k A[m, k] · B[k, n] (row-major, double accumulation).
std::vector<float> matmul(const float *a, const float *b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> acc(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      double av = a[i * k + p];
      if (av == 0)
        continue;
      const float *brow = b + p * n;
      double *crow = acc.data() + i * n;
      for (int64_t j = 0; j < n; ++j)
        crow[j] += av * brow[j];
    }
  return std::vector<float>(acc.begin(), acc.end());
}

/// LyCORIS rebuild_tucker (functional/general.py): einsum("i j ..., i p, j r -> p r ...", t, wa,
/// wb), i.e. R[p, q, k] = Σ_ab t[a, b, k] · wa[a, p] · wb[b, q], with t [r, r, K], wa [r, P],
/// wb [r, Q]; the result is [P, Q, K].
std::vector<float> rebuildTucker(const float *t, const float *wa, const float *wb, int64_t r,
                                 int64_t p, int64_t q, int64_t kk) {
  // tmp[a, q, k] = Σ_b t[a, b, k] · wb[b, q]
  std::vector<double> tmp(static_cast<size_t>(r * q * kk), 0.0);
  for (int64_t a = 0; a < r; ++a)
    for (int64_t b = 0; b < r; ++b)
      for (int64_t j = 0; j < q; ++j) {
        double w = wb[b * q + j];
        for (int64_t k = 0; k < kk; ++k)
          tmp[(a * q + j) * kk + k] += static_cast<double>(t[(a * r + b) * kk + k]) * w;
      }
  std::vector<double> out(static_cast<size_t>(p * q * kk), 0.0);
  for (int64_t a = 0; a < r; ++a)
    for (int64_t i = 0; i < p; ++i) {
      double w = wa[a * p + i];
      for (int64_t jk = 0; jk < q * kk; ++jk)
        out[i * q * kk + jk] += w * tmp[a * q * kk + jk];
    }
  return std::vector<float>(out.begin(), out.end());
}

/// The transpose of a [rows, cols] matrix.
std::vector<float> transposed(const std::vector<float> &m, int64_t rows, int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      t[j * rows + i] = m[i * cols + j];
  return t;
}

/// ΔW of a LoRA/LoCon adapter, [out, in, k], unscaled.
Expected<std::vector<float>> loraDelta(const ShapeChecker &check, int64_t out, int64_t in,
                                       int64_t kk) {
  Expected<const AdapterTensor *> down = check.get("down");
  if (!down)
    return down.takeError();
  Expected<const AdapterTensor *> up = check.get("up");
  if (!up)
    return up.takeError();
  const AdapterTensor *mid = check.find("mid");
  if ((*down)->shape.size() < 2 || (*up)->shape.size() < 2)
    return check.misfit((*down)->shape.size() < 2 ? "down" : "up",
                        (*down)->shape.size() < 2 ? **down : **up, "at least 2 dimensions");
  int64_t r = (*down)->shape[0];
  if ((*up)->shape[1] != r)
    return check.rankMismatch("down", **down, "up", **up);
  if (Error e = check.expect("up", **up, out, r, 1, "[out, r(, 1, 1)]"))
    return std::move(e);
  if (mid) {
    // LoCon-Tucker: down [r, in, 1, 1], mid [r, r, kh, kw], up [out, r, 1, 1];
    // functional/locon.py diff_weight: rebuild_tucker(mid, upᵀ, down).
    if (Error e = check.expect("down", **down, r, in, 1, "[r, in, 1, 1] with a mid factor"))
      return std::move(e);
    if (mid->shape.size() < 2 || mid->shape[0] != r || mid->shape[1] != r)
      return check.rankMismatch("down", **down, "mid", *mid);
    if (Error e = check.expect("mid", *mid, r, r, kk, "[r, r, kh, kw] matching the kernel"))
      return std::move(e);
    std::vector<float> upT = transposed((*up)->data, out, r);
    return rebuildTucker(mid->data.data(), upT.data(), (*down)->data.data(), r, out, in, kk);
  }
  if (Error e = check.expect("down", **down, r, in, kk, "[r, in(, kh, kw)]"))
    return std::move(e);
  return matmul((*up)->data.data(), (*down)->data.data(), out, r, in * kk);
}

/// One LoHa branch, w?a ⊗ w?b (plain) or the Tucker rebuild, as [out, in·k].
Expected<std::vector<float>> lohaBranch(const ShapeChecker &check, StringRef a, StringRef b,
                                        StringRef t, int64_t out, int64_t in, int64_t kk) {
  auto factors = check.pair(a, b, /*bMayHaveKernel=*/true);
  if (!factors)
    return factors.takeError();
  auto [wa, wb] = *factors;
  const AdapterTensor *tt = check.find(t);
  int64_t r = wb->shape[0];
  if (tt) {
    // functional/loha.py diff_weight, Tucker: einsum("i j ..., j r, i p -> p r ...", t, w?b, w?a)
    // with w?a [r, out], w?b [r, in], t [r, r, kh, kw].
    if (wa->shape[0] != r)
      return check.rankMismatch(a, *wa, b, *wb);
    if (Error e = check.expect(a, *wa, r, out, 1, "[r, out] (Tucker form)"))
      return std::move(e);
    if (Error e = check.expect(b, *wb, r, in, 1, "[r, in] (Tucker form)"))
      return std::move(e);
    if (tt->shape.size() < 2 || tt->shape[0] != r || tt->shape[1] != r)
      return check.rankMismatch(b, *wb, t, *tt);
    if (Error e = check.expect(t, *tt, r, r, kk, "[r, r, kh, kw] matching the kernel"))
      return std::move(e);
    return rebuildTucker(tt->data.data(), wa->data.data(), wb->data.data(), r, out, in, kk);
  }
  // Plain: w?a [out, r], w?b [r, in·kh·kw]; (w?a @ w?b).
  if (wa->shape[1] != r)
    return check.rankMismatch(a, *wa, b, *wb);
  if (Error e = check.expect(a, *wa, out, r, 1, "[out, r]"))
    return std::move(e);
  if (productFrom(wb->shape, 1) != in * kk)
    return check.misfit(b, *wb, "[r, in·kh·kw] = [r, " + std::to_string(in * kk) + "]");
  return matmul(wa->data.data(), wb->data.data(), out, r, in * kk);
}

/// ΔW of a LoHa adapter: (w1a·w1b) ⊙ (w2a·w2b), [out, in, k], unscaled.
Expected<std::vector<float>> lohaDelta(const ShapeChecker &check, int64_t out, int64_t in,
                                       int64_t kk) {
  if ((check.find("t1") != nullptr) != (check.find("t2") != nullptr))
    return check.get(check.find("t1") ? "t2" : "t1").takeError();
  Expected<std::vector<float>> first = lohaBranch(check, "w1a", "w1b", "t1", out, in, kk);
  if (!first)
    return first.takeError();
  Expected<std::vector<float>> second = lohaBranch(check, "w2a", "w2b", "t2", out, in, kk);
  if (!second)
    return second.takeError();
  for (size_t i = 0; i < first->size(); ++i)
    (*first)[i] *= (*second)[i];
  return std::move(*first);
}

/// ΔW of a LoKr adapter: kron(w1, w2) (w1 unsqueezed for conv), [out, in, k], unscaled.
Expected<std::vector<float>> lokrDelta(const ShapeChecker &check, int64_t out, int64_t in,
                                       int64_t kk) {
  // w1 [a, c]: full, or w1_a [a, r] @ w1_b [r, c].
  std::vector<float> w1;
  int64_t a, c;
  if (const AdapterTensor *full = check.find("w1")) {
    if (full->shape.size() < 2 || productFrom(full->shape, 2) != 1)
      return check.misfit("w1", *full, "[a, c]");
    a = full->shape[0];
    c = full->shape[1];
    w1 = full->data;
  } else {
    auto factors = check.pair("w1a", "w1b");
    if (!factors)
      return factors.takeError();
    auto [w1a, w1b] = *factors;
    if (w1a->shape[1] != w1b->shape[0])
      return check.rankMismatch("w1a", *w1a, "w1b", *w1b);
    a = w1a->shape[0];
    c = w1b->shape[1];
    w1 = matmul(w1a->data.data(), w1b->data.data(), a, w1a->shape[1], c);
  }
  if (a <= 0 || c <= 0 || out % a != 0 || in % c != 0)
    return check.misfit(check.find("w1") ? "w1" : "w1a",
                        check.find("w1") ? *check.find("w1") : *check.find("w1a"),
                        "[a, c] with a dividing out=" + std::to_string(out) +
                            " and c dividing in=" + std::to_string(in));
  int64_t b = out / a, d = in / c;

  // w2 [b, d, k]: full, Tucker, or w2_a [b, r] @ w2_b [r, d·k].
  std::vector<float> w2;
  std::string bd = "[" + std::to_string(b) + ", " + std::to_string(d) + "]";
  if (const AdapterTensor *full = check.find("w2")) {
    if (full->shape.size() < 2 || full->shape[0] != b || productFrom(full->shape, 1) != d * kk)
      return check.misfit("w2", *full, "[b, d(, kh, kw)] with [b, d] = " + bd);
    w2 = full->data;
  } else {
    auto factors = check.pair("w2a", "w2b");
    if (!factors)
      return factors.takeError();
    auto [w2a, w2b] = *factors;
    int64_t r = w2b->shape[0];
    if (const AdapterTensor *t2 = check.find("t2")) {
      // Tucker (modules/lokr.py get_weight): rebuild_tucker(t2, w2_a [r, b], w2_b [r, d]).
      if (w2a->shape[0] != r)
        return check.rankMismatch("w2a", *w2a, "w2b", *w2b);
      if (t2->shape.size() < 2 || t2->shape[0] != r || t2->shape[1] != r)
        return check.rankMismatch("w2b", *w2b, "t2", *t2);
      if (Error e =
              check.expect("w2a", *w2a, r, b, 1, "[r, b] (Tucker form), b = " + std::to_string(b)))
        return std::move(e);
      if (Error e =
              check.expect("w2b", *w2b, r, d, 1, "[r, d] (Tucker form), d = " + std::to_string(d)))
        return std::move(e);
      if (Error e = check.expect("t2", *t2, r, r, kk, "[r, r, kh, kw] matching the kernel"))
        return std::move(e);
      w2 = rebuildTucker(t2->data.data(), w2a->data.data(), w2b->data.data(), r, b, d, kk);
    } else {
      if (w2a->shape[1] != r)
        return check.rankMismatch("w2a", *w2a, "w2b", *w2b);
      if (Error e = check.expect("w2a", *w2a, b, r, 1, "[b, r], b = " + std::to_string(b)))
        return std::move(e);
      if (w2b->shape[1] != d * kk)
        return check.misfit("w2b", *w2b, "[r, d·kh·kw] = [r, " + std::to_string(d * kk) + "]");
      w2 = matmul(w2a->data.data(), w2b->data.data(), b, r, d * kk);
    }
  }

  // kron: ΔW[i·b + j, p·d + q, k] = w1[i, p] · w2[j, q, k].
  std::vector<float> delta(static_cast<size_t>(out * in * kk));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t p = 0; p < c; ++p) {
      float s = w1[i * c + p];
      for (int64_t j = 0; j < b; ++j)
        for (int64_t q = 0; q < d; ++q) {
          const float *src = &w2[(j * d + q) * kk];
          float *dst = &delta[((i * b + j) * in + (p * d + q)) * kk];
          for (int64_t k = 0; k < kk; ++k)
            dst[k] = s * src[k];
        }
    }
  return delta;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

Expected<AdapterSet> lorc::readAdapter(StringRef path, double multiplier,
                                       ArrayRef<std::string> baseModules,
                                       const AdapterReadOptions &options,
                                       std::vector<std::string> &warnings) {
  if (!llvm::sys::fs::exists(path))
    return fileError(path, "no such file or directory");
  if (llvm::sys::fs::is_directory(path))
    return readPeft(path, multiplier, baseModules, options, warnings);

  StringRef name = llvm::sys::path::filename(path);
  StringRef extension = llvm::sys::path::extension(path);
  if (extension == ".bin" || extension == ".pt" || extension == ".pth" || extension == ".ckpt")
    return fileError(path, "refusing to read a pickle adapter (" + extension +
                               " files can run arbitrary code when loaded); convert it to "
                               "safetensors");
  if (extension != ".safetensors")
    return fileError(path, "not an adapter: expected a PEFT adapter directory or a LyCORIS "
                           ".safetensors file");
  // PEFT's weights file given directly: read its directory, where the config is.
  llvm::SmallString<256> config(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(config, "adapter_config.json");
  if (name == "adapter_model.safetensors" && llvm::sys::fs::exists(config)) {
    Expected<AdapterSet> set =
        readPeft(llvm::sys::path::parent_path(path), multiplier, baseModules, options, warnings);
    if (set)
      set->path = path.str();
    return set;
  }
  return readLycoris(path, multiplier, baseModules, options, warnings);
}

Expected<std::vector<float>> lorc::computeDeltaWeight(const ModuleAdapter &adapter,
                                                      ArrayRef<int64_t> baseShape) {
  if (baseShape.size() < 2 || llvm::any_of(baseShape, [](int64_t d) { return d < 0; }))
    return plainError("module '" + adapter.module + "': base weight shape " +
                      shapeString(baseShape) + " is not [out, in] or [out, in, kh, kw]");
  if (adapter.fanInFanOut && baseShape.size() != 2)
    return plainError("module '" + adapter.module +
                      "': fan_in_fan_out needs a 2-D base weight, "
                      "not " +
                      shapeString(baseShape));
  // With fan_in_fan_out the base weight is stored [in, out]; ΔW is built [out, in] first.
  int64_t out = adapter.fanInFanOut ? baseShape[1] : baseShape[0];
  int64_t in = adapter.fanInFanOut ? baseShape[0] : baseShape[1];
  int64_t kk = productFrom(baseShape, 2);
  ShapeChecker check(adapter, baseShape);

  Expected<std::vector<float>> delta = [&]() -> Expected<std::vector<float>> {
    switch (adapter.algo) {
    case AdapterAlgo::LoRA:
      return loraDelta(check, out, in, kk);
    case AdapterAlgo::LoHa:
      return lohaDelta(check, out, in, kk);
    case AdapterAlgo::LoKr:
      return lokrDelta(check, out, in, kk);
    }
    return plainError("unknown adapter algorithm");
  }();
  if (!delta)
    return delta.takeError();
  if (const AdapterTensor *bias = check.find("up_bias"))
    if (static_cast<int64_t>(bias->data.size()) != out)
      return check.misfit("up_bias", *bias, "[out] = [" + std::to_string(out) + "]");
  float scale = static_cast<float>(adapter.scale);
  for (float &value : *delta)
    value *= scale;
  if (adapter.fanInFanOut)
    return transposed(*delta, out, in); // peft utils/other.py transpose(weight, fan_in_fan_out)
  return delta;
}

// DoRA. Two rules, chosen by the factor the adapter carries:
//
//  * "magnitude" (PEFT, tuners/lora/dora.py DoraLinearLayer.get_weight_norm + forward):
//      W' = m ⊙ (W + s·BA) / ‖W + s·BA‖, the norm per output row over the input (and kernel)
//    dims, `torch.linalg.norm(weight, dim=1)` with no eps. With fan_in_fan_out the weight is
//    transposed to [out, in] first, so here the norm runs over the stored columns. The user
//    multiplier is folded into s (PEFT's scale_layer multiplies `scaling`), so `merged`, which
//    holds W + multiplier·ΔW, is simply renormalised.
//
//  * "dora_scale" (LyCORIS, modules/{locon,loha,lokr}.py apply_weight_decompose and forward):
//      W'' = W + ΔW (ΔW scaled by alpha/rank, *not* by the multiplier: forward() passes
//            `base_weight + diff_weight` and the multiplier separately),
//      norm = ‖W''‖ per output row (wd_on_out, the default: dora_scale [out, 1, …]) or per input
//             channel (wd_on_out=False: dora_scale [1, in, …]) + torch.finfo(f32).eps,
//      scale = dora_scale / norm;  if multiplier ≠ 1: scale = multiplier·(scale − 1) + 1,
//      W' = W'' · scale.
//    (locon.py lines 216-235 and 286-289 at f49d30d; loha.py/lokr.py are identical.) Since
//    `merged` holds W + multiplier·ΔW, ΔW is recomputed to form W'' when multiplier ≠ 1.
Error lorc::applyDora(const ModuleAdapter &adapter, ArrayRef<int64_t> baseShape, double multiplier,
                      std::vector<float> &merged) {
  std::string where = "module '" + adapter.module + "': ";
  if (baseShape.size() < 2)
    return plainError(where + "base weight shape " + shapeString(baseShape) +
                      " is not [out, in] or [out, in, kh, kw]");
  int64_t total = productFrom(baseShape, 0);
  if (static_cast<int64_t>(merged.size()) != total)
    return plainError(where + "the merged weight has " + Twine(merged.size()) +
                      " elements, the base shape " + shapeString(baseShape) + " has " +
                      Twine(total));

  if (auto it = adapter.factors.find("magnitude"); it != adapter.factors.end()) {
    const AdapterTensor &magnitude = it->second;
    bool transposedLayout = adapter.fanInFanOut && baseShape.size() == 2;
    int64_t out = transposedLayout ? baseShape[1] : baseShape[0];
    int64_t rowLength = total / std::max<int64_t>(out, 1);
    if (static_cast<int64_t>(magnitude.data.size()) != out)
      return plainError(where + "adapter shape does not fit the base layer " +
                        shapeString(baseShape) + ": factor 'magnitude' has shape " +
                        shapeString(magnitude.shape) + ", expected [" + Twine(out) + "]");
    // Element e of output row o: [o, e] normally, [e, o] with fan_in_fan_out.
    auto index = [&](int64_t o, int64_t e) {
      return transposedLayout ? e * out + o : o * rowLength + e;
    };
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0;
      for (int64_t e = 0; e < rowLength; ++e) {
        double v = merged[index(o, e)];
        sum += v * v;
      }
      double factor = magnitude.data[o] / std::sqrt(sum);
      for (int64_t e = 0; e < rowLength; ++e)
        merged[index(o, e)] = static_cast<float>(merged[index(o, e)] * factor);
    }
    return Error::success();
  }

  auto it = adapter.factors.find("dora_scale");
  if (it == adapter.factors.end())
    return plainError(where + "the adapter has no DoRA magnitude (magnitude or dora_scale)");
  const AdapterTensor &doraScale = it->second;
  if (adapter.fanInFanOut)
    return plainError(where + "LyCORIS DoRA with fan_in_fan_out is not supported");
  int64_t out = baseShape[0], in = baseShape[1], kk = productFrom(baseShape, 2);
  ArrayRef<int64_t> ds = doraScale.shape;
  int64_t count = static_cast<int64_t>(doraScale.data.size());
  bool onOut = !ds.empty() && ds[0] == out && count == out;
  bool onIn = !onOut && ds.size() >= 2 && ds[0] == 1 && ds[1] == in && count == in;
  if (!onOut && !onIn)
    return plainError(where + "adapter shape does not fit the base layer " +
                      shapeString(baseShape) + ": factor 'dora_scale' has shape " +
                      shapeString(ds) + ", expected [" + Twine(out) + ", 1, ...] or [1, " +
                      Twine(in) + ", ...]");

  if (multiplier != 1) {
    Expected<std::vector<float>> delta = computeDeltaWeight(adapter, baseShape);
    if (!delta)
      return delta.takeError();
    float rest = static_cast<float>(1 - multiplier);
    for (int64_t i = 0; i < total; ++i)
      merged[i] += rest * (*delta)[i];
  }
  const double eps = FLT_EPSILON; // torch.finfo(torch.float32).eps
  int64_t groups = onOut ? out : in;
  std::vector<double> sums(static_cast<size_t>(groups), 0.0);
  auto groupOf = [&](int64_t flat) { return onOut ? flat / (in * kk) : (flat / kk) % in; };
  for (int64_t i = 0; i < total; ++i)
    sums[groupOf(i)] += static_cast<double>(merged[i]) * merged[i];
  std::vector<double> factors(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    double factor = doraScale.data[g] / (std::sqrt(sums[g]) + eps);
    if (multiplier != 1)
      factor = multiplier * (factor - 1) + 1;
    factors[g] = factor;
  }
  for (int64_t i = 0; i < total; ++i)
    merged[i] = static_cast<float>(merged[i] * factors[groupOf(i)]);
  return Error::success();
}

// functional/general.py factorization. With factor > 0 dividing the dimension the answer is
// (min(f, d/f), max(f, d/f)); otherwise m walks up through the divisors of d while m < n and the
// next divisor stays ≤ factor (−1: no bound). The `m + n > length` test compares against the
// initial 1 + d and never fires. The walk can take one step past √d; the final swap undoes it,
// so m ends as the largest divisor ≤ min(factor, √d) in effect.
std::pair<int64_t, int64_t> lorc::lycorisFactorization(int64_t dimension, int64_t factor) {
  if (factor > 0 && dimension % factor == 0) {
    int64_t m = factor, n = dimension / factor;
    return m > n ? std::make_pair(n, m) : std::make_pair(m, n);
  }
  if (dimension <= 0)
    return {1, dimension};
  if (factor < 0)
    factor = dimension;
  int64_t m = 1, n = dimension;
  int64_t length = m + n;
  while (m < n) {
    int64_t next = m + 1;
    while (dimension % next != 0)
      ++next;
    int64_t nextN = dimension / next;
    if (next + nextN > length || next > factor)
      break;
    m = next;
    n = nextN;
  }
  return m > n ? std::make_pair(n, m) : std::make_pair(m, n);
}

std::pair<std::string, double> lorc::parseAdapterSpec(llvm::StringRef spec) {
  double multiplier = 1.0;
  size_t colon = spec.rfind(':');
  if (colon != llvm::StringRef::npos && !spec.drop_front(colon + 1).getAsDouble(multiplier))
    return {spec.take_front(colon).str(), multiplier};
  return {spec.str(), 1.0};
}

llvm::StringRef lorc::adapterAlgoKey(AdapterAlgo algo) {
  switch (algo) {
  case AdapterAlgo::LoRA:
    return "lora";
  case AdapterAlgo::LoHa:
    return "loha";
  case AdapterAlgo::LoKr:
    return "lokr";
  }
  return "?";
}
