//===- Passes.h - lorc conversion passes ------------------------*- C++ -*-===//

#ifndef LORC_CONVERSION_PASSES_H
#define LORC_CONVERSION_PASSES_H

#include "lorc/Conversion/LorcToLinalg/LorcToLinalg.h"

#include "mlir/Pass/Pass.h"

namespace lorc {

#define GEN_PASS_REGISTRATION
#include "lorc/Conversion/Passes.h.inc"

} // namespace lorc

#endif // LORC_CONVERSION_PASSES_H
