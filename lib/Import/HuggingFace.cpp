//===- HuggingFace.cpp - import BERT-family Hugging Face checkpoints ------===//
//
// The computation follows transformers' models/bert/modeling_bert.py (BertEmbeddings,
// BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput) and sentence-transformers'
// models/Pooling.py and models/Normalize.py.
//
//===----------------------------------------------------------------------===//

#include "lorc/Import/HuggingFace.h"
#include "lorc/Dialect/Lorc/IR/Activation.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Support/Fp8.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace lorc;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Reads a JSON object file; errors name the file.
Expected<llvm::json::Value> readJsonFile(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return makeError(path + ": cannot open: " + buf.getError().message());
  Expected<llvm::json::Value> v = llvm::json::parse((*buf)->getBuffer());
  if (!v)
    return makeError(path + ": invalid JSON: " + llvm::toString(v.takeError()));
  if (!v->getAsObject())
    return makeError(path + ": expected a JSON object at the top level");
  return std::move(*v);
}

/// A required positive integer field of `obj`.
llvm::Error readPositiveInt(const llvm::json::Object &obj, StringRef file, StringRef key,
                            int64_t &out) {
  const llvm::json::Value *v = obj.get(key);
  if (!v)
    return makeError(file + ": missing field '" + key + "'");
  std::optional<int64_t> i = v->getAsInteger();
  if (!i || *i <= 0)
    return makeError(file + ": field '" + key + "' must be a positive integer");
  out = *i;
  return llvm::Error::success();
}

} // namespace

Expected<BertConfig> lorc::readBertConfig(StringRef modelDir) {
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, "config.json");
  Expected<llvm::json::Value> json = readJsonFile(path);
  if (!json)
    return json.takeError();
  const llvm::json::Object &obj = *json->getAsObject();
  BertConfig c;
  std::optional<StringRef> type = obj.getString("model_type");
  if (!type)
    return makeError(path + ": missing field 'model_type' (expected \"bert\")");
  if (*type != "bert")
    return makeError(path + ": unsupported model_type '" + *type +
                     "' (lorc imports \"bert\" models)");
  struct {
    StringRef key;
    int64_t *dst;
  } ints[] = {{"vocab_size", &c.vocabSize},
              {"hidden_size", &c.hiddenSize},
              {"num_hidden_layers", &c.numLayers},
              {"num_attention_heads", &c.numHeads},
              {"intermediate_size", &c.intermediateSize},
              {"max_position_embeddings", &c.maxPositions},
              {"type_vocab_size", &c.typeVocabSize}};
  for (auto &f : ints)
    if (llvm::Error e = readPositiveInt(obj, path, f.key, *f.dst))
      return std::move(e);
  if (c.hiddenSize % c.numHeads != 0)
    return makeError(path + ": hidden_size (" + Twine(c.hiddenSize) +
                     ") is not divisible by num_attention_heads (" + Twine(c.numHeads) + ")");
  if (const llvm::json::Value *eps = obj.get("layer_norm_eps")) {
    std::optional<double> d = eps->getAsNumber();
    if (!d || !(*d > 0.0))
      return makeError(path + ": field 'layer_norm_eps' must be a positive number");
    c.layerNormEps = *d;
  }
  if (const llvm::json::Value *act = obj.get("hidden_act")) {
    std::optional<StringRef> s = act->getAsString();
    if (!s || (*s != "gelu" && *s != "gelu_new" && *s != "gelu_pytorch_tanh"))
      return makeError(path + ": unsupported hidden_act (expected \"gelu\", \"gelu_new\" or "
                              "\"gelu_pytorch_tanh\")");
    c.hiddenAct = s->str();
  }
  if (std::optional<StringRef> pe = obj.getString("position_embedding_type"))
    if (*pe != "absolute")
      return makeError(path + ": unsupported position_embedding_type '" + *pe +
                       "' (expected \"absolute\")");
  return c;
}

