//===- NarrowWeights.cpp - bf16 storage for the weights of bf16 GEMMs -----===//
//
// See `--lorc-narrow-weights` in Passes.td. The weight is rounded once, at compile time, as the
// GEMM would round it at run time (toBf16Bits: nearest even, lib/Support/Fp8.cpp).
//
//===----------------------------------------------------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Support/Fp8.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "lorc-narrow-weights"

namespace lorc {
#define GEN_PASS_DEF_LORCNARROWWEIGHTSPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

struct LorcNarrowWeightsPass : lorc::impl::LorcNarrowWeightsPassBase<LorcNarrowWeightsPass> {
  using LorcNarrowWeightsPassBase::LorcNarrowWeightsPassBase;

  /// Whether `op`'s GEMM reads its weight in bf16.
  bool runsInBf16(LinearOp op) {
    if (precision == "bf16")
      return true;
    auto p = op->getAttrOfType<DictionaryAttr>("lorc.precision");
    auto kind = p ? p.getAs<StringAttr>("precision") : StringAttr();
    return kind && kind.getValue() == "bf16";
  }

  /// Whether `use` is the weight operand of a lorc.linear with a bf16 GEMM. Unmerged adapters
  /// beside it are side paths that read the layer's input, not W, so W may be narrowed; a DoRA
  /// adapter rescales W itself (its column norms are taken in f32), so W stays f32.
  bool isBf16Weight(OpOperand &use) {
    auto op = dyn_cast<LinearOp>(use.getOwner());
    if (!op || &use != &op.getWeightMutable() || !runsInBf16(op))
      return false;
    return llvm::none_of(op.getAdapters(), [](Value a) {
      auto lora = a.getDefiningOp<LoraOp>();
      return lora && lora.getMagnitude();
    });
  }

  void runOnOperation() override {
    if (precision != "f32" && precision != "bf16") {
      getOperation().emitError() << "lorc-narrow-weights: precision=" << precision
                                 << ": expected f32 or bf16";
      return signalPassFailure();
    }
    llvm::StringSet<> keep;
    for (const std::string &name : keepF32)
      keep.insert(name);
    SmallVector<arith::ConstantOp> candidates;
    getOperation().walk([&](arith::ConstantOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getType());
      if (!type || !type.getElementType().isF32() || type.getNumElements() < minElements ||
          op->use_empty() || op->hasAttr("lorc.fused_lora") ||
          !llvm::all_of(op->getUses(), [&](OpOperand &u) { return isBf16Weight(u); }))
        return;
      candidates.push_back(op);
    });
    MLIRContext *ctx = &getContext();
    for (arith::ConstantOp op : candidates) {
      std::optional<F32ConstantData> w = readF32Constant(op.getResult());
      if (!w || keep.contains(w->name))
        continue;
      std::vector<uint16_t> bits(w->values.size());
      for (auto [i, v] : llvm::enumerate(w->values))
        bits[i] = toBf16Bits(v);
      auto type = RankedTensorType::get(w->shape, BFloat16Type::get(ctx));
      // "<weight>.bf16" (one of --lorc-assign-precision's rounded copies keeps its name; MLIR
      // suffixes a key already taken).
      StringRef base = w->name.empty() ? StringRef("weight") : StringRef(w->name);
      std::string key = base.ends_with(".bf16") ? base.str() : (base + ".bf16").str();
      OpBuilder b(op);
      Value narrow = arith::ConstantOp::create(
          b, op.getLoc(), type,
          DenseResourceElementsAttr::get(
              type, key,
              HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint16_t>(bits))));
      Value wide = arith::ExtFOp::create(b, op.getLoc(), op.getType(), narrow);
      op.getResult().replaceAllUsesWith(wide);
      op.erase();
      ++numNarrowed;
    }
  }
};

} // namespace
