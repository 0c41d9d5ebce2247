//===- Vectorize.cpp - the CPU's non-GEMM linalg ops as vector code (--lorc-vectorize) -===//
//
// What is left of the CPU pipeline's linalg ops after --lorc-dispatch-blas (layer norms,
// softmax, the attention's per-tile arithmetic, transposes, fills, casts) is tiled to one row per
// iteration with upstream linalg::tileLinalgOp and each row vectorised with upstream
// linalg::vectorize (vector dialect; masked where the row's extent is dynamic). Passes.td has
// the contract; docs/CpuPipeline.md the measurements behind the choices.
//
//===----------------------------------------------------------------------===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "lorc-vectorize"

namespace lorc {
#define GEN_PASS_DEF_LORCVECTORIZEPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;

namespace {

/// Whether every operand reads or writes loop dimension `dim` only as its innermost index and
/// with unit stride (so a row is one contiguous vector transfer, or a broadcast when the
/// operand does not use `dim`).
bool innermostIsContiguous(linalg::LinalgOp op, unsigned dim) {
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) {
      if (operand.get().getType().isIntOrIndexOrFloat())
        continue; // a scalar (a fill's value)
      return false;
    }
    AffineMap map = op.getMatchingIndexingMap(&operand);
    ArrayRef<AffineExpr> results = map.getResults();
    for (auto [i, expr] : llvm::enumerate(results)) {
      if (!expr.isFunctionOfDim(dim))
        continue;
      auto d = dyn_cast<AffineDimExpr>(expr);
      if (!d || i + 1 != results.size())
        return false; // `dim` in an index expression, or not the innermost index
      SmallVector<int64_t> strides;
      int64_t offset;
      if (failed(type.getStridesAndOffset(strides, offset)) || strides.back() != 1)
        return false;
    }
  }
  return true;
}

/// Whether every floating-point op that combines a value with an output of `op`'s body (the
/// reduction's combiner, `acc + x`) may be reassociated; lorc's lowering marks its reductions'
/// combiners `reassoc`. A row reduction is summed in a tree only then.
bool combinersAllowReassociation(linalg::LinalgOp op) {
  for (BlockArgument acc : op.getRegionOutputArgs())
    for (Operation *user : acc.getUsers())
      if (auto fm = dyn_cast<arith::ArithFastMathInterface>(user))
        if (!arith::bitEnumContainsAll(fm.getFastMathFlagsAttr().getValue(),
                                       arith::FastMathFlags::reassoc))
          return false;
  return true;
}

/// Collects the vector.multi_reduction ops the vectoriser creates.
struct ReductionCollector : RewriterBase::Listener {
  SmallVector<vector::MultiDimReductionOp> created;
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    if (auto r = dyn_cast<vector::MultiDimReductionOp>(op))
      created.push_back(r);
  }
  void notifyOperationErased(Operation *op) override {
    llvm::erase(created, dyn_cast<vector::MultiDimReductionOp>(op));
  }
};

/// Rewrites a reduction of one row (every dimension of the source but the innermost of extent
/// one) as a 1-D `vector.reduction` with `fastmath`. vector.multi_reduction carries no fastmath
/// flags, so upstream lowers it to an in-order reduction, which LLVM emits as a serial chain of
/// scalar adds; with `reassoc` it sums the row's registers in a tree.
void flattenRowReduction(RewriterBase &rewriter, vector::MultiDimReductionOp op,
                         arith::FastMathFlags fastmath) {
  VectorType source = op.getSourceVectorType();
  ArrayRef<int64_t> shape = source.getShape();
  if (op->getParentOfType<vector::MaskOp>() || source.isScalable() ||
      llvm::any_of(shape.drop_back(), [](int64_t e) { return e != 1; }) ||
      !op.isReducedDim(shape.size() - 1))
    return;
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value flat = vector::ShapeCastOp::create(
      rewriter, loc, VectorType::get({shape.back()}, source.getElementType()), op.getSource());
  Value acc = op.getAcc();
  auto accType = dyn_cast<VectorType>(acc.getType());
  if (accType)
    acc = vector::ExtractOp::create(rewriter, loc, acc,
                                    SmallVector<int64_t>(accType.getRank(), 0));
  Value sum = vector::ReductionOp::create(rewriter, loc, op.getKind(), flat, acc, fastmath);
  if (accType)
    sum = vector::BroadcastOp::create(rewriter, loc, accType, sum);
  rewriter.replaceOp(op, sum);
}

struct LorcVectorizePass : lorc::impl::LorcVectorizePassBase<LorcVectorizePass> {
  using LorcVectorizePassBase::LorcVectorizePassBase;

