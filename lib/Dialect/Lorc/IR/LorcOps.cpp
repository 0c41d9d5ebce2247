//===- LorcOps.cpp - lorc op verifiers and helpers ------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace lorc;

/// Checks that two dimension sizes agree where both are static; `what` names them in the message
/// ("input dim 2 (K) and weight dim 1 (K)").
static LogicalResult verifyDimsMatch(Operation *op, int64_t a, int64_t b, const Twine &what) {
  if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b)
    return success();
  return op->emitOpError() << what << " must match, but got " << a << " and " << b;
}

/// Checks that every operand and the result share one element type.
static LogicalResult verifySameElementType(Operation *op) {
  Type elt = cast<ShapedType>(op->getResult(0).getType()).getElementType();
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    auto t = cast<ShapedType>(v.getType());
    if (t.getElementType() != elt && !isa<IntegerType>(t.getElementType()))
      return op->emitOpError() << "operand #" << i << " has element type " << t.getElementType()
                               << ", expected the result element type " << elt;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  auto x = getInput().getType();
  auto w = getWeight().getType();
  auto y = getResult().getType();
  if (w.getRank() != 2)
    return emitOpError() << "expected weight of rank 2 ([N, K]), but got rank " << w.getRank();
  if (x.getRank() < 1)
    return emitOpError() << "expected input of rank >= 1 ([..., K]), but got rank 0";
  if (y.getRank() != x.getRank())
    return emitOpError() << "expected result rank " << x.getRank()
                         << " (the input rank), but got " << y.getRank();
  if (failed(verifyDimsMatch(*this, x.getShape().back(), w.getDimSize(1),
                             "input last dimension (K) and weight dimension 1 (K)")))
    return failure();
  for (int64_t i = 0, e = x.getRank() - 1; i < e; ++i)
    if (failed(verifyDimsMatch(*this, x.getDimSize(i), y.getDimSize(i),
                               "input dimension " + Twine(i) + " and result dimension " +
                                   Twine(i))))
      return failure();
  if (failed(verifyDimsMatch(*this, y.getShape().back(), w.getDimSize(0),
                             "result last dimension (N) and weight dimension 0 (N)")))
    return failure();
  if (auto b = getBias()) {
    auto bt = cast<RankedTensorType>(b.getType());
    if (bt.getRank() != 1)
      return emitOpError() << "expected bias of rank 1 ([N]), but got rank " << bt.getRank();
    if (failed(verifyDimsMatch(*this, bt.getDimSize(0), w.getDimSize(0),
                               "bias dimension 0 (N) and weight dimension 0 (N)")))
      return failure();
  }
  return verifySameElementType(*this);
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  auto x = getInput().getType();
  if (x.getRank() < 1)
    return emitOpError() << "expected input of rank >= 1 ([..., C]), but got rank 0";
  int64_t c = x.getShape().back();
  for (auto [name, v] : {std::pair<StringRef, Value>{"gamma", getGamma()}, {"beta", getBeta()}}) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != 1)
      return emitOpError() << "expected " << name << " of rank 1 ([C]), but got rank "
                           << t.getRank();
    if (failed(verifyDimsMatch(*this, t.getDimSize(0), c,
                               Twine(name) + " size and input last dimension (C)")))
      return failure();
  }
  return verifySameElementType(*this);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType();
  auto k = getKey().getType();
  auto v = getValue().getType();
  auto o = getResult().getType();
  for (auto [name, t] : {std::pair<StringRef, RankedTensorType>{"query", q},
                         {"key", k},
                         {"value", v},
                         {"result", o}})
    if (t.getRank() != 4)
      return emitOpError() << "expected " << name << " of rank 4 ([B, H, S, D]), but got rank "
                           << t.getRank();
  static const char *dimNames[] = {"B", "H"};
  for (int i = 0; i < 2; ++i) {
    for (auto [name, t] : {std::pair<StringRef, RankedTensorType>{"key", k},
                           {"value", v},
                           {"result", o}})
      if (failed(verifyDimsMatch(*this, q.getDimSize(i), t.getDimSize(i),
                                 "query dimension " + Twine(i) + " (" + dimNames[i] + ") and " +
                                     name + " dimension " + Twine(i))))
        return failure();
  }
  if (failed(verifyDimsMatch(*this, q.getDimSize(3), k.getDimSize(3),
                             "query and key head dimension (D)")) ||
      failed(verifyDimsMatch(*this, k.getDimSize(2), v.getDimSize(2),
                             "key and value sequence length (Sk)")) ||
      failed(verifyDimsMatch(*this, q.getDimSize(2), o.getDimSize(2),
                             "query and result sequence length (Sq)")) ||
      failed(verifyDimsMatch(*this, v.getDimSize(3), o.getDimSize(3),
                             "value and result head dimension (Dv)")))
    return failure();
  if (auto scale = getScale())
    if (!(scale->convertToDouble() > 0.0) || !std::isfinite(scale->convertToDouble()))
      return emitOpError() << "expected a positive finite scale, but got "
                           << scale->convertToDouble();
  if (Value mask = getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    if (isa<IntegerType>(m.getElementType())) {
      if (m.getRank() != 2)
        return emitOpError() << "expected an integer key-padding mask of rank 2 ([B, Sk]), "
                                "but got rank "
                             << m.getRank();
      if (failed(verifyDimsMatch(*this, m.getDimSize(0), q.getDimSize(0),
                                 "key-padding mask dimension 0 and query dimension 0 (B)")) ||
          failed(verifyDimsMatch(*this, m.getDimSize(1), k.getDimSize(2),
                                 "key-padding mask dimension 1 and key dimension 2 (Sk)")))
        return failure();
    } else if (isa<FloatType>(m.getElementType())) {
      if (m.getRank() != 4)
        return emitOpError() << "expected an additive float mask of rank 4 (broadcastable to "
                                "[B, H, Sq, Sk]), but got rank "
                             << m.getRank();
      int64_t full[4] = {q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), k.getDimSize(2)};
      for (int i = 0; i < 4; ++i) {
        int64_t d = m.getDimSize(i);
        if (d != 1 && failed(verifyDimsMatch(*this, d, full[i],
                                             "additive mask dimension " + Twine(i) +
                                                 " (broadcast only from 1) and scores dimension " +
                                                 Twine(i))))
          return failure();
      }
      if (m.getElementType() != o.getElementType())
        return emitOpError() << "additive mask element type " << m.getElementType()
                             << " must match the result element type " << o.getElementType();
    } else {
      return emitOpError() << "mask must have an integer (key padding) or float (additive) "
                              "element type, but got "
                           << m.getElementType();
    }
  }
  for (auto [name, t] : {std::pair<StringRef, RankedTensorType>{"query", q},
                         {"key", k},
                         {"value", v}})
    if (t.getElementType() != o.getElementType())
      return emitOpError() << name << " element type " << t.getElementType()
                           << " must match the result element type " << o.getElementType();
  if (!getScale() && q.isDynamicDim(3))
    return emitOpError() << "requires a 'scale' attribute when the head dimension (D) is dynamic";
  return success();
}

double AttentionOp::getEffectiveScale() {
  if (auto scale = getScale())
    return scale->convertToDouble();
  // The verifier guarantees a static head dimension when `scale` is absent.
  return 1.0 / std::sqrt(static_cast<double>(getQuery().getType().getDimSize(3)));
}

#define GET_OP_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOps.cpp.inc"
