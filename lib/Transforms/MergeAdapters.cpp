//===- MergeAdapters.cpp - fold adapters into base weights ----------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Support/Adapters.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#define DEBUG_TYPE "lorc-merge-adapters"

namespace lorc {
#define GEN_PASS_DEF_LORCMERGEADAPTERSPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {
struct LorcMergeAdaptersPass : lorc::impl::LorcMergeAdaptersPassBase<LorcMergeAdaptersPass> {
  using LorcMergeAdaptersPassBase::LorcMergeAdaptersPassBase;
  void runOnOperation() override {
    SmallVector<LinearOp> layers;
    getOperation()->walk([&](LinearOp op) {
      if (!op.getAdapters().empty())
        layers.push_back(op);
    });
    for (LinearOp op : layers)
      if (failed(merge(op)))
        return signalPassFailure();
  }

  LogicalResult merge(LinearOp op) {
    if (op.getBaseInput()) {
      // Merging would run the adapters in the base's precision.
      op.emitRemark("the base runs in a lower precision than the adapters; left unmerged");
      return success();
    }
    std::optional<AdapterTensor> w = constantAdapterTensor(op.getWeight());
    if (!w) {
      op.emitRemark("weight is not an f32 constant; adapters left unmerged");
      return success();
    }
    SmallVector<int64_t> shape(w->shape.begin(), w->shape.end());
    std::vector<float> merged = std::move(w->data);
    const ModuleAdapter *dora = nullptr;
    double doraMultiplier = 1.0;
    std::vector<ModuleAdapter> adapters;
    for (auto [i, a] : llvm::enumerate(op.getAdapters())) {
      std::optional<ModuleAdapter> m = a.getDefiningOp() ? describeAdapterOp(a.getDefiningOp())
                                                         : std::nullopt;
      if (!m) {
        op.emitRemark() << "adapter #" << i << " has non-constant factors; left unmerged";
        return success();
      }
      adapters.push_back(std::move(*m));
    }
    for (auto [i, a] : llvm::enumerate(adapters)) {
      llvm::Expected<std::vector<float>> delta = computeDeltaWeight(a, shape);
      if (!delta)
        return op.emitOpError() << "adapter #" << i << ": " << llvm::toString(delta.takeError());
      float m = static_cast<float>(op.getMultiplier(i));
      for (size_t k = 0; k < merged.size(); ++k)
        merged[k] += m * (*delta)[k];
      if (a.factors.count("magnitude") || a.factors.count("dora_scale")) {
        dora = &a;
        doraMultiplier = op.getMultiplier(i);
      }
    }
    if (dora)
      if (llvm::Error e = applyDora(*dora, shape, doraMultiplier, merged))
        return op.emitOpError() << "DoRA: " << llvm::toString(std::move(e));

    OpBuilder b(op);
    auto type = cast<RankedTensorType>(op.getWeight().getType());
    // The merged weight keeps the storage kind of the original: a resource blob (named after it)
    // for real weights, an inline dense attribute for small ones written in the IR.
    TypedAttr attr = DenseElementsAttr::get(type, ArrayRef<float>(merged));
    if (auto cst = op.getWeight().getDefiningOp<arith::ConstantOp>())
      if (auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue()))
        attr = DenseResourceElementsAttr::get(
            type, res.getRawHandle().getKey(),
            HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(merged)));
    Value newWeight = arith::ConstantOp::create(b, op.getLoc(), type, attr);
    auto plain = LinearOp::create(b, op.getLoc(), op.getType(), op.getInput(), newWeight,
                                  op.getBias(), ValueRange{}, op.getResidual(), Value(),
                                  DenseF64ArrayAttr(), op.getActivationAttr());
    SmallVector<Operation *> defs;
    for (Value a : op.getAdapters())
      if (Operation *d = a.getDefiningOp())
        defs.push_back(d);
    numMerged += op.getAdapters().size();
    op.replaceAllUsesWith(plain.getResult());
    op.erase();
    for (Operation *d : defs)
      if (d->use_empty())
        d->erase();
    return success();
  }
};
} // namespace