Expected<PoolingConfig> lorc::readPoolingConfig(StringRef modelDir) {
  PoolingConfig p;
  llvm::SmallString<256> modules(modelDir);
  llvm::sys::path::append(modules, "modules.json");
  if (!llvm::sys::fs::exists(modules))
    return p;
  auto buf = llvm::MemoryBuffer::getFile(modules, /*IsText=*/true);
  if (!buf)
    return makeError(modules + ": cannot open: " + buf.getError().message());
  Expected<llvm::json::Value> v = llvm::json::parse((*buf)->getBuffer());
  if (!v)
    return makeError(modules + ": invalid JSON: " + llvm::toString(v.takeError()));
  const llvm::json::Array *arr = v->getAsArray();
  if (!arr)
    return makeError(modules + ": expected a JSON array of modules");
  p.normalize = false;
  for (const llvm::json::Value &m : *arr) {
    const llvm::json::Object *o = m.getAsObject();
    std::optional<StringRef> type = o ? o->getString("type") : std::nullopt;
    if (!type)
      return makeError(modules + ": every module needs a 'type' string");
    if (type->ends_with("Normalize"))
      p.normalize = true;
  }
  llvm::SmallString<256> pooling(modelDir);
  llvm::sys::path::append(pooling, "1_Pooling", "config.json");
  if (!llvm::sys::fs::exists(pooling))
    return p;
  Expected<llvm::json::Value> pj = readJsonFile(pooling);
  if (!pj)
    return pj.takeError();
  const llvm::json::Object &po = *pj->getAsObject();
  bool mean = po.getBoolean("pooling_mode_mean_tokens").value_or(false);
  bool cls = po.getBoolean("pooling_mode_cls_token").value_or(false);
  for (StringRef unsupported :
       {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
    if (po.getBoolean(unsupported).value_or(false))
      return makeError(pooling + ": unsupported pooling mode '" + unsupported + "'");
  if (mean == cls)
    return makeError(pooling + ": expected exactly one of pooling_mode_mean_tokens and "
                               "pooling_mode_cls_token to be true");
  p.mode = mean ? PoolingConfig::Mode::Mean : PoolingConfig::Mode::Cls;
  return p;
}

namespace {

/// Builds the BERT forward function.
class BertBuilder {
public:
  BertBuilder(ImportedModel &model, StringRef prefix, ArrayRef<AdapterSet> adapters)
      : m(model), ctx(model.module->getContext()), b(ctx), prefix(prefix.str()),
        f32(Float32Type::get(ctx)), adapterSets(adapters) {}

  Expected<func::FuncOp> build();

private:
  /// The weight `name` (without the optional "bert." prefix) as a constant of `shape`.
  Expected<Value> weight(StringRef name, ArrayRef<int64_t> shape);
  Value dim(Value v, int64_t i) { return tensor::DimOp::create(b, loc, v, i); }
  /// [B, S, H] -> [B, heads, S, H/heads]
  Value splitHeads(Value x);
  /// [B, heads, S, D] -> [B, S, heads·D]
  Value mergeHeads(Value x);
  Value gelu(Value x);
  Value embeddings(Value ids, Value wordEmb, Value posEmb, Value typeEmb);
  Value pool(Value hidden, Value mask);
  /// The adapter ops of `module` (path with dots) and their multipliers.
  Expected<std::pair<SmallVector<Value>, SmallVector<double>>> adaptersFor(StringRef module,
                                                                           int64_t out,
                                                                           int64_t in);
  Value factorConstant(const AdapterTensor &t, StringRef name);
  /// The layer's bias with the adapters' lora_B biases folded in (PEFT lora_bias).
  Expected<Value> foldLoraBiases(StringRef module, Value bias, int64_t out);

  ImportedModel &m;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc = UnknownLoc::get(ctx);
  std::string prefix;
  Type f32;
  ArrayRef<AdapterSet> adapterSets;
  int64_t hidden = 0, heads = 0, headDim = 0;

public:
  /// "<adapter path>\n<tensor>" of every replacement the model used.
  llvm::StringSet<> usedReplacements;
};

Expected<Value> BertBuilder::foldLoraBiases(StringRef module, Value bias, int64_t out) {
  std::vector<float> sum;
  for (const AdapterSet &set : adapterSets)
    for (const ModuleAdapter &a : set.modules) {
      auto it = a.factors.find("up_bias");
      if (a.module != module || it == a.factors.end())
        continue;
      if (it->second.data.size() != static_cast<size_t>(out))
        return makeError(set.path + ": lora_B.bias of '" + module + "' has " +
                         Twine(it->second.data.size()) + " elements, the layer has " +
                         Twine(out) + " outputs");
      if (sum.empty()) {
        auto cst = bias.getDefiningOp<arith::ConstantOp>();
        auto res = cst ? dyn_cast<DenseResourceElementsAttr>(cst.getValue())
                       : DenseResourceElementsAttr();
        AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
        if (!blob)
          return makeError(set.path + ": cannot fold lora_B.bias of '" + module + "'");
        ArrayRef<float> b = blob->getDataAs<float>();
        sum.assign(b.begin(), b.end());
      }
      for (int64_t i = 0; i < out; ++i)
        sum[i] += static_cast<float>(set.multiplier * a.scale) * it->second.data[i];
    }
  if (sum.empty())
    return bias;
  return factorConstant(AdapterTensor{{out}, std::move(sum)}, (module + ".bias+lora").str());
}

Value BertBuilder::factorConstant(const AdapterTensor &t, StringRef name) {
  auto type = RankedTensorType::get(t.shape, f32);
  auto attr = DenseResourceElementsAttr::get(
      type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(t.data)));
  return arith::ConstantOp::create(b, loc, type, attr);
}

Expected<std::pair<SmallVector<Value>, SmallVector<double>>>
BertBuilder::adaptersFor(StringRef module, int64_t out, int64_t in) {
  SmallVector<Value> values;
  SmallVector<double> multipliers;
  auto type = AdapterType::get(ctx, {out, in});
  for (auto [setIndex, set] : llvm::enumerate(adapterSets)) {
    for (const ModuleAdapter &a : set.modules) {
      if (a.module != module)
        continue;
      if (a.fanInFanOut)
        return makeError(set.path + ": adapter for '" + module +
                         "' has fan_in_fan_out, but BERT stores Linear weights as [out, in]");
      std::string base = "adapter" + std::to_string(setIndex) + "." + module.str() + ".";
      auto f = [&](StringRef name) -> Value {
        auto it = a.factors.find(name.str());
        if (it == a.factors.end())
          return Value();
        AdapterTensor t = it->second;
        if (name == "magnitude" || name == "dora_scale")
          t.shape = {t.shape.empty() ? 0 : t.shape[0]}; // LyCORIS stores [out, 1]
        return factorConstant(t, base + name.str());
      };
      Value magnitude = f("magnitude");
      bool lycorisDora = false;
      if (!magnitude) {
        magnitude = f("dora_scale");
        lycorisDora = static_cast<bool>(magnitude);
        if (lycorisDora && a.factors.at("dora_scale").data.size() != static_cast<size_t>(out))
          return makeError(set.path + ": adapter for '" + module +
                           "' decomposes the weight along its input (wd_on_out=False), which "
                           "lorc does not support yet");
      }
      auto scale = b.getF64FloatAttr(a.scale);
      UnitAttr doraLycoris = lycorisDora ? b.getUnitAttr() : UnitAttr();
      Operation *op = nullptr;
      switch (a.algo) {
      case AdapterAlgo::LoRA:
        op = LoraOp::create(b, loc, type, f("down"), f("up"), f("mid"), magnitude, scale,
                            doraLycoris);
        break;
      case AdapterAlgo::LoHa:
        op = LohaOp::create(b, loc, type, f("w1a"), f("w1b"), f("w2a"), f("w2b"), f("t1"),
                            f("t2"), magnitude, scale, doraLycoris);
        break;
      case AdapterAlgo::LoKr:
        op = LokrOp::create(b, loc, type, f("w1"), f("w1a"), f("w1b"), f("w2"), f("w2a"),
                            f("w2b"), f("t2"), magnitude, scale, doraLycoris);
        break;
      }
      if (failed(verify(op))) {
        op->erase();
        // The reader's ΔW check names the factor and both shapes.
        if (auto delta = computeDeltaWeight(a, {out, in}); !delta)
          return makeError(set.path + ": " + llvm::toString(delta.takeError()));
        return makeError(set.path + ": adapter for '" + module +
                         "' does not fit the layer's weight [" + Twine(out) + ", " + Twine(in) +
                         "]");
      }
      values.push_back(op->getResult(0));
      multipliers.push_back(set.multiplier);
      ++m.numAdapters;
    }
  }
  return std::make_pair(values, multipliers);
}

Expected<Value> BertBuilder::weight(StringRef name, ArrayRef<int64_t> shape) {
  std::string full = prefix + name.str();
  const SafetensorsFile &file = *m.weights;
  const TensorInfo *info = file.find(full);
  auto shapeStr = [](ArrayRef<int64_t> s) {
    std::string out = "[";
    for (auto [i, d] : llvm::enumerate(s))
      out += (i ? ", " : "") + std::to_string(d);
    return out + "]";
  };
  // A tensor an adapter replaces outright (PEFT modules_to_save, trained biases); the last
  // adapter given wins, as loading them in order would.
  for (const AdapterSet &set : llvm::reverse(adapterSets)) {
    for (const std::string &key : {name.str(), "bert." + name.str()}) {
      auto it = set.replacements.find(key);
      if (it == set.replacements.end())
        continue;
      usedReplacements.insert(set.path + "\n" + key);
      if (ArrayRef<int64_t>(it->second.shape) != shape)
        return makeError(set.path + ": replacement for '" + name + "' has shape " +
                         shapeStr(it->second.shape) + ", the model's is " + shapeStr(shape));
      Value v = factorConstant(it->second, "replaced." + name.str());
      ++m.numReplacements;
      return v;
    }
  }
  if (!info)
    return makeError(file.path() + ": missing tensor '" + full + "'");
  if (ArrayRef<int64_t>(info->shape) != shape)
    return makeError(file.path() + ": tensor '" + full + "' has shape " +
                     shapeStr(info->shape) + ", expected " + shapeStr(shape));
  auto type = RankedTensorType::get(shape, f32);
  ArrayRef<uint8_t> bytes = file.data(*info);
  AsmResourceBlob blob;
  if (info->dtype == DType::F32 &&
      reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0) {
    // Zero copy: the constant points into the mapped file.
    blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
        alignof(float));
  } else if (info->dtype == DType::F32 || info->dtype == DType::F16 ||
             info->dtype == DType::BF16) {
    auto converted = std::make_unique<std::vector<float>>(info->numElements());
    for (int64_t i = 0, e = info->numElements(); i < e; ++i) {
      if (info->dtype == DType::F32) {
        std::memcpy(&(*converted)[i], bytes.data() + 4 * i, 4);
        continue;
      }
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      if (info->dtype == DType::BF16) {
        (*converted)[i] = fromBf16Bits(h);
      } else {
        (*converted)[i] =
            llvm::APFloat(llvm::APFloat::IEEEhalf(), llvm::APInt(16, h)).convertToFloat();
      }
    }
    blob = UnmanagedAsmResourceBlob::allocateInferAlign(ArrayRef<float>(*converted));
    m.convertedWeights.push_back(std::move(converted));
  } else {
    return makeError(file.path() + ": tensor '" + full + "' has dtype " +
                     dtypeName(info->dtype) + ", expected F32, F16 or BF16");
  }
  auto attr = DenseResourceElementsAttr::get(type, full, std::move(blob));
  return arith::ConstantOp::create(b, loc, type, attr).getResult();
}

Value BertBuilder::splitHeads(Value x) {
  Value bsz = dim(x, 0), seq = dim(x, 1);
  auto t4 = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, heads, headDim}, f32);
  Value e = tensor::ExpandShapeOp::create(
      b, loc, t4, x, {{0}, {1}, {2, 3}},
      ArrayRef<OpFoldResult>{bsz, seq, b.getIndexAttr(heads), b.getIndexAttr(headDim)});
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{bsz, b.getIndexAttr(heads), seq, b.getIndexAttr(headDim)},
      f32);
  return linalg::TransposeOp::create(b, loc, e, init, ArrayRef<int64_t>{0, 2, 1, 3})
      .getResult()[0];
}

