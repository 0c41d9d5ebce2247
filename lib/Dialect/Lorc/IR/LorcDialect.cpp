//===- LorcDialect.cpp - lorc dialect registration ------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"

using namespace mlir;
using namespace lorc;

#include "lorc/Dialect/Lorc/IR/LorcOpsDialect.cpp.inc"

void LorcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "lorc/Dialect/Lorc/IR/LorcOps.cpp.inc"
      >();
}
