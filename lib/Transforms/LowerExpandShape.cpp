//===- LowerExpandShape.cpp - expand_shape of contiguous buffers as casts -===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "lorc-lower-expand-shape"

namespace lorc {
#define GEN_PASS_DEF_LORCLOWEREXPANDSHAPEPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;

namespace {

struct ExpandShapeToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op, PatternRewriter &b) const override {
    MemRefType src = op.getSrcType();
    if (!src.getLayout().isIdentity())
      return b.notifyMatchFailure(op, "source is not an identity-layout buffer");
    MemRefType dst = op.getResultType();
    if (dst.hasStaticShape())
      return b.notifyMatchFailure(op, "static shapes lower fine upstream");
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    // Row-major strides: stride[i] = Π_{j>i} size[j].
    SmallVector<OpFoldResult> strides(sizes.size());
    SmallVector<int64_t> staticStrides(sizes.size());
    OpFoldResult running = b.getIndexAttr(1);
    int64_t staticRunning = 1;
    for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
      strides[i] = running;
      staticStrides[i] = staticRunning;
      std::optional<int64_t> s = getConstantIntValue(sizes[i]);
      if (staticRunning != ShapedType::kDynamic && s) {
        staticRunning *= *s;
        running = b.getIndexAttr(staticRunning);
      } else {
        staticRunning = ShapedType::kDynamic;
        Value r = getValueOrCreateConstantIndexOp(b, loc, running);
        Value v = getValueOrCreateConstantIndexOp(b, loc, sizes[i]);
        running = arith::MulIOp::create(b, loc, r, v).getResult();
      }
    }
    SmallVector<int64_t> staticSizes(dst.getShape());
    auto castType = MemRefType::get(
        staticSizes, dst.getElementType(),
        StridedLayoutAttr::get(getContext(), /*offset=*/0, staticStrides),
        dst.getMemorySpace());
    Value view = memref::ReinterpretCastOp::create(b, loc, castType, op.getSrc(),
                                                   b.getIndexAttr(0), sizes, strides);
    b.replaceOpWithNewOp<memref::CastOp>(op, dst, view);
    return success();
  }
};

struct LorcLowerExpandShapePass
    : lorc::impl::LorcLowerExpandShapePassBase<LorcLowerExpandShapePass> {
  using LorcLowerExpandShapePassBase::LorcLowerExpandShapePassBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
