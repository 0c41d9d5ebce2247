//===- LorcOps.td - lorc op definitions --------------------*- tablegen -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCOPS_TD
#define LORC_DIALECT_LORC_IR_LORCOPS_TD

include "lorc/Dialect/Lorc/IR/LorcDialect.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// Ranked tensors of floating-point elements: the activations and weights lorc ops compute on.
def Lorc_FloatTensor : RankedTensorOf<[AnyFloat]>;

/// A float attribute whose value is positive and finite (epsilons, scales).
def Lorc_FloatPositive : AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() > 0.0 && "
          "::std::isfinite(::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble())">,
    "whose value is positive and finite">;

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

def Lorc_LinearOp : Lorc_Op<"linear", [Pure]> {
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

    Cost: 2·M·N·K FLOPs for M = ∏ leading dimensions. On the CPU the lowering is a
    `linalg.matmul` with a transposed right-hand side accumulating into the broadcast bias, which
    `--lorc-dispatch-blas` hands to `cblas_sgemm`.

    Example:
    ```mlir
    %y = lorc.linear %x, %w, %b
        : tensor<?x128x384xf32>, tensor<1536x384xf32>, tensor<1536xf32> -> tensor<?x128x1536xf32>
    ```
  }];
  let arguments = (ins Lorc_FloatTensor:$input, Lorc_FloatTensor:$weight,
                       Optional<Lorc_FloatTensor>:$bias);
  let results = (outs Lorc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

def Lorc_LayerNormOp : Lorc_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
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

def Lorc_AttentionOp : Lorc_Op<"attention", [Pure]> {
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

#endif // LORC_DIALECT_LORC_IR_LORCOPS_TD