Value BertBuilder::mergeHeads(Value x) {
  Value bsz = dim(x, 0), seq = dim(x, 2);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{bsz, seq, b.getIndexAttr(heads), b.getIndexAttr(headDim)},
      f32);
  Value t = linalg::TransposeOp::create(b, loc, x, init, ArrayRef<int64_t>{0, 2, 1, 3})
                .getResult()[0];
  return tensor::CollapseShapeOp::create(b, loc, t, {{0}, {1}, {2, 3}});
}

/// An element-wise linalg.generic over a value shaped like `like`.
static Value mapElementwise(OpBuilder &b, Location loc, Value like, ValueRange inputs,
                            function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  auto type = cast<RankedTensorType>(like.getType());
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                       type.getElementType());
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iters,
                                   "", "",
                                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                                     linalg::YieldOp::create(nb, nl, fn(nb, nl, a.drop_back()));
                                   })
      .getResult(0);
}

Value BertBuilder::gelu(Value x) {
  // "gelu": transformers activations.GELUActivation (torch gelu, erf form); "gelu_new" and
  // "gelu_pytorch_tanh": the tanh form (NewGELUActivation).
  Activation act = m.config.hiddenAct == "gelu" ? Activation::GeluErf : Activation::GeluTanh;
  return mapElementwise(b, loc, x, {x}, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    return buildActivation(nb, nl, a[0], act);
  });
}

