//===- LorcToLinalg.cpp - lower lorc ops to linalg on tensors -------------===//

#include "lorc/Conversion/LorcToLinalg/LorcToLinalg.h"
#include "Builders.h"
#include "lorc/Dialect/Lorc/IR/Activation.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace lorc {
#define GEN_PASS_DEF_CONVERTLORCTOLINALGPASS
#include "lorc/Conversion/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

using utils::IteratorType;

// Builders shared with the tiled attention lowering (Builders.h).
namespace lorc::detail {

/// Builds an all-parallel identity-mapped elementwise linalg.generic over `inputs` into a fresh
/// tensor shaped like `like`.
Value buildElementwise(OpBuilder &b, Location loc, Value like, ValueRange inputs,
                       ArrayRef<AffineMap> inputMaps,
                       function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto type = cast<RankedTensorType>(like.getType());
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                       type.getElementType());
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<IteratorType> iters(type.getRank(), IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iters, "", "",
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
      });
  return op.getResult(0);
}

/// Reduces the last dimension of `input` ([..., C] -> [...]) into `init` ([...]) with
/// `combine`(input element, extra input elements..., accumulator).
Value buildLastDimReduction(OpBuilder &b, Location loc, Value input, ValueRange extraInputs,
                            ArrayRef<AffineMap> extraMaps, Value init,
                            function_ref<Value(OpBuilder &, Location, ValueRange)> combine) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
  maps.append(extraMaps.begin(), extraMaps.end());
  maps.push_back(b.getMultiDimIdentityMap(rank).dropResult(rank - 1));
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  iters.back() = IteratorType::reduction;
  SmallVector<Value> ins{input};
  ins.append(extraInputs.begin(), extraInputs.end());
  auto op = linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, ins, ValueRange{init},
                                      maps, iters, "", "",
                                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                                        linalg::YieldOp::create(nb, nl, combine(nb, nl, args));
                                      });
  return op.getResult(0);
}

/// The same into a fresh tensor filled with `initValue`.
Value buildLastDimReduction(OpBuilder &b, Location loc, Value input, ValueRange extraInputs,
                            ArrayRef<AffineMap> extraMaps, Attribute initValue,
                            function_ref<Value(OpBuilder &, Location, ValueRange)> combine) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  sizes.pop_back();
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, cast<TypedAttr>(initValue));
  Value init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty}).getResult(0);
  return buildLastDimReduction(b, loc, input, extraInputs, extraMaps, init, combine);
}

/// acc + v for a reduction, marked `reassoc` so LLVM may vectorise the sum (it reorders it, as
/// PyTorch's own vectorised reductions do; the goldens bound the effect).
Value addReassoc(OpBuilder &b, Location loc, Value acc, Value v) {
  auto flags = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::reassoc);
  return arith::AddFOp::create(b, loc, acc, v, flags);
}

/// Map that drops the last dimension: (d0, ..., dn-1) -> (d0, ..., dn-2).
AffineMap dropLastDimMap(OpBuilder &b, int64_t rank) {
  return b.getMultiDimIdentityMap(rank).dropResult(rank - 1);
}

/// Map that keeps only the last dimension: (d0, ..., dn-1) -> (dn-1).
AffineMap lastDimMap(OpBuilder &b, int64_t rank) {
  return AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1));
}

/// Collapses all but the last dimension of `v` into one ([..., K] -> [M, K]); a rank-1 value
/// becomes [1, K].
Value collapseToMatrix(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return v;
  if (rank == 1) {
    auto t = RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
    return tensor::ExpandShapeOp::create(b, loc, t, v, {{0, 1}},
                                         {b.getIndexAttr(1), tensor::getMixedSize(b, loc, v, 0)});
  }
  ReassociationIndices lead;
  for (int64_t i = 0; i < rank - 1; ++i)
    lead.push_back(i);
  return tensor::CollapseShapeOp::create(b, loc, v, {lead, {rank - 1}});
}

/// Expands a [M, N] matrix back to `like`'s leading dimensions: [..., N], typed from the operands.
Value expandFromMatrix(OpBuilder &b, Location loc, Value m, Value like) {
  auto likeType = cast<RankedTensorType>(like.getType());
  auto mType = cast<RankedTensorType>(m.getType());
  int64_t rank = likeType.getRank();
  if (rank == 2)
    return m;
  SmallVector<int64_t> shape(likeType.getShape());
  shape.back() = mType.getDimSize(1);
  auto type = RankedTensorType::get(shape, mType.getElementType());
  if (rank == 1)
    return tensor::CollapseShapeOp::create(b, loc, type, m, {{0, 1}});
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  sizes.back() = tensor::getMixedSize(b, loc, m, 1);
  ReassociationIndices lead;
  for (int64_t i = 0; i < rank - 1; ++i)
    lead.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, type, m, {lead, {rank - 1}}, sizes);
}

/// Casts `v` to `type` when they differ only in what is static (the verifiers accept result
/// types more or less static than the operands imply).
Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  return v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v).getResult();
}

/// Indexing maps of C += A·Bᵀ over (d0, d1, d2) = (m, n, k), with `batch` leading batch dims.
ArrayAttr transposedBMaps(OpBuilder &b, bool batched) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0, d1, d2, d3;
  bindDims(ctx, d0, d1, d2, d3);
  SmallVector<AffineMap> maps;
  if (batched)
    maps = {AffineMap::get(4, 0, {d0, d1, d3}, ctx), AffineMap::get(4, 0, {d0, d2, d3}, ctx),
            AffineMap::get(4, 0, {d0, d1, d2}, ctx)};
  else
    maps = {AffineMap::get(3, 0, {d0, d2}, ctx), AffineMap::get(3, 0, {d1, d2}, ctx),
            AffineMap::get(3, 0, {d0, d1}, ctx)};
  SmallVector<Attribute> attrs;
  for (AffineMap m : maps)
    attrs.push_back(AffineMapAttr::get(m));
  return b.getArrayAttr(attrs);
}

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elt) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elt);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty}).getResult(0);
}

//===----------------------------------------------------------------------===//
// lorc.linear
//===----------------------------------------------------------------------===//

/// The [M, N] accumulator a linear layer's GEMM starts from: the bias broadcast over rows (so
/// y = b + x·Wᵀ is one GEMM with BLAS beta = 1), or zeros without a bias.
Value accumulatorInit(OpBuilder &b, Location loc, Value bias, ArrayRef<OpFoldResult> sizes,
                      Type elt) {
  if (!bias)
    return zeroFilled(b, loc, sizes, elt);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elt);
  return linalg::BroadcastOp::create(b, loc, bias, empty, ArrayRef<int64_t>{0}).getResult()[0];
}

/// C += A·Bᵀ on matrices (B stored [N, K], the nn.Linear layout).
Value matmulTransposedB(OpBuilder &b, Location loc, Value a, Value bt, Value acc) {
  auto mm = linalg::MatmulOp::create(b, loc, TypeRange{acc.getType()}, ValueRange{a, bt},
                                     ValueRange{acc});
  mm.setIndexingMapsAttr(transposedBMaps(b, /*batched=*/false));
  return mm.getResult(0);
}

} // namespace lorc::detail

using namespace lorc::detail;

