//===- LorcOps.h - lorc op declarations -------------------------*- C++ -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCOPS_H
#define LORC_DIALECT_LORC_IR_LORCOPS_H

#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

#include <cmath>

#include "lorc/CostModel/CostModel.h"
#include "lorc/Dialect/Lorc/IR/LorcInterfaces.h.inc"

#define GET_TYPEDEF_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOpsTypes.h.inc"

namespace lorc {
/// The work of y = ((x·V)·diag(S))·Uᵀ (+ b) on M rows, K inputs, N outputs at rank r, with
/// elements of `elementBytes` (the formula of LowRankLinearOp::getWork, shared with rank
/// selection, which prices ranks before any op exists).
OpWork lowRankLinearWork(double m, double n, double k, double r, bool bias, double elementBytes);

/// The work of an unmerged LoRA side path m·s·(x·Aᵀ)·Bᵀ at rank r (A [r, K], B [N, r], f32) on
/// M rows: 2·M·r·(K + N) + M·r FLOPs, the factors read once. Shared by `adapterWork` and by rank
/// selection, which prices re-factorised adapters before they exist.
OpWork loraSideWork(double m, double n, double k, double r);

/// The work an adapter op (`lorc.lora`, `lorc.loha`, `lorc.lokr`) adds to the `lorc.linear` it is
/// attached to (M rows, N outputs, K inputs), as lib/Conversion/LorcToLinalg executes it unmerged.
OpWork adapterWork(mlir::Operation *adapter, double m, double n, double k,
                   llvm::function_ref<int64_t(mlir::Value, unsigned)> dimSize);
} // namespace lorc

#define GET_OP_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOps.h.inc"

#endif // LORC_DIALECT_LORC_IR_LORCOPS_H