Value BertBuilder::embeddings(Value ids, Value wordEmb, Value posEmb, Value typeEmb) {
  // e[b, s, h] = word[ids[b, s], h] + pos[s, h] + type[0, h]   (token_type_ids = 0, as
  // BertEmbeddings when none are given). Ids are clamped into the table; the runtime rejects
  // out-of-range ids before the call.
  Value bsz = dim(ids, 0), seq = dim(ids, 1);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{bsz, seq, b.getIndexAttr(hidden)}, f32);
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  SmallVector<AffineMap> maps{AffineMap::get(3, 0, {d0, d1}, ctx),
                              AffineMap::get(3, 0, {d0, d1, d2}, ctx)};
  int64_t vocab = m.config.vocabSize;
  SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{ids}, ValueRange{init}, maps, iters,
             "", "",
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value id = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
               Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
               Value last = arith::ConstantIndexOp::create(nb, nl, vocab - 1);
               id = arith::MaxSIOp::create(nb, nl, arith::MinSIOp::create(nb, nl, id, last),
                                           zero);
               Value s = linalg::IndexOp::create(nb, nl, 1);
               Value h = linalg::IndexOp::create(nb, nl, 2);
               Value w = tensor::ExtractOp::create(nb, nl, wordEmb, ValueRange{id, h});
               Value p = tensor::ExtractOp::create(nb, nl, posEmb, ValueRange{s, h});
               Value t = tensor::ExtractOp::create(nb, nl, typeEmb, ValueRange{zero, h});
               Value sum = arith::AddFOp::create(nb, nl, arith::AddFOp::create(nb, nl, w, p), t);
               linalg::YieldOp::create(nb, nl, sum);
             })
      .getResult(0);
}

