//===- LorcOps.td - lorc op definitions --------------------*- tablegen -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCOPS_TD
#define LORC_DIALECT_LORC_IR_LORCOPS_TD

include "lorc/Dialect/Lorc/IR/LorcDialect.td"
include "lorc/Dialect/Lorc/IR/LorcInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

/// Ranked tensors of floating-point elements: the activations and weights lorc ops compute on.
def Lorc_FloatTensor : RankedTensorOf<[AnyFloat]>;

/// A float attribute whose value is positive and finite (epsilons, scales).
def Lorc_FloatPositive : AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() > 0.0 && "
          "::std::isfinite(::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble())">,
    "whose value is positive and finite">;

//===----------------------------------------------------------------------===//
// Adapters
//===----------------------------------------------------------------------===//

def Lorc_AdapterType : Lorc_Type<"Adapter", "adapter"> {
  let summary = "a weight update ΔW of a given shape, kept in factored form";
  let description = [{
    The value of a LoRA-family adapter op: ΔW of shape `[out, in]` (Linear) or
    `[out, in, kh, kw]` (Conv2d), not materialised. Consumed by `lorc.linear`'s `adapters`, which
    either folds it into the weight (`--lorc-merge-adapters`) or applies it as a side path.

    Example: `!lorc.adapter<384, 384>`.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape);
  let assemblyFormat = "`<` $shape `>`";
}

/// Base class of the adapter ops: factors in, `!lorc.adapter` out; `scale` is the adapter's own
/// scale (alpha/r, alpha/√r for rsLoRA, 1 for LoKr with two full factors); the user's multiplier
/// lives on the consuming `lorc.linear`. An optional `magnitude` makes it DoRA: PEFT's rule
/// (tuners/lora/dora.py: W' = m ⊙ (W + mult·ΔW)/‖·‖, no eps) unless `dora_lycoris` is set, which
/// selects LyCORIS' apply_weight_decompose (modules/locon.py: + f32 eps in the norm, the
/// multiplier applied to the rescaling, m·(f − 1) + 1, rather than to ΔW).
class Lorc_AdapterOp<string mnemonic, list<Trait> traits = []>
    : Lorc_Op<mnemonic, !listconcat(traits, [Pure, AttrSizedOperandSegments])> {
  let results = (outs Lorc_AdapterType:$delta);
  let hasVerifier = 1;
}

def Lorc_LoraOp : Lorc_AdapterOp<"lora"> {
  let summary = "LoRA / LoCon adapter: ΔW = scale · B·A";
  let description = [{
    LoRA (Hu et al. 2021) as PEFT computes it (peft `tuners/lora/layer.py`, `get_delta_weight`)
    and LoCon as LyCORIS does (`lycoris/functional/locon.py`, `diff_weight`):

    ```
    Linear:       ΔW[o, i]       = scale · Σ_a up[o, a] · down[a, i]
    Conv2d:       ΔW[o, i, y, x] = scale · Σ_a up[o, a, 0, 0] · down[a, i, y, x]
    LoCon-Tucker: ΔW[o, i, y, x] = scale · Σ_ab mid[a, b, y, x] · up[o, a, 0, 0] · down[b, i, 0, 0]
    ```

    * `down` (PEFT `lora_A`): `[r, in]`, conv `[r, in, kh, kw]` (Tucker: `[r, in, 1, 1]`).
    * `up` (PEFT `lora_B`): `[out, r]`, conv `[out, r, 1, 1]`.
    * `mid` (LoCon-Tucker): `[r, r, kh, kw]`.
    * `magnitude` (DoRA, PEFT `lora_magnitude_vector` `[out]`): the layer uses
      W' = m ⊙ (W + ΔW) / ‖W + ΔW‖ with the norm per output row (peft `tuners/lora/dora.py`).
    * `scale` = alpha / r, or alpha / √r with rsLoRA.

    Example:
    ```mlir
    %d = lorc.lora %A, %B {scale = 2.0 : f64}
        : tensor<8x384xf32>, tensor<384x8xf32> -> !lorc.adapter<384, 384>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$down, Lorc_FloatTensor:$up,
                       Optional<Lorc_FloatTensor>:$mid, Optional<Lorc_FloatTensor>:$magnitude,
                       F64Attr:$scale, UnitAttr:$dora_lycoris);
  let assemblyFormat = [{
    $down `,` $up (`mid` $mid^)? (`magnitude` $magnitude^)? attr-dict `:` type($down) `,`
    type($up) (`mid` type($mid)^)? (`magnitude` type($magnitude)^)? `->` qualified(type($delta))
  }];
}

def Lorc_LohaOp : Lorc_AdapterOp<"loha"> {
  let summary = "LoHa adapter: ΔW = scale · (w1a·w1b) ⊙ (w2a·w2b)";
  let description = [{
    LoHa (Hyeon-Woo et al. 2022, FedPara) as LyCORIS computes it
    (`lycoris/functional/loha.py`, `diff_weight`; PEFT `tuners/loha/layer.py`):

    ```
    ΔW = scale · (w1a · w1b) ⊙ (w2a · w2b)            w?a [out, r], w?b [r, in·kh·kw]
    Tucker: ΔW = scale · rebuild(t1, w1b, w1a) ⊙ rebuild(t2, w2b, w2a),
            rebuild(t, wb, wa)[p, r, k…] = Σ_ij t[i, j, k…] · wb[j, r] · wa[i, p]
            with t? [r, r, kh, kw], w?a [r, out] (the orientation flips), w?b [r, in]
    ```
    The Hadamard product has no factored matvec: an unmerged forward materialises ΔW.
  }];
  let arguments = (ins Lorc_FloatTensor:$w1a, Lorc_FloatTensor:$w1b, Lorc_FloatTensor:$w2a,
                       Lorc_FloatTensor:$w2b, Optional<Lorc_FloatTensor>:$t1,
                       Optional<Lorc_FloatTensor>:$t2, Optional<Lorc_FloatTensor>:$magnitude,
                       F64Attr:$scale, UnitAttr:$dora_lycoris);
  let assemblyFormat = [{
    $w1a `,` $w1b `,` $w2a `,` $w2b (`tucker` `(` $t1^ `,` $t2 `)`)? (`magnitude` $magnitude^)?
    attr-dict `:` type(operands) `->` qualified(type($delta))
  }];
}

def Lorc_LokrOp : Lorc_AdapterOp<"lokr"> {
  let summary = "LoKr adapter: ΔW = scale · kron(w1, w2)";
  let description = [{
    LoKr (Yeh et al. 2023) as LyCORIS computes it (`lycoris/functional/lokr.py`, `make_kron`,
    `bypass_forward_diff`; PEFT `tuners/lokr/layer.py`):

    ```
    w1 = w1 | w1a · w1b                 [a, c]
    w2 = w2 | w2a · w2b | Tucker(t2)    [b, d(, kh, kw)]
    ΔW = scale · kron(w1, w2)           [a·b, c·d(, kh, kw)]
    ```
    Either `w1` or both `w1a`/`w1b` are given, and likewise for `w2` (`t2` adds the Tucker core,
    with `w2a` [r, b] and `w2b` [r, d]). The forward never forms the Kronecker product: with x
    reshaped to [..., c, d], y = x·ΔWᵀ = scale · w1 · X · w2ᵀ, two small GEMMs.
  }];
  let arguments = (ins Optional<Lorc_FloatTensor>:$w1, Optional<Lorc_FloatTensor>:$w1a,
                       Optional<Lorc_FloatTensor>:$w1b, Optional<Lorc_FloatTensor>:$w2,
                       Optional<Lorc_FloatTensor>:$w2a, Optional<Lorc_FloatTensor>:$w2b,
                       Optional<Lorc_FloatTensor>:$t2, Optional<Lorc_FloatTensor>:$magnitude,
                       F64Attr:$scale, UnitAttr:$dora_lycoris);
  let assemblyFormat = [{
    (`w1` $w1^)? (`w1a` $w1a^)? (`w1b` $w1b^)? (`w2` $w2^)? (`w2a` $w2a^)? (`w2b` $w2b^)?
    (`t2` $t2^)? (`magnitude` $magnitude^)? attr-dict `:` type(operands) `->` qualified(type($delta))
  }];
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

def Lorc_LinearOp : Lorc_Op<"linear", [Pure, AttrSizedOperandSegments,
       DeclareOpInterfaceMethods<LorcCostOpInterface>, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
       DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes", "getIterationDomain",
           "getTiledImplementation", "getResultTilePosition", "generateResultTileValue"]>]> {
  let summary = "dense affine layer y = x·Wᵀ + b (torch.nn.Linear)";
  let description = [{
    Applies a dense linear layer to the last dimension of `input`, exactly as
    `torch.nn.functional.linear` (PyTorch, torch/nn/modules/linear.py):

    ```
    y[..., n] = Σ_k x[..., k] · W[n, k]  (+ b[n])
    ```

    Shapes and layouts:
    * `input`  : `[..., K]` (rank ≥ 1), row-major.
    * `weight` : `[N, K]`, the nn.Linear layout (output features first).
    * `bias`   : optional, `[N]`.
    * `result` : `[..., N]`: the leading dimensions of `input`, then `N`.

    `adapters` (optional) are `!lorc.adapter<N, K>` values of adapter ops, each scaled by its
    entry of `multipliers` (default 1): the layer computes with W + Σ mᵢ·ΔWᵢ, or with DoRA's W'
    when an adapter carries a magnitude (at most one may).

    Epilogue (set by `--lorc-fuse`, which folds the element-wise ops that follow the GEMM into
    it): an `activation` applied to the biased (and adapted) product, then a `residual` added:

    ```
    y = act(x·Wᵀ + b + Σ mᵢ·x·ΔWᵢᵀ) + residual
    ```

    * `activation`: `"gelu_erf"` (0.5·v·(1 + erf(v/√2)), torch.nn.GELU(), BERT's "gelu") or
      `"gelu_tanh"` (0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))), GELU(approximate="tanh"),
      "gelu_new"/"gelu_pytorch_tanh").
    * `residual`: optional, the shape of `result`.

    Lower-precision base (set by `--lorc-assign-precision` on layers with adapters): with
    `base_input`, the base product reads it instead of `input`, while the adapters' side paths
    keep reading `input`:

    ```
    y = act(base_input·Wᵀ + b + Σ mᵢ·input·ΔWᵢᵀ) + residual
    ```

    So an FP8 or bf16 base (base_input = dequantize(quantize(input)), W rounded) keeps an f32
    adapter path (issue 10: "LoRA on an FP8 base: the adapter path stays bf16/f32").
    `base_input` has the type of `input`; a DoRA adapter, which rescales W itself, does not go
    with it.

    Cost: 2·M·N·K FLOPs for M = ∏ leading dimensions. On the CPU the lowering is a
    `linalg.matmul` with a transposed right-hand side accumulating into the broadcast bias, and
    the epilogue one element-wise `linalg.generic` written in place on the GEMM's result and
    tagged `lorc.epilogue`; `--lorc-dispatch-blas` hands the three to one oneDNN matmul (bias
    argument, eltwise and binary-add post-ops).

    Tiling (TilingInterface): the iteration domain is the result's dimensions, all parallel
    (K stays whole inside a tile). A tile slices the input's rows, the weight's and bias's
    rows [n₀, n₀ + Nₜ), the residual like the result; with adapters only whole-N tiles exist.

    Example:
    ```mlir
    %y = lorc.linear %x, %w, %b
        : tensor<?x128x384xf32>, tensor<1536x384xf32>, tensor<1536xf32> -> tensor<?x128x1536xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$weight,
                       Optional<Lorc_FloatTensor>:$bias, Variadic<Lorc_AdapterType>:$adapters,
                       Optional<Lorc_FloatTensor>:$residual,
                       Optional<Lorc_FloatTensor>:$base_input,
                       OptionalAttr<DenseF64ArrayAttr>:$multipliers,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? (`adapters` `(` $adapters^ `:` type($adapters) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    (`base` `(` $base_input^ `:` type($base_input) `)`)?
    attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input, "::mlir::Value":$weight,
                   "::mlir::Value":$bias), [{
      build($_builder, $_state, result, input, weight, bias, ::mlir::ValueRange{},
            ::mlir::Value(), ::mlir::Value(), ::mlir::DenseF64ArrayAttr(), ::mlir::StringAttr());
    }]>,
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input, "::mlir::Value":$weight,
                   "::mlir::Value":$bias, "::mlir::ValueRange":$adapters,
                   "::mlir::DenseF64ArrayAttr":$multipliers), [{
      build($_builder, $_state, result, input, weight, bias, adapters, ::mlir::Value(),
            ::mlir::Value(), multipliers, ::mlir::StringAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// The multiplier of adapter `i` (1 when `multipliers` is absent).
    double getMultiplier(unsigned i);
    /// Whether the op carries an epilogue (an activation or a residual) after its GEMM.
    bool hasEpilogue() { return getActivation().has_value() || getResidual(); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// ChunkedMatmulOp
//===----------------------------------------------------------------------===//

def Lorc_ChunkedMatmulOp : Lorc_Op<"chunked_matmul", [Pure,
    DeclareOpInterfaceMethods<LorcCostOpInterface>]> {
  let summary = "matmul computed chunk by chunk under a memory budget";
  let description = [{
    y = x·B (+ b) computed in chunks of `chunk` = [tileM, tileN, tileK] elements, so that the
    bytes held at once (the working set, include/lorc/CostModel/Chunking.h) stay under the
    budget `--lorc-chunk-matmul` was given. This is Accelera's chunking of matrices larger than
    memory (row, tile and adaptive strategies):

    ```
    for i in 0..M step tileM, j in 0..N step tileN:
      C[i:i+tileM, j:j+tileN] = b[j:j+tileN]
      for k in 0..K step tileK:
        C[i.., j..] += A[i.., k:k+tileK] · B[k:k+tileK, j..]
    ```

    Shapes and layouts:
    * `input` : `[..., K]` (rank ≥ 1), row-major; its leading dimensions form M.
    * `rhs`   : `[K, N]` (numpy's `A @ B`), or `[N, K]` (the nn.Linear layout) with
                `rhs_transposed`.
    * `bias`  : optional, `[N]`.
    * `result`: `[..., N]`.
    * `chunk`: three positive sizes; edge chunks are smaller. `strategy` ("row" or "tile")
      records how they were chosen (`--lorc-chunk-matmul` adds the `lorc.chunk` dictionary:
      layer, working_set and unchunked bytes, num_chunks).

    Cost: 2·M·N·K FLOPs, like `lorc.linear`; A is read ⌈N/tileN⌉ times and B ⌈M/tileM⌉ times
    (once when whole), the price of the smaller working set.

    On the CPU the lowering is the tiled loop form above (`scf.for` over
    `tensor.extract_slice`s; each chunk GEMM is a `linalg.matmul` that `--lorc-dispatch-blas`
    hands to `cblas_sgemm`), reading weights in place from the mapped parameter file.

    Example:
    ```mlir
    %y = lorc.chunked_matmul %a, %b {chunk = array<i64: 512, 1024, 128>, strategy = "tile"}
        : tensor<2048x2048xf32>, tensor<2048x2048xf32> -> tensor<2048x2048xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$rhs,
                       Optional<Lorc_FloatTensor>:$bias, UnitAttr:$rhs_transposed,
                       DenseI64ArrayAttr:$chunk, StrAttr:$strategy);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $rhs (`,` $bias^)? attr-dict `:` type($input) `,` type($rhs)
    (`,` type($bias)^)? `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// N and K from `rhs` and its layout.
    int64_t getN() { return getRhs().getType().getDimSize(getRhsTransposed() ? 0 : 1); }
    int64_t getK() { return getRhs().getType().getDimSize(getRhsTransposed() ? 1 : 0); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LowRankLinearOp
//===----------------------------------------------------------------------===//

def Lorc_LowRankLinearOp : Lorc_Op<"lowrank_linear", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<LorcCostOpInterface>]> {
  let summary = "linear layer in factored form: y = ((x·V)·diag(S))·Uᵀ + b";
  let description = [{
    A linear layer whose weight is kept as a truncated SVD W ≈ U·diag(S)·Vᵀ (as
    `--lorc-select-rank` produces, or LoRAven's DynamicLowRankLayer):

    ```
    y[..., n] = Σ_{j<r} U[n, j] · S[j] · Σ_k x[..., k] · V[k, j]  (+ b[n])
    ```

    * `input` `[..., K]`; `v` `[K, R]`; `s` `[R]`; `u` `[N, R]`; `bias` (optional) `[N]`;
      `result` `[..., N]`. R is the stored (maximum) rank.
    * `rank`: the rank executed, r ≤ R. With the optional run-time `rank_value` operand
      (index), the executed rank is that value clamped to [`r_min`, `r_max`] instead (dynamic
      rank: only the first r components are computed).
    * `schedule_energy` τ (optional, in (0, 1]; not with `rank_value`): a run-time rank
      scheduler in LoRAven's linear form (KIOSHIROI/LoRAven, loraven/core/rank_scheduler.py
      `LinearRankScheduler`: r = round(r_min + s·(r_max − r_min))). LoRAven's score s comes from
      a trained MLP; here it is defined from the input itself: with t = (x·V)·diag(S) over all R
      components and eⱼ = Σ_rows tⱼ², r* is the smallest r with Σ_{j<r} eⱼ ≥ τ·Σ eⱼ (the
      components this batch's own energy needs) and s = r*/R. The first GEMM runs at R, the
      second at the scheduled r.
    * Cost: 2·M·r·(K + N) + M·r FLOPs, against 2·M·N·K dense: low rank pays when
      r·(K + N) < N·K (the planned `rank`; with a schedule, set `rank` = r_max).

    Example:
    ```mlir
    %y = lorc.lowrank_linear %x, %v, %s, %u, %b {rank = 64, r_min = 16, r_max = 96}
        : tensor<?x384xf32>, tensor<384x96xf32>, tensor<96xf32>, tensor<384x96xf32>,
          tensor<384xf32> -> tensor<?x384xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$v, Lorc_FloatTensor:$s,
                       Lorc_FloatTensor:$u, Optional<Lorc_FloatTensor>:$bias,
                       Optional<Index>:$rank_value,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rank,
                       ConfinedAttr<I64Attr, [IntPositive]>:$r_min,
                       ConfinedAttr<I64Attr, [IntPositive]>:$r_max,
                       OptionalAttr<F64Attr>:$schedule_energy);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $v `,` $s `,` $u (`,` $bias^)? (`rank` `(` $rank_value^ `)`)? attr-dict `:`
    type($input) `,` type($v) `,` type($s) `,` type($u) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

def Lorc_LayerNormOp : Lorc_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>,
       DeclareOpInterfaceMethods<LorcCostOpInterface>, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
       DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes", "getIterationDomain",
           "getTiledImplementation", "getResultTilePosition", "generateResultTileValue"]>]> {
  let summary = "layer normalisation over the last dimension (torch.nn.LayerNorm)";
  let description = [{
    Normalises each row of the last dimension of `input` (size C), as `torch.nn.LayerNorm` with
    `normalized_shape = [C]` (Ba, Kiros and Hinton 2016, "Layer Normalization"):

    ```
    μ = (1/C) Σ_c x[..., c]
    σ² = (1/C) Σ_c (x[..., c] − μ)²            (biased variance, as PyTorch)
    y[..., c] = (x[..., c] − μ) / √(σ² + ε) · γ[c] + β[c]
    ```

    * `input`, `result`: `[..., C]` (rank ≥ 1).
    * `gamma` (weight) and `beta` (bias): `[C]`.
    * `epsilon`: ε, a positive f32 (BERT: 1e-12; PyTorch's default 1e-5).

    Tiling (TilingInterface): the iteration domain is the input's dimensions, the leading ones
    parallel and C a reduction that tiles keep whole (a tile is a set of whole rows).
    `--lorc-fuse` marks a layer norm whose rows should be computed together with the linear
    producing its input with `lorc.row_tile` (rows per tile); `--lorc-tile-rows` does it.

    Example:
    ```mlir
    %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f32}
        : tensor<?x?x384xf32>, tensor<384xf32>, tensor<384xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$gamma,
                       Lorc_FloatTensor:$beta,
                       ConfinedAttr<F32Attr, [Lorc_FloatPositive]>:$epsilon);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta attr-dict `:` type($input) `,` type($gamma) `,` type($beta)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def Lorc_AttentionOp : Lorc_Op<"attention", [Pure,
                                              DeclareOpInterfaceMethods<LorcCostOpInterface>]> {
  let summary = "scaled dot-product multi-head attention on [B, H, S, D]";
  let description = [{
    Scaled dot-product attention (Vaswani et al. 2017; the semantics of PyTorch's
    `torch.nn.functional.scaled_dot_product_attention`):

    ```
    s[b,h,i,j] = scale · Σ_d q[b,h,i,d] · k[b,h,j,d]  + m[b,h,i,j]
    p[b,h,i,:] = softmax_j(s[b,h,i,:])
    o[b,h,i,e] = Σ_j p[b,h,i,j] · v[b,h,j,e]
    ```

    Shapes (row-major, heads split out):
    * `query` `[B, H, Sq, D]`, `key` `[B, H, Sk, D]`, `value` `[B, H, Sk, Dv]`;
      `result` `[B, H, Sq, Dv]`.
    * `mask` (optional) is one of
      - a key-padding mask with an integer element type, `[B, Sk]`: keys where it is 0 are
        masked out (m = the lowest finite value of the element type, as Hugging Face BERT's
        extended attention mask, `modeling_utils.get_extended_attention_mask`);
      - an additive float mask of rank 4 broadcastable to `[B, H, Sq, Sk]` (each dimension 1 or
        equal), added to the scores as is.
    * `scale`: the score scale; defaults to 1/√D when absent.
    * `causal`: if set, key j > i (query position) is masked out (lower-triangular attention).

    A row whose keys are all masked gets uniform weights (the additive mask is finite), as in
    Hugging Face's eager attention.

    Example:
    ```mlir
    %o = lorc.attention %q, %k, %v, mask %m {scale = 0.17677669 : f32}
        : tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x?xi64>
        -> tensor<?x12x?x32xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$query, Lorc_FloatTensor:$key, Lorc_FloatTensor:$value,
                       Optional<AnyRankedTensor>:$mask,
                       OptionalAttr<F32Attr>:$scale, UnitAttr:$causal);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` `mask` $mask^)? attr-dict `:` type($query) `,` type($key)
    `,` type($value) (`,` type($mask)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale applied to the scores: the `scale` attribute, or 1/√D.
    double getEffectiveScale();
  }];
}


//===----------------------------------------------------------------------===//
// FP8 quantisation
//===----------------------------------------------------------------------===//

def Lorc_FP8Tensor : RankedTensorOf<[F8E4M3FN, F8E5M2]>;

def Lorc_QuantizeOp : Lorc_Op<"quantize", [Pure]> {
  let summary = "f32/bf16 → FP8 (E4M3FN or E5M2): round to nearest even, saturating";
  let description = [{
    `q = fp8(x · scale)` elementwise, with the conversion of PTX `cvt.rn.satfinite` and
    Transformer Engine: round to nearest, ties to even; finite results beyond the format's range
    and ±inf saturate to ±max; NaN stays NaN.

    * E4M3FN (`f8E4M3FN`): 1 sign, 4 exponent (bias 7), 3 mantissa bits; max ±448, smallest
      normal 2⁻⁶, subnormals k·2⁻⁹; no infinity; NaN is S.1111.111.
    * E5M2 (`f8E5M2`): 1 sign, 5 exponent (bias 15), 2 mantissa bits; max ±57344, smallest
      normal 2⁻¹⁴, subnormals k·2⁻¹⁶; infinities exist but satfinite never produces them.
    * `scale`: 0-d (per tensor) or 1-d `[C]` along dimension `axis` (per channel), same float
      type as the input. Transformer Engine's delayed scaling uses scale = fp8_max / amax / 2^margin.

    LLVM 22's `arith.truncf` to FP8 neither lowers nor saturates (REFERENCE §4.2): lorc lowers
    this op itself, to integer arithmetic on the f32 bits (bit-exact against PyTorch's float8
    casts of the clamped value, test/Execution/fp8-cast.test).
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$scale,
                       OptionalAttr<I64Attr>:$axis);
  let results = (outs Lorc_FP8Tensor:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` type($input) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lorc_DequantizeOp : Lorc_Op<"dequantize", [Pure]> {
  let summary = "FP8 → f32/bf16: x = value(q) / scale";
  let description = [{
    The exact value of each FP8 element (every E4M3FN and E5M2 value is an f32 value), divided by
    the `scale` `lorc.quantize` used (0-d, or `[C]` along `axis`). NaN stays NaN; E5M2's
    infinities stay infinite.
  }];
  let arguments = (ins Lorc_FP8Tensor:$input, Lorc_FloatTensor:$scale,
                       OptionalAttr<I64Attr>:$axis);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` type($input) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // LORC_DIALECT_LORC_IR_LORCOPS_TD
