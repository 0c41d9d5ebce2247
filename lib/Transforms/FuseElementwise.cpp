//===- FuseElementwise.cpp - element-wise fusion that keeps matmuls named -===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "lorc-fuse-elementwise"

namespace lorc {
#define GEN_PASS_DEF_LORCFUSEELEMENTWISEPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;

namespace {
struct LorcFuseElementwisePass
    : lorc::impl::LorcFuseElementwisePassBase<LorcFuseElementwisePass> {
  using LorcFuseElementwisePassBase::LorcFuseElementwisePassBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Only a single-use producer is fused: fusing one with other uses duplicates its work into
    // each consumer, and along a residual stream (each layer norm feeds the next residual add)
    // that recomputation compounds from layer to layer.
    // A GEMM's epilogue (tagged `lorc.epilogue` by the lowering of lorc.linear) stays whole:
    // --lorc-dispatch-blas hands it to the GEMM library with its matmul.
    linalg::ControlFusionFn onlyGenerics = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      Operation *consumer = fused->getOwner();
      return isa_and_nonnull<linalg::GenericOp>(producer) && isa<linalg::GenericOp>(consumer) &&
             producer->hasOneUse() && !producer->hasAttr("lorc.epilogue") &&
             !consumer->hasAttr("lorc.epilogue");
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, onlyGenerics);
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
