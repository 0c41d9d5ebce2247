//===- ChunkMatmul.cpp - matmuls under a memory budget --------------------===//
//
// Replaces adapter-free `lorc.linear` layers whose working set exceeds the budget by
// `lorc.chunked_matmul` ops with a chunk shape from lib/CostModel/Chunking.h.
//
//===----------------------------------------------------------------------===//

#include "lorc/CostModel/Chunking.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/Support/FormatVariadic.h"

namespace lorc {
#define GEN_PASS_DEF_LORCCHUNKMATMULPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

std::string formatBytes(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 20))
    return llvm::formatv("{0} bytes ({1:F2} MiB)", bytes, double(bytes) / (1 << 20)).str();
  return llvm::formatv("{0} bytes ({1:F1} KiB)", bytes, double(bytes) / 1024).str();
}

struct LorcChunkMatmulPass : lorc::impl::LorcChunkMatmulPassBase<LorcChunkMatmulPass> {
  using LorcChunkMatmulPassBase::LorcChunkMatmulPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<ChunkStrategy> kind = parseChunkStrategy(strategy);
    if (!kind) {
      module.emitError() << "--lorc-chunk-matmul: strategy '" << strategy
                         << "': expected row, tile or adaptive";
      return signalPassFailure();
    }
    if (static_cast<uint64_t>(memoryBudgetBytes) == 0) {
      module.emitError() << "--lorc-chunk-matmul: memory-budget-bytes must be > 0";
      return signalPassFailure();
    }
    SmallVector<LinearOp> layers;
    module.walk([&](LinearOp op) { layers.push_back(op); });
    for (LinearOp op : layers)
      if (failed(chunk(op, *kind)))
        return signalPassFailure();
  }

  LogicalResult chunk(LinearOp op, ChunkStrategy kind) {
    if (!op.getAdapters().empty()) {
      op.emitRemark() << "not chunked: the layer has unmerged adapters";
      return success();
    }
    if (op.hasEpilogue()) { // lorc-compile chunks before --lorc-fuse, so only hand-written IR
      op.emitRemark() << "not chunked: the layer carries a fused epilogue";
      return success();
    }
    auto x = op.getInput().getType();
    auto w = op.getWeight().getType();
    if (!w.hasStaticShape()) {
      op.emitRemark() << "not chunked: the weight shape is dynamic";
      return success();
    }
    int64_t n = w.getDimSize(0), k = w.getDimSize(1);
    int64_t m = 1;
    for (int64_t d : x.getShape().drop_back())
      m = ShapedType::isDynamic(d) || m < 0 ? -1 : m * d;
    int64_t e = static_cast<int64_t>(x.getElementTypeBitWidth() / 8);
    uint64_t unchunked = m >= 0 ? unchunkedWorkingSet(m, n, k, e) : 0;
    if (m >= 0 && unchunked <= memoryBudgetBytes)
      return success();
    std::string name = linearLayerName(op);
    std::optional<ChunkPlan> plan =
        planChunkedMatmul(m, n, k, e, memoryBudgetBytes, kind);
    if (!plan) {
      uint64_t smallest = smallestChunkBudget(m, n, k, e, kind);
      return op.emitOpError()
             << (name.empty() ? "" : "'" + name + "' ") << "[M=" << (m < 0 ? "?" : std::to_string(m))
             << ", N=" << n << ", K=" << k << "] does not fit memory-budget-bytes="
             << static_cast<uint64_t>(memoryBudgetBytes) << " with strategy " << chunkStrategyName(kind)
             << ": the smallest feasible budget is " << formatBytes(smallest);
    }
    OpBuilder b(op);
    auto chunked = ChunkedMatmulOp::create(
        b, op.getLoc(), op.getType(), op.getInput(), op.getWeight(), op.getBias(),
        /*rhs_transposed=*/true, b.getDenseI64ArrayAttr({plan->tileM, plan->tileN, plan->tileK}),
        chunkStrategyName(plan->strategy));
    // Keep what earlier passes recorded (precision, rank selection) for the report.
    for (NamedAttribute attr : op->getDiscardableAttrs())
      chunked->setAttr(attr.getName(), attr.getValue());
    SmallVector<NamedAttribute> record{
        b.getNamedAttr("working_set", b.getI64IntegerAttr(int64_t(plan->workingSetBytes)))};
    if (!name.empty())
      record.push_back(b.getNamedAttr("layer", b.getStringAttr(name)));
    if (m >= 0) { // with dynamic rows both depend on the run
      record.push_back(b.getNamedAttr("unchunked", b.getI64IntegerAttr(int64_t(unchunked))));
      record.push_back(b.getNamedAttr("num_chunks", b.getI64IntegerAttr(plan->numChunks)));
    }
    chunked->setAttr("lorc.chunk", b.getDictionaryAttr(record));
    op.replaceAllUsesWith(chunked.getResult());
    op.erase();
    ++numChunked;
    return success();
  }
};

} // namespace
