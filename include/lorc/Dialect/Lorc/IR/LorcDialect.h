//===- LorcDialect.h - lorc dialect declaration -----------------*- C++ -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCDIALECT_H
#define LORC_DIALECT_LORC_IR_LORCDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "lorc/Dialect/Lorc/IR/LorcOpsDialect.h.inc"

#endif // LORC_DIALECT_LORC_IR_LORCDIALECT_H