Value BertBuilder::pool(Value hiddenStates, Value mask) {
  Value bsz = dim(hiddenStates, 0);
  auto zeroFilled = [&](ArrayRef<OpFoldResult> sizes) {
    Value e = tensor::EmptyOp::create(b, loc, sizes, f32);
    Value z = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    return linalg::FillOp::create(b, loc, ValueRange{z}, ValueRange{e}).getResult(0);
  };
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  Value pooled;
  if (m.pooling.mode == PoolingConfig::Mode::Cls) {
    pooled = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic, hidden}, f32), hiddenStates,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{bsz, b.getIndexAttr(1), b.getIndexAttr(hidden)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1)});
  } else {
    // sentence-transformers Pooling (mean): Σ_s h·m / max(Σ_s m, 1e-9). Iteration (b, h, s).
    Value sum = zeroFilled({bsz, b.getIndexAttr(hidden)});
    Value count = zeroFilled({bsz, b.getIndexAttr(hidden)});
    using utils::IteratorType;
    auto gen = linalg::GenericOp::create(
        b, loc, TypeRange{sum.getType(), count.getType()}, ValueRange{hiddenStates, mask},
        ValueRange{sum, count},
        SmallVector<AffineMap>{AffineMap::get(3, 0, {d0, d2, d1}, ctx),
                               AffineMap::get(3, 0, {d0, d2}, ctx),
                               AffineMap::get(3, 0, {d0, d1}, ctx),
                               AffineMap::get(3, 0, {d0, d1}, ctx)},
        SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                  IteratorType::reduction},
        "", "", [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value mf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
          Value s = arith::AddFOp::create(nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], mf));
          Value c = arith::AddFOp::create(nb, nl, a[3], mf);
          linalg::YieldOp::create(nb, nl, ValueRange{s, c});
        });
    pooled = mapElementwise(b, loc, gen.getResult(0), {gen.getResult(0), gen.getResult(1)},
                            [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                              Value tiny = arith::ConstantOp::create(nb, nl,
                                                                     nb.getF32FloatAttr(1e-9f));
                              return arith::DivFOp::create(
                                  nb, nl, a[0], arith::MaximumFOp::create(nb, nl, a[1], tiny));
                            });
  }
  if (!m.pooling.normalize)
    return pooled;
  // sentence-transformers Normalize = torch.nn.functional.normalize(p=2, dim=1, eps=1e-12).
  Value sq = zeroFilled({bsz});
  using utils::IteratorType;
  Value norm2 =
      linalg::GenericOp::create(
          b, loc, TypeRange{sq.getType()}, ValueRange{pooled}, ValueRange{sq},
          SmallVector<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx),
                                 AffineMap::get(2, 0, {d0}, ctx)},
          SmallVector<IteratorType>{IteratorType::parallel, IteratorType::reduction}, "", "",
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            linalg::YieldOp::create(
                nb, nl,
                arith::AddFOp::create(nb, nl, a[1], arith::MulFOp::create(nb, nl, a[0], a[0]))
                    .getResult());
          })
          .getResult(0);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, pooled), f32);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{pooled, norm2}, ValueRange{init},
             SmallVector<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx),
                                    AffineMap::get(2, 0, {d0}, ctx),
                                    AffineMap::get(2, 0, {d0, d1}, ctx)},
             SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel}, "", "",
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value n = math::SqrtOp::create(nb, nl, a[1]);
               Value eps = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1e-12f));
               linalg::YieldOp::create(
                   nb, nl,
                   arith::DivFOp::create(nb, nl, a[0], arith::MaximumFOp::create(nb, nl, n, eps))
                       .getResult());
             })
      .getResult(0);
}

