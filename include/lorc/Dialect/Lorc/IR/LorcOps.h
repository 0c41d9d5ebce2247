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

#define GET_OP_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOps.h.inc"

#endif // LORC_DIALECT_LORC_IR_LORCOPS_H
