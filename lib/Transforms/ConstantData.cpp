//===- ConstantData.cpp - read the values of weight constants -------------===//

#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

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
