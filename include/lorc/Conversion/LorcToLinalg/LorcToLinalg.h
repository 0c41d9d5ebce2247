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

/// On the linalg.generic that `--convert-lorc-to-linalg` makes of a `lorc.dequantize {axis = 0}`
/// of an E4M3FN or E5M2 [N, K] tensor to f32: W[r, c] = value(q[r, c]) / s[r] (inputs q, s; one output).
/// `--lorc-dispatch-blas` folds it into the `_fp8w` GEMM entry points that read W.
inline constexpr llvm::StringLiteral kFp8RowDecodeAttr = "lorc.fp8_row_decode";
/// On the linalg.matmul of one chunk of a `lorc.chunked_matmul` (a layer under a memory
/// budget): `--lorc-dispatch-blas` passes its B as not a parameter, so the runtime packs it per
/// call instead of keeping every chunk's packed copy resident.
inline constexpr llvm::StringLiteral kChunkGemmAttr = "lorc.chunk_gemm";

} // namespace lorc

#endif // LORC_CONVERSION_LORCTOLINALG_LORCTOLINALG_H
