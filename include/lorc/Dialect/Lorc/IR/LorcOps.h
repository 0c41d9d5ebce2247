//===- LorcOps.h - lorc op declarations -------------------------*- C++ -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCOPS_H
#define LORC_DIALECT_LORC_IR_LORCOPS_H

#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

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
} // namespace lorc

#define GET_OP_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOps.h.inc"

#endif // LORC_DIALECT_LORC_IR_LORCOPS_H
