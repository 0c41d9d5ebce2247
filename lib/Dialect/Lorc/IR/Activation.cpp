//===- Activation.cpp - GELU builder and matcher --------------------------===//

#include "lorc/Dialect/Lorc/IR/Activation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;

std::optional<lorc::Activation> lorc::parseActivation(StringRef name) {
  if (name == "gelu_erf")
    return Activation::GeluErf;
  if (name == "gelu_tanh")
    return Activation::GeluTanh;
  return std::nullopt;
}

StringRef lorc::activationName(Activation act) {
  return act == Activation::GeluErf ? "gelu_erf" : "gelu_tanh";
}

/// 0.044715 and √(2/π) of the tanh form; 1/√2 of the erf form.
static constexpr double kTanhCubic = 0.044715;
static const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);

Value lorc::buildActivation(OpBuilder &b, Location loc, Value v, Activation act) {
  Type t = v.getType();
  auto cst = [&](double c) { return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, c)); };
  Value inner;
  if (act == Activation::GeluTanh) {
    Value x3 = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, v, v), v);
    Value poly = arith::AddFOp::create(b, loc, v, arith::MulFOp::create(b, loc, cst(kTanhCubic), x3));
    inner = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, cst(kSqrt2OverPi), poly));
  } else {
    inner = math::ErfOp::create(b, loc, arith::MulFOp::create(b, loc, v, cst(M_SQRT1_2)));
  }
  Value onePlus = arith::AddFOp::create(b, loc, cst(1.0), inner);
  return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, cst(0.5), v), onePlus);
}

namespace {

/// The operands of a tree of `OpTy` (arith.mulf or arith.addf) rooted at `v`, in any order and
/// association.
template <typename OpTy>
SmallVector<Value> leaves(Value v) {
  SmallVector<Value> out, stack{v};
  while (!stack.empty()) {
    Value x = stack.pop_back_val();
    if (auto op = x.getDefiningOp<OpTy>()) {
      stack.push_back(op.getLhs());
      stack.push_back(op.getRhs());
    } else {
      out.push_back(x);
    }
  }
  return out;
}

bool isConstant(Value v, double want) {
  FloatAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return false;
  double got = attr.getValueAsDouble();
  return std::fabs(got - want) <= 1e-6 * std::fabs(want);
}

/// Whether `vals` are exactly: the constants `consts` and `numX` copies of `x`, in any order.
bool isMultiset(ArrayRef<Value> vals, Value x, unsigned numX, ArrayRef<double> consts,
                Value *other = nullptr) {
  SmallVector<bool> used(consts.size(), false);
  unsigned xs = 0, others = 0;
  for (Value v : vals) {
    if (v == x) {
      ++xs;
      continue;
    }
    bool matched = false;
    for (auto [i, c] : llvm::enumerate(consts))
      if (!used[i] && isConstant(v, c)) {
        used[i] = matched = true;
        break;
      }
    if (matched)
      continue;
    if (!other || others++)
      return false;
    *other = v;
  }
  return xs == numX && llvm::all_of(used, [](bool u) { return u; }) &&
         (!other || others == 1);
}

/// erf(x/√2): erf of x·(1/√2) or of x / √2.
bool isErfArgument(Value y, Value x) {
  if (auto div = y.getDefiningOp<arith::DivFOp>())
    return div.getLhs() == x && isConstant(div.getRhs(), M_SQRT2);
  return isMultiset(leaves<arith::MulFOp>(y), x, 1, {M_SQRT1_2});
}

/// √(2/π)·(x + 0.044715·x³).
bool isTanhArgument(Value y, Value x) {
  Value poly;
  if (!isMultiset(leaves<arith::MulFOp>(y), x, 0, {kSqrt2OverPi}, &poly))
    return false;
  Value cubic;
  if (!isMultiset(leaves<arith::AddFOp>(poly), x, 1, {}, &cubic))
    return false;
  return isMultiset(leaves<arith::MulFOp>(cubic), x, 3, {kTanhCubic});
}

} // namespace

std::optional<lorc::Activation> lorc::matchActivation(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) { return m.isIdentity(); }))
    return std::nullopt;
  Block &body = op.getRegion().front();
  Value x = body.getArgument(0);
  if (!body.getArgument(1).use_empty() || x.getType() != body.getArgument(1).getType())
    return std::nullopt;
  Value result = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  // 0.5 · x · (1 + f(x)), any association.
  Value onePlus;
  if (!isMultiset(leaves<arith::MulFOp>(result), x, 1, {0.5}, &onePlus))
    return std::nullopt;
  Value f;
  if (!isMultiset(leaves<arith::AddFOp>(onePlus), x, 0, {1.0}, &f))
    return std::nullopt;
  if (auto erf = f.getDefiningOp<math::ErfOp>(); erf && isErfArgument(erf.getOperand(), x))
    return Activation::GeluErf;
  if (auto tanh = f.getDefiningOp<math::TanhOp>(); tanh && isTanhArgument(tanh.getOperand(), x))
    return Activation::GeluTanh;
  return std::nullopt;
}
