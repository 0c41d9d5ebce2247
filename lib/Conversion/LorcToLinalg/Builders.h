//===- Builders.h - linalg-on-tensors builders of the lorc lowerings -*- C++ -*-===//
//
// Internal to lib/Conversion/LorcToLinalg: the helpers convert-lorc-to-linalg's patterns and
// --lorc-tile-attention share. All build ops on ranked tensors at the builder's insertion point.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_LIB_CONVERSION_LORCTOLINALG_BUILDERS_H
#define LORC_LIB_CONVERSION_LORCTOLINALG_BUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace lorc::detail {

/// An all-parallel identity-mapped `linalg.generic` over `inputs` (indexed through
/// `inputMaps`) into a fresh tensor shaped like `like`; `body` gets the input elements.
mlir::Value buildElementwise(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value like, mlir::ValueRange inputs,
    llvm::ArrayRef<mlir::AffineMap> inputMaps,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)> body);

/// Reduces the last dimension of `input` ([..., C] -> [...]) into `init` ([...]) with
/// `combine`(input element, extra input elements..., accumulator).
mlir::Value buildLastDimReduction(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value input, mlir::ValueRange extraInputs,
    llvm::ArrayRef<mlir::AffineMap> extraMaps, mlir::Value init,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>
        combine);

/// The same into a fresh tensor filled with `initValue`.
mlir::Value buildLastDimReduction(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value input, mlir::ValueRange extraInputs,
    llvm::ArrayRef<mlir::AffineMap> extraMaps, mlir::Attribute initValue,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>
        combine);

/// acc + v marked `reassoc`, so LLVM may vectorise a reduction.
mlir::Value addReassoc(mlir::OpBuilder &b, mlir::Location loc, mlir::Value acc, mlir::Value v);

/// (d0, ..., dn-1) -> (d0, ..., dn-2).
mlir::AffineMap dropLastDimMap(mlir::OpBuilder &b, int64_t rank);

/// Indexing maps of C += A·Bᵀ over (m, n, k), with one leading batch dimension if `batched`.
mlir::ArrayAttr transposedBMaps(mlir::OpBuilder &b, bool batched);

/// A fresh tensor of `sizes` filled with zeros of `elt`.
mlir::Value zeroFilled(mlir::OpBuilder &b, mlir::Location loc,
                       llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elt);

/// C += A·Bᵀ on matrices (B stored [N, K], the nn.Linear layout); returns the new C.
mlir::Value matmulTransposedB(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                              mlir::Value bt, mlir::Value acc);

} // namespace lorc::detail

#endif // LORC_LIB_CONVERSION_LORCTOLINALG_BUILDERS_H
