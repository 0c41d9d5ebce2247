//===- AssignPrecision.cpp - FP8 or bf16 for chosen linear layers ---------===//
//
// For each chosen adapter-free `lorc.linear` with a constant f32 weight, its operands are
// replaced by ones through which the f32 GEMM computes the chosen precision's GEMM with f32
// accumulation (the CPU emulation; emulateLinearPrecision below):
//   * FP8: the weight quantised per output channel at compile time (scale = fp8_max / row amax
//     / 2^margin) and held dequantised, its row scales on the constant (kFp8WeightAttr) so that
//     --lorc-narrow-weights can store it as FP8 codes; the input through lorc.quantize / lorc.dequantize with
//     a per-tensor scale from the calibration amax (Transformer Engine's delayed scaling:
//     scale = fp8_max / amax / 2^margin, amax from the history the driver recorded);
//   * bf16: the weight rounded to bf16 and the input through arith.truncf / arith.extf.
//
//===----------------------------------------------------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Support/Fp8.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

namespace lorc {
#define GEN_PASS_DEF_LORCASSIGNPRECISIONPASS
#define GEN_PASS_DEF_LORCEXPANDBF16CASTSPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

llvm::StringRef lorc::layerPrecisionName(LayerPrecision p) {
  switch (p) {
  case LayerPrecision::F32:
    return "f32";
  case LayerPrecision::BF16:
    return "bf16";
  case LayerPrecision::FP8E4M3:
    return "fp8-e4m3";
  case LayerPrecision::FP8E5M2:
    return "fp8-e5m2";
  }
  llvm_unreachable("unknown precision");
}

std::optional<LayerPrecision> lorc::parseLayerPrecision(llvm::StringRef name) {
  for (LayerPrecision p : {LayerPrecision::F32, LayerPrecision::BF16, LayerPrecision::FP8E4M3,
                           LayerPrecision::FP8E5M2})
    if (name == layerPrecisionName(p))
      return p;
  return std::nullopt;
}

Fp8Kind lorc::fp8KindOf(LayerPrecision p) {
  assert((p == LayerPrecision::FP8E4M3 || p == LayerPrecision::FP8E5M2) && "not FP8");
  return p == LayerPrecision::FP8E4M3 ? Fp8Kind::E4M3FN : Fp8Kind::E5M2;
}

std::vector<float> lorc::lowerWeightValues(ArrayRef<float> w, int64_t n, int64_t k,
                                           LayerPrecision p, int64_t marginBits) {
  assert(p != LayerPrecision::F32);
  if (p != LayerPrecision::BF16)
    return fp8FakeQuantRows(w.data(), n, k, fp8KindOf(p), marginBits);
  std::vector<float> q(w.begin(), w.end());
  for (float &v : q)
    v = bf16Round(v);
  return q;
}

EmulatedLinearOperands lorc::emulateLinearPrecision(OpBuilder &b, Location loc, Value input,
                                                    const F32ConstantData &w, LayerPrecision p,
                                                    float activationAmax, int64_t marginBits) {
  assert(p != LayerPrecision::F32 && w.shape.size() == 2);
  MLIRContext *ctx = b.getContext();
  int64_t n = w.shape[0], k = w.shape[1];
  auto xType = cast<RankedTensorType>(input.getType());
  auto wType = RankedTensorType::get(w.shape, Float32Type::get(ctx));
  auto weightConstant = [&](ArrayRef<float> values, StringRef suffix) -> Value {
    return arith::ConstantOp::create(
        b, loc, wType,
        DenseResourceElementsAttr::get(wType, w.name + suffix.str(),
                                       HeapAsmResourceBlob::allocateAndCopyInferAlign(values)));
  };
  EmulatedLinearOperands out;
  if (p == LayerPrecision::BF16) {
    out.weight = weightConstant(lowerWeightValues(w.values, n, k, p, marginBits), ".bf16");
    auto bf16Type = RankedTensorType::get(xType.getShape(), BFloat16Type::get(ctx),
                                          xType.getEncoding());
    Value t = arith::TruncFOp::create(b, loc, bf16Type, input);
    out.input = arith::ExtFOp::create(b, loc, xType, t);
    return out;
  }
  Fp8Kind kind = fp8KindOf(p);
  Type f8 = kind == Fp8Kind::E4M3FN ? Type(Float8E4M3FNType::get(ctx))
                                    : Type(Float8E5M2Type::get(ctx));
  // Weight: per output channel. The constant holds the dequantised values (what the f32 GEMM
  // reads); its row scales ride along as `lorc.fp8_weight`, so that --lorc-narrow-weights can
  // store the weight as its FP8 codes and scales instead (a quarter of the bytes).
  Fp8Rows rows = fp8QuantizeRows(w.values.data(), n, k, kind, marginBits);
  out.weight = weightConstant(fp8DequantizeRows(rows, n, k, kind), ".fp8");
  {
    auto scalesType = RankedTensorType::get({n}, Float32Type::get(ctx));
    out.weight.getDefiningOp()->setAttr(
        kFp8WeightAttr,
        b.getDictionaryAttr(
            {b.getNamedAttr("format", b.getStringAttr(layerPrecisionName(p))),
             b.getNamedAttr("row_scales",
                            DenseElementsAttr::get(scalesType, ArrayRef<float>(rows.scales)))}));
  }
  // Activation: per tensor, delayed scaling from the calibration amax. The scale is a named
  // run-time parameter, `<weight>.input_scale`: --lorc-externalize-weights gives it its own
  // slot in the parameter buffer (never shared with an equal one), which
  // lorc::Artifact::setFp8Scales overwrites between runs (Transformer Engine's scale update).
  // It is stored as tensor<1xf32> (upstream's memref.global lowering cannot read a rank-0
  // dense_resource) and reshaped to the per-tensor scale's tensor<f32>.
  auto scalar = RankedTensorType::get({}, xType.getElementType());
  auto one = RankedTensorType::get({1}, xType.getElementType());
  out.activationScale =
      static_cast<float>(fp8Scale(fp8Max(kind), activationAmax, marginBits));
  auto scaleOp = arith::ConstantOp::create(
      b, loc, one,
      DenseResourceElementsAttr::get(
          one, w.name + ".input_scale",
          HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(out.activationScale))));
  scaleOp->setAttr(kRuntimeParameterAttr, b.getUnitAttr());
  Value scale = tensor::CollapseShapeOp::create(b, loc, scalar, scaleOp,
                                                ArrayRef<ReassociationIndices>{});
  auto qType = RankedTensorType::get(xType.getShape(), f8);
  Value xq = QuantizeOp::create(b, loc, qType, input, scale, IntegerAttr());
  out.input = DequantizeOp::create(b, loc, xType, xq, scale, IntegerAttr());
  return out;
}

