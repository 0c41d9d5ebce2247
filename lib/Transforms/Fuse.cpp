//===- Fuse.cpp - graph-level fusion of lorc ops (--lorc-fuse) ------------===//

#include "lorc/Dialect/Lorc/IR/Activation.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "lorc-fuse"

namespace lorc {
#define GEN_PASS_DEF_LORCFUSEPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// "a.query.w", "a.key.w" → "a.{query,key}.w": the common prefix and suffix (cut at '.'), the
/// differing middles in braces; names without a common part are joined with '+'.
std::string fusedName(ArrayRef<std::string> names) {
  StringRef first = names.front();
  if (llvm::all_of(names, [&](StringRef n) { return n == first; }))
    return first.str(); // inline constants ("weight"); the resource manager makes keys unique
  size_t prefix = first.size(), suffix = first.size();
  for (StringRef n : names.drop_front()) {
    size_t p = 0;
    while (p < std::min(prefix, n.size()) && first[p] == n[p])
      ++p;
    prefix = p;
    size_t s = 0;
    while (s < std::min(suffix, n.size()) && first[first.size() - 1 - s] == n[n.size() - 1 - s])
      ++s;
    suffix = s;
  }
  prefix = first.substr(0, prefix).rfind('.') + 1; // 0 when there is no '.'
  size_t minSize = first.size();
  for (StringRef n : names)
    minSize = std::min(minSize, n.size());
  suffix = std::min(suffix, minSize - prefix);
  size_t dot = first.substr(first.size() - suffix).find('.');
  suffix = dot == StringRef::npos ? 0 : suffix - dot;
  if (prefix == 0 && suffix == 0)
    return llvm::join(names, "+");
  std::string out = first.substr(0, prefix).str() + "{";
  for (auto [i, n] : llvm::enumerate(names))
    out += (i ? "," : "") + StringRef(n).drop_front(prefix).drop_back(suffix).str();
  return out + "}" + first.substr(first.size() - suffix).str();
}

constexpr StringLiteral kAdapterFactor = "lorc.adapter_factor";

struct Candidate {
  LinearOp op;
  F32ConstantData weight;
  std::optional<F32ConstantData> bias;
};

struct LorcFusePass : lorc::impl::LorcFusePassBase<LorcFusePass> {
  using LorcFusePassBase::LorcFusePassBase;

  void runOnOperation() override {
    if (epilogues) {
      SmallVector<LinearOp> linears;
      getOperation()->walk([&](LinearOp op) { linears.push_back(op); });
      for (LinearOp op : linears)
        fuseEpilogue(op);
    }
    if (projections)
      fuseProjections();
    if (layerNorms)
      getOperation()->walk([&](LayerNormOp op) { markRowTiles(op); });
    if (attention)
      getOperation()->walk([&](AttentionOp op) { fuseAttention(op); });
  }

  /// The value of a splat float constant tensor.
  static std::optional<double> splatValue(Value v) {
    DenseElementsAttr attr;
    if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
        !isa<FloatType>(attr.getElementType()))
      return std::nullopt;
    return attr.getSplatValue<APFloat>().convertToDouble();
  }

  /// `binary`'s operand other than a splat constant, and the constant's value.
  template <typename BinaryOp>
  static std::optional<std::pair<Value, double>> withSplat(Value v) {
    auto op = v.getDefiningOp<BinaryOp>();
    if (!op)
      return std::nullopt;
    if (std::optional<double> c = splatValue(op.getRhs()))
      return std::make_pair(op.getLhs(), *c);
    if (std::optional<double> c = splatValue(op.getLhs()))
      return std::make_pair(op.getRhs(), *c);
    return std::nullopt;
  }

