//===- TileAttention.cpp - fused, key-tiled attention (--lorc-tile-attention) ----===//
//
// lorc.attention → scf.forall over (batch, head, query tile) around an scf.for over key tiles
// carrying the online-softmax state (running row max m, row sum l, unnormalised output acc).
// Passes.td has the contract; docs/CpuPipeline.md the measurements.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "lorc/Conversion/LorcToLinalg/LorcToLinalg.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/IR/PatternMatch.h"

namespace lorc {
#define GEN_PASS_DEF_LORCTILEATTENTIONPASS
#include "lorc/Conversion/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;
using namespace lorc::detail;

namespace {

/// A [B, H, S, D] operand as seen through an optional transpose: logical dimension i is
/// dimension perm[i] of `source`.
struct View {
  Value source;
  SmallVector<int64_t, 4> perm{0, 1, 2, 3};
};

/// Whether a transpose of rank 4 keeps the last dimension last, so that a [S, D] tile of the
/// logical tensor is a rank-reduced slice of the transpose's input with unit inner stride.
bool keepsHeadDimLast(ArrayRef<int64_t> perm) { return perm.size() == 4 && perm[3] == 3; }

View viewThroughTranspose(Value v, int64_t &folded) {
  if (auto t = v.getDefiningOp<linalg::TransposeOp>())
    if (keepsHeadDimLast(t.getPermutation())) {
      ++folded;
      return {t.getInput(), SmallVector<int64_t, 4>(t.getPermutation())};
    }
  return {v};
}

/// The [size2, size3] tile at logical (b, h, off2, 0) of `view`, as a rank-2 tensor.
Value extractTile(OpBuilder &b, Location loc, const View &view, OpFoldResult bi, OpFoldResult hi,
                  OpFoldResult off2, OpFoldResult size2, OpFoldResult size3) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> logicalOff{bi, hi, off2, zero}, logicalSize{one, one, size2, size3};
  SmallVector<OpFoldResult> off(4), size(4), strides(4, one);
  for (int i = 0; i < 4; ++i) {
    off[view.perm[i]] = logicalOff[i];
    size[view.perm[i]] = logicalSize[i];
  }
  auto srcType = cast<RankedTensorType>(view.source.getType());
  auto staticSize = [](OpFoldResult f) {
    return getConstantIntValue(f).value_or(ShapedType::kDynamic);
  };
  auto type = RankedTensorType::get({staticSize(size2), staticSize(size3)},
                                    srcType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, view.source, off, size, strides);
}

/// Tq and Tk from the pass options (Passes.td has the formula).
std::pair<int64_t, int64_t> tileSizes(int64_t queryTile, int64_t keyTile, int64_t cacheBytes,
                                      int64_t d, int64_t dv) {
  int64_t tq = queryTile > 0 ? queryTile : 128;
  if (keyTile > 0)
    return {tq, keyTile};
  d = ShapedType::isDynamic(d) ? 128 : d;
  dv = ShapedType::isDynamic(dv) ? 128 : dv;
  int64_t tk = 16;
  for (int64_t t = 16; t <= 1024; t *= 2)
    if (4 * (2 * tq * t + t * (d + dv) + tq * (d + 2 * dv)) <= cacheBytes / 2)
      tk = t;
  return {tq, tk};
}

struct TileAttentionPass : lorc::impl::LorcTileAttentionPassBase<TileAttentionPass> {
  using LorcTileAttentionPassBase::LorcTileAttentionPassBase;

