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
      are materialised (the fused, key-tiled form is `--lorc-tile-attention`, which the CPU
      pipeline runs first).
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
    * With `fp8-gemm` (the CUDA pipelines), an FP8 layer of `--lorc-assign-precision` (base
      input `lorc.dequantize(x_q, s_x)` per tensor, weight `lorc.dequantize(w_q, s_w) {axis =
      0}`) is lowered before everything else as the GEMM on the codes, a `linalg.matmul` with
      FP8 A and B and an f32 zero-filled accumulator, then one element-wise `linalg.generic`
      Y = P / (s_x · s_w[n]) + bias; `--lorc-dispatch-blas{library=cuda}` hands the matmul to
      cuBLASLt's FP8 GEMM. Not when both are E5M2 (no cuBLASLt kernel), nor unless K is a
      multiple of 16 and N of 4: those keep the f32 emulation.
  }];
  let options = [
    Option<"fp8Cast", "fp8-cast", "std::string", "\"software\"",
           "FP8 encode in lorc.quantize: software (bit operations) or nvvm (clamp + truncf, for cvt.rn.satfinite)">,
    Option<"fp8Gemm", "fp8-gemm", "bool", "false",
           "FP8 layers (per-tensor quantised input, FP8 weight with row scales, not both E5M2, K % 16 == 0, N % 4 == 0) as a linalg.matmul on the FP8 codes with the scales after it (the CUDA pipelines: cuBLASLt FP8 GEMMs)">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect", "mlir::scf::SCFDialect"
  ];
}

def LorcTileAttentionPass : Pass<"lorc-tile-attention"> {
  let summary = "Lower lorc.attention to a fused, key-tiled loop nest with the online softmax";
  let description = [{
    Rewrites each `lorc.attention` on tensors into one fused loop nest (FlashAttention's
    algorithm, Dao et al. 2022, §3.1; on the CPU as in FlashAttention-2's loop order, queries
    outside, keys inside), so the `[B, H, Sq, Sk]` scores are never materialised:

    ```
    scf.forall (b, h, query tile) shared_outs(out)          // B·H·⌈Sq/Tq⌉ independent tiles
      m = lowest, l = 0, acc = 0                           // per query row: running max, sum
      scf.for key tile j0 = 0, Tk, ... iter_args(m, l, acc)
        s    = Q_t·K_jᵀ                                    // linalg.matmul, [tq, tk]
        s    = scale·s (+ mask) (causal: lowest where j > i) // one linalg.generic
        m'   = max(m, rowmax(s));  p = exp(s − m')
        c    = exp(m − m');        l' = c·l + rowsum(p)
        acc' = c·acc + p·V_j                               // linalg.matmul accumulating
      out[b, h, tile] = acc / l
    ```

    The two products become library GEMM calls (`--lorc-dispatch-blas`), one per tile, and the
    element-wise work runs on `[tq, tk]` tiles that stay in cache; the forall is the loop the
    CPU's threads share. Masks are those of `lorc.attention` (key padding `[B, Sk]`, additive
    rank 4 broadcastable from 1, causal), with the same lowest-finite-value convention, so a
    fully masked row still gets uniform weights.

    Layouts: an operand produced by a `linalg.transpose` that keeps the head dimension last
    (BERT's `[B, S, H, D] → [B, H, S, D]` split of heads) is read through the transpose, and
    a result whose only user is such a transpose is written in that user's layout: the heads'
    transposed copies disappear and the tiles are strided views of the projection outputs.

    Tile sizes: `query-tile` / `key-tile`, or when 0, chosen from `cache-bytes` (the per-core
    cache the working set should stay in, default 1 MiB = one Zen 4 L2): Tq = 128 and the
    largest power of two Tk in [16, 1024] with
    4 B · (2·Tq·Tk + Tk·(D + Dv) + Tq·(D + 2·Dv)) ≤ cache-bytes / 2 (the scores and
    probabilities, the K and V tiles, Q and two accumulators; D = 128 when dynamic).

    The CPU pipeline runs it before convert-lorc-to-linalg; the CUDA pipeline keeps the
    unfused lowering (batched cuBLAS GEMMs and generated kernels).
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", "0", "Query rows per tile (0: from cache-bytes)">,
    Option<"keyTile", "key-tile", "int64_t", "0", "Keys per tile (0: from cache-bytes)">,
    Option<"cacheBytes", "cache-bytes", "int64_t", "1048576",
           "Per-core cache the tile working set should fit in, in bytes">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect", "mlir::scf::SCFDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect"
  ];
  let statistics = [
    Statistic<"numTiled", "num-tiled", "Number of attention ops tiled">,
    Statistic<"numTransposesFolded", "num-transposes-folded",
              "Number of operand and result transposes read or written through">
  ];
}

#endif // LORC_CONVERSION_PASSES_TD