Expected<func::FuncOp> BertBuilder::build() {
  const BertConfig &c = m.config;
  hidden = c.hiddenSize;
  heads = c.numHeads;
  headDim = hidden / heads;
  int64_t dyn = ShapedType::kDynamic;
  auto idsType = RankedTensorType::get({dyn, dyn}, b.getI64Type());
  auto hiddenType = RankedTensorType::get({dyn, dyn, hidden}, f32);
  auto embType = RankedTensorType::get({dyn, hidden}, f32);
  b.setInsertionPointToEnd(m.module->getBody());
  auto fn = func::FuncOp::create(b, loc, "forward",
                                 b.getFunctionType({idsType, idsType}, {hiddenType, embType}));
  fn.setArgAttr(0, "lorc.name", b.getStringAttr("input_ids"));
  fn.setArgAttr(1, "lorc.name", b.getStringAttr("attention_mask"));
  fn.setResultAttr(0, "lorc.name", b.getStringAttr("last_hidden_state"));
  fn.setResultAttr(1, "lorc.name", b.getStringAttr("sentence_embedding"));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value ids = entry->getArgument(0), mask = entry->getArgument(1);

  auto W = [&](const Twine &name, ArrayRef<int64_t> shape) { return weight(name.str(), shape); };
#define LORC_TRY(var, expr)                                                                       \
  Expected<Value> var##OrErr = (expr);                                                            \
  if (!var##OrErr)                                                                                \
    return var##OrErr.takeError();                                                                \
  Value var = *var##OrErr;

  LORC_TRY(wordEmb, W("embeddings.word_embeddings.weight", {c.vocabSize, hidden}));
  LORC_TRY(posEmb, W("embeddings.position_embeddings.weight", {c.maxPositions, hidden}));
  LORC_TRY(typeEmb, W("embeddings.token_type_embeddings.weight", {c.typeVocabSize, hidden}));
  LORC_TRY(embG, W("embeddings.LayerNorm.weight", {hidden}));
  LORC_TRY(embB, W("embeddings.LayerNorm.bias", {hidden}));
  auto eps = b.getF32FloatAttr(static_cast<float>(c.layerNormEps));
  Value h = embeddings(ids, wordEmb, posEmb, typeEmb);
  h = LayerNormOp::create(b, loc, h.getType(), h, embG, embB, eps);

  float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)));
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string p = "encoder.layer." + std::to_string(l) + ".";
    auto linear = [&](Value x, StringRef name, int64_t out, int64_t in) -> Expected<Value> {
      Expected<Value> w = W(p + name + ".weight", {out, in});
      if (!w)
        return w.takeError();
      Expected<Value> bias = W(p + name + ".bias", {out});
      if (!bias)
        return bias.takeError();
      // PEFT lora_bias: lora_B has a bias, scaled with the adapter (tuners/lora/layer.py); it
      // folds into the layer's bias in both modes: b' = b + Σ m·s·b_B.
      if (Expected<Value> folded = foldLoraBiases(p + name.str(), *bias, out); !folded)
        return folded.takeError();
      else
        bias = *folded;
      auto xt = cast<RankedTensorType>(x.getType());
      SmallVector<int64_t> shape(xt.getShape());
      shape.back() = out;
      auto adapters = adaptersFor(p + name.str(), out, in);
      if (!adapters)
        return adapters.takeError();
      DenseF64ArrayAttr multipliers;
      if (!adapters->first.empty())
        multipliers = b.getDenseF64ArrayAttr(adapters->second);
      return LinearOp::create(b, loc, RankedTensorType::get(shape, f32), x, *w, *bias,
                              adapters->first, multipliers)
          .getResult();
    };
    LORC_TRY(q, linear(h, "attention.self.query", hidden, hidden));
    LORC_TRY(k, linear(h, "attention.self.key", hidden, hidden));
    LORC_TRY(v, linear(h, "attention.self.value", hidden, hidden));
    Value qh = splitHeads(q), kh = splitHeads(k), vh = splitHeads(v);
    Value ctxh = AttentionOp::create(b, loc, qh.getType(), qh, kh, vh, mask,
                                     b.getF32FloatAttr(scale), /*causal=*/nullptr);
    LORC_TRY(attnOut, linear(mergeHeads(ctxh), "attention.output.dense", hidden, hidden));
    LORC_TRY(ln1g, W(p + "attention.output.LayerNorm.weight", {hidden}));
    LORC_TRY(ln1b, W(p + "attention.output.LayerNorm.bias", {hidden}));
    Value h1 = LayerNormOp::create(b, loc, h.getType(), arith::AddFOp::create(b, loc, attnOut, h),
                                   ln1g, ln1b, eps);
    LORC_TRY(inter, linear(h1, "intermediate.dense", c.intermediateSize, hidden));
    LORC_TRY(out, linear(gelu(inter), "output.dense", hidden, c.intermediateSize));
    LORC_TRY(ln2g, W(p + "output.LayerNorm.weight", {hidden}));
    LORC_TRY(ln2b, W(p + "output.LayerNorm.bias", {hidden}));
    h = LayerNormOp::create(b, loc, h.getType(), arith::AddFOp::create(b, loc, out, h1), ln2g,
                            ln2b, eps);
  }