namespace {

/// C = A·B on matrices into a fresh zero accumulator.
Value matmul(OpBuilder &b, Location loc, Value a, Value bm) {
  Type elt = cast<RankedTensorType>(a.getType()).getElementType();
  Value acc = zeroFilled(b, loc,
                         {tensor::getMixedSize(b, loc, a, 0), tensor::getMixedSize(b, loc, bm, 1)},
                         elt);
  return linalg::MatmulOp::create(b, loc, TypeRange{acc.getType()}, ValueRange{a, bm},
                                  ValueRange{acc})
      .getResult(0);
}

/// `v` times the scalar `factor`, element-wise.
Value scaled(OpBuilder &b, Location loc, Value v, double factor) {
  auto elt = cast<RankedTensorType>(v.getType()).getElementType();
  Value c = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, factor));
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  return buildElementwise(b, loc, v, {v}, {b.getMultiDimIdentityMap(rank)},
                          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                            return arith::MulFOp::create(nb, nl, a[0], c);
                          });
}

/// Permutes the last two dimensions of a rank-3 tensor.
Value swapLast(OpBuilder &b, Location loc, Value v) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  std::swap(sizes[1], sizes[2]);
  Value init = tensor::EmptyOp::create(b, loc, sizes,
                                       cast<RankedTensorType>(v.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, v, init, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
}

/// ΔW of a (non-Tucker, linear) LoHa times `multiplier`: s·m·(w1a·w1b) ⊙ (w2a·w2b).
Value materializeLoha(OpBuilder &b, Location loc, LohaOp loha, double multiplier) {
  Value p1 = matmul(b, loc, loha.getW1a(), loha.getW1b());
  Value p2 = matmul(b, loc, loha.getW2a(), loha.getW2b());
  auto elt = cast<RankedTensorType>(p1.getType()).getElementType();
  Value sc = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(elt, multiplier * loha.getScale().convertToDouble()));
  return buildElementwise(b, loc, p1, {p1, p2},
                          {b.getMultiDimIdentityMap(2), b.getMultiDimIdentityMap(2)},
                          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                            Value h = arith::MulFOp::create(nb, nl, a[0], a[1]);
                            return arith::MulFOp::create(nb, nl, h, sc);
                          });
}

/// Adds the side path of one unmerged adapter to the accumulator `acc` = x·Wᵀ (+ b), [M, N].
/// LoRA: acc += (m·s·(x·Aᵀ))·Bᵀ, two skinny GEMMs accumulating into the base GEMM's output.
/// LoKr: the Kronecker matvec identity, two small GEMMs; kron(w1, w2) is never formed
/// (lycoris functional/lokr.py bypass_forward_diff). Fails for forms without a side path.
FailureOr<Value> addSidePath(OpBuilder &b, Location loc, Value x, Value acc, Operation *adapter,
                             double multiplier) {
  if (auto lora = dyn_cast<LoraOp>(adapter)) {
    if (lora.getMid())
      return failure();
    double s = multiplier * lora.getScale().convertToDouble();
    Value xa = zeroFilled(b, loc,
                          {tensor::getMixedSize(b, loc, x, 0),
                           tensor::getMixedSize(b, loc, lora.getDown(), 0)},
                          cast<RankedTensorType>(x.getType()).getElementType());
    xa = matmulTransposedB(b, loc, x, lora.getDown(), xa);
    return matmulTransposedB(b, loc, scaled(b, loc, xa, s), lora.getUp(), acc);
  }
  if (auto lokr = dyn_cast<LokrOp>(adapter)) {
    if (lokr.getMagnitude() || lokr.getT2())
      return failure();
    Value w1 = lokr.getW1() ? lokr.getW1() : matmul(b, loc, lokr.getW1a(), lokr.getW1b());
    Value w2 = lokr.getW2() ? lokr.getW2() : matmul(b, loc, lokr.getW2a(), lokr.getW2b());
    auto w1t = cast<RankedTensorType>(w1.getType()), w2t = cast<RankedTensorType>(w2.getType());
    int64_t a = w1t.getDimSize(0), c = w1t.getDimSize(1);
    int64_t bb = w2t.getDimSize(0), d = w2t.getDimSize(1);
    if (ShapedType::isDynamic(a) || ShapedType::isDynamic(c) || ShapedType::isDynamic(bb) ||
        ShapedType::isDynamic(d))
      return failure();
    Type elt = w1t.getElementType();
    OpFoldResult m = tensor::getMixedSize(b, loc, x, 0);
    int64_t dyn = ShapedType::kDynamic;
    // X [M, c·d] → [M·c, d];  T = X·w2ᵀ [M·c, b]
    Value x3 = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get({dyn, c, d}, elt), x,
                                             {{0}, {1, 2}},
                                             {m, b.getIndexAttr(c), b.getIndexAttr(d)});
    Value x2 = tensor::CollapseShapeOp::create(b, loc, x3, {{0, 1}, {2}});
    Value t = zeroFilled(b, loc, {tensor::getMixedSize(b, loc, x2, 0), b.getIndexAttr(bb)}, elt);
    t = matmulTransposedB(b, loc, x2, w2, t);
    // [M, c, b] → [M, b, c] → [M·b, c];  U = ·w1ᵀ [M·b, a]
    Value t3 = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get({dyn, c, bb}, elt), t,
                                             {{0, 1}, {2}},
                                             {m, b.getIndexAttr(c), b.getIndexAttr(bb)});
    Value u2 = tensor::CollapseShapeOp::create(b, loc, swapLast(b, loc, t3), {{0, 1}, {2}});
    Value u = zeroFilled(b, loc, {tensor::getMixedSize(b, loc, u2, 0), b.getIndexAttr(a)}, elt);
    u = matmulTransposedB(b, loc, u2, w1, u);
    // [M, b, a] → [M, a, b] → [M, a·b]
    Value u3 = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get({dyn, bb, a}, elt), u,
                                             {{0, 1}, {2}},
                                             {m, b.getIndexAttr(bb), b.getIndexAttr(a)});
    Value y = tensor::CollapseShapeOp::create(b, loc, swapLast(b, loc, u3), {{0}, {1, 2}});
    double s = multiplier * lokr.getScale().convertToDouble();
    Value sc = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, s));
    return buildElementwise(b, loc, acc, {acc, y},
                            {b.getMultiDimIdentityMap(2), b.getMultiDimIdentityMap(2)},
                            [&](OpBuilder &nb, Location nl, ValueRange v) -> Value {
                              return arith::AddFOp::create(
                                  nb, nl, v[0], arith::MulFOp::create(nb, nl, v[1], sc));
                            });
  }
  if (auto loha = dyn_cast<LohaOp>(adapter)) {
    if (loha.getT1() || loha.getMagnitude())
      return failure();
    // The Hadamard product has no factored matvec: ΔW = s·(w1a·w1b) ⊙ (w2a·w2b) is formed at
    // run time ([N, K], as cheap as one pass over W), then acc += x·ΔWᵀ.
    Value delta = materializeLoha(b, loc, loha, multiplier);
    return matmulTransposedB(b, loc, x, delta, acc);
  }
  return failure();
}

