//===- ExternalizeWeights.cpp - move weight constants into a parameter buffer ===//

#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

#define DEBUG_TYPE "lorc-externalize-weights"

namespace lorc {
#define GEN_PASS_DEF_LORCEXTERNALIZEWEIGHTSPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// A weight constant and where its bytes live.
struct WeightSlot {
  std::string name;
  RankedTensorType type;
  ArrayRef<uint8_t> bytes;
  std::vector<uint8_t> owned; // for splats, which have no contiguous storage
  int64_t offsetElements = 0;
};

/// Returns the bytes of `attr` (row-major f32 or bf16), or failure with a diagnostic on `op`.
LogicalResult getWeightBytes(arith::ConstantOp op, ElementsAttr attr, WeightSlot &slot) {
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat()) {
      llvm::APInt bits = dense.getSplatValue<APFloat>().bitcastToAPInt();
      unsigned width = bits.getBitWidth() / 8;
      uint64_t word = bits.getZExtValue();
      slot.owned.resize(width * dense.getNumElements());
      for (size_t i = 0; i < slot.owned.size(); i += width)
        std::memcpy(slot.owned.data() + i, &word, width); // little-endian host
      slot.bytes = slot.owned;
    } else {
      ArrayRef<char> raw = dense.getRawData();
      slot.bytes = ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(raw.data()), raw.size());
    }
    return success();
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return op.emitOpError() << "weight '" << res.getRawHandle().getKey()
                              << "' has no data (its resource blob was elided)";
    ArrayRef<char> raw = blob->getData();
    slot.bytes = ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(raw.data()), raw.size());
    return success();
  }
  return op.emitOpError() << "weight constant of unsupported attribute kind";
}

} // namespace

