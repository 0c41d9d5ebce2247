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

#include <cmath>
#include <cstring>

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

  /// FP8 layers' weights (`lorc.fp8_weight` on their dequantised f32 constant, E4M3FN or E5M2)
  /// become their codes and row scales read through lorc.dequantize {axis = 0}, where the codes
  /// reproduce every value bit for bit (value(q) / s, as the constant was computed).
  void storeFp8Weights(const llvm::StringSet<> &keep) {
    SmallVector<std::pair<arith::ConstantOp, Fp8Kind>> weights;
    getOperation().walk([&](arith::ConstantOp op) {
      auto info = op->getAttrOfType<DictionaryAttr>(kFp8WeightAttr);
      auto format = info ? info.getAs<StringAttr>("format") : StringAttr();
      std::optional<Fp8Kind> kind;
      if (format && format.getValue() == "fp8-e4m3")
        kind = Fp8Kind::E4M3FN;
      else if (format && format.getValue() == "fp8-e5m2")
        kind = Fp8Kind::E5M2;
      if (kind && !op->use_empty() &&
          llvm::all_of(op->getUses(), [](OpOperand &u) {
            auto linear = dyn_cast<LinearOp>(u.getOwner());
            return linear && &u == &linear.getWeightMutable();
          }))
        weights.push_back({op, *kind});
    });
    MLIRContext *ctx = &getContext();
    for (auto [op, kind] : weights) {
      auto scalesAttr = op->getAttrOfType<DictionaryAttr>(kFp8WeightAttr)
                            .getAs<DenseElementsAttr>("row_scales");
      std::optional<F32ConstantData> w = readF32Constant(op.getResult());
      if (!w || w->shape.size() != 2 || keep.contains(w->name) || !scalesAttr ||
          !scalesAttr.getElementType().isF32() ||
          scalesAttr.getNumElements() != w->shape[0])
        continue;
      int64_t n = w->shape[0], k = w->shape[1];
      std::vector<float> scales(scalesAttr.getValues<float>().begin(),
                                scalesAttr.getValues<float>().end());
      std::vector<uint8_t> codes(w->values.size());
      bool exact = true;
      for (int64_t r = 0; r < n && exact; ++r)
        for (int64_t c = 0; c < k && exact; ++c) {
          float v = w->values[r * k + c];
          uint8_t q = fp8Encode(v * scales[r], kind);
          float back = fp8Decode(q, kind) / scales[r];
          exact = std::memcmp(&back, &v, sizeof(float)) == 0 || (std::isnan(back) && std::isnan(v));
          codes[r * k + c] = q;
        }
      if (!exact) {
        ++numFp8Kept;
        continue;
      }
      // "<weight>.e4m3" and "<weight>.e4m3_scale" ("e5m2" for E5M2; the f32 constant was
      // "<weight>.fp8").
      StringRef base = w->name.empty() ? StringRef("weight") : StringRef(w->name);
      base.consume_back(".fp8");
      StringRef suffix = kind == Fp8Kind::E4M3FN ? ".e4m3" : ".e5m2";
      OpBuilder b(op);
      Location loc = op.getLoc();
      Type f8 = kind == Fp8Kind::E4M3FN ? Type(Float8E4M3FNType::get(ctx))
                                        : Type(Float8E5M2Type::get(ctx));
      auto codesType = RankedTensorType::get(w->shape, f8);
      auto scalesType = RankedTensorType::get({n}, Float32Type::get(ctx));
      Value q = arith::ConstantOp::create(
          b, loc, codesType,
          DenseResourceElementsAttr::get(
              codesType, (base + suffix).str(),
              HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint8_t>(codes))));
      Value s = arith::ConstantOp::create(
          b, loc, scalesType,
          DenseResourceElementsAttr::get(
              scalesType, (base + suffix + "_scale").str(),
              HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(scales))));
      Value wide = DequantizeOp::create(b, loc, op.getType(), q, s, b.getI64IntegerAttr(0));
      op.getResult().replaceAllUsesWith(wide);
      op.erase();
      ++numFp8;
    }
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
    if (fp8)
      storeFp8Weights(keep);
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