/// Whether `adapter` can be applied without merging.
bool hasSidePath(Operation *adapter) {
  if (auto lora = dyn_cast_or_null<LoraOp>(adapter))
    return !lora.getMid() && !lora.getDoraLycoris();
  if (auto lokr = dyn_cast_or_null<LokrOp>(adapter))
    return !lokr.getMagnitude() && !lokr.getT2();
  if (auto loha = dyn_cast_or_null<LohaOp>(adapter))
    return !loha.getMagnitude() && !loha.getT1();
  return false;
}

/// DoRA at run time (peft tuners/lora/dora.py): W' = m ⊙ (W + mult·s·B·A) / ‖W + mult·s·B·A‖,
/// the norm per output row, no eps.
Value doraWeight(OpBuilder &b, Location loc, Value w, LoraOp lora, double multiplier) {
  Value delta = matmul(b, loc, lora.getUp(), lora.getDown()); // [N, K]
  auto elt = cast<RankedTensorType>(w.getType()).getElementType();
  Value sc = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(elt, multiplier * lora.getScale().convertToDouble()));
  Value merged = buildElementwise(b, loc, w, {w, delta},
                                  {b.getMultiDimIdentityMap(2), b.getMultiDimIdentityMap(2)},
                                  [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                    return arith::AddFOp::create(
                                        nb, nl, a[0], arith::MulFOp::create(nb, nl, a[1], sc));
                                  });
  Value sq = buildLastDimReduction(b, loc, merged, {}, {}, b.getZeroAttr(elt),
                                   [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                     Value p = arith::MulFOp::create(nb, nl, a[0], a[0]);
                                     return addReassoc(nb, nl, a[1], p);
                                   });
  return buildElementwise(
      b, loc, merged, {merged, sq, lora.getMagnitude()},
      {b.getMultiDimIdentityMap(2), dropLastDimMap(b, 2), dropLastDimMap(b, 2)},
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value norm = math::SqrtOp::create(nb, nl, a[1]);
        return arith::MulFOp::create(nb, nl, a[0], arith::DivFOp::create(nb, nl, a[2], norm));
      });
}

/// A linear's epilogue on its [M, N] GEMM result: one element-wise generic written in place
/// (`outs` is the GEMM's result, read through its block argument), act(acc) + residual, tagged
/// `lorc.epilogue = {activation = "...", residual}` so that `--lorc-dispatch-blas` can hand it
/// to the GEMM library with the matmul (and `--lorc-fuse-elementwise` leaves it whole).
Value epilogue(OpBuilder &b, Location loc, Value acc, LinearOp op) {
  std::optional<Activation> act;
  if (std::optional<StringRef> name = op.getActivation())
    act = parseActivation(*name); // the verifier allows only known names
  SmallVector<Value> inputs;
  SmallVector<NamedAttribute> tag;
  if (act)
    tag.push_back(b.getNamedAttr("activation", b.getStringAttr(activationName(*act))));
  if (Value r = op.getResidual()) {
    inputs.push_back(collapseToMatrix(b, loc, r));
    tag.push_back(b.getNamedAttr("residual", b.getUnitAttr()));
  }
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(2));
  SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, inputs, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = args.back();
        if (act)
          v = buildActivation(nb, nl, v, *act);
        if (inputs.size())
          v = arith::AddFOp::create(nb, nl, v, args.front());
        linalg::YieldOp::create(nb, nl, v);
      });
  generic->setAttr("lorc.epilogue", b.getDictionaryAttr(tag));
  return generic.getResult(0);
}

/// The FP8 GEMM form of an FP8 layer (--lorc-assign-precision's emulation): the base input a
/// per-tensor `lorc.dequantize` of FP8 codes, the weight a `lorc.dequantize {axis = 0}` of FP8
/// codes with row scales, not both E5M2 (cuBLASLt has no E5M2 × E5M2 kernel), K a multiple of
/// 16 and N of 4 (cuBLASLt's 16-byte leading dimensions for FP8 A and B and f32 C).
struct Fp8Gemm {
  DequantizeOp input, weight;
};
std::optional<Fp8Gemm> fp8GemmOf(LinearOp op) {
  Value xBase = op.getBaseInput() ? op.getBaseInput() : op.getInput();
  auto x = xBase.getDefiningOp<DequantizeOp>();
  auto w = op.getWeight().getDefiningOp<DequantizeOp>();
  if (!x || !w || x.getAxis() || !w.getAxis() || *w.getAxis() != 0)
    return std::nullopt;
  auto xq = cast<RankedTensorType>(x.getInput().getType());
  auto wq = cast<RankedTensorType>(w.getInput().getType());
  auto xs = cast<RankedTensorType>(x.getScale().getType());
  auto ws = cast<RankedTensorType>(w.getScale().getType());
  auto isFp8 = [](Type t) { return isa<Float8E4M3FNType, Float8E5M2Type>(t); };
  if (!isFp8(xq.getElementType()) || !isFp8(wq.getElementType()) ||
      (isa<Float8E5M2Type>(xq.getElementType()) && isa<Float8E5M2Type>(wq.getElementType())) ||
      wq.getRank() != 2 || xs.getRank() != 0 || !xs.getElementType().isF32() ||
      ws.getRank() != 1 || !ws.getElementType().isF32() ||
      !op.getType().getElementType().isF32())
    return std::nullopt;
  int64_t n = wq.getDimSize(0), k = wq.getDimSize(1);
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(k) || k % 16 != 0 || n % 4 != 0 ||
      xq.getShape().back() != k)
    return std::nullopt;
  return Fp8Gemm{x, w};
}

/// Y[m, n] = P[m, n] / (s_x · s_w[n]) (+ bias[n]): the scales of an FP8 GEMM's unscaled
/// product P = Σ_k value(x_q[m, k]) · value(w_q[n, k]), after the sum (lorc.dequantize divides
/// by the scale: value(q) / s).
Value scaleFp8Product(OpBuilder &b, Location loc, Value p, Value xScale, Value wScales,
                      Value bias) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(2);
  AffineMap scalar = AffineMap::get(2, 0, {}, ctx);
  AffineMap column = AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, ctx);
  SmallVector<Value> ins{p, xScale, wScales};
  SmallVector<AffineMap> maps{id, scalar, column};
  if (bias) {
    ins.push_back(bias);
    maps.push_back(column);
  }
  maps.push_back(id);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, p),
                                       b.getF32Type());
  return linalg::GenericOp::create(
             b, loc, TypeRange{p.getType()}, ins, ValueRange{init}, maps,
             SmallVector<IteratorType>(2, IteratorType::parallel), "", "",
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value s = arith::MulFOp::create(nb, nl, args[1], args[2]);
               Value y = arith::DivFOp::create(nb, nl, args[0], s);
               if (bias)
                 y = arith::AddFOp::create(nb, nl, y, args[3]);
               linalg::YieldOp::create(nb, nl, y);
             })
      .getResult(0);
}

