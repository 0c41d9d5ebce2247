//===- LorcOps.cpp - lorc op verifiers and helpers ------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/TypeSwitch.h"

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
// Adapter ops
//===----------------------------------------------------------------------===//

/// Checks `v` has `rank` and, where static, the sizes in `expected` (kDynamic = any); `what`
/// names the operand in the message.
static LogicalResult verifyShape(Operation *op, Value v, ArrayRef<int64_t> expected,
                                 StringRef what) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getRank() != static_cast<int64_t>(expected.size()))
    return op->emitOpError() << "expected " << what << " of rank " << expected.size()
                             << ", but got rank " << t.getRank();
  for (auto [i, e] : llvm::enumerate(expected))
    if (failed(verifyDimsMatch(op, t.getDimSize(i), e,
                               Twine(what) + " dimension " + Twine(i) + " and its expected size")))
      return failure();
  return success();
}

/// Shared checks of an adapter op: its ΔW shape is [out, in] or [out, in, kh, kw], the scale
/// is finite, and a DoRA magnitude has `out` elements.
static LogicalResult verifyAdapterCommon(Operation *op, AdapterType delta, Value magnitude,
                                         double scale) {
  ArrayRef<int64_t> shape = delta.getShape();
  if (shape.size() != 2 && shape.size() != 4)
    return op->emitOpError() << "expected a ΔW of rank 2 ([out, in]) or 4 ([out, in, kh, kw]), "
                                "but the result has rank "
                             << shape.size();
  if (!std::isfinite(scale))
    return op->emitOpError() << "expected a finite scale, but got " << scale;
  if (magnitude)
    if (failed(verifyShape(op, magnitude, {shape[0]}, "magnitude")))
      return failure();
  return success();
}

LogicalResult LoraOp::verify() {
  ArrayRef<int64_t> shape = getDelta().getType().getShape();
  if (failed(verifyAdapterCommon(*this, getDelta().getType(), getMagnitude(),
                                 getScale().convertToDouble())))
    return failure();
  auto down = getDown().getType(), up = getUp().getType();
  int64_t r = down.getDimSize(0);
  if (r == 0)
    return emitOpError() << "expected a rank r >= 1, but down has 0 rows";
  int64_t out = shape[0], in = shape[1];
  if (shape.size() == 2) {
    if (getMid())
      return emitOpError() << "a Tucker core (mid) needs a convolution ΔW (rank 4)";
    if (failed(verifyShape(*this, getDown(), {r, in}, "down")) ||
        failed(verifyShape(*this, getUp(), {out, r}, "up")))
      return failure();
    (void)up;
    return success();
  }
  int64_t kh = shape[2], kw = shape[3];
  if (getMid())
    return failure(failed(verifyShape(*this, getDown(), {r, in, 1, 1}, "down")) ||
                   failed(verifyShape(*this, getMid(), {r, r, kh, kw}, "mid")) ||
                   failed(verifyShape(*this, getUp(), {out, r, 1, 1}, "up")));
  return failure(failed(verifyShape(*this, getDown(), {r, in, kh, kw}, "down")) ||
                 failed(verifyShape(*this, getUp(), {out, r, 1, 1}, "up")));
}

