//===- ExternalizeWeights.cpp - move weight constants into a parameter buffer ===//

#include "lorc/Transforms/Passes.h"
#include "lorc/Support/ParameterBuffers.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>
#include <iterator>

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

/// Returns the bytes of `attr` (row-major f32, bf16, f8E4M3FN or f8E5M2), or failure with a diagnostic on `op`.
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
  // The parameter buffers' element types, in lorc::ParameterBuffer order.
  constexpr unsigned kBuffers = kNumParameterBuffers;
  const Type elements[kBuffers] = {Float32Type::get(ctx), BFloat16Type::get(ctx),
                                   Float8E4M3FNType::get(ctx), Float8E5M2Type::get(ctx)};
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
    if (!llvm::is_contained(elements, type.getElementType()))
      return op.emitOpError() << "weight of element type " << type.getElementType()
                              << " cannot be externalized: the parameter buffers hold f32, "
                                 "bf16, f8E4M3FN and f8E5M2 only";
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

  // Up to four buffers, each a stretch of the data section: f32 weights from its start, then
  // bf16 ones (weights narrowed by --lorc-narrow-weights), then FP8 E4M3FN codes and FP8 E5M2
  // codes (weights of FP8 layers). Each buffer spans up to the next one's first tensor (the
  // writer aligns tensors to 64 bytes, so every stretch is a whole number of elements).
  // (lorc::ParameterBuffer order, the table the runtime reads them with; a slot goes to the
  // buffer of its element type.)
  constexpr unsigned kF32 = static_cast<unsigned>(ParameterBuffer::F32);
  auto bufferOf = [&](const WeightSlot &slot) -> unsigned {
    return static_cast<unsigned>(llvm::find(elements, slot.type.getElementType()) - elements);
  };
  uint64_t begins[kBuffers] = {0, 0, 0, 0};
  bool present[kBuffers] = {true, false, false, false};
  for (unsigned buffer = 0; buffer < kBuffers; ++buffer)
    for (WeightSlot &slot : slots) {
      if (bufferOf(slot) != buffer)
        continue;
      DType dtype = kParameterBufferTensorDTypes[buffer];
      uint64_t begin =
          slot.owned.empty()
              ? writer.addReference(slot.name, dtype, slot.type.getShape(), slot.bytes)
              : writer.addOwned(slot.name, dtype, slot.type.getShape(), slot.owned);
      if (buffer != kF32 && !present[buffer])
        begins[buffer] = begin;
      present[buffer] = true;
      slot.offsetElements = static_cast<int64_t>(begin); // bytes, made elements below
    }
  int64_t totals[kBuffers] = {0, 0, 0, 0};
  for (unsigned buffer = 0; buffer < kBuffers; ++buffer) {
    uint64_t end = writer.dataSize();
    for (unsigned next = buffer + 1; next < kBuffers; ++next)
      if (present[next]) {
        end = begins[next];
        break;
      }
    totals[buffer] =
        static_cast<int64_t>((end - begins[buffer]) / kParameterBufferWidths[buffer]);
  }
  for (WeightSlot &slot : slots) {
    unsigned buffer = bufferOf(slot);
    slot.offsetElements =
        static_cast<int64_t>((static_cast<uint64_t>(slot.offsetElements) - begins[buffer]) /
                             kParameterBufferWidths[buffer]);
  }
  // The arguments: f32 first, then each other buffer that is present, in buffer order.
  unsigned argOf[kBuffers];
  for (unsigned buffer = 0, arg = 0; buffer < kBuffers; ++buffer)
    argOf[buffer] = present[buffer] ? arg++ : ~0u;
  for (unsigned buffer = 0; buffer < kBuffers; ++buffer)
    if (present[buffer] &&
        failed(entry.insertArgument(argOf[buffer],
                                    RankedTensorType::get({totals[buffer]}, elements[buffer]),
                                    DictionaryAttr::get(ctx), entry.getLoc())))
      return entry.emitOpError() << "cannot add parameter argument " << argOf[buffer];

  // Materialise each weight once, at the top of the entry block.
  OpBuilder b = OpBuilder::atBlockBegin(&entry.front());
  SmallVector<Value> views(slots.size());
  SmallVector<Attribute> layouts[kBuffers];
  for (auto [i, slot] : llvm::enumerate(slots)) {
    Location loc = entry.getLoc();
    Value params = entry.getArgument(argOf[bufferOf(slot)]);
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
    layouts[bufferOf(slot)].push_back(b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(slot.name)),
        b.getNamedAttr("offset", b.getI64IntegerAttr(slot.offsetElements)),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr(slot.type.getShape())),
    }));
  }
  for (auto [op, slot] : uses) {
    op.replaceAllUsesWith(views[slot]);
    op.erase();
  }
  static_assert(std::size(kParameterLayoutAttrs) == kBuffers, "one layout attribute per buffer");
  for (unsigned buffer = 0; buffer < kBuffers; ++buffer)
    if (present[buffer])
      entry->setAttr(kParameterLayoutAttrs[buffer], b.getArrayAttr(layouts[buffer]));
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