  void runOnOperation() override {
    if (queryTile < 0 || keyTile < 0 || cacheBytes <= 0) {
      getOperation()->emitError() << "lorc-tile-attention: query-tile and key-tile must be >= 0 "
                                     "and cache-bytes > 0";
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      rewrite(op);
  }

  void rewrite(AttentionOp op) {
    IRRewriter b(op);
    Location loc = op.getLoc();
    auto resultType = op.getType();
    auto elt = cast<FloatType>(resultType.getElementType());
    int64_t folded = 0;
    View q = viewThroughTranspose(op.getQuery(), folded);
    View k = viewThroughTranspose(op.getKey(), folded);
    View v = viewThroughTranspose(op.getValue(), folded);

    // The result written in the layout of its only user when that is a head-dim-last transpose.
    linalg::TransposeOp resultTranspose;
    if (op->hasOneUse())
      if (auto t = dyn_cast<linalg::TransposeOp>(*op->user_begin()))
        if (t.getInput() == op.getResult() && keepsHeadDimLast(t.getPermutation()))
          resultTranspose = t;
    SmallVector<int64_t, 4> outPerm{0, 1, 2, 3}; // logical dim i is out dim outPerm[i]
    if (resultTranspose) {
      ++folded;
      for (auto [i, p] : llvm::enumerate(resultTranspose.getPermutation()))
        outPerm[p] = i;
      b.setInsertionPoint(resultTranspose);
    }

    auto dim = [&](const View &view, int i) -> OpFoldResult {
      return tensor::getMixedSize(b, loc, view.source, view.perm[i]);
    };
    OpFoldResult batch = dim(q, 0), heads = dim(q, 1), sq = dim(q, 2), d = dim(q, 3);
    OpFoldResult sk = dim(k, 2), dv = dim(v, 3);
    auto [tq, tk] = tileSizes(queryTile, keyTile, cacheBytes, op.getQuery().getType().getDimSize(3),
                              op.getValue().getType().getDimSize(3));
    auto idx = [&](OpFoldResult f) { return getValueOrCreateConstantIndexOp(b, loc, f); };
    Value tqV = arith::ConstantIndexOp::create(b, loc, tq);
    Value tkV = arith::ConstantIndexOp::create(b, loc, tk);
    Value numQueryTiles = arith::CeilDivSIOp::create(b, loc, idx(sq), tqV);

    SmallVector<OpFoldResult> logicalOutSizes{batch, heads, sq, dv}, outSizes(4);
    for (int i = 0; i < 4; ++i)
      outSizes[outPerm[i]] = logicalOutSizes[i];
    Value outInit = tensor::EmptyOp::create(b, loc, outSizes, elt);
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{batch, heads, OpFoldResult(numQueryTiles)},
        ValueRange{outInit}, std::nullopt);
    SmallVector<Value> ivs = forall.getInductionVars();
    Value bi = ivs[0], hi = ivs[1];
    b.setInsertionPointToStart(forall.getBody());
    Value q0 = arith::MulIOp::create(b, loc, ivs[2], tqV);
    Value tqDyn = arith::MinSIOp::create(b, loc, tqV, arith::SubIOp::create(b, loc, idx(sq), q0));
    Value qTile = extractTile(b, loc, q, bi, hi, q0, tqDyn, d);

    // Online-softmax state.
    APFloat lowestVal = APFloat::getLargest(elt.getFloatSemantics(), /*Negative=*/true);
    Value lowest = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, lowestVal));
    auto filled = [&](ArrayRef<OpFoldResult> sizes, Value value) -> Value {
      Value empty = tensor::EmptyOp::create(b, loc, sizes, elt);
      return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty}).getResult(0);
    };
    Value m0 = filled({OpFoldResult(tqDyn)}, lowest);
    Value l0 = zeroFilled(b, loc, {OpFoldResult(tqDyn)}, elt);
    Value acc0 = zeroFilled(b, loc, {OpFoldResult(tqDyn), dv}, elt);

    Value zeroIdx = arith::ConstantIndexOp::create(b, loc, 0);
    auto keyLoop = scf::ForOp::create(b, loc, zeroIdx, idx(sk), tkV, ValueRange{m0, l0, acc0});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(keyLoop.getBody());
      Value j0 = keyLoop.getInductionVar();
      Value m = keyLoop.getRegionIterArgs()[0], l = keyLoop.getRegionIterArgs()[1],
            acc = keyLoop.getRegionIterArgs()[2];
      Value tkDyn =
          arith::MinSIOp::create(b, loc, tkV, arith::SubIOp::create(b, loc, idx(sk), j0));
      Value kTile = extractTile(b, loc, k, bi, hi, j0, tkDyn, d);
      Value vTile = extractTile(b, loc, v, bi, hi, j0, tkDyn, dv);

      Value scores = matmulTransposedB(b, loc, qTile,  kTile,
                                       zeroFilled(b, loc, {OpFoldResult(tqDyn), tkDyn}, elt));
      Value masked = scaleAndMask(b, loc, op, scores, bi, hi, q0, j0, tqDyn, tkDyn, lowest);

      AffineMap rows = dropLastDimMap(b, 2), id2 = b.getMultiDimIdentityMap(2),
                id1 = b.getMultiDimIdentityMap(1);
      // m' = max(m, rowmax(s)): a reduction into m (bufferization copies it; c needs m).
      Value mNew = buildLastDimReduction(
          b, loc, masked, {}, {}, m, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
          });
      Value p = buildElementwise(b, loc, masked, {masked, mNew}, {id2, rows},
                                 [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                   return math::ExpOp::create(
                                       nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                                 });
      Value corr = buildElementwise(b, loc, m, {m, mNew}, {id1, id1},
                                    [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                      return math::ExpOp::create(
                                          nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                                    });
      auto mul = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nl, a[0], a[1]);
      };
      Value lScaled = buildElementwise(b, loc, l, {l, corr}, {id1, id1}, mul);
      Value lNew = buildLastDimReduction(
          b, loc, p, {}, {}, lScaled, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            return addReassoc(nb, nl, a[1], a[0]);
          });
      Value accScaled = buildElementwise(b, loc, acc, {acc, corr}, {id2, rows}, mul);
      Value accNew = linalg::MatmulOp::create(b, loc, TypeRange{accScaled.getType()},
                                              ValueRange{p, vTile}, ValueRange{accScaled})
                         .getResult(0);
      scf::YieldOp::create(b, loc, ValueRange{mNew, lNew, accNew});
    }
    Value accFinal = keyLoop.getResult(2), lFinal = keyLoop.getResult(1);
    Value outTile = buildElementwise(
        b, loc, accFinal, {accFinal, lFinal}, {b.getMultiDimIdentityMap(2), dropLastDimMap(b, 2)},
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::DivFOp::create(nb, nl, a[0], a[1]);
        });

    // out[b, h, q0 : q0 + tq, :] in the output layout.
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> logicalOff{bi, hi, q0, zero}, logicalSize{one, one, tqDyn, dv};
    SmallVector<OpFoldResult> off(4), size(4), strides(4, one);
    for (int i = 0; i < 4; ++i) {
      off[outPerm[i]] = logicalOff[i];
      size[outPerm[i]] = logicalSize[i];
    }
    tensor::ParallelInsertSliceOp::create(b, loc, outTile, forall.getRegionIterArgs()[0], off,
                                          size, strides);

    b.setInsertionPointAfter(forall);
    if (resultTranspose) {
      Type t = resultTranspose.getResult()[0].getType();
      Value r = forall.getResult(0);
      if (r.getType() != t)
        r = tensor::CastOp::create(b, loc, t, r);
      b.replaceOp(resultTranspose, r);
      b.eraseOp(op);
    } else {
      Value r = forall.getResult(0);
      if (r.getType() != resultType)
        r = tensor::CastOp::create(b, loc, resultType, r);
      b.replaceOp(op, r);
    }
    ++numTiled;
    numTransposesFolded += folded;
  }

  /// scale·s plus the op's mask on the [tq, tk] tile at query rows q0.., keys j0...
  static Value scaleAndMask(OpBuilder &b, Location loc, AttentionOp op, Value scores, Value bi,
                            Value hi, Value q0, Value j0, Value tqDyn, Value tkDyn,
                            Value lowest) {
    auto elt = cast<FloatType>(op.getType().getElementType());
    MLIRContext *ctx = b.getContext();
    Value scale = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, op.getEffectiveScale()));
    SmallVector<Value> ins{scores};
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(2)};
    Value mask = op.getMask();
    bool keyPadding = mask && isa<IntegerType>(getElementTypeOrSelf(mask.getType()));
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    if (keyPadding) {
      // mask[b, j0 : j0 + tk] as a [1, tk] slice.
      ins.push_back(tensor::ExtractSliceOp::create(b, loc, mask, {bi, j0}, {one, tkDyn},
                                                   {one, one}));
      maps.push_back(AffineMap::get(2, 0, {b.getAffineConstantExpr(0), b.getAffineDimExpr(1)},
                                    ctx));
    } else if (mask) {
      // The additive mask's [1, 1, tq|1, tk|1] slice, broadcast where its dimension is 1.
      auto mt = cast<RankedTensorType>(mask.getType());
      Value pos[4] = {bi, hi, q0, j0}, len[4] = {nullptr, nullptr, tqDyn, tkDyn};
      SmallVector<OpFoldResult> off, size;
      SmallVector<AffineExpr> exprs;
      for (int i = 0; i < 4; ++i) {
        bool bcast = mt.getDimSize(i) == 1;
        off.push_back(bcast ? zero : OpFoldResult(pos[i]));
        size.push_back(bcast || i < 2 ? one : OpFoldResult(len[i]));
        exprs.push_back(bcast || i < 2 ? b.getAffineConstantExpr(0)
                                       : b.getAffineDimExpr(i - 2));
      }
      ins.push_back(tensor::ExtractSliceOp::create(b, loc, mask, off, size,
                                                   SmallVector<OpFoldResult>(4, one)));
      maps.push_back(AffineMap::get(2, 0, exprs, ctx));
    }
    bool causal = op.getCausal();
    return buildElementwise(
        b, loc, scores, ins, maps, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value s = arith::MulFOp::create(nb, nl, a[0], scale);
          if (keyPadding) {
            Value z = arith::ConstantOp::create(nb, nl, nb.getZeroAttr(a[1].getType()));
            Value keep = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, a[1], z);
            s = arith::SelectOp::create(nb, nl, keep, s, arith::AddFOp::create(nb, nl, s, lowest));
          } else if (mask) {
            s = arith::AddFOp::create(nb, nl, s, a[1]);
          }
          if (causal) {
            Value i = arith::AddIOp::create(nb, nl, q0, linalg::IndexOp::create(nb, nl, 0));
            Value j = arith::AddIOp::create(nb, nl, j0, linalg::IndexOp::create(nb, nl, 1));
            Value future = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, j, i);
            s = arith::SelectOp::create(nb, nl, future, arith::AddFOp::create(nb, nl, s, lowest),
                                        s);
          }
          return s;
        });
  }
};

} // namespace