LogicalResult LohaOp::verify() {
  ArrayRef<int64_t> shape = getDelta().getType().getShape();
  if (failed(verifyAdapterCommon(*this, getDelta().getType(), getMagnitude(),
                                 getScale().convertToDouble())))
    return failure();
  int64_t out = shape[0], in = shape[1];
  int64_t r = getW1a().getType().getDimSize(getT1() ? 0 : 1);
  if (r == 0)
    return emitOpError() << "expected a rank r >= 1, but got 0";
  if (getT1()) {
    if (shape.size() != 4)
      return emitOpError() << "the Tucker form (t1, t2) needs a convolution ΔW (rank 4)";
    for (auto [v, name] : {std::pair<Value, StringRef>{getT1(), "t1"}, {getT2(), "t2"}})
      if (failed(verifyShape(*this, v, {r, r, shape[2], shape[3]}, name)))
        return failure();
    for (auto [v, name] : {std::pair<Value, StringRef>{getW1a(), "w1a"}, {getW2a(), "w2a"}})
      if (failed(verifyShape(*this, v, {r, out}, name)))
        return failure();
    for (auto [v, name] : {std::pair<Value, StringRef>{getW1b(), "w1b"}, {getW2b(), "w2b"}})
      if (failed(verifyShape(*this, v, {r, in}, name)))
        return failure();
    return success();
  }
  int64_t cols = in;
  for (size_t i = 2; i < shape.size(); ++i)
    cols = ShapedType::isDynamic(cols) || ShapedType::isDynamic(shape[i]) ? ShapedType::kDynamic
                                                                          : cols * shape[i];
  int64_t r2 = getW2a().getType().getDimSize(1);
  for (auto [v, name, rr] : {std::tuple<Value, StringRef, int64_t>{getW1a(), "w1a", r},
                             {getW2a(), "w2a", r2}})
    if (failed(verifyShape(*this, v, {out, rr}, name)))
      return failure();
  for (auto [v, name, rr] : {std::tuple<Value, StringRef, int64_t>{getW1b(), "w1b", r},
                             {getW2b(), "w2b", r2}})
    if (failed(verifyShape(*this, v, {rr, cols}, name)))
      return failure();
  return success();
}