#undef LORC_TRY
  Value emb = pool(h, mask);
  func::ReturnOp::create(b, loc, ValueRange{h, emb});
  return fn;
}

} // namespace

std::vector<std::string> lorc::bertLinearModules(const BertConfig &config) {
  std::vector<std::string> names;
  for (int64_t l = 0; l < config.numLayers; ++l)
    for (const char *n : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "intermediate.dense", "output.dense"})
      names.push_back("encoder.layer." + std::to_string(l) + "." + n);
  // BertModel's pooler: adapters may target it (PEFT's "dense" matches it), but the outputs lorc
  // computes (last_hidden_state, the pooled sentence embedding) do not use it.
  names.push_back("pooler.dense");
  return names;
}

Expected<ImportedModel> lorc::importHuggingFaceModel(MLIRContext &context, StringRef modelDir,
                                                     ArrayRef<AdapterSet> adapters) {
  if (!llvm::sys::fs::is_directory(modelDir))
    return makeError(modelDir + ": not a model directory (it does not exist or is not a "
                                "directory)");
  context.loadDialect<LorcDialect, arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                      math::MathDialect, tensor::TensorDialect>();
  ImportedModel model;
  Expected<BertConfig> config = readBertConfig(modelDir);
  if (!config)
    return config.takeError();
  model.config = *config;
  Expected<PoolingConfig> pooling = readPoolingConfig(modelDir);
  if (!pooling)
    return pooling.takeError();
  model.pooling = *pooling;

  llvm::SmallString<256> weightsPath(modelDir);
  llvm::sys::path::append(weightsPath, "model.safetensors");
  if (!llvm::sys::fs::exists(weightsPath)) {
    llvm::SmallString<256> index(modelDir), bin(modelDir);
    llvm::sys::path::append(index, "model.safetensors.index.json");
    llvm::sys::path::append(bin, "pytorch_model.bin");
    if (llvm::sys::fs::exists(index))
      return makeError(index + ": sharded checkpoints are not supported yet; merge the shards "
                               "into one model.safetensors");
    if (llvm::sys::fs::exists(bin))
      return makeError(bin + ": pickle checkpoints are refused (they can run code); convert the "
                             "model to model.safetensors");
    return makeError(weightsPath + ": cannot open: no such file");
  }
  Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(weightsPath);
  if (!file)
    return file.takeError();
  model.weights = std::move(*file);
  // transformers saves BertModel without a prefix and BertFor* heads under "bert.".
  StringRef prefix = model.weights->find("embeddings.word_embeddings.weight") ? "" : "bert.";

  model.module = ModuleOp::create(UnknownLoc::get(&context));
  OpBuilder mb(&context);
  (*model.module)
      ->setAttr("lorc.model",
                mb.getDictionaryAttr({
                    mb.getNamedAttr("model_type", mb.getStringAttr("bert")),
                    mb.getNamedAttr("hidden_size", mb.getI64IntegerAttr(model.config.hiddenSize)),
                    mb.getNamedAttr("vocab_size", mb.getI64IntegerAttr(model.config.vocabSize)),
                    mb.getNamedAttr("max_position_embeddings",
                                    mb.getI64IntegerAttr(model.config.maxPositions)),
                }));
  BertBuilder builder(model, prefix, adapters);
  Expected<func::FuncOp> fn = builder.build();
  if (!fn)
    return fn.takeError();
  for (const AdapterSet &set : adapters) {
    for (const ModuleAdapter &a : set.modules)
      if (a.module == "pooler.dense")
        model.unusedAdapterModules.push_back(set.path + ": " + a.module);
    for (const auto &[key, t] : set.replacements) {
      if (builder.usedReplacements.contains(set.path + "\n" + key))
        continue;
      // A replaced tensor the outputs do not use (the pooler) is harmless; one the model does
      // not have at all means the adapter belongs to another model.
      bool inModel = model.weights->find(prefix.str() + key) || model.weights->find(key);
      if (!inModel)
        return makeError(set.path + ": replaces '" + key + "', which the model lacks");
      model.unusedAdapterModules.push_back(set.path + ": " + key);
    }
  }
  return std::move(model);
}
