//===- ParallelLoops.cpp - CPU threads for the non-GEMM loops -------------===//
//
// --lorc-outermost-parallel-loops and --lorc-omp-parallel-if (Passes.td has the contracts).
// Together with upstream convert-scf-to-openmp they run the elementwise, softmax and
// normalisation loops of the CPU pipeline on the same threads as oneDNN's GEMMs.
//
//===----------------------------------------------------------------------===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#define DEBUG_TYPE "lorc-parallel-loops"

namespace lorc {
#define GEN_PASS_DEF_LORCOUTERMOSTPARALLELLOOPSPASS
#define GEN_PASS_DEF_LORCOMPPARALLELIFPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// Replaces dimensions [first, rank) of `loop` by a nest of scf.for inside it; all of them
/// (and the scf.parallel itself) when first == 0.
void sequentialize(scf::ParallelOp loop, unsigned first) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  unsigned rank = loop.getNumLoops();
  Block *body = loop.getBody();
  // The new scf.for nest, innermost last; its body receives the old body's operations.
  auto buildNest = [&](OpBuilder &builder, ArrayRef<Value> outerIvs) {
    SmallVector<Value> ivs(outerIvs);
    OpBuilder nb = builder;
    Block *innermost = nullptr;
    for (unsigned d = first; d < rank; ++d) {
      auto f = scf::ForOp::create(nb, loc, loop.getLowerBound()[d], loop.getUpperBound()[d],
                                  loop.getStep()[d]);
      ivs.push_back(f.getInductionVar());
      nb.setInsertionPointToStart(f.getBody());
      innermost = f.getBody();
    }
    // Move the body (without its terminator) in front of the innermost for's yield.
    innermost->getOperations().splice(innermost->getTerminator()->getIterator(),
                                      body->getOperations(), body->begin(),
                                      std::prev(body->end()));
    for (auto [arg, iv] : llvm::zip(body->getArguments(), ivs))
      arg.replaceAllUsesWith(iv);
  };
  if (first == 0) {
    buildNest(b, {});
    loop.erase();
    return;
  }
  auto outer = scf::ParallelOp::create(
      b, loc, loop.getLowerBound().take_front(first), loop.getUpperBound().take_front(first),
      loop.getStep().take_front(first));
  outer->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
  // The builder gave `outer` an empty body with a terminator; fill it.
  OpBuilder ob = OpBuilder::atBlockBegin(outer.getBody());
  SmallVector<Value> outerIvs(outer.getInductionVars());
  buildNest(ob, outerIvs);
  loop.erase();
}

struct LorcOutermostParallelLoopsPass
    : lorc::impl::LorcOutermostParallelLoopsPassBase<LorcOutermostParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> nested, outermost;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (loop.getNumResults() != 0)
        return;
      if (loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
      else
        outermost.push_back(loop);
    });
    // Post-order walk: inner loops come first, so each is rewritten before its parent.
    for (scf::ParallelOp loop : nested)
      sequentialize(loop, 0);
    for (scf::ParallelOp loop : outermost) {
      // Rows vectorised whole by --lorc-vectorize: every dimension is a row index.
      if (loop->hasAttr(kVectorRowsAttr))
        continue;
      if (loop.getNumLoops() >= 2) {
        sequentialize(loop, loop.getNumLoops() - 1);
        continue;
      }
      // Rank 1 with a loop-free body: one element per iteration, over short vectors (biases,
      // pooled rows); serial. Rank 1 over rows with a loop inside (a row reduction) stays.
      bool hasInnerLoop = false;
      loop.getBody()->walk([&](LoopLikeOpInterface) { hasInnerLoop = true; });
      if (!hasInnerLoop)
        sequentialize(loop, 0);
    }
  }
};

/// `value` if defined outside `region`, or a clone before `at` of the constant defining it.
Value hoistBound(Value value, Region &region, OpBuilder &b) {
  if (!region.isAncestor(value.getParentRegion()))
    return value;
  if (auto c = value.getDefiningOp<arith::ConstantOp>())
    return b.clone(*c)->getResult(0);
  return {};
}

struct LorcOmpParallelIfPass : lorc::impl::LorcOmpParallelIfPassBase<LorcOmpParallelIfPass> {
  using LorcOmpParallelIfPassBase::LorcOmpParallelIfPassBase;
  void runOnOperation() override {
    getOperation()->walk([&](omp::ParallelOp par) {
      if (par->getParentOfType<omp::ParallelOp>() || par.getIfExpr())
        return;
      omp::LoopNestOp nest;
      par.walk([&](omp::LoopNestOp n) {
        if (!nest)
          nest = n;
      });
      if (!nest)
        return;
      // Iterations that call a library GEMM (the tiled attention's, the row tiles of
      // --lorc-tile-rows) are worth a fork from two on; a single one runs on the calling
      // thread, outside any parallel region, where the GEMM library uses all the threads.
      bool calls =
          par.walk([](func::CallOp) { return WalkResult::interrupt(); }).wasInterrupted();
      OpBuilder b(par);
      Location loc = par.getLoc();
      Value total;
      for (auto [lb, ub, step] :
           llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(), nest.getLoopSteps())) {
        Value l = hoistBound(lb, par.getRegion(), b), u = hoistBound(ub, par.getRegion(), b),
              s = hoistBound(step, par.getRegion(), b);
        if (!l || !u || !s || !l.getType().isIndex())
          return; // bounds computed inside the region: leave the fork unconditional
        // ceil((u - l) / s), negative extents counting as empty (the product test is >=).
        Value extent = arith::SubIOp::create(b, loc, u, l);
        Value trips = arith::CeilDivSIOp::create(b, loc, extent, s);
        total = total ? arith::MulIOp::create(b, loc, total, trips).getResult() : trips;
      }
      if (!total)
        return;
      Value min = arith::ConstantIndexOp::create(b, loc, calls ? 2 : minIterations);
      Value cond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, total, min);
      par.getIfExprMutable().assign(cond);
    });
  }
};

} // namespace