struct LinearOpLowering : OpRewritePattern<LinearOp> {
  /// With `fp8GemmOnly`, only FP8 layers of the FP8 GEMM form (fp8GemmOf) are lowered, their
  /// base product as a linalg.matmul on the FP8 codes (f32 accumulation) and the scales after
  /// it; otherwise every linear, FP8 layers as their f32 emulation.
  LinearOpLowering(MLIRContext *ctx, bool fp8GemmOnly = false)
      : OpRewritePattern(ctx), fp8GemmOnly(fp8GemmOnly) {}
  bool fp8GemmOnly;
  LogicalResult matchAndRewrite(LinearOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    std::optional<Fp8Gemm> fp8 = fp8GemmOnly ? fp8GemmOf(op) : std::nullopt;
    if (fp8GemmOnly && !fp8)
      return b.notifyMatchFailure(op, "not an FP8 layer of the FP8 GEMM form");
    for (Value a : op.getAdapters())
      if (!hasSidePath(a.getDefiningOp()))
        return b.notifyMatchFailure(op, "adapter without an unmerged side path");
    Value x = collapseToMatrix(b, loc, op.getInput());
    Value w = op.getWeight();
    // A DoRA adapter rescales the whole weight: it is applied to W, not as a side path. With
    // other adapters beside it, the DoRA norm is taken over W + its own ΔW only.
    std::optional<unsigned> doraIndex;
    for (auto [i, a] : llvm::enumerate(op.getAdapters()))
      if (auto lora = dyn_cast<LoraOp>(a.getDefiningOp()); lora && lora.getMagnitude()) {
        w = doraWeight(b, loc, w, lora, op.getMultiplier(i));
        doraIndex = i;
      }
    if (fp8 && doraIndex)
      return b.notifyMatchFailure(op, "a DoRA adapter rescales the FP8 weight");
    Type elt = op.getType().getElementType();
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                    tensor::getMixedSize(b, loc, w, 0)};
    Value acc;
    if (fp8) {
      // C = (Σ_k value(x_q)·value(w_q)) / (s_x · s_w[n]) + bias: the GEMM on the codes (for
      // --lorc-dispatch-blas: cuBLASLt's FP8 GEMM on the device), the scales after the sum.
      Value xq = collapseToMatrix(b, loc, fp8->input.getInput());
      Value product = matmulTransposedB(b, loc, xq, fp8->weight.getInput(),
                                        zeroFilled(b, loc, sizes, elt));
      acc = scaleFp8Product(b, loc, product, fp8->input.getScale(), fp8->weight.getScale(),
                            op.getBias());
    } else {
      Value init = accumulatorInit(b, loc, op.getBias(), sizes, elt);
      // A lower-precision base reads its own input; the side paths read the layer's.
      Value xBase = op.getBaseInput() ? collapseToMatrix(b, loc, op.getBaseInput()) : x;
      // A weight stored bf16 (--lorc-narrow-weights) is the matmul's B itself: a
      // mixed-precision linalg.matmul (B widened in its body) that --lorc-dispatch-blas hands
      // to a bf16 GEMM as is.
      Value wGemm = w;
      if (auto ext = w.getDefiningOp<arith::ExtFOp>();
          ext && getElementTypeOrSelf(ext.getIn().getType()).isBF16())
        wGemm = ext.getIn();
      acc = matmulTransposedB(b, loc, xBase, wGemm, init);
    }
    // A bf16 layer (--lorc-assign-precision): its operands are bf16 values already, so the
    // CPU's bf16 GEMM computes exactly the emulation; --lorc-dispatch-blas reads the tag.
    if (auto p = op->getAttrOfType<DictionaryAttr>("lorc.precision"))
      if (auto kind = p.getAs<StringAttr>("precision"); kind && kind.getValue() == "bf16")
        acc.getDefiningOp()->setAttr("lorc.gemm_precision", b.getStringAttr("bf16"));
    for (auto [i, a] : llvm::enumerate(op.getAdapters())) {
      if (doraIndex && *doraIndex == i)
        continue;
      FailureOr<Value> next = addSidePath(b, loc, x, acc, a.getDefiningOp(), op.getMultiplier(i));
      if (failed(next))
        return failure(); // unreachable: checked above
      acc = *next;
    }
    if (op.hasEpilogue())
      acc = epilogue(b, loc, acc, op);
    b.replaceOp(op, castTo(b, loc, expandFromMatrix(b, loc, acc, op.getInput()), op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lorc.chunked_matmul
//===----------------------------------------------------------------------===//

/// The tiled loop form: for each [tileM, tileN] block of C (initialised with the bias), C_ij +=
/// Σ_k A_ik·B_kj over K chunks, every operand read through `tensor.extract_slice` (views after
/// bufferization, so weights are read in place from the mapped parameters), edge chunks
/// clamped with `arith.minsi`.
struct ChunkedMatmulOpLowering : OpRewritePattern<ChunkedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ChunkedMatmulOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = collapseToMatrix(b, loc, op.getInput());
    Value rhs = op.getRhs();
    bool transposed = op.getRhsTransposed();
    Type elt = op.getType().getElementType();
    auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    OpFoldResult mSize = tensor::getMixedSize(b, loc, x, 0);
    Value m = getValueOrCreateConstantIndexOp(b, loc, mSize);
    Value n = index(op.getN()), k = index(op.getK());
    Value tm = index(op.getChunk()[0]), tn = index(op.getChunk()[1]),
          tk = index(op.getChunk()[2]);
    Value zero = index(0);
    Value init = accumulatorInit(b, loc, op.getBias(), {mSize, b.getIndexAttr(op.getN())}, elt);
    auto extent = [&](OpBuilder &nb, Location nl, Value tile, Value size, Value iv) {
      Value rest = arith::SubIOp::create(nb, nl, size, iv);
      return arith::MinSIOp::create(nb, nl, tile, rest).getResult();
    };
    auto slice = [&](OpBuilder &nb, Location nl, Value src, Value o0, Value o1, Value s0,
                     Value s1) -> Value {
      SmallVector<OpFoldResult> offsets{o0, o1}, sizes{s0, s1};
      SmallVector<OpFoldResult> strides(2, nb.getIndexAttr(1));
      return tensor::ExtractSliceOp::create(nb, nl, src, offsets, sizes, strides);
    };
    auto rows = scf::ForOp::create(
        b, loc, zero, m, tm, ValueRange{init},
        [&](OpBuilder &bi, Location li, Value i, ValueRange cI) {
          Value mi = extent(bi, li, tm, m, i);
          auto cols = scf::ForOp::create(
              bi, li, zero, n, tn, ValueRange{cI[0]},
              [&](OpBuilder &bj, Location lj, Value j, ValueRange cJ) {
                Value nj = extent(bj, lj, tn, n, j);
                Value tile = slice(bj, lj, cJ[0], i, j, mi, nj);
                auto red = scf::ForOp::create(
                    bj, lj, zero, k, tk, ValueRange{tile},
                    [&](OpBuilder &bk, Location lk, Value kv, ValueRange acc) {
                      Value kk = extent(bk, lk, tk, k, kv);
                      Value a = slice(bk, lk, x, i, kv, mi, kk);
                      Value r;
                      if (transposed) {
                        r = matmulTransposedB(bk, lk, a, slice(bk, lk, rhs, j, kv, nj, kk), acc[0]);
                      } else {
                        Value bt = slice(bk, lk, rhs, kv, j, kk, nj);
                        r = linalg::MatmulOp::create(bk, lk, TypeRange{acc[0].getType()},
                                                     ValueRange{a, bt}, ValueRange{acc[0]})
                                .getResult(0);
                      }
                      // A chunk's GEMM: the runtime must not keep a packed copy of its B
                      // (every chunk's would stay resident, whatever the budget).
                      r.getDefiningOp()->setAttr(kChunkGemmAttr, bk.getUnitAttr());
                      scf::YieldOp::create(bk, lk, r);
                    });
                SmallVector<OpFoldResult> offsets{i, j}, sizes{mi, nj};
                SmallVector<OpFoldResult> strides(2, bj.getIndexAttr(1));
                Value updated = tensor::InsertSliceOp::create(bj, lj, red.getResult(0), cJ[0],
                                                              offsets, sizes, strides);
                scf::YieldOp::create(bj, lj, updated);
              });
          scf::YieldOp::create(bi, li, cols.getResult(0));
        });
    Value c = castTo(b, loc, rows.getResult(0),
                     RankedTensorType::get({cast<RankedTensorType>(x.getType()).getDimSize(0),
                                            op.getN()},
                                           elt));
    b.replaceOp(op, castTo(b, loc, expandFromMatrix(b, loc, c, op.getInput()), op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lorc.lowrank_linear
//===----------------------------------------------------------------------===//

/// y = ((x·V_r)·diag(S_r))·U_rᵀ + b with the first r components: two skinny GEMMs and a column
/// scaling, r from the attribute or the run-time operand clamped to [r_min, r_max].
struct LowRankLinearOpLowering : OpRewritePattern<LowRankLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LowRankLinearOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Type elt = op.getType().getElementType();
    Value x = collapseToMatrix(b, loc, op.getInput());
    if (op.getScheduleEnergy())
      return lowerScheduled(op, x, b);
    OpFoldResult r = b.getIndexAttr(op.getRank());
    if (Value dyn = op.getRankValue()) {
      Value lo = arith::ConstantIndexOp::create(b, loc, op.getRMin());
      Value hi = arith::ConstantIndexOp::create(b, loc, op.getRMax());
      r = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, dyn, lo), hi).getResult();
    }
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    auto slice2 = [&](Value m) {
      return tensor::ExtractSliceOp::create(
                 b, loc, m, {zero, zero}, {tensor::getMixedSize(b, loc, m, 0), r}, {one, one})
          .getResult();
    };
    Value v = slice2(op.getV()), u = slice2(op.getU());
    Value sv = tensor::ExtractSliceOp::create(b, loc, op.getS(), {zero}, {r}, {one});
    Value t = matmul(b, loc, x, v); // [M, r]
    Value ts = buildElementwise(b, loc, t, {t, sv},
                                {b.getMultiDimIdentityMap(2), lastDimMap(b, 2)},
                                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                  return arith::MulFOp::create(nb, nl, a[0], a[1]);
                                });
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                    tensor::getMixedSize(b, loc, op.getU(), 0)};
    Value init = accumulatorInit(b, loc, op.getBias(), sizes, elt);
    Value y = matmulTransposedB(b, loc, ts, u, init);
    b.replaceOp(op, castTo(b, loc, expandFromMatrix(b, loc, y, op.getInput()), op.getType()));
    return success();
  }

  /// The rank scheduler (`schedule_energy` τ): t = (x·V)·diag(S) over all R components, the
  /// energy eⱼ = Σ_rows tⱼ² per component, r* = the smallest r with Σ_{j<r} eⱼ ≥ τ·Σ eⱼ (a scalar
  /// loop over R), r = round(r_min + (r*/R)·(r_max − r_min)) (LoRAven's linear mapping), then
  /// y = t[:, :r]·U[:, :r]ᵀ + b.
  LogicalResult lowerScheduled(LowRankLinearOp op, Value x, PatternRewriter &b) const {
    Location loc = op.getLoc();
    auto elt = cast<FloatType>(op.getType().getElementType());
    Value t = matmul(b, loc, x, op.getV()); // [M, R]
    Value ts = buildElementwise(b, loc, t, {t, op.getS()},
                                {b.getMultiDimIdentityMap(2), lastDimMap(b, 2)},
                                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                  return arith::MulFOp::create(nb, nl, a[0], a[1]);
                                });
    OpFoldResult rFull = tensor::getMixedSize(b, loc, ts, 1);
    Value zeroF = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
    Value energies = linalg::FillOp::create(
                         b, loc, zeroF,
                         tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{rFull}, elt)
                             .getResult())
                         .getResult(0);
    MLIRContext *ctx = b.getContext();
    AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
    energies =
        linalg::GenericOp::create(
            b, loc, energies.getType(), ValueRange{ts}, ValueRange{energies},
            ArrayRef<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx),
                                AffineMap::get(2, 0, {d1}, ctx)},
            ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                          utils::IteratorType::parallel},
            [](OpBuilder &nb, Location nl, ValueRange a) {
              Value sq = arith::MulFOp::create(nb, nl, a[0], a[0]);
              linalg::YieldOp::create(nb, nl, addReassoc(nb, nl, a[1], sq));
            })
            .getResult(0);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    Value rDim = getValueOrCreateConstantIndexOp(b, loc, rFull);
    auto sumLoop = scf::ForOp::create(
        b, loc, c0, rDim, c1, ValueRange{zeroF},
        [&](OpBuilder &nb, Location nl, Value j, ValueRange acc) {
          Value e = tensor::ExtractOp::create(nb, nl, energies, ValueRange{j});
          scf::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, acc[0], e)});
        });
    Value tau = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(elt, op.getScheduleEnergy()->convertToDouble()));
    Value threshold = arith::MulFOp::create(b, loc, tau, sumLoop.getResult(0));
    auto countLoop = scf::ForOp::create(
        b, loc, c0, rDim, c1, ValueRange{zeroF, c0},
        [&](OpBuilder &nb, Location nl, Value j, ValueRange acc) {
          Value e = tensor::ExtractOp::create(nb, nl, energies, ValueRange{j});
          Value short_ = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT, acc[0],
                                               threshold);
          Value cum = arith::SelectOp::create(nb, nl, short_,
                                              arith::AddFOp::create(nb, nl, acc[0], e), acc[0]);
          Value one = arith::ConstantIndexOp::create(nb, nl, 1);
          Value cnt = arith::SelectOp::create(nb, nl, short_,
                                              arith::AddIOp::create(nb, nl, acc[1], one), acc[1]);
          scf::YieldOp::create(nb, nl, ValueRange{cum, cnt});
        });
    // r = round(r_min + r*/R · (r_max − r_min)), in f64.
    auto f64 = b.getF64Type();
    auto toF = [&](Value i) {
      return arith::UIToFPOp::create(
          b, loc, f64, arith::IndexCastOp::create(b, loc, b.getI64Type(), i));
    };
    auto cstF = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v)); };
    Value rMin = cstF(op.getRMin()), span = cstF(op.getRMax() - op.getRMin());
    Value score = arith::DivFOp::create(b, loc, toF(countLoop.getResult(1)), toF(rDim));
    Value rf = math::RoundOp::create(
        b, loc, arith::AddFOp::create(b, loc, rMin, arith::MulFOp::create(b, loc, score, span)));
    Value r = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                         arith::FPToSIOp::create(b, loc, b.getI64Type(), rf));
    r = arith::MinSIOp::create(
        b, loc,
        arith::MaxSIOp::create(b, loc, r, arith::ConstantIndexOp::create(b, loc, op.getRMin())),
        arith::ConstantIndexOp::create(b, loc, op.getRMax()));
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value tsr = tensor::ExtractSliceOp::create(
        b, loc, ts, {zero, zero}, {tensor::getMixedSize(b, loc, ts, 0), OpFoldResult(r)},
        {one, one});
    Value u = op.getU();
    Value ur = tensor::ExtractSliceOp::create(
        b, loc, u, {zero, zero}, {tensor::getMixedSize(b, loc, u, 0), OpFoldResult(r)},
        {one, one});
    SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                    tensor::getMixedSize(b, loc, u, 0)};
    Value init = accumulatorInit(b, loc, op.getBias(), sizes, elt);
    Value y = matmulTransposedB(b, loc, tsr, ur, init);
    b.replaceOp(op, castTo(b, loc, expandFromMatrix(b, loc, y, op.getInput()), op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lorc.layer_norm
//===----------------------------------------------------------------------===//

struct LayerNormOpLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = op.getType();
    auto elt = cast<FloatType>(type.getElementType());
    int64_t rank = type.getRank();
    Value c = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                         tensor::DimOp::create(b, loc, x, rank - 1));
    Value cf = arith::UIToFPOp::create(b, loc, elt, c);
    auto add = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return addReassoc(nb, nl, a.back(), a[0]);
    };
    Value sum = buildLastDimReduction(b, loc, x, {}, {}, b.getZeroAttr(elt), add);
    Value mean = buildElementwise(b, loc, sum, {sum}, {b.getMultiDimIdentityMap(rank - 1)},
                                  [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                    return arith::DivFOp::create(nb, nl, a[0], cf);
                                  });
    Value sqsum = buildLastDimReduction(
        b, loc, x, {mean}, {dropLastDimMap(b, rank)}, b.getZeroAttr(elt),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
          Value sq = arith::MulFOp::create(nb, nl, d, d);
          return addReassoc(nb, nl, a[2], sq);
        });
    Value eps = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(elt, op.getEpsilon().convertToDouble()));
    // rstd = 1 / sqrt(var + eps), per row.
    Value rstd = buildElementwise(b, loc, sqsum, {sqsum}, {b.getMultiDimIdentityMap(rank - 1)},
                                  [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                    Value var = arith::DivFOp::create(nb, nl, a[0], cf);
                                    Value s = math::SqrtOp::create(
                                        nb, nl, arith::AddFOp::create(nb, nl, var, eps));
                                    Value one = arith::ConstantOp::create(
                                        nb, nl, nb.getFloatAttr(elt, 1.0));
                                    return arith::DivFOp::create(nb, nl, one, s);
                                  });
    Value y = buildElementwise(
        b, loc, x, {x, mean, rstd, op.getGamma(), op.getBeta()},
        {b.getMultiDimIdentityMap(rank), dropLastDimMap(b, rank), dropLastDimMap(b, rank),
         lastDimMap(b, rank), lastDimMap(b, rank)},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
          Value n = arith::MulFOp::create(nb, nl, d, a[2]);
          return arith::AddFOp::create(nb, nl, arith::MulFOp::create(nb, nl, n, a[3]), a[4]);
        });
    b.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lorc.attention
