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
    * `lorc.quantize` / `lorc.dequantize`: an element-wise `linalg.generic` with lorc's own
      FP8 cast (LLVM 22's `arith.truncf` to FP8 neither lowers nor saturates): with
      `fp8-cast=software` (the default, every target) bit operations implementing round to
      nearest even with saturation to ±448 (E4M3FN) / ±57344 (E5M2), bit-exact with PyTorch;
      with `fp8-cast=nvvm` (the CUDA pipeline, on (chip, PTX) pairs that have it: sm_89 with
      PTX 8.1, sm_90 with 7.8) a clamp to ±max and `arith.truncf`, which
      `--lorc-convert-fp8-truncf-to-nvvm` turns into `nvvm.convert.f32x2.to.f8x2 {rnd = rn,
      sat = satfinite}` (PTX `cvt.rn.satfinite.e4m3x2.f32`) inside the kernels: the same
      rounding and saturation in hardware (a NaN becomes the canonical 0x7F whatever its sign,
      where the software cast keeps the sign).
  }];
  let options = [
    Option<"fp8Cast", "fp8-cast", "std::string", "\"software\"",
           "FP8 encode in lorc.quantize: software (bit operations) or nvvm (clamp + truncf, for cvt.rn.satfinite)">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect", "mlir::scf::SCFDialect"
  ];
}

#endif // LORC_CONVERSION_PASSES_TD
