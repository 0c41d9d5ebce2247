//===- Passes.td - lorc conversion passes ------------------*- tablegen -*-===//

#ifndef LORC_CONVERSION_PASSES_TD
#define LORC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLorcToLinalgPass : Pass<"convert-lorc-to-linalg"> {
  let summary = "Lower lorc ops to linalg, tensor, arith and math on tensors";
  let description = [{
    One pattern per op (lib/Conversion/LorcToLinalg/LorcToLinalg.cpp):
    * `lorc.linear`: the input is collapsed to `[M, K]`, the bias broadcast into the `[M, N]`
      init, then `linalg.matmul` with indexing maps `(d0, d2), (d1, d2), (d0, d1)` (x·Wᵀ, no
      transposed copy of W) accumulates into it; the result is expanded back to `[..., N]`.
    * `lorc.layer_norm`: two `linalg.generic` reductions (mean, biased variance) and one
      element-wise `linalg.generic`.
    * `lorc.attention`: `[B, H]` are collapsed into one batch dimension;
      `linalg.batch_matmul` with a transposed right-hand side for Q·Kᵀ, a `linalg.generic`
      applying scale, key-padding/additive/causal masks, then a numerically stable softmax
      (row max, exp, sum, divide) and `linalg.batch_matmul` with V. The `[B·H, Sq, Sk]` scores
      are materialised (the fused, key-tiled form is `--lorc-fuse`'s job).
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect", "mlir::scf::SCFDialect"
  ];
}

#endif // LORC_CONVERSION_PASSES_TD