LogicalResult LokrOp::verify() {
  ArrayRef<int64_t> shape = getDelta().getType().getShape();
  if (failed(verifyAdapterCommon(*this, getDelta().getType(), getMagnitude(),
                                 getScale().convertToDouble())))
    return failure();
  bool full1 = static_cast<bool>(getW1()), dec1 = getW1a() && getW1b();
  bool full2 = static_cast<bool>(getW2()), dec2 = getW2a() && getW2b();
  if (full1 == dec1 || (!full1 && (getW1a() == nullptr) != (getW1b() == nullptr)))
    return emitOpError() << "expected either w1 or both w1a and w1b";
  if (full2 == dec2 || (!full2 && (getW2a() == nullptr) != (getW2b() == nullptr)))
    return emitOpError() << "expected either w2 or both w2a and w2b";
  if (getT2() && !dec2)
    return emitOpError() << "the Tucker core t2 needs w2a and w2b";
  // Factor shapes [a, c] and [b, d].
  auto dims = [](Value full, Value a, Value b, bool tucker) -> std::pair<int64_t, int64_t> {
    if (full) {
      auto t = cast<RankedTensorType>(full.getType());
      return {t.getDimSize(0), t.getDimSize(1)};
    }
    auto ta = cast<RankedTensorType>(a.getType()), tb = cast<RankedTensorType>(b.getType());
    return tucker ? std::pair{ta.getDimSize(1), tb.getDimSize(1)}
                  : std::pair{ta.getDimSize(0), tb.getDimSize(1)};
  };
  for (Value v : {getW1(), getW1a(), getW1b(), getW2a(), getW2b()})
    if (v && cast<RankedTensorType>(v.getType()).getRank() != 2)
      return emitOpError() << "expected rank-2 LoKr factors (w1, w1a, w1b, w2a, w2b)";
  if (dec1 && failed(verifyDimsMatch(*this, getW1a().getType().getDimSize(1),
                                     getW1b().getType().getDimSize(0),
                                     "w1a dimension 1 and w1b dimension 0 (r)")))
    return failure();
  if (dec2 && failed(verifyDimsMatch(*this, getW2a().getType().getDimSize(getT2() ? 0 : 1),
                                     getW2b().getType().getDimSize(0),
                                     "w2a and w2b rank dimensions (r)")))
    return failure();
  auto [a, c] = dims(getW1(), getW1a(), getW1b(), false);
  auto [b, d] = dims(getW2(), getW2a(), getW2b(), static_cast<bool>(getT2()));
  int64_t kernel = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    kernel = ShapedType::isDynamic(kernel) || ShapedType::isDynamic(shape[i])
                 ? ShapedType::kDynamic
                 : kernel * shape[i];
  auto mul = [](int64_t x, int64_t y) {
    return ShapedType::isDynamic(x) || ShapedType::isDynamic(y) ? ShapedType::kDynamic : x * y;
  };
  // A decomposed conv w2b stores [r, d·kh·kw].
  if (!getW2() && !getT2() && shape.size() == 4 && !ShapedType::isDynamic(d) &&
      !ShapedType::isDynamic(kernel) && kernel > 0)
    d /= kernel;
  if (failed(verifyDimsMatch(*this, mul(a, b), shape[0], "kron(w1, w2) rows (a·b) and ΔW out")) ||
      failed(verifyDimsMatch(*this, mul(c, d), shape[1], "kron(w1, w2) columns (c·d) and ΔW in")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

double LinearOp::getMultiplier(unsigned i) {
  if (auto m = getMultipliers())
    return (*m)[i];
  return 1.0;
}

/// The shapes of y[..., N] = x[..., K]·op(W) (+ b[N]) where `w` is [N, K] (`transposed`, the
/// nn.Linear layout, named "weight") or [K, N] (named "rhs").
static LogicalResult verifyMatmulShapes(Operation *op, RankedTensorType x, RankedTensorType w,
                                        Value bias, RankedTensorType y, bool transposed) {
  StringRef name = transposed ? "weight" : "rhs";
  unsigned nDim = transposed ? 0 : 1, kDim = transposed ? 1 : 0;
  if (w.getRank() != 2)
    return op->emitOpError() << "expected " << name << " of rank 2 ("
                             << (transposed ? "[N, K]" : "[K, N]") << "), but got rank "
                             << w.getRank();
  if (x.getRank() < 1)
    return op->emitOpError() << "expected input of rank >= 1 ([..., K]), but got rank 0";
  if (y.getRank() != x.getRank())
    return op->emitOpError() << "expected result rank " << x.getRank()
                             << " (the input rank), but got " << y.getRank();
  if (failed(verifyDimsMatch(op, x.getShape().back(), w.getDimSize(kDim),
                             "input last dimension (K) and " + name + " dimension " +
                                 Twine(kDim) + " (K)")))
    return failure();
  for (int64_t i = 0, e = x.getRank() - 1; i < e; ++i)
    if (failed(verifyDimsMatch(op, x.getDimSize(i), y.getDimSize(i),
                               "input dimension " + Twine(i) + " and result dimension " +
                                   Twine(i))))
      return failure();
  if (failed(verifyDimsMatch(op, y.getShape().back(), w.getDimSize(nDim),
                             "result last dimension (N) and " + name + " dimension " +
                                 Twine(nDim) + " (N)")))
    return failure();
  if (bias) {
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bt.getRank() != 1)
      return op->emitOpError() << "expected bias of rank 1 ([N]), but got rank "
                               << bt.getRank();
    if (failed(verifyDimsMatch(op, bt.getDimSize(0), w.getDimSize(nDim),
                               "bias dimension 0 (N) and " + name + " dimension " +
                                   Twine(nDim) + " (N)")))
      return failure();
  }
  return success();
}

LogicalResult ChunkedMatmulOp::verify() {
  if (failed(verifyMatmulShapes(*this, getInput().getType(), getRhs().getType(), getBias(),
                                getResult().getType(), getRhsTransposed())))
    return failure();
  if (getChunk().size() != 3 || llvm::any_of(getChunk(), [](int64_t c) { return c <= 0; }))
    return emitOpError() << "expected chunk = [tileM, tileN, tileK] of three positive sizes";
  if (getStrategy() != "row" && getStrategy() != "tile")
    return emitOpError() << "expected strategy \"row\" or \"tile\", but got \""
                         << getStrategy() << "\"";
  return success();
}

LogicalResult LinearOp::verify() {
  auto w = getWeight().getType();
  if (failed(verifyMatmulShapes(*this, getInput().getType(), w, getBias(),
                                getResult().getType(), /*transposed=*/true)))
    return failure();
  if (auto m = getMultipliers())
    if (m->size() != getAdapters().size())
      return emitOpError() << "expected one multiplier per adapter (" << getAdapters().size()
                           << "), but got " << m->size();
  unsigned dora = 0;
  for (auto [i, a] : llvm::enumerate(getAdapters())) {
    ArrayRef<int64_t> shape = cast<AdapterType>(a.getType()).getShape();
    if (shape.size() != 2 || failed(verifyDimsMatch(*this, shape[0], w.getDimSize(0),
                                                     "adapter #" + Twine(i) +
                                                         " ΔW rows and weight rows (N)")) ||
        failed(verifyDimsMatch(*this, shape[1], w.getDimSize(1),
                               "adapter #" + Twine(i) + " ΔW columns and weight columns (K)")))
      return shape.size() != 2 ? emitOpError() << "adapter #" << i
                                               << " is not a linear ΔW (rank " << shape.size()
                                               << ")"
                               : failure();
    Operation *def = a.getDefiningOp();
    if (def && def->getNumOperands() > 0) {
      Value mag = llvm::TypeSwitch<Operation *, Value>(def)
                      .Case<LoraOp, LohaOp, LokrOp>([](auto op) { return op.getMagnitude(); })
                      .Default([](Operation *) { return Value(); });
      dora += mag ? 1 : 0;
    }
  }
  if (dora > 1)
    return emitOpError() << "at most one DoRA adapter (with a magnitude) per layer, but got "
                         << dora;
  if (std::optional<StringRef> act = getActivation(); act && *act != "gelu_erf" &&
                                                      *act != "gelu_tanh")
    return emitOpError() << "expected activation \"gelu_erf\" or \"gelu_tanh\", but got \""
                         << *act << "\"";
  if (Value r = getResidual(); r && r.getType() != getType())
    return emitOpError() << "expected residual of the result type " << getType() << ", but got "
                         << r.getType();
  if (Value base = getBaseInput()) {
    if (getAdapters().empty())
      return emitOpError() << "a base input needs adapters (without them the input is the base "
                              "input)";
    if (base.getType() != getInput().getType())
      return emitOpError() << "expected base input of the input type " << getInput().getType()
                           << ", but got " << base.getType();
    if (dora > 0)
      return emitOpError() << "a DoRA adapter rescales the weight itself: it takes no separate "
                              "base input";
  }
  // Element types of tensors only (adapters are not shaped).
  Type elt = getType().getElementType();
  SmallVector<Value, 3> tensors{getInput(), getWeight(), getBias()};
  for (auto [i, v] : llvm::enumerate(tensors))
    if (v && cast<ShapedType>(v.getType()).getElementType() != elt)
      return emitOpError() << "operand #" << i << " has element type "
                           << cast<ShapedType>(v.getType()).getElementType()
                           << ", expected the result element type " << elt;
  return success();
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

//===----------------------------------------------------------------------===//
// Work (LorcCostOpInterface)
//===----------------------------------------------------------------------===//

namespace {
/// Bytes of one element of `v`'s element type.
double elementBytes(Value v) {
  Type t = getElementTypeOrSelf(v.getType());
  return t.isIntOrFloat() ? std::max<double>(1, t.getIntOrFloatBitWidth() / 8.0) : 4;
}

/// Number of elements of `v` at the sizes `dimSize` gives.
double numElements(Value v, function_ref<int64_t(Value, unsigned)> dimSize) {
  double n = 1;
  for (unsigned i = 0, e = cast<ShapedType>(v.getType()).getRank(); i < e; ++i)
    n *= static_cast<double>(dimSize(v, i));
  return n;
}

/// Bytes of `v` read or written once.
double bytesOf(Value v, function_ref<int64_t(Value, unsigned)> dimSize) {
  return v ? numElements(v, dimSize) * elementBytes(v) : 0;
}

std::string dtypeOf(Value v) {
  Type t = getElementTypeOrSelf(v.getType());
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.getIntOrFloatBitWidth() == 8)
    return "fp8";
  return "f32";
}

} // namespace

OpWork lorc::loraSideWork(double m, double n, double k, double r) {
  OpWork w;
  w.flops = 2 * m * r * (k + n) + m * r;
  w.params = r * (k + n);
  w.bytesRead = 4 * w.params;
  return w;
}

/// The side path of one unmerged adapter on an [M, K] → [M, N] layer: what the lowering in
/// lib/Conversion/LorcToLinalg executes (LoRA fused or not: 2·M·r·(K + N); LoKr: the two small
/// GEMMs, plus forming decomposed factors; LoHa and DoRA: forming ΔW then, for LoHa, one more
/// GEMM).
OpWork lorc::adapterWork(Operation *adapter, double m, double n, double k,
                         function_ref<int64_t(Value, unsigned)> dimSize) {
  OpWork w;
  for (Value operand : adapter->getOperands()) {
    w.params += numElements(operand, dimSize);
    w.bytesRead += bytesOf(operand, dimSize);
  }
  auto d = [&](Value v, unsigned i) { return static_cast<double>(dimSize(v, i)); };
  if (auto lora = dyn_cast<LoraOp>(adapter)) {
    double r = d(lora.getDown(), 0);
    w.flops = loraSideWork(m, n, k, r).flops;
    if (lora.getMagnitude()) // DoRA: ΔW = B·A, W + ΔW, row norms, rescale
      w.flops += 2 * n * r * k + 5 * n * k;
  } else if (auto lokr = dyn_cast<LokrOp>(adapter)) {
    double a = lokr.getW1() ? d(lokr.getW1(), 0) : d(lokr.getW1a(), 0);
    double c = lokr.getW1() ? d(lokr.getW1(), 1) : d(lokr.getW1b(), 1);
    double b = n / a, dd = k / c;
    w.flops = 2 * m * (c * dd * b + b * c * a) + 2 * m * n;
    if (!lokr.getW1())
      w.flops += 2 * a * d(lokr.getW1a(), 1) * c;
    if (!lokr.getW2())
      w.flops += 2 * b * d(lokr.getW2b(), 0) * dd;
  } else if (auto loha = dyn_cast<LohaOp>(adapter)) {
    double r1 = d(loha.getW1a(), 1), r2 = d(loha.getW2a(), 1);
    w.flops = 2 * n * k * (r1 + r2) + 2 * n * k + 2 * m * n * k;
  }
  return w;
}

OpWork LinearOp::getWork(function_ref<int64_t(Value, unsigned)> dimSize) {
  double n = dimSize(getWeight(), 0), k = dimSize(getWeight(), 1);
  double m = numElements(getInput(), dimSize) / k;
  OpWork w;
  w.dtype = dtypeOf(getWeight());
  w.flops = 2 * m * n * k + (getBias() ? m * n : 0);
  w.bytesRead = bytesOf(getInput(), dimSize) + bytesOf(getWeight(), dimSize) +
                bytesOf(getBias(), dimSize);
  w.bytesWritten = bytesOf(getResult(), dimSize);
  w.params = n * k + (getBias() ? n : 0);
  // The epilogue: ~20 FLOPs per GELU element (erf or tanh as a polynomial, lib/Transforms/
  // ApproximateMath.cpp), one per residual add, which reads the residual once.
  if (getActivation())
    w.flops += 20 * m * n;
  if (getResidual()) {
    w.flops += m * n;
    w.bytesRead += bytesOf(getResidual(), dimSize);
  }
  // Assigned FP8 or bf16 by --lorc-assign-precision: that arithmetic and one or two bytes per
  // weight (what the GPU path runs; the CPU emulates it in f32).
  if (auto p = (*this)->getAttrOfType<DictionaryAttr>("lorc.precision"))
    if (auto kind = p.getAs<StringAttr>("precision")) {
      double bytes = kind.getValue().starts_with("fp8") ? 1 : kind.getValue() == "bf16" ? 2 : 0;
      if (bytes > 0) {
        w.dtype = bytes == 1 ? "fp8" : "bf16";
        w.bytesRead -= bytesOf(getWeight(), dimSize) - bytes * n * k;
      }
    }
  for (Value a : getAdapters())
    if (Operation *def = a.getDefiningOp())
      w += adapterWork(def, m, n, k, dimSize);
  return w;
}

OpWork ChunkedMatmulOp::getWork(function_ref<int64_t(Value, unsigned)> dimSize) {
  auto d = [&](Value v, unsigned i) { return static_cast<double>(dimSize(v, i)); };
  bool t = getRhsTransposed();
  double n = d(getRhs(), t ? 0 : 1), k = d(getRhs(), t ? 1 : 0);
  double m = numElements(getInput(), dimSize) / k;
  double tm = static_cast<double>(getChunk()[0]), tn = static_cast<double>(getChunk()[1]);
  OpWork w;
  w.dtype = dtypeOf(getRhs());
  w.flops = 2 * m * n * k + (getBias() ? m * n : 0);
  // A is re-read for every column block, B for every row block (Chunking.h's traffic).
  w.bytesRead = bytesOf(getInput(), dimSize) * (tn < n ? std::ceil(n / tn) : 1) +
                bytesOf(getRhs(), dimSize) * (tm < m ? std::ceil(m / tm) : 1) +
                bytesOf(getBias(), dimSize);
  w.bytesWritten = bytesOf(getResult(), dimSize);
  w.params = n * k + (getBias() ? n : 0);
  return w;
}

OpWork LayerNormOp::getWork(function_ref<int64_t(Value, unsigned)> dimSize) {
  double elements = numElements(getInput(), dimSize);
  double c = dimSize(getGamma(), 0);
  OpWork w;
  w.dtype = dtypeOf(getInput());
  // Mean (1), variance (3: subtract, square, add), normalise and affine (4) per element.
  w.flops = 8 * elements;
  w.bytesRead = bytesOf(getInput(), dimSize) + 2 * c * elementBytes(getGamma());
  w.bytesWritten = bytesOf(getResult(), dimSize);
  w.params = 2 * c;
  return w;
}

OpWork AttentionOp::getWork(function_ref<int64_t(Value, unsigned)> dimSize) {
  auto d = [&](Value v, unsigned i) { return static_cast<double>(dimSize(v, i)); };
  double bh = d(getQuery(), 0) * d(getQuery(), 1);
  double sq = d(getQuery(), 2), sk = d(getKey(), 2), dh = d(getQuery(), 3),
         dv = d(getValue(), 3);
  OpWork w;
  w.dtype = dtypeOf(getQuery());
  // QKᵀ and P·V (2 FLOPs per multiply-add), plus scale, mask, max, exp, sum, divide per score.
  w.flops = bh * sq * sk * (2 * dh + 2 * dv + 6);
  // Q, K, V and the mask read once, O written once: the traffic of a fused (FlashAttention)
  // kernel; the unfused lowering also writes and re-reads the [Sq, Sk] scores.
  w.bytesRead = bytesOf(getQuery(), dimSize) + bytesOf(getKey(), dimSize) +
                bytesOf(getValue(), dimSize) + bytesOf(getMask(), dimSize);
  w.bytesWritten = bytesOf(getResult(), dimSize);
  return w;
}

//===----------------------------------------------------------------------===//
// LowRankLinearOp
//===----------------------------------------------------------------------===//

LogicalResult LowRankLinearOp::verify() {
  auto x = getInput().getType();
  auto v = getV().getType(), s = getS().getType(), u = getU().getType();
  auto y = getResult().getType();
  if (v.getRank() != 2 || s.getRank() != 1 || u.getRank() != 2)
    return emitOpError() << "expected v [K, R], s [R] and u [N, R], but got ranks " << v.getRank()
                         << ", " << s.getRank() << " and " << u.getRank();
  if (x.getRank() < 1 || y.getRank() != x.getRank())
    return emitOpError() << "expected input and result of the same rank >= 1, but got "
                         << x.getRank() << " and " << y.getRank();
  int64_t r = v.getDimSize(1);
  if (failed(verifyDimsMatch(*this, x.getShape().back(), v.getDimSize(0),
                             "input last dimension (K) and v dimension 0 (K)")) ||
      failed(verifyDimsMatch(*this, s.getDimSize(0), r, "s size and v dimension 1 (R)")) ||
      failed(verifyDimsMatch(*this, u.getDimSize(1), r, "u dimension 1 and v dimension 1 (R)")) ||
      failed(verifyDimsMatch(*this, y.getShape().back(), u.getDimSize(0),
                             "result last dimension (N) and u dimension 0 (N)")))
    return failure();
  for (int64_t i = 0, e = x.getRank() - 1; i < e; ++i)
    if (failed(verifyDimsMatch(*this, x.getDimSize(i), y.getDimSize(i),
                               "input dimension " + Twine(i) + " and result dimension " +
                                   Twine(i))))
      return failure();
  if (Value b = getBias())
    if (failed(verifyShape(*this, b, {u.getDimSize(0)}, "bias")))
      return failure();
  int64_t rank = getRank(), rmin = getRMin(), rmax = getRMax();
  if (!(rmin <= rank && rank <= rmax))
    return emitOpError() << "expected r_min <= rank <= r_max, but got " << rmin << ", " << rank
                         << ", " << rmax;
  if (!ShapedType::isDynamic(r) && rmax > r)
    return emitOpError() << "r_max (" << rmax << ") exceeds the stored rank R = " << r;
  if (std::optional<llvm::APFloat> energy = getScheduleEnergy()) {
    double tau = energy->convertToDouble();
    if (!(tau > 0 && tau <= 1))
      return emitOpError() << "schedule_energy must be in (0, 1], got " << tau;
    if (getRankValue())
      return emitOpError() << "takes either a run-time rank operand or schedule_energy, not both";
  }
  Type elt = y.getElementType();
  for (Value t : {getInput(), getV(), getS(), getU()})
    if (getElementTypeOrSelf(t.getType()) != elt)
      return emitOpError() << "operand has element type " << getElementTypeOrSelf(t.getType())
                           << ", expected the result element type " << elt;
  return success();
}

OpWork lorc::lowRankLinearWork(double m, double n, double k, double r, bool bias,
                               double elementBytes) {
  OpWork w;
  w.flops = 2 * m * r * (k + n) + m * r + (bias ? m * n : 0);
  w.bytesRead = elementBytes * (m * k + r * (k + n + 1) + (bias ? n : 0));
  w.bytesWritten = elementBytes * m * n;
  w.params = r * (k + n + 1) + (bias ? n : 0);
  return w;
}

OpWork LowRankLinearOp::getWork(function_ref<int64_t(Value, unsigned)> dimSize) {
  double k = dimSize(getV(), 0), n = dimSize(getU(), 0);
  double m = numElements(getInput(), dimSize) / k;
  // The planned rank (a run-time rank is at most r_max).
  OpWork w = lowRankLinearWork(m, n, k, static_cast<double>(getRank()),
                               static_cast<bool>(getBias()), elementBytes(getInput()));
  w.dtype = dtypeOf(getInput());
  return w;
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

/// Shared checks: same shape in and out, a 0-d scale or a [C] scale along a valid axis, the
/// scale's element type that of the floating side.
static LogicalResult verifyQuantization(Operation *op, RankedTensorType in, RankedTensorType out,
                                        RankedTensorType scale, Type floatType,
                                        std::optional<int64_t> axis) {
  if (in.getShape() != out.getShape())
    return op->emitOpError() << "expected the result shape to equal the input shape, but got "
                             << out << " for " << in;
  if (scale.getElementType() != floatType)
    return op->emitOpError() << "expected a scale of element type " << floatType << ", but got "
                             << scale.getElementType();
  if (!axis) {
    if (scale.getRank() != 0)
      return op->emitOpError() << "expected a 0-d (per-tensor) scale without `axis`, but got "
                               << scale;
    return success();
  }
  if (*axis < 0 || *axis >= in.getRank())
    return op->emitOpError() << "axis " << *axis << " is out of range for rank " << in.getRank();
  if (scale.getRank() != 1)
    return op->emitOpError() << "expected a 1-d (per-channel) scale with `axis`, but got "
                             << scale;
  return verifyDimsMatch(op, scale.getDimSize(0), in.getDimSize(*axis),
                         "scale size and input dimension " + Twine(*axis));
}

LogicalResult QuantizeOp::verify() {
  return verifyQuantization(*this, getInput().getType(), getResult().getType(),
                            getScale().getType(), getInput().getType().getElementType(),
                            getAxis());
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantization(*this, getInput().getType(), getResult().getType(),
                            getScale().getType(), getResult().getType().getElementType(),
                            getAxis());
}
