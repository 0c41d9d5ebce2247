//===- ApproximateMath.cpp - inline polynomial approximations of libm ops -===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "lorc-approximate-math"

namespace lorc {
#define GEN_PASS_DEF_LORCAPPROXIMATEMATHPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;

namespace {
struct LorcApproximateMathPass
    : lorc::impl::LorcApproximateMathPassBase<LorcApproximateMathPass> {
  using LorcApproximateMathPassBase::LorcApproximateMathPassBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    llvm::StringSet<llvm::MallocAllocator> names;
    for (const std::string &op : ops)
      names.insert(op), names.insert("math." + op);
    // The predicate receives op names; accept "erf" and "math.erf" alike.
    populateMathPolynomialApproximationPatterns(
        patterns, llvm::function_ref<bool(StringRef)>(
                      [&](StringRef name) { return names.contains(name); }));
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