//===----------------------------------------------------------------------===//

struct AttentionOpLowering : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto elt = cast<FloatType>(op.getType().getElementType());
    auto collapseBH = [&](Value v) -> Value {
      return tensor::CollapseShapeOp::create(b, loc, v, {{0, 1}, {2}, {3}});
    };
    Value q = collapseBH(op.getQuery());
    Value k = collapseBH(op.getKey());
    Value v = collapseBH(op.getValue());
    OpFoldResult bh = tensor::getMixedSize(b, loc, q, 0);
    OpFoldResult sq = tensor::getMixedSize(b, loc, q, 1);
    OpFoldResult sk = tensor::getMixedSize(b, loc, k, 1);
    OpFoldResult dv = tensor::getMixedSize(b, loc, v, 2);

    // scores[n, i, j] = Σ_d q[n, i, d] · k[n, j, d]
    Value sInit = zeroFilled(b, loc, {bh, sq, sk}, elt);
    auto qk = linalg::BatchMatmulOp::create(b, loc, TypeRange{sInit.getType()}, ValueRange{q, k},
                                            ValueRange{sInit});
    qk.setIndexingMapsAttr(transposedBMaps(b, /*batched=*/true));

    // Scale and mask on the 4-D scores [B, H, Sq, Sk], so masks are plain indexing maps:
    // s' = scale·s + m. Masked positions get the lowest finite value, as Hugging Face's
    // extended attention mask, so a fully masked row stays finite.
    SmallVector<OpFoldResult> scores4Shape = tensor::getMixedSizes(b, loc, op.getQuery());
    scores4Shape[3] = sk;
    auto scores4Type = RankedTensorType::get(
        {op.getQuery().getType().getDimSize(0), op.getQuery().getType().getDimSize(1),
         op.getQuery().getType().getDimSize(2), op.getKey().getType().getDimSize(2)},
        elt);
    Value scores4 = tensor::ExpandShapeOp::create(
        b, loc, scores4Type, qk.getResult(0), SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}},
        scores4Shape);
    Value scale = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, op.getEffectiveScale()));
    APFloat lowestVal = APFloat::getLargest(elt.getFloatSemantics(), /*Negative=*/true);
    Value lowest = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, lowestVal));
    Value mask = op.getMask();
    bool keyPadding = mask && isa<IntegerType>(getElementTypeOrSelf(mask.getType()));
    bool causal = op.getCausal();
    MLIRContext *ctx = b.getContext();
    SmallVector<Value> ins{scores4};
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(4)};
    if (mask) {
      ins.push_back(mask);
      if (keyPadding) {
        maps.push_back(AffineMap::get(4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(3)}, ctx));
      } else {
        // Additive mask broadcast from size-1 dimensions.
        auto mt = cast<RankedTensorType>(mask.getType());
        SmallVector<AffineExpr> exprs;
        for (int d = 0; d < 4; ++d)
          exprs.push_back(mt.getDimSize(d) == 1 ? b.getAffineConstantExpr(0)
                                                : b.getAffineDimExpr(d));
        maps.push_back(AffineMap::get(4, 0, exprs, ctx));
      }
    }
    Value maskedInit =
        tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, scores4), elt);
    maps.push_back(b.getMultiDimIdentityMap(4));
    Value maskedScores =
        linalg::GenericOp::create(
            b, loc, TypeRange{maskedInit.getType()}, ins, ValueRange{maskedInit}, maps,
            SmallVector<IteratorType>(4, IteratorType::parallel), "", "",
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value s = arith::MulFOp::create(nb, nl, a[0], scale);
              if (keyPadding) {
                Value zero = arith::ConstantOp::create(nb, nl, nb.getZeroAttr(a[1].getType()));
                Value keep = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, a[1], zero);
                s = arith::SelectOp::create(nb, nl, keep, s,
                                            arith::AddFOp::create(nb, nl, s, lowest));
              } else if (mask) {
                s = arith::AddFOp::create(nb, nl, s, a[1]);
              }
              if (causal) {
                Value i = linalg::IndexOp::create(nb, nl, 2);
                Value j = linalg::IndexOp::create(nb, nl, 3);
                Value future = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, j, i);
                s = arith::SelectOp::create(nb, nl, future,
                                            arith::AddFOp::create(nb, nl, s, lowest), s);
              }
              linalg::YieldOp::create(nb, nl, s);
            })
            .getResult(0);

    // Numerically stable softmax over j.
    Value rowMax = buildLastDimReduction(
        b, loc, maskedScores, {}, {}, b.getFloatAttr(elt, lowestVal),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
        });
    Value expd = buildElementwise(b, loc, maskedScores, {maskedScores, rowMax},
                                  {b.getMultiDimIdentityMap(4), dropLastDimMap(b, 4)},
                                  [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                    return math::ExpOp::create(
                                        nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                                  });
    Value rowSum = buildLastDimReduction(b, loc, expd, {}, {}, b.getZeroAttr(elt),
                                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                           return addReassoc(nb, nl, a[1], a[0]);
                                         });
    Value probs4 = buildElementwise(b, loc, expd, {expd, rowSum},
                                    {b.getMultiDimIdentityMap(4), dropLastDimMap(b, 4)},
                                    [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                      return arith::DivFOp::create(nb, nl, a[0], a[1]);
                                    });
    Value probs = tensor::CollapseShapeOp::create(b, loc, probs4, {{0, 1}, {2}, {3}});

    // out[n, i, e] = Σ_j p[n, i, j] · v[n, j, e]
    Value oInit = zeroFilled(b, loc, {bh, sq, dv}, elt);
    Value out = linalg::BatchMatmulOp::create(b, loc, TypeRange{oInit.getType()},
                                              ValueRange{probs, v}, ValueRange{oInit})
                    .getResult(0);
    SmallVector<OpFoldResult> outShape = tensor::getMixedSizes(b, loc, op.getQuery());
    outShape[3] = dv;
    auto qType = op.getQuery().getType();
    auto outType = RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                                          qType.getDimSize(2),
                                          op.getValue().getType().getDimSize(3)},
                                         elt);
    Value expanded = tensor::ExpandShapeOp::create(
        b, loc, outType, out, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}}, outShape);
    b.replaceOp(op, castTo(b, loc, expanded, op.getType()));
    return success();
  }
};

