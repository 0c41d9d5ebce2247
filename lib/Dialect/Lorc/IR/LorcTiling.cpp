//===- LorcTiling.cpp - TilingInterface and shape reification of lorc ops ---===//
//
// The TilingInterface implementations that let upstream tiling (scf::tileUsingSCF,
// scf::tileConsumerAndFuseProducersUsingSCF) tile lorc ops and fuse them into each other's
// loops, as linalg's TilingInterfaceImpl.cpp does for structured ops. A tile of a lorc op is
// the same op on slices of its operands; the tiled ops are lowered as the untiled ones are.
//
//===----------------------------------------------------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace lorc;

namespace {

/// The tensor type of a slice of `source` with these sizes (static where constant).
RankedTensorType sliceType(Value source, ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes)
    shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, cast<RankedTensorType>(source.getType()).getElementType());
}

/// `source[offsets : offsets + sizes]` (unit strides), recorded in `generated`.
Value slice(OpBuilder &b, Location loc, Value source, ArrayRef<OpFoldResult> offsets,
            ArrayRef<OpFoldResult> sizes, SmallVectorImpl<Operation *> &generated) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  auto op = tensor::ExtractSliceOp::create(b, loc, sliceType(source, sizes), source, offsets,
                                           sizes, strides);
  generated.push_back(op);
  return op.getResult();
}

/// Whether the tile [offset, offset + size) covers all of dimension `dim` of `v`.
bool coversWholeDim(Value v, int64_t dim, OpFoldResult offset, OpFoldResult size) {
  if (!isConstantIntValue(offset, 0))
    return false;
  int64_t full = cast<RankedTensorType>(v.getType()).getDimSize(dim);
  if (ShapedType::isDynamic(full)) { // the size the tiling driver read from the same value
    auto dimOp = dyn_cast_if_present<Value>(size)
                     ? dyn_cast_if_present<Value>(size).getDefiningOp<tensor::DimOp>()
                     : tensor::DimOp();
    return dimOp && dimOp.getSource() == v && dimOp.getConstantIndex() == dim;
  }
  return getConstantIntValue(size) == full;
}

/// Every dimension of `v`, as sizes.
SmallVector<OpFoldResult> mixedSizes(OpBuilder &b, Location loc, Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

/// Both ops' domains are their result's dimensions: a tile of the domain is the same tile of
/// the result.
LogicalResult sameTile(ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                       SmallVector<OpFoldResult> &resultOffsets,
                       SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
}

SmallVector<Range> domainOf(OpBuilder &b, ArrayRef<OpFoldResult> sizes) {
  SmallVector<Range> domain;
  for (OpFoldResult s : sizes)
    domain.push_back(Range{b.getIndexAttr(0), s, b.getIndexAttr(1)});
  return domain;
}

} // namespace

//===----------------------------------------------------------------------===//
// LinearOp: the domain is the result's dimensions [..., N], all parallel.
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::reifyResultShapes(OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  SmallVector<OpFoldResult> sizes = mixedSizes(b, getLoc(), getInput());
  sizes.back() = tensor::getMixedSize(b, getLoc(), getWeight(), 0);
  shapes.push_back(sizes);
  return success();
}

SmallVector<utils::IteratorType> LinearOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(getType().getRank(), utils::IteratorType::parallel);
}

SmallVector<Range> LinearOp::getIterationDomain(OpBuilder &b) {
  ReifiedRankedShapedTypeDims shapes;
  (void)reifyResultShapes(b, shapes);
  return domainOf(b, shapes.front());
}

