//===- LorcToLinalg.h - lorc to linalg conversion ---------------*- C++ -*-===//

#ifndef LORC_CONVERSION_LORCTOLINALG_LORCTOLINALG_H
#define LORC_CONVERSION_LORCTOLINALG_LORCTOLINALG_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace lorc {

#define GEN_PASS_DECL_CONVERTLORCTOLINALGPASS
#define GEN_PASS_DECL_LORCTILEATTENTIONPASS
#include "lorc/Conversion/Passes.h.inc"

/// Adds the patterns lowering lorc ops to linalg, tensor, arith and math on tensors. With
/// `nvvmFp8Cast`, lorc.quantize encodes with a clamp and `arith.truncf` for
/// `--lorc-convert-fp8-truncf-to-nvvm` (CUDA kernels only).
void populateLorcToLinalgConversionPatterns(mlir::RewritePatternSet &patterns,
                                            bool nvvmFp8Cast = false);

} // namespace lorc

#endif // LORC_CONVERSION_LORCTOLINALG_LORCTOLINALG_H