  /// The integer [B, Sk] key-padding mask behind an additive float mask [B, 1, 1, Sk] computed
  /// as c·(1 − float(m)) with c ≤ -1e4 (Hugging Face's extended attention mask,
  /// modeling_utils.get_extended_attention_mask, with c = the lowest f32): such a c zeroes the
  /// masked keys' softmax weights as the key-padding form's lowest float does. `chain` gets the
  /// ops computing the float mask from it, last first.
  static Value keyPaddingMask(Value mask, SmallVectorImpl<Operation *> &chain) {
    auto type = dyn_cast_or_null<RankedTensorType>(mask ? mask.getType() : Type());
    if (!type || !isa<FloatType>(type.getElementType()) || type.getRank() != 4 ||
        type.getDimSize(1) != 1 || type.getDimSize(2) != 1)
      return {};
    auto expand = mask.getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || expand.getSrcType().getRank() != 2)
      return {};
    auto scaled = withSplat<arith::MulFOp>(expand.getSrc());
    if (!scaled || scaled->second > -1e4)
      return {};
    auto sub = scaled->first.getDefiningOp<arith::SubFOp>();
    if (!sub || splatValue(sub.getLhs()) != 1.0)
      return {};
    Operation *cast = sub.getRhs().getDefiningOp();
    if (!isa_and_nonnull<arith::SIToFPOp, arith::UIToFPOp>(cast))
      return {};
    // sitofp of an i1 mask gives -1 for true: not 1 − m.
    if (isa<arith::SIToFPOp>(cast) && getElementTypeOrSelf(cast->getOperand(0)).isInteger(1))
      return {};
    chain.assign({expand, expand.getSrc().getDefiningOp(), sub, cast});
    return cast->getOperand(0);
  }

  /// Folds a scalar multiply of the query into `op`'s scale, and an additive key-padding mask
  /// in Hugging Face's form into the integer mask it was computed from.
  void fuseAttention(AttentionOp op) {
    if (auto scaled = withSplat<arith::MulFOp>(op.getQuery());
        scaled && op.getQuery().hasOneUse() && scaled->first.getType() == op.getQuery().getType()) {
      Operation *mul = op.getQuery().getDefiningOp();
      double scale = op.getEffectiveScale() * scaled->second;
      op.getQueryMutable().assign(scaled->first);
      op.setScaleAttr(FloatAttr::get(Float32Type::get(&getContext()), scale));
      mul->erase();
      ++numAttentionScales;
    }
    SmallVector<Operation *> chain;
    if (Value m = keyPaddingMask(op.getMask(), chain)) {
      op.getMaskMutable().assign(m);
      // The float mask may feed other layers' attention too: it goes with the last one.
      for (Operation *dead : chain)
        if (dead->use_empty())
          dead->erase();
      ++numAttentionMasks;
    }
  }

  /// Marks `norm` to run with the linear producing its input, row tile by row tile, when a
  /// tile of whole rows fits the cache (Passes.td has the formula).
  void markRowTiles(LayerNormOp norm) {
    auto linear = norm.getInput().getDefiningOp<LinearOp>();
    if (!linear || !linear.getResult().hasOneUse() || norm.getType().getRank() < 2)
      return;
    int64_t k = linear.getInput().getType().getShape().back();
    int64_t n = linear.getType().getShape().back();
    if (ShapedType::isDynamic(k) || ShapedType::isDynamic(n))
      return;
    int64_t rowBytes = 4 * (k + n + (linear.getResidual() ? n : 0));
    int64_t rows = std::min<int64_t>(cacheBytes / 2 / rowBytes / 16 * 16, 256);
    if (rows < 16) {
      LLVM_DEBUG(llvm::dbgs() << "row of " << rowBytes << " bytes does not fit\n");
      return;
    }
    norm->setAttr("lorc.row_tile", IntegerAttr::get(IntegerType::get(&getContext(), 64), rows));
    ++numLayerNorms;
  }

  /// The single user of `op`'s result, if it has exactly one use.
  static Operation *soleUser(LinearOp op) {
    Value r = op.getResult();
    return r.hasOneUse() ? *r.user_begin() : nullptr;
  }

  /// A copy of `op` at `where` with `activation` and `residual` set, replacing `replaced`.
  LinearOp withEpilogue(LinearOp op, Operation *replaced, StringAttr activation, Value residual) {
    OpBuilder b(replaced);
    auto fused = LinearOp::create(
        b, b.getFusedLoc({op.getLoc(), replaced->getLoc()}), op.getType(), op.getInput(),
        op.getWeight(), op.getBias(), op.getAdapters(), residual, op.getBaseInput(),
        op.getMultipliersAttr(), activation);
    fused->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    replaced->getResult(0).replaceAllUsesWith(fused.getResult());
    replaced->erase();
    op.erase();
    return fused;
  }

  /// Rewrites `tensor.dim` users of `op`'s result (shape queries, e.g. the sizes of the
  /// tensor.empty a GELU writes into) into the same query on its operands: the result is
  /// [input dims..., weight dim 0], so they stop counting as users of the value.
  static void forwardDims(LinearOp op) {
    int64_t rank = op.getType().getRank();
    for (Operation *user : llvm::make_early_inc_range(op.getResult().getUsers())) {
      auto dim = dyn_cast<tensor::DimOp>(user);
      std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
      if (!index || *index < 0 || *index >= rank)
        continue;
      OpBuilder b(dim);
      Value source = *index == rank - 1 ? op.getWeight() : op.getInput();
      Value replacement = tensor::DimOp::create(b, dim.getLoc(), source,
                                                *index == rank - 1 ? 0 : *index);
      dim.replaceAllUsesWith(replacement);
      dim.erase();
    }
  }

  /// GELU, then a residual add, folded into `op` while each is its result's only user.
  void fuseEpilogue(LinearOp op) {
    if (op.getResidual())
      return;
    forwardDims(op);
    if (!op.getActivation())
      if (auto gelu = dyn_cast_or_null<linalg::GenericOp>(soleUser(op)))
        if (std::optional<Activation> act = matchActivation(gelu);
            act && gelu.getDpsInputs()[0] == op.getResult() &&
            gelu.getResult(0).getType() == op.getType()) {
          op = withEpilogue(op, gelu, StringAttr::get(&getContext(), activationName(*act)),
                            Value());
          ++numActivations;
        }
    forwardDims(op);
    auto add = dyn_cast_or_null<arith::AddFOp>(soleUser(op));
    if (!add || add.getType() != op.getType() || add.getLhs() == add.getRhs())
      return;
    Value residual = add.getLhs() == op.getResult() ? add.getRhs() : add.getLhs();
    withEpilogue(op, add, op.getActivationAttr(), residual);
    ++numResiduals;
  }

  void fuseProjections() {
    // Linears by (block, input), in program order.
    llvm::MapVector<std::pair<Block *, Value>, SmallVector<LinearOp>> groups;
    getOperation()->walk([&](LinearOp op) {
      // A weight holding fused LoRA B factors (`--lorc-fuse-lora-gemm`) is described to the
      // runtime column by column; stacking it would move those columns' rows.
      Operation *weight = op.getWeight().getDefiningOp();
      bool fusedLora = weight && weight->hasAttr("lorc.fused_lora");
      if (op.getAdapters().empty() && !fusedLora && !op.getResidual())
        groups[{op->getBlock(), op.getInput()}].push_back(op);
    });
    for (auto &[key, ops] : groups) {
      if (ops.size() < 2)
        continue;
      // Split by (K, bias presence, element type, activation, adapter A factor or not): each
      // class fuses on its own, so adapters' A matrices stack only with each other.
      llvm::MapVector<std::tuple<int64_t, int, Type, StringRef, int>, SmallVector<Candidate>>
          classes;
      for (LinearOp op : ops) {
        std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
        if (!w || w->shape.size() != 2 || !op.getType().getElementType().isF32())
          continue;
        std::optional<F32ConstantData> b;
        if (op.getBias()) {
          b = readF32Constant(op.getBias());
          if (!b)
            continue;
        }
        classes[{w->shape[1], op.getBias() ? 1 : 0, op.getType().getElementType(),
                 op.getActivation().value_or(""), op->hasAttr(kAdapterFactor) ? 1 : 0}]
            .push_back({op, std::move(*w), std::move(b)});
      }
      for (auto &[cls, members] : classes)
        if (members.size() >= 2)
          fuse(members);
    }
  }

  void fuse(MutableArrayRef<Candidate> members) {
    LinearOp first = members.front().op;
    int64_t k = members.front().weight.shape[1], total = 0;
    for (const Candidate &c : members)
      total += c.weight.shape[0];
    std::vector<float> weight, bias;
    weight.reserve(static_cast<size_t>(total * k));
    SmallVector<std::string> names, biasNames;
    for (const Candidate &c : members) {
      weight.insert(weight.end(), c.weight.values.begin(), c.weight.values.end());
      names.push_back(c.weight.name.empty() ? "weight" : c.weight.name);
      if (c.bias) {
        bias.insert(bias.end(), c.bias->values.begin(), c.bias->values.end());
        biasNames.push_back(c.bias->name.empty() ? "bias" : c.bias->name);
      }
    }

    OpBuilder b(first);
    SmallVector<Location> locs;
    for (Candidate &c : members)
      locs.push_back(c.op.getLoc());
    Location loc = b.getFusedLoc(locs);
    auto constant = [&](ArrayRef<int64_t> shape, ArrayRef<float> data, StringRef name) -> Value {
      auto type = RankedTensorType::get(shape, b.getF32Type());
      auto attr = DenseResourceElementsAttr::get(
          type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
      return arith::ConstantOp::create(b, loc, type, attr);
    };
    Value w = constant({total, k}, weight, fusedName(names));
    Value bv = bias.empty() ? Value() : constant({total}, bias, fusedName(biasNames));
    auto xType = first.getInput().getType();
    SmallVector<int64_t> shape(first.getType().getShape());
    shape.back() = total;
    auto fused = LinearOp::create(b, loc, RankedTensorType::get(shape, b.getF32Type()),
                                  first.getInput(), w, bv, ValueRange{}, Value(), Value(),
                                  DenseF64ArrayAttr(), first.getActivationAttr());
    // The parts' weight names, for reports that list layers by their original names.
    fused->setAttr("lorc.fused_from",
                   b.getStrArrayAttr(llvm::to_vector_of<StringRef>(names)));
    // Adapters' A matrices stay swappable: each part's first row in the stacked weight, which
    // lorc-compile writes into the manifest's adapter slots.
    if (first->hasAttr(kAdapterFactor)) {
      SmallVector<int64_t> rows;
      int64_t row = 0;
      for (const Candidate &c : members) {
        rows.push_back(row);
        row += c.weight.shape[0];
      }
      fused->setAttr(kAdapterFactor, b.getUnitAttr());
      fused->setAttr("lorc.fused_rows", b.getDenseI64ArrayAttr(rows));
    }

    // Each old result: a slice of the fused one along the last dimension.
    int64_t rank = xType.getRank(), column = 0;
    for (Candidate &c : members) {
      OpBuilder sb(c.op);
      SmallVector<OpFoldResult> offsets(rank, sb.getIndexAttr(0)), sizes, strides(rank, sb.getIndexAttr(1));
      for (int64_t d = 0; d < rank - 1; ++d)
        sizes.push_back(tensor::getMixedSize(sb, c.op.getLoc(), fused.getResult(), d));
      sizes.push_back(sb.getIndexAttr(c.weight.shape[0]));
      offsets.back() = sb.getIndexAttr(column);
      column += c.weight.shape[0];
      auto slice = tensor::ExtractSliceOp::create(sb, c.op.getLoc(), c.op.getType(),
                                                  fused.getResult(), offsets, sizes, strides);
      Operation *oldWeight = c.op.getWeight().getDefiningOp();
      Operation *oldBias = c.op.getBias() ? c.op.getBias().getDefiningOp() : nullptr;
      c.op.replaceAllUsesWith(slice.getResult());
      c.op.erase();
      for (Operation *old : {oldWeight, oldBias})
        if (old && old->use_empty())
          old->erase();
    }
    ++numGroups;
    numLinears += members.size();
  }
};

} // namespace
