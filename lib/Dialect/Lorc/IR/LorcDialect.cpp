//===- LorcDialect.cpp - lorc dialect registration ------------------------===//

#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"

using namespace mlir;
using namespace lorc;

#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"

#include "lorc/Dialect/Lorc/IR/LorcOpsDialect.cpp.inc"
#include "lorc/Dialect/Lorc/IR/LorcInterfaces.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "lorc/Dialect/Lorc/IR/LorcOpsTypes.cpp.inc"

void LorcDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "lorc/Dialect/Lorc/IR/LorcOpsTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lorc/Dialect/Lorc/IR/LorcOps.cpp.inc"
      >();
}
