//===- FuseLoraGemm.cpp - LoRA side paths as one GEMM over a concatenated K ===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#define DEBUG_TYPE "lorc-fuse-lora-gemm"

namespace lorc {
#define GEN_PASS_DEF_LORCFUSELORAGEMMPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

struct LorcFuseLoraGemmPass : lorc::impl::LorcFuseLoraGemmPassBase<LorcFuseLoraGemmPass> {
  using LorcFuseLoraGemmPassBase::LorcFuseLoraGemmPassBase;

  void runOnOperation() override {
    SmallVector<LinearOp> layers;
    getOperation()->walk([&](LinearOp op) {
      if (!op.getAdapters().empty())
        layers.push_back(op);
    });
    for (LinearOp op : layers)
      fuse(op);
  }

  void fuse(LinearOp op) {
    SmallVector<LoraOp> loras;
    for (Value a : op.getAdapters()) {
      auto lora = a.getDefiningOp<LoraOp>();
      if (!lora || lora.getMid() || lora.getMagnitude())
        return; // other adapters keep their side paths
      loras.push_back(lora);
    }
    std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
    if (!w)
      return;
    SmallVector<F32ConstantData> ups;
    for (LoraOp l : loras) {
      std::optional<F32ConstantData> u = readF32Constant(l.getUp());
      if (!u)
        return;
      ups.push_back(std::move(*u));
    }
    auto wType = op.getWeight().getType();
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t kcat = k;
    for (LoraOp l : loras)
      kcat += l.getDown().getType().getDimSize(0);

    // Wcat [N, K + Σ r] = [W | m·s·B ...], row-major.
    std::vector<float> wcat(static_cast<size_t>(n * kcat));
    for (int64_t i = 0; i < n; ++i)
      std::copy(w->values.begin() + i * k, w->values.begin() + (i + 1) * k,
                wcat.begin() + i * kcat);
    OpBuilder b(op);
    SmallVector<Attribute> placements;
    int64_t column = k;
    for (auto [idx, l] : llvm::enumerate(loras)) {
      int64_t r = l.getDown().getType().getDimSize(0);
      double scale = op.getMultiplier(idx) * l.getScale().convertToDouble();
      const F32ConstantData &up = ups[idx];
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < r; ++j)
          wcat[i * kcat + column + j] = static_cast<float>(scale) * up.values[i * r + j];
      placements.push_back(b.getDictionaryAttr({
          b.getNamedAttr("up", b.getStringAttr(up.name)),
          b.getNamedAttr("column", b.getI64IntegerAttr(column)),
          b.getNamedAttr("rank", b.getI64IntegerAttr(r)),
          b.getNamedAttr("scale", b.getF64FloatAttr(scale)),
      }));
      column += r;
    }

    Location loc = op.getLoc();
    auto xType = op.getInput().getType();
    // A lower-precision base (--lorc-assign-precision) reads its own input; the A factors read
    // the layer's input, so the adapter path keeps its precision.
    SmallVector<Value> pieces{op.getBaseInput() ? op.getBaseInput() : op.getInput()};
    for (LoraOp l : loras) {
      SmallVector<int64_t> shape(xType.getShape());
      shape.back() = l.getDown().getType().getDimSize(0);
      auto down = LinearOp::create(b, loc, RankedTensorType::get(shape, xType.getElementType()),
                                   op.getInput(), l.getDown(), Value());
      // The A factor stays a tensor of its own, swappable by name (--lorc-fuse leaves it).
      down->setAttr("lorc.adapter_factor", b.getUnitAttr());
      pieces.push_back(down);
    }
    Value xcat = tensor::ConcatOp::create(b, loc, xType.getRank() - 1, pieces);
    auto wcatType = RankedTensorType::get({n, kcat}, wType.getElementType());
    std::string name = (w->name.empty() ? std::string("weight") : w->name) + ".lora_fused";
    auto attr = DenseResourceElementsAttr::get(
        wcatType, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(wcat)));
    auto wcatOp = arith::ConstantOp::create(b, loc, wcatType, attr);
    wcatOp->setAttr("lorc.fused_lora", b.getArrayAttr(placements));
    auto fused = LinearOp::create(b, loc, op.getType(), xcat, wcatOp, op.getBias(), ValueRange{},
                                  op.getResidual(), Value(), DenseF64ArrayAttr(),
                                  op.getActivationAttr());
    // Records such as lorc.precision (the base's precision) stay with the layer.
    fused->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    op.replaceAllUsesWith(fused.getResult());
    Operation *oldWeight = op.getWeight().getDefiningOp();
    op.erase();
    for (LoraOp l : loras) {
      Operation *up = l.getUp().getDefiningOp();
      if (l->use_empty())
        l->erase();
      if (up && up->use_empty())
        up->erase();
    }
    if (oldWeight && oldWeight->use_empty())
      oldWeight->erase();
    ++numFused;
  }
};

} // namespace
