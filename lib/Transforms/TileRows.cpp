//===- TileRows.cpp - layer norms row-tiled with their linear (--lorc-tile-rows) ===//
//
// Upstream tile-and-fuse (scf::tileConsumerAndFuseProducersUsingSCF) on lorc ops: each
// `lorc.layer_norm` marked `lorc.row_tile` by --lorc-fuse becomes an scf.forall over row tiles
// computing the producing `lorc.linear` and the norm on each tile. Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lorc {
#define GEN_PASS_DEF_LORCTILEROWSPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

constexpr StringLiteral kRowTile = "lorc.row_tile";

struct LorcTileRowsPass : lorc::impl::LorcTileRowsPassBase<LorcTileRowsPass> {
  using LorcTileRowsPassBase::LorcTileRowsPassBase;

  void runOnOperation() override {
    SmallVector<LayerNormOp> norms;
    getOperation()->walk([&](LayerNormOp op) {
      if (op->hasAttr(kRowTile))
        norms.push_back(op);
    });
    bool tiled = false;
    for (LayerNormOp norm : norms) {
      FailureOr<bool> t = tile(norm);
      if (failed(t))
        return signalPassFailure();
      tiled |= *t;
    }
    if (!tiled)
      return;
    // The loops' shapes were read from the untiled linear's result: read them from its
    // operands (ReifyRankedShapedTypeOpInterface), so the untiled linear and the slice the
    // driver took of it die.
    RewritePatternSet patterns(&getContext());
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }

  /// Whether `norm` was tiled with its producer.
  FailureOr<bool> tile(LayerNormOp norm) {
    auto rows = norm->getAttrOfType<IntegerAttr>(kRowTile);
    int64_t rank = norm.getType().getRank();
    if (!rows || rows.getInt() < 1 || rank < 2)
      return norm.emitOpError() << kRowTile << " needs a positive integer and rank >= 2",
             failure();
    norm->removeAttr(kRowTile); // the tiled copy must not be tiled again
    auto producer = norm.getInput().getDefiningOp<LinearOp>();
    if (!producer || !producer.getResult().hasOneUse())
      return false; // nothing to fuse: the norm alone gains nothing from tiling

    IRRewriter rewriter(&getContext());
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(norm);
    SmallVector<OpFoldResult> sizes(rank, rewriter.getIndexAttr(1));
    sizes[rank - 2] = rewriter.getIndexAttr(rows.getInt());
    sizes[rank - 1] = rewriter.getIndexAttr(0); // whole rows
    scf::SCFTileAndFuseOptions options;
    options.tilingOptions.setTileSizes(sizes).setLoopType(
        scf::SCFTilingOptions::LoopType::ForallOp);
    // The linear producing the norm's input, and nothing further up.
    options.setFusionControlFn(
        [&](tensor::ExtractSliceOp, OpResult original,
            bool isDestination) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (isDestination || original.getOwner() != producer.getOperation())
            return std::nullopt;
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        });
    FailureOr<scf::SCFTileAndFuseResult> result = scf::tileConsumerAndFuseProducersUsingSCF(
        rewriter, cast<TilingInterface>(norm.getOperation()), options);
    if (failed(result))
      return norm.emitOpError("could not be tiled over rows with its linear"), failure();
    rewriter.replaceOp(norm, result->replacements.lookup(norm.getResult()));
    ++numTiled;
    return true;
  }
};

} // namespace