std::optional<F32ConstantData> lorc::precisionEligibleWeight(Operation *linear) {
  auto op = dyn_cast<LinearOp>(linear);
  if (!op)
    return std::nullopt;
  for (Value a : op.getAdapters())
    if (auto lora = a.getDefiningOp<LoraOp>(); !a.getDefiningOp() || (lora && lora.getMagnitude()))
      return std::nullopt;
  std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
  if (!w || w->shape.size() != 2 || w->name.empty())
    return std::nullopt;
  return w;
}

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
    auto parse = [](StringRef name) -> std::optional<LayerPrecision> {
      std::optional<LayerPrecision> p = parseLayerPrecision(name);
      return p && *p != LayerPrecision::F32 ? p : std::nullopt;
    };
    std::optional<LayerPrecision> defaultPrecision = parse(precision);
    if (!defaultPrecision)
      return fail("unknown precision '" + precision + "' (expected fp8-e4m3, fp8-e5m2 or bf16)");
    // Chosen layers: name → precision ("all" → every eligible layer at the default).
    llvm::StringMap<LayerPrecision> chosen;
    bool all = false;
    for (StringRef entry : layers) {
      if (entry == "all") {
        all = true;
        continue;
      }
      auto [name, spelled] = entry.rsplit(':');
      std::optional<LayerPrecision> p = defaultPrecision;
      if (!spelled.empty() && !(p = parse(spelled)))
        return fail("layer '" + name + "': unknown precision '" + spelled +
                    "' (expected fp8-e4m3, fp8-e5m2 or bf16)");
      chosen[name] = *p;
    }
    auto precisionOf = [&](StringRef name) -> std::optional<LayerPrecision> {
      auto it = chosen.find(name);
      if (it != chosen.end())
        return it->second;
      return all ? defaultPrecision : std::nullopt;
    };

    SmallVector<std::pair<LinearOp, LayerPrecision>> targets;
    bool needsAmax = false;
    module.walk([&](LinearOp op) {
      std::optional<F32ConstantData> w = precisionEligibleWeight(op);
      if (!w)
        return;
      if (std::optional<LayerPrecision> p = precisionOf(w->name)) {
        targets.push_back({op, *p});
        needsAmax |= *p != LayerPrecision::BF16;
      }
    });
    std::unique_ptr<SafetensorsFile> amax;
    if (needsAmax) {
      if (amaxFile.empty())
        return fail("amax=<file> is required for FP8 layers (activation amax per layer, from "
                    "calibration)");
      auto file = SafetensorsFile::open(amaxFile);
      if (!file)
        return fail("amax: " + llvm::toString(file.takeError()));
      amax = std::move(*file);
    }
    for (auto [op, p] : targets) {
      std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
      float a = 0;
      if (p != LayerPrecision::BF16) {
        const TensorInfo *info = amax->find(w->name);
        if (!info || info->dtype != DType::F32 || info->numElements() != 1) {
          op.emitOpError() << "--lorc-assign-precision: " << amaxFile
                           << " has no activation amax (f32 scalar) for '" << w->name << "'";
          return signalPassFailure();
        }
        std::memcpy(&a, amax->data(*info).data(), 4);
        if (!(a > 0) || !std::isfinite(a)) {
          op.emitOpError() << "--lorc-assign-precision: activation amax of '" << w->name
                           << "' is " << a << "; expected a positive finite value";
          return signalPassFailure();
        }
      }
      OpBuilder b(op);
      Value x = op.getInput();
      EmulatedLinearOperands e = emulateLinearPrecision(b, op.getLoc(), x, *w, p, a, marginBits);
      Operation *oldWeight = op.getWeight().getDefiningOp();
      // With adapters only the base product reads the lowered input (LorcOps.td, base_input).
      if (op.getAdapters().empty())
        op.getInputMutable().assign(e.input);
      else
        op.getBaseInputMutable().assign(e.input);
      op.getWeightMutable().assign(e.weight);
      SmallVector<NamedAttribute> record{
          b.getNamedAttr("layer", b.getStringAttr(w->name)),
          b.getNamedAttr("precision", b.getStringAttr(layerPrecisionName(p)))};
      if (p != LayerPrecision::BF16) {
        record.push_back(b.getNamedAttr("activation_amax", b.getF32FloatAttr(a)));
        record.push_back(b.getNamedAttr("activation_scale", b.getF32FloatAttr(e.activationScale)));
        ++numAssigned;
      } else {
        ++numBf16;
      }
      op->setAttr("lorc.precision", b.getDictionaryAttr(record));
      if (oldWeight && oldWeight->use_empty())
        oldWeight->erase();
      if (recordAmax && p != LayerPrecision::BF16)
        amaxOf[op->getParentOfType<func::FuncOp>()].push_back(
            {w->name, rowAmax(b, op.getLoc(), x)});
    }
    for (auto &[func, layers] : amaxOf)
      if (failed(returnAmax(func, layers)))
        return signalPassFailure();
  }

  /// Functions holding FP8 layers, and (layer name, per-row amax of its input) for each, in
  /// rewrite order.
  llvm::MapVector<func::FuncOp, SmallVector<std::pair<std::string, Value>>> amaxOf;

  /// out[d0] = max(out[d0], |in[map(d0, d1)]|) with d0 parallel and d1 reduced.
  static Value maxAbsOverD1(OpBuilder &b, Location loc, Value in, AffineMap inMap, Value init) {
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineMap> maps{inMap, AffineMap::get(2, 0, getAffineDimExpr(0, ctx))};
    SmallVector<utils::IteratorType> iterators{utils::IteratorType::parallel,
                                               utils::IteratorType::reduction};
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{in}, ValueRange{init}, maps,
               iterators,
               [](OpBuilder &nb, Location nloc, ValueRange args) {
                 Value a = math::AbsFOp::create(nb, nloc, args[0]);
                 linalg::YieldOp::create(
                     nb, nloc, ValueRange{arith::MaximumFOp::create(nb, nloc, args[1], a)});
               })
        .getResult(0);
  }

  /// The first half of max |x| over all of `x`: max |x| of each row (the last dimension
  /// reduced, every other one collapsed into the rows), f32 [R]; rowsAmax finishes it at the
  /// return. Every reduction sits under a parallel loop, so that the CUDA pipeline maps both
  /// halves to the grid (a whole-tensor reduction would have no parallel loop to map) and the
  /// CPU splits the rows across its threads. NaN propagates (arith.maximumf).
  static Value rowAmax(OpBuilder &b, Location loc, Value x) {
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    Value rows = x;
    if (rank == 1) {
      auto rowType = RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
      rows = tensor::ExpandShapeOp::create(b, loc, rowType, x, {{0, 1}});
    } else if (rank > 2) {
      ReassociationIndices outer;
      for (int64_t d = 0; d + 1 < rank; ++d)
        outer.push_back(d);
      rows = tensor::CollapseShapeOp::create(b, loc, x,
                                             {outer, ReassociationIndices{rank - 1}});
    }
    auto rowsType = cast<RankedTensorType>(rows.getType());
    SmallVector<Value> dynamic;
    if (rowsType.isDynamicDim(0))
      dynamic.push_back(tensor::DimOp::create(b, loc, rows, 0));
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{rowsType.getDimSize(0)},
                                          b.getF32Type(), dynamic);
    Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    return maxAbsOverD1(b, loc, rows, AffineMap::getMultiDimIdentityMap(2, b.getContext()),
                        init);
  }

  /// Appends `fp8_amax` (f32 [L]) to `func`'s results and names its layers. Layer i's amax is
  /// the max of its per-row amax (rowAmax), reduced into slice [i] of the result under a
  /// one-iteration parallel loop (destination style, so bufferization writes it in place).
  LogicalResult returnAmax(func::FuncOp func,
                           ArrayRef<std::pair<std::string, Value>> layers) {
    if (!SymbolTable::symbolKnownUseEmpty(func, getOperation()))
      return func.emitOpError() << "--lorc-assign-precision{record-amax}: @" << func.getSymName()
                                << " has callers, so it cannot return fp8_amax";
    if (!func.getBody().hasOneBlock())
      return func.emitOpError() << "--lorc-assign-precision{record-amax}: @" << func.getSymName()
                                << " must have a single block";
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = RankedTensorType::get({static_cast<int64_t>(layers.size())}, b.getF32Type());
    Value amax = tensor::EmptyOp::create(b, loc, type.getShape(), b.getF32Type());
    SmallVector<Attribute> names;
    for (auto [i, layer] : llvm::enumerate(layers)) {
      names.push_back(b.getStringAttr(layer.first));
      SmallVector<OpFoldResult> offset{b.getIndexAttr(i)}, one{b.getIndexAttr(1)};
      Value slot = tensor::ExtractSliceOp::create(b, loc, amax, offset, one, one);
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
      Value init = linalg::FillOp::create(b, loc, zero, slot).getResult(0);
      Value layerAmax = maxAbsOverD1(b, loc, layer.second,
                                     AffineMap::get(2, 0, getAffineDimExpr(1, ctx)), init);
      amax = tensor::InsertSliceOp::create(b, loc, layerAmax, amax, offset, one, one);
    }
    unsigned index = func.getNumResults();
    if (failed(func.insertResult(
            index, type,
            b.getDictionaryAttr({b.getNamedAttr("lorc.name", b.getStringAttr("fp8_amax"))}))))
      return failure();
    ret.getOperandsMutable().append(amax);
    func->setAttr("lorc.fp8_amax_layers", b.getArrayAttr(names));
    return success();
  }
};

struct LorcExpandBf16CastsPass
    : lorc::impl::LorcExpandBf16CastsPassBase<LorcExpandBf16CastsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