FailureOr<TilingResult> LinearOp::getTiledImplementation(OpBuilder &b,
                                                         ArrayRef<OpFoldResult> offsets,
                                                         ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  bool wholeN = coversWholeDim(getWeight(), 0, offsets.back(), sizes.back());
  // An adapter is a whole [N, K] update: it cannot be sliced along N.
  if (!getAdapters().empty() && !wholeN)
    return failure();
  SmallVector<Operation *> generated;
  SmallVector<OpFoldResult> inOffsets(offsets), inSizes(sizes);
  int64_t last = getType().getRank() - 1;
  inOffsets.back() = b.getIndexAttr(0);
  inSizes.back() = tensor::getMixedSize(b, loc, getInput(), last);
  Value input = slice(b, loc, getInput(), inOffsets, inSizes, generated);
  Value baseInput = getBaseInput() ? slice(b, loc, getBaseInput(), inOffsets, inSizes, generated)
                                   : Value();
  Value weight = getWeight(), bias = getBias(), residual = getResidual();
  if (!wholeN) {
    weight = slice(b, loc, weight, {offsets.back(), b.getIndexAttr(0)},
                   {sizes.back(), tensor::getMixedSize(b, loc, weight, 1)}, generated);
    if (bias)
      bias = slice(b, loc, bias, offsets.back(), sizes.back(), generated);
  }
  if (residual)
    residual = slice(b, loc, residual, offsets, sizes, generated);
  auto tiled = LinearOp::create(b, loc, sliceType(getResult(), sizes), input, weight, bias,
                                getAdapters(), residual, baseInput, getMultipliersAttr(),
                                getActivationAttr());
  tiled->setDiscardableAttrs(getOperation()->getDiscardableAttrDictionary());
  return TilingResult{{tiled}, {tiled.getResult()}, generated};
}

LogicalResult LinearOp::getResultTilePosition(OpBuilder &, unsigned,
                                              ArrayRef<OpFoldResult> offsets,
                                              ArrayRef<OpFoldResult> sizes,
                                              SmallVector<OpFoldResult> &resultOffsets,
                                              SmallVector<OpFoldResult> &resultSizes) {
  return sameTile(offsets, sizes, resultOffsets, resultSizes);
}

FailureOr<TilingResult> LinearOp::generateResultTileValue(OpBuilder &b, unsigned,
                                                          ArrayRef<OpFoldResult> offsets,
                                                          ArrayRef<OpFoldResult> sizes) {
  return getTiledImplementation(b, offsets, sizes);
}

//===----------------------------------------------------------------------===//
// LayerNormOp: the domain is the input's dimensions; C is a reduction that a tile keeps whole.
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::reifyResultShapes(OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(mixedSizes(b, getLoc(), getInput()));
  return success();
}

SmallVector<utils::IteratorType> LayerNormOp::getLoopIteratorTypes() {
  SmallVector<utils::IteratorType> types(getType().getRank(), utils::IteratorType::parallel);
  types.back() = utils::IteratorType::reduction;
  return types;
}

SmallVector<Range> LayerNormOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, mixedSizes(b, getLoc(), getInput()));
}

FailureOr<TilingResult> LayerNormOp::getTiledImplementation(OpBuilder &b,
                                                            ArrayRef<OpFoldResult> offsets,
                                                            ArrayRef<OpFoldResult> sizes) {
  int64_t last = getType().getRank() - 1;
  if (!coversWholeDim(getInput(), last, offsets.back(), sizes.back()))
    return failure(); // the statistics need whole rows
  SmallVector<Operation *> generated;
  Value input = slice(b, getLoc(), getInput(), offsets, sizes, generated);
  auto tiled = LayerNormOp::create(b, getLoc(), input.getType(), input, getGamma(), getBeta(),
                                   getEpsilonAttr());
  tiled->setDiscardableAttrs(getOperation()->getDiscardableAttrDictionary());
  return TilingResult{{tiled}, {tiled.getResult()}, generated};
}

LogicalResult LayerNormOp::getResultTilePosition(OpBuilder &, unsigned,
                                                 ArrayRef<OpFoldResult> offsets,
                                                 ArrayRef<OpFoldResult> sizes,
                                                 SmallVector<OpFoldResult> &resultOffsets,
                                                 SmallVector<OpFoldResult> &resultSizes) {
  return sameTile(offsets, sizes, resultOffsets, resultSizes);
}

FailureOr<TilingResult> LayerNormOp::generateResultTileValue(OpBuilder &b, unsigned,
                                                             ArrayRef<OpFoldResult> offsets,
                                                             ArrayRef<OpFoldResult> sizes) {
  return getTiledImplementation(b, offsets, sizes);
}
