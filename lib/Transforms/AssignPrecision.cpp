//===- AssignPrecision.cpp - FP8 for chosen linear layers -----------------===//
//
// For each chosen adapter-free `lorc.linear` with a constant f32 weight:
//   * the weight is quantised per output channel at compile time (scale = fp8_max / row amax /
//     2^margin) and stored dequantised, so the f32 GEMM computes exactly what an FP8 GEMM with
//     f32 accumulation computes (the CPU emulation; lib/Support/Fp8.h casts);
//   * the input goes through lorc.quantize / lorc.dequantize with a per-tensor scale from the
//     calibration amax (Transformer Engine's delayed scaling: scale = fp8_max / amax / 2^margin,
//     amax from the history the driver recorded).
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

namespace lorc {
#define GEN_PASS_DEF_LORCASSIGNPRECISIONPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {
struct LorcAssignPrecisionPass
    : lorc::impl::LorcAssignPrecisionPassBase<LorcAssignPrecisionPass> {
  using LorcAssignPrecisionPassBase::LorcAssignPrecisionPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &msg) {
      module.emitError() << "--lorc-assign-precision: " << msg;
      signalPassFailure();
    };
    Fp8Kind kind;
    Type f8;
    if (precision == "fp8-e4m3") {
      kind = Fp8Kind::E4M3FN;
      f8 = Float8E4M3FNType::get(&getContext());
    } else if (precision == "fp8-e5m2") {
      kind = Fp8Kind::E5M2;
      f8 = Float8E5M2Type::get(&getContext());
    } else {
      return fail("unknown precision '" + precision + "' (expected fp8-e4m3 or fp8-e5m2)");
    }
    if (amaxFile.empty())
      return fail("amax=<file> is required (activation amax per layer, from calibration)");
    auto file = SafetensorsFile::open(amaxFile);
    if (!file)
      return fail("amax: " + llvm::toString(file.takeError()));
    llvm::StringSet<> chosen;
    bool all = false;
    for (const std::string &l : layers) {
      if (l == "all")
        all = true;
      else
        chosen.insert(l);
    }
    double fmax = fp8Max(kind), margin = std::ldexp(1.0, static_cast<int>(marginBits));

    SmallVector<LinearOp> targets;
    module.walk([&](LinearOp op) {
      std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
      if (op.getAdapters().empty() && w && w->shape.size() == 2 && !w->name.empty() &&
          (all || chosen.contains(w->name)))
        targets.push_back(op);
    });
    for (LinearOp op : targets) {
      std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
      const TensorInfo *info = (*file)->find(w->name);
      if (!info || info->dtype != DType::F32 || info->numElements() != 1) {
        op.emitOpError() << "--lorc-assign-precision: " << amaxFile
                         << " has no activation amax (f32 scalar) for '" << w->name << "'";
        return signalPassFailure();
      }
      float amax;
      std::memcpy(&amax, (*file)->data(*info).data(), 4);
      if (!(amax > 0) || !std::isfinite(amax)) {
        op.emitOpError() << "--lorc-assign-precision: activation amax of '" << w->name
                         << "' is " << amax << "; expected a positive finite value";
        return signalPassFailure();
      }
      // Weight: per output channel.
      int64_t n = w->shape[0], k = w->shape[1];
      std::vector<float> q(w->values.begin(), w->values.end());
      for (int64_t r = 0; r < n; ++r) {
        float rowMax = 0;
        for (int64_t c = 0; c < k; ++c)
          rowMax = std::max(rowMax, std::fabs(q[r * k + c]));
        if (rowMax == 0)
          continue;
        float scale = static_cast<float>(fmax / rowMax / margin);
        for (int64_t c = 0; c < k; ++c)
          q[r * k + c] = fp8FakeQuant(q[r * k + c], scale, kind);
      }
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto wType = cast<RankedTensorType>(op.getWeight().getType());
      Value newWeight = arith::ConstantOp::create(
          b, loc, wType,
          DenseResourceElementsAttr::get(wType, w->name + ".fp8",
                                         HeapAsmResourceBlob::allocateAndCopyInferAlign(
                                             ArrayRef<float>(q))));
      // Activation: per tensor, delayed scaling from the calibration amax.
      auto xType = cast<RankedTensorType>(op.getInput().getType());
      auto scalar = RankedTensorType::get({}, xType.getElementType());
      float sx = static_cast<float>(fmax / amax / margin);
      Value scale = arith::ConstantOp::create(b, loc, scalar,
                                              DenseElementsAttr::get(scalar, ArrayRef<float>(sx)));
      auto qType = RankedTensorType::get(xType.getShape(), f8);
      Value xq = QuantizeOp::create(b, loc, qType, op.getInput(), scale, IntegerAttr());
      Value xd = DequantizeOp::create(b, loc, xType, xq, scale, IntegerAttr());
      Operation *oldWeight = op.getWeight().getDefiningOp();
      op.getInputMutable().assign(xd);
      op.getWeightMutable().assign(newWeight);
      op->setAttr("lorc.precision",
                  b.getDictionaryAttr({b.getNamedAttr("layer", b.getStringAttr(w->name)),
                                       b.getNamedAttr("precision", b.getStringAttr(precision)),
                                       b.getNamedAttr("activation_amax", b.getF32FloatAttr(amax)),
                                       b.getNamedAttr("activation_scale", b.getF32FloatAttr(sx))}));
      if (oldWeight && oldWeight->use_empty())
        oldWeight->erase();
      ++numAssigned;
    }
  }
};
} // namespace
