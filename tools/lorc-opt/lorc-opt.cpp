//===- lorc-opt.cpp - mlir-opt with the lorc dialect and passes ------------===//

#include "lorc/Conversion/Passes.h"
#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Pipelines/Pipelines.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  lorc::registerLorcPasses();
  lorc::registerLorcConversionPasses();
  lorc::registerLorcPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR (NVVM, GPU offloading).
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<lorc::LorcDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "lorc optimizer driver\n", registry));
}