struct ConvertLorcToLinalgPass
    : lorc::impl::ConvertLorcToLinalgPassBase<ConvertLorcToLinalgPass> {
  using ConvertLorcToLinalgPassBase::ConvertLorcToLinalgPassBase;
  void runOnOperation() override {
    if (fp8Cast != "software" && fp8Cast != "nvvm") {
      getOperation()->emitError() << "convert-lorc-to-linalg: fp8-cast=" << fp8Cast
                                  << ": expected software or nvvm";
      return signalPassFailure();
    }
    // FP8 layers as FP8 GEMMs first, while their inputs are still lorc.dequantize ops.
    if (fp8Gemm) {
      RewritePatternSet fp8Patterns(&getContext());
      fp8Patterns.add<LinearOpLowering>(&getContext(), /*fp8GemmOnly=*/true);
      GreedyRewriteConfig config;
      config.enableFolding(false);
      if (failed(applyPatternsGreedily(getOperation(), std::move(fp8Patterns), config)))
        return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateLorcToLinalgConversionPatterns(patterns, fp8Cast == "nvvm");
    // Each pattern replaces its op with upstream ops only, so a walk-and-rewrite suffices;
    // the greedy driver is used for its bookkeeping, with folding off to keep the output literal.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    bool leftover = false;
    getOperation()->walk([&](Operation *op) {
      if (!isa<LorcDialect>(op->getDialect()) || isa<LoraOp, LohaOp, LokrOp>(op))
        return;
      if (leftover)
        return; // one error is enough: the others have the same cause
      if (auto linear = dyn_cast<LinearOp>(op); linear && !linear.getAdapters().empty())
        op->emitOpError("has an adapter without an unmerged side path (Tucker forms, or DoRA on "
                        "LoHa/LoKr); fold it with --lorc-merge-adapters "
                        "(lorc-compile --adapter-mode=merge)");
      else
        op->emitOpError("could not be lowered to linalg");
      leftover = true;
    });
    if (leftover)
      signalPassFailure();
  }
};


//===----------------------------------------------------------------------===//
// lorc.quantize / lorc.dequantize: software FP8 casts
//===----------------------------------------------------------------------===//

/// The parameters of an FP8 format for the casts below.
struct Fp8Format {
  unsigned mantissaBits; // 3 (E4M3FN) or 2 (E5M2)
  int bias;              // 7 or 15
  double maxFinite;      // 448 or 57344
  int64_t maxCode;       // 0x7E or 0x7B
  int64_t nanCode;       // 0x7F: S.1111.111 (E4M3FN), S.11111.11 (E5M2), as PyTorch
  bool hasInf;           // E5M2: exponent 31, mantissa 0
};

Fp8Format fp8Format(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return {3, 7, 448.0, 0x7E, 0x7F, false};
  return {2, 15, 57344.0, 0x7B, 0x7F, true};
}

/// f32 → FP8 code (i32 in [0, 255]), round to nearest even, saturating to ±max, NaN kept:
///   normal range (|x| ≥ 2^(1−bias)): round the f32 bits to `mantissaBits` with the integer RNE
///     trick r = (bits + 2^(s−1) − 1 + ((bits >> s) & 1)) >> s, s = 23 − mantissaBits, then
///     rebias the exponent (a carry into the exponent is exactly the round-up to the next binade);
///   subnormal range: roundeven(|x| · 2^(bias − 1 + mantissaBits)), exact since the scaling is a
///     power of two.
Value encodeFp8(OpBuilder &b, Location loc, Value x, const Fp8Format &f) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto ci = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)); };
  auto cf = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)); };
  Value bits = arith::BitcastOp::create(b, loc, i32, x);
  Value sign = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, bits, ci(24)),
                                     ci(0x80));
  Value absBits = arith::AndIOp::create(b, loc, bits, ci(0x7FFFFFFF));
  Value a = arith::BitcastOp::create(b, loc, f32, absBits);
  unsigned shift = 23 - f.mantissaBits;
  Value lsb = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, absBits, ci(shift)),
                                    ci(1));
  Value rounded = arith::ShRUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, absBits,
                            arith::AddIOp::create(b, loc, ci((1 << (shift - 1)) - 1), lsb)),
      ci(shift));
  Value normal = arith::SubIOp::create(b, loc, rounded,
                                       ci(int64_t(127 - f.bias) << f.mantissaBits));
  Value scaled = arith::MulFOp::create(
      b, loc, a, cf(std::ldexp(1.0, f.bias - 1 + static_cast<int>(f.mantissaBits))));
  Value sub = arith::FPToUIOp::create(b, loc, i32, math::RoundEvenOp::create(b, loc, scaled));
  Value isSub = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a,
                                      cf(std::ldexp(1.0, 1 - f.bias)));
  Value code = arith::SelectOp::create(b, loc, isSub, sub, normal);
  Value sat = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a, cf(f.maxFinite));
  code = arith::SelectOp::create(b, loc, sat, ci(f.maxCode), code);
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  code = arith::SelectOp::create(b, loc, isNan, ci(f.nanCode), code);
  return arith::OrIOp::create(b, loc, code, sign);
}

