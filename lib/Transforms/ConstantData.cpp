//===- ConstantData.cpp - read the values of weight constants -------------===//

#include "lorc/Transforms/Passes.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lorc;

std::optional<lorc::F32ConstantData> lorc::readF32Constant(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  auto type = cst ? dyn_cast<RankedTensorType>(cst.getType()) : RankedTensorType();
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  F32ConstantData d;
  d.shape.assign(type.getShape().begin(), type.getShape().end());
  if (auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue())) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    d.name = res.getRawHandle().getKey().str();
    d.values = blob->getDataAs<float>();
    return d;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue())) {
    auto values = dense.getValues<float>();
    d.owned.assign(values.begin(), values.end());
    d.values = d.owned;
    return d;
  }
  return std::nullopt;
}

/// The f32 values of a constant tensor as an adapter factor, or nullopt if `v` is not one.
std::optional<lorc::AdapterTensor> lorc::constantAdapterTensor(Value v) {
  std::optional<F32ConstantData> d = readF32Constant(v);
  if (!d)
    return std::nullopt;
  return AdapterTensor{std::vector<int64_t>(d->shape.begin(), d->shape.end()),
                       std::vector<float>(d->values.begin(), d->values.end())};
}

/// Reads an adapter op's constant factors into the neutral description; nullopt if one of them
/// is not a constant.
std::optional<lorc::ModuleAdapter> lorc::describeAdapterOp(Operation *op) {
  ModuleAdapter a;
  SmallVector<std::pair<StringRef, Value>> factors;
  llvm::TypeSwitch<Operation *>(op)
      .Case<LoraOp>([&](LoraOp o) {
        a.algo = AdapterAlgo::LoRA;
        a.scale = o.getScale().convertToDouble();
        factors = {{"down", o.getDown()}, {"up", o.getUp()}, {"mid", o.getMid()},
                   {"magnitude", o.getMagnitude()}};
      })
      .Case<LohaOp>([&](LohaOp o) {
        a.algo = AdapterAlgo::LoHa;
        a.scale = o.getScale().convertToDouble();
        factors = {{"w1a", o.getW1a()}, {"w1b", o.getW1b()}, {"w2a", o.getW2a()},
                   {"w2b", o.getW2b()}, {"t1", o.getT1()},   {"t2", o.getT2()},
                   {"magnitude", o.getMagnitude()}};
      })
      .Case<LokrOp>([&](LokrOp o) {
        a.algo = AdapterAlgo::LoKr;
        a.scale = o.getScale().convertToDouble();
        factors = {{"w1", o.getW1()},   {"w1a", o.getW1a()}, {"w1b", o.getW1b()},
                   {"w2", o.getW2()},   {"w2a", o.getW2a()}, {"w2b", o.getW2b()},
                   {"t2", o.getT2()},   {"magnitude", o.getMagnitude()}};
      });
  if (factors.empty())
    return std::nullopt;
  for (auto [name, v] : factors) {
    if (!v)
      continue;
    std::optional<AdapterTensor> t = constantAdapterTensor(v);
    if (!t)
      return std::nullopt;
    if (name == "magnitude" && op->hasAttr("dora_lycoris")) {
      // LyCORIS' dora_scale: [out, 1], with its own rescaling rule (applyDora).
      t->shape.push_back(1);
      a.factors["dora_scale"] = std::move(*t);
      continue;
    }
    a.factors[name.str()] = std::move(*t);
  }
  return a;
}


std::string lorc::linearLayerName(Operation *linear) {
  if (auto p = linear->getAttrOfType<DictionaryAttr>("lorc.precision"))
    if (auto layer = p.getAs<StringAttr>("layer"))
      return layer.str();
  if (auto cst = linear->getOperand(1).getDefiningOp<arith::ConstantOp>())
    if (auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue()))
      return res.getRawHandle().getKey().str();
  return "";
}