  void runOnOperation() override {
    if (vectorWidth <= 0 || parallelTile < vectorWidth || maxRowElements < vectorWidth) {
      getOperation()->emitError()
          << "--lorc-vectorize: vector-width must be positive and at most parallel-tile and "
             "max-row-elements (got "
          << static_cast<int64_t>(vectorWidth) << ", " << static_cast<int64_t>(parallelTile)
          << " and " << static_cast<int64_t>(maxRowElements) << ")";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && !linalg::isaContractionOpInterface(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates)
      (void)vectorizeRows(rewriter, op);
  }

  /// Tiles `op` to one row per iteration (every loop dimension but the innermost in steps of
  /// one) and vectorises the tile. The innermost dimension is taken whole when it is a
  /// reduction of static extent <= maxRowElements (one vector.multi_reduction per row) or
  /// parallel of static extent <= parallelTile; else, parallel, in steps of parallelTile
  /// (static extents it divides) or vectorWidth (masked). Returns failure, leaving `op`'s
  /// scalar form (a generic possibly interchanged, which computes the same values in the
  /// same order), when it does not fit.
  LogicalResult vectorizeRows(IRRewriter &rewriter, linalg::LinalgOp op) {
    unsigned numLoops = op.getNumLoops();
    if (numLoops == 0)
      return failure();
    unsigned inner = numLoops - 1;
    if (!innermostIsContiguous(op, inner)) {
      // A generic whose contiguous dimension is not its innermost loop (mean pooling sums
      // [B, S, H] over S with H outermost of the two): make that dimension the innermost one,
      // so that the loop over S runs outside (in order, as before) and rows of H are vectors.
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      std::optional<unsigned> contiguous;
      for (unsigned d = 0; d < inner && generic; ++d)
        if (linalg::isParallelIterator(op.getIteratorTypesArray()[d]) &&
            llvm::any_of(op.getIndexingMapsArray(),
                         [&](AffineMap map) { return map.isFunctionOfDim(d); }) &&
            innermostIsContiguous(op, d))
          contiguous = d;
      if (!contiguous)
        return failure();
      SmallVector<unsigned> order;
      for (unsigned d = 0; d < numLoops; ++d)
        if (d != *contiguous)
          order.push_back(d);
      order.push_back(*contiguous);
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> interchanged =
          linalg::interchangeGenericOp(rewriter, generic, order);
      if (failed(interchanged))
        return failure();
      op = cast<linalg::LinalgOp>(interchanged->getOperation());
    }
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    bool innerReduction = linalg::isReductionIterator(op.getIteratorTypesArray()[inner]);
    int64_t extent = ranges[inner];
    bool isStatic = !ShapedType::isDynamic(extent);
    // A reduction in steps would reduce across lanes each step; the scalar loop LLVM
    // vectorises keeps a vector accumulator and is faster. Leave those to LLVM.
    if (innerReduction && !(isStatic && extent <= maxRowElements))
      return failure();
    // Without `reassoc` the row must be summed in order, lane by lane: scalar code either way.
    if (innerReduction && !combinersAllowReassociation(op))
      return failure();
    // A long elementwise row as one vector keeps every intermediate live across all of its
    // registers (LLVM spills them); steps of a few registers do not.
    int64_t step = 0; // whole
    if (!innerReduction && !(isStatic && extent <= parallelTile))
      step = isStatic && extent % parallelTile == 0 ? parallelTile : vectorWidth;
    bool wholeRow = step == 0;

    SmallVector<int64_t> tileSizes(numLoops, 1), vectorSizes(numLoops, 1);
    tileSizes[inner] = step;
    vectorSizes[inner] = wholeRow ? extent : step;
    // Dimensions of static extent 1 need no loop.
    for (unsigned d = 0; d < inner; ++d)
      if (ranges[d] == 1)
        tileSizes[d] = 0;

    rewriter.setInsertionPoint(op);
    FailureOr<linalg::TiledLinalgOp> tiled = linalg::TiledLinalgOp{op, {}, {}};
    if (llvm::any_of(tileSizes, [](int64_t s) { return s != 0; })) {
      linalg::LinalgTilingOptions options;
      options.setTileSizes(tileSizes).setLoopType(linalg::LinalgTilingLoopType::ParallelLoops);
      tiled = linalg::tileLinalgOp(rewriter, op, options);
      if (failed(tiled))
        return failure();
    }
    linalg::LinalgOp tile = tiled->op;
    // Checked on the tile: its static extents are the vector sizes (on `op` a static extent
    // larger than its vector size fails the check).
    if (failed(linalg::vectorizeOpPrecondition(tile, vectorSizes))) {
      if (tile != op)
        rewriter.eraseOp(tiled->loops.front());
      return failure();
    }
    rewriter.setInsertionPoint(tile);
    // Explicitly fixed-width: with no scalable flags the vectoriser builds some vector types
    // with an empty flag list, which differ from (and fail verification against) the same
    // types with one `false` per dimension (LLVM 22).
    SmallVector<bool> scalable(numLoops, false);
    ReductionCollector reductions;
    rewriter.setListener(&reductions);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tile, vectorSizes, scalable);
    rewriter.setListener(nullptr);
    if (failed(vectorized)) {
      // The preconditions held on the tile; a failure here leaves the tiled (scalar) loops,
      // which are still correct.
      if (tile != op)
        rewriter.eraseOp(op);
      return failure();
    }
    rewriter.eraseOp(tile);
    if (tile != op)
      rewriter.eraseOp(op);
    for (vector::MultiDimReductionOp r : reductions.created)
      flattenRowReduction(rewriter, r, arith::FastMathFlags::reassoc);
    // Rows vectorised whole: every loop of the nest runs over rows, so all of it may be
    // split across threads (--lorc-outermost-parallel-loops reads this).
    if (wholeRow)
      for (Operation *loop : tiled->loops)
        if (isa<scf::ParallelOp>(loop))
          loop->setAttr(lorc::kVectorRowsAttr, rewriter.getUnitAttr());
    return success();
  }
};

} // namespace