/// FP8 code (i32 in [0, 255]) → its exact f32 value.
Value decodeFp8(OpBuilder &b, Location loc, Value c, const Fp8Format &f) {
  Type f32 = b.getF32Type();
  auto ci = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)); };
  auto cf = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)); };
  int64_t expMask = (1 << (7 - f.mantissaBits)) - 1, manMask = (1 << f.mantissaBits) - 1;
  Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                         arith::AndIOp::create(b, loc, c, ci(0x80)), ci(0));
  Value sign = arith::ShLIOp::create(b, loc, arith::AndIOp::create(b, loc, c, ci(0x80)), ci(24));
  Value e = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, c, ci(f.mantissaBits)), ci(expMask));
  Value m = arith::AndIOp::create(b, loc, c, ci(manMask));
  Value normalBits = arith::OrIOp::create(
      b, loc, sign,
      arith::OrIOp::create(
          b, loc,
          arith::ShLIOp::create(b, loc, arith::AddIOp::create(b, loc, e, ci(127 - f.bias)),
                                ci(23)),
          arith::ShLIOp::create(b, loc, m, ci(23 - f.mantissaBits))));
  Value normal = arith::BitcastOp::create(b, loc, f32, normalBits);
  Value subAbs = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32, m),
      cf(std::ldexp(1.0, 1 - f.bias - static_cast<int>(f.mantissaBits))));
  Value sub = arith::SelectOp::create(b, loc, negative, arith::NegFOp::create(b, loc, subAbs),
                                      subAbs);
  Value isSub = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, e, ci(0));
  Value v = arith::SelectOp::create(b, loc, isSub, sub, normal);
  Value nan = cf(std::numeric_limits<double>::quiet_NaN());
  if (!f.hasInf) { // E4M3FN: S.1111.111 is NaN, everything else finite
    Value isNan = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        arith::AndIOp::create(b, loc, c, ci(0x7F)), ci(0x7F));
    return arith::SelectOp::create(b, loc, isNan, nan, v);
  }
  // E5M2: exponent 31 is ±inf (mantissa 0) or NaN.
  Value special = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, e, ci(expMask));
  Value inf = arith::BitcastOp::create(b, loc, f32, arith::OrIOp::create(b, loc, sign,
                                                                        ci(0x7F800000)));
  Value isInf = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, m, ci(0));
  Value specialValue = arith::SelectOp::create(b, loc, isInf, inf, nan);
  return arith::SelectOp::create(b, loc, special, specialValue, v);
}