LogicalResult lorc::externalizeWeights(func::FuncOp entry, int64_t minElements,
                                       SafetensorsWriter &writer) {
  MLIRContext *ctx = entry.getContext();
  if (auto module = entry->getParentOfType<ModuleOp>())
    if (!SymbolTable::symbolKnownUseEmpty(entry, module))
      return entry.emitOpError() << "is called from within the module; its weights cannot become "
                                    "a parameter argument (only an entry point may be externalized)";
  // Collect the constants, storing equal attributes once.
  SmallVector<std::pair<arith::ConstantOp, unsigned>> uses;
  std::vector<WeightSlot> slots;
  DenseMap<Attribute, unsigned> slotOf;
  WalkResult walk = entry.walk([&](arith::ConstantOp op) -> WalkResult {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    auto attr = dyn_cast<ElementsAttr>(op.getValue());
    // Integer tables (position ids, ...) are not weights and stay in the code. A run-time
    // parameter (an FP8 activation scale) is externalized whatever its size, in a slot of its
    // own: the runtime overwrites it, so it must not be shared with an equal constant.
    bool runtime = op->hasAttr(kRuntimeParameterAttr);
    if (!type || !attr || !isa<FloatType>(type.getElementType()) ||
        (!runtime && (type.getRank() == 0 || type.getNumElements() < minElements)))
      return WalkResult::advance();
    if (!type.getElementType().isF32() && !type.getElementType().isBF16())
      return op.emitOpError() << "weight of element type " << type.getElementType()
                              << " cannot be externalized: the parameter buffers hold f32 "
                                 "and bf16 only";
    auto [it, inserted] = runtime ? std::make_pair(slotOf.end(), true)
                                  : slotOf.try_emplace(op.getValue(), slots.size());
    unsigned slotIndex = inserted ? slots.size() : it->second;
    if (inserted) {
      WeightSlot slot;
      slot.type = type;
      if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
        slot.name = res.getRawHandle().getKey().str();
      else
        slot.name = "constant_" + std::to_string(slots.size());
      if (failed(getWeightBytes(op, attr, slot)))
        return WalkResult::interrupt();
      size_t width = type.getElementType().getIntOrFloatBitWidth() / 8;
      if (slot.bytes.size() != width * static_cast<size_t>(type.getNumElements()))
        return op.emitOpError() << "weight '" << slot.name << "' has " << slot.bytes.size()
                                << " bytes, expected " << width * type.getNumElements();
      slots.push_back(std::move(slot));
    }
    uses.push_back({op, slotIndex});
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  // f32 weights first, then bf16 ones (weights narrowed by --lorc-narrow-weights): two
  // buffers, the second the suffix of the data section after the last f32 tensor (4-byte
  // aligned, as every f32 tensor's size is).
  auto isBf16 = [](const WeightSlot &slot) { return slot.type.getElementType().isBF16(); };
  for (bool bf16 : {false, true})
    for (WeightSlot &slot : slots) {
      if (isBf16(slot) != bf16)
        continue;
      DType dtype = bf16 ? DType::BF16 : DType::F32;
      uint64_t begin =
          slot.owned.empty()
              ? writer.addReference(slot.name, dtype, slot.type.getShape(), slot.bytes)
              : writer.addOwned(slot.name, dtype, slot.type.getShape(), slot.owned);
      slot.offsetElements = static_cast<int64_t>(begin); // bytes, made elements below
    }
  bool anyBf16 = llvm::any_of(slots, isBf16);
  uint64_t bf16Begin = writer.dataSize();
  for (WeightSlot &slot : slots)
    if (isBf16(slot))
      bf16Begin = std::min<uint64_t>(bf16Begin, slot.offsetElements);
  for (WeightSlot &slot : slots)
    slot.offsetElements = isBf16(slot) ? (slot.offsetElements - bf16Begin) / 2
                                       : slot.offsetElements / sizeof(float);
  // Every f32 tensor ends before the first bf16 one; the f32 buffer spans up to it.
  int64_t f32Total = static_cast<int64_t>((anyBf16 ? bf16Begin : writer.dataSize()) / sizeof(float));
  int64_t bf16Total = static_cast<int64_t>((writer.dataSize() - bf16Begin) / 2);
  auto paramsType = RankedTensorType::get({f32Total}, Float32Type::get(ctx));
  if (failed(entry.insertArgument(0, paramsType, DictionaryAttr::get(ctx), entry.getLoc())))
    return entry.emitOpError() << "cannot add the parameter argument";
  if (anyBf16 && failed(entry.insertArgument(1, RankedTensorType::get({bf16Total}, BFloat16Type::get(ctx)),
                                             DictionaryAttr::get(ctx), entry.getLoc())))
    return entry.emitOpError() << "cannot add the bf16 parameter argument";

  // Materialise each weight once, at the top of the entry block.
  OpBuilder b = OpBuilder::atBlockBegin(&entry.front());
  SmallVector<Value> views(slots.size());
  SmallVector<Attribute> layout, bf16Layout;
  for (auto [i, slot] : llvm::enumerate(slots)) {
    Location loc = entry.getLoc();
    Value params = entry.getArgument(isBf16(slot) ? 1 : 0);
    int64_t n = slot.type.getNumElements();
    auto flatType = RankedTensorType::get({n}, slot.type.getElementType());
    Value flat = tensor::ExtractSliceOp::create(
        b, loc, flatType, params, ArrayRef<OpFoldResult>{b.getIndexAttr(slot.offsetElements)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    if (slot.type.getRank() == 1) {
      views[i] = flat;
    } else if (slot.type.getRank() == 0) { // tensor<1xT> → tensor<T>
      views[i] = tensor::CollapseShapeOp::create(b, loc, slot.type, flat,
                                                 ArrayRef<ReassociationIndices>{});
    } else {
      ReassociationIndices all;
      for (int64_t d = 0; d < slot.type.getRank(); ++d)
        all.push_back(d);
      views[i] = tensor::ExpandShapeOp::create(b, loc, slot.type, flat, {all});
    }
    (isBf16(slot) ? bf16Layout : layout).push_back(b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(slot.name)),
        b.getNamedAttr("offset", b.getI64IntegerAttr(slot.offsetElements)),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr(slot.type.getShape())),
    }));
  }
  for (auto [op, slot] : uses) {
    op.replaceAllUsesWith(views[slot]);
    op.erase();
  }
  if (anyBf16)
    entry->setAttr("lorc.parameters_bf16", b.getArrayAttr(bf16Layout));
  entry->setAttr("lorc.parameters", b.getArrayAttr(layout));
  return success();
}

namespace {
struct LorcExternalizeWeightsPass
    : lorc::impl::LorcExternalizeWeightsPassBase<LorcExternalizeWeightsPass> {
  using LorcExternalizeWeightsPassBase::LorcExternalizeWeightsPassBase;
  void runOnOperation() override {
    auto entry = getOperation().lookupSymbol<func::FuncOp>(entryFunction);
    if (!entry || entry.isExternal()) {
      getOperation().emitError() << "no function '" << entryFunction << "' with a body";
      return signalPassFailure();
    }
    SafetensorsWriter writer;
    if (failed(externalizeWeights(entry, minElements, writer)))
      return signalPassFailure();
    if (!weightsFile.empty())
      if (llvm::Error err = writer.write(weightsFile)) {
        getOperation().emitError() << llvm::toString(std::move(err));
        return signalPassFailure();
      }
  }
};
} // namespace