/// The indexing map of a quantisation scale: () for a per-tensor scale, (d_axis) per channel.
AffineMap scaleMap(OpBuilder &b, int64_t rank, std::optional<int64_t> axis) {
  if (!axis)
    return AffineMap::get(rank, 0, {}, b.getContext());
  return AffineMap::get(rank, 0, {b.getAffineDimExpr(*axis)}, b.getContext());
}

/// y[i] = body(x[i], scale[i or i_axis]) into a fresh tensor of `resultType`'s element type:
/// the elementwise generic both FP8 conversions lower to.
Value buildScaled(OpBuilder &b, Location loc, Value x, Value scale, std::optional<int64_t> axis,
                  RankedTensorType resultType,
                  function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  int64_t rank = resultType.getRank();
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       resultType.getElementType());
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank), scaleMap(b, rank, axis),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{x, scale}, ValueRange{init}, maps, iters,
             "", "",
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, args[0], args[1]));
             })
      .getResult(0);
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32() ? v : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
}

/// f32 → FP8 for kernels that `--lorc-convert-fp8-truncf-to-nvvm` will turn into PTX
/// `cvt.rn.satfinite`: clamp to ±max (NaN propagates), then `arith.truncf`, which is Pure (so
/// bufferization and fusion accept it) but does not lower in LLVM 22 by itself.
Value encodeFp8Truncf(OpBuilder &b, Location loc, Value x, Type fp8, const Fp8Format &f) {
  auto cf = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)); };
  Value clamped = arith::MinimumFOp::create(
      b, loc, arith::MaximumFOp::create(b, loc, x, cf(-f.maxFinite)), cf(f.maxFinite));
  return arith::TruncFOp::create(b, loc, fp8, clamped);
}

struct QuantizeOpLowering : OpRewritePattern<QuantizeOp> {
  QuantizeOpLowering(MLIRContext *ctx, bool nvvm) : OpRewritePattern(ctx), nvvm(nvvm) {}
  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &b) const override {
    auto type = op.getResult().getType();
    Fp8Format f = fp8Format(type.getElementType());
    b.replaceOp(op, buildScaled(b, op.getLoc(), op.getInput(), op.getScale(), op.getAxis(), type,
                                [&](OpBuilder &nb, Location nl, Value x, Value s) -> Value {
                                  Value xs = arith::MulFOp::create(nb, nl, toF32(nb, nl, x),
                                                                   toF32(nb, nl, s));
                                  if (nvvm)
                                    return encodeFp8Truncf(nb, nl, xs, type.getElementType(), f);
                                  Value byte = arith::TruncIOp::create(nb, nl, nb.getI8Type(),
                                                                       encodeFp8(nb, nl, xs, f));
                                  return arith::BitcastOp::create(nb, nl, type.getElementType(),
                                                                  byte);
                                }));
    return success();
  }
  bool nvvm;
};

struct DequantizeOpLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op, PatternRewriter &b) const override {
    auto type = op.getResult().getType();
    Fp8Format f = fp8Format(op.getInput().getType().getElementType());
    Value decoded = buildScaled(b, op.getLoc(), op.getInput(), op.getScale(), op.getAxis(), type,
                                [&](OpBuilder &nb, Location nl, Value q, Value s) -> Value {
                                  Value byte = arith::BitcastOp::create(nb, nl, nb.getI8Type(), q);
                                  Value code =
                                      arith::ExtUIOp::create(nb, nl, nb.getI32Type(), byte);
                                  Value v = arith::DivFOp::create(
                                      nb, nl, decodeFp8(nb, nl, code, f), toF32(nb, nl, s));
                                  if (!type.getElementType().isF32())
                                    v = arith::TruncFOp::create(nb, nl, type.getElementType(), v);
                                  return v;
                                });
    // A weight stored FP8 (--lorc-narrow-weights, E4M3FN or E5M2): W[r, c] = value(q[r, c]) /
    // s[r] in f32, tagged so that --lorc-dispatch-blas can hand q and s to the CPU's `_fp8w`
    // GEMMs, which decode once instead of on every run.
    if (type.getRank() == 2 && type.getElementType().isF32() && op.getAxis() == 0 &&
        isa<Float8E4M3FNType, Float8E5M2Type>(op.getInput().getType().getElementType()))
      decoded.getDefiningOp()->setAttr(kFp8RowDecodeAttr, b.getUnitAttr());
    b.replaceOp(op, decoded);
    return success();
  }
};
} // namespace

void lorc::populateLorcToLinalgConversionPatterns(RewritePatternSet &patterns, bool nvvmFp8Cast) {
  patterns.add<ChunkedMatmulOpLowering, LinearOpLowering, LowRankLinearOpLowering, LayerNormOpLowering,
               AttentionOpLowering, DequantizeOpLowering>(patterns.getContext());
  patterns.add<QuantizeOpLowering>(patterns.getContext(), nvvmFp8Cast);
}
