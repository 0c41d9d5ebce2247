// RUN: lorc-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the lorc ops (lib/Dialect/Lorc/IR/LorcOps.cpp and the ODS
// constraints of LorcOps.td).

//===----------------------------------------------------------------------===//
// lorc.linear
//===----------------------------------------------------------------------===//

func.func @linear_weight_rank(%x: tensor<4x16xf32>, %w: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expected weight of rank 2 ([N, K]), but got rank 1}}
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @linear_activation(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected activation "gelu_erf" or "gelu_tanh", but got "relu"}}
  %y = lorc.linear %x, %w {activation = "relu"} : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_base_without_adapters(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{a base input needs adapters (without them the input is the base input)}}
  %y = lorc.linear %x, %w base(%x : tensor<4x16xf32>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_base_type(%x: tensor<4x16xf32>, %xb: tensor<?x16xf32>, %w: tensor<8x16xf32>, %a: tensor<2x16xf32>, %b: tensor<8x2xf32>) -> tensor<4x8xf32> {
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<2x16xf32>, tensor<8x2xf32> -> !lorc.adapter<8, 16>
  // expected-error @+1 {{expected base input of the input type 'tensor<4x16xf32>', but got 'tensor<?x16xf32>'}}
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<8, 16>) base(%xb : tensor<?x16xf32>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_base_dora(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %a: tensor<2x16xf32>, %b: tensor<8x2xf32>, %m: tensor<8xf32>) -> tensor<4x8xf32> {
  %d = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<2x16xf32>, tensor<8x2xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
  // expected-error @+1 {{a DoRA adapter rescales the weight itself: it takes no separate base input}}
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<8, 16>) base(%x : tensor<4x16xf32>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_residual_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %r: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected residual of the result type 'tensor<4x8xf32>', but got 'tensor<4x1xf32>'}}
  %y = lorc.linear %x, %w residual(%r : tensor<4x1xf32>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_input_rank0(%x: tensor<f32>, %w: tensor<8x16xf32>) -> tensor<f32> {
  // expected-error @+1 {{expected input of rank >= 1 ([..., K]), but got rank 0}}
  %y = lorc.linear %x, %w : tensor<f32>, tensor<8x16xf32> -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @linear_result_rank(%x: tensor<2x4x16xf32>, %w: tensor<8x16xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expected result rank 3 (the input rank), but got 2}}
  %y = lorc.linear %x, %w : tensor<2x4x16xf32>, tensor<8x16xf32> -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

func.func @linear_k_mismatch(%x: tensor<4x16xf32>, %w: tensor<8x12xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input last dimension (K) and weight dimension 1 (K) must match, but got 16 and 12}}
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<8x12xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_leading_dim_mismatch(%x: tensor<2x4x16xf32>, %w: tensor<8x16xf32>) -> tensor<2x5x8xf32> {
  // expected-error @+1 {{input dimension 1 and result dimension 1 must match, but got 4 and 5}}
  %y = lorc.linear %x, %w : tensor<2x4x16xf32>, tensor<8x16xf32> -> tensor<2x5x8xf32>
  return %y : tensor<2x5x8xf32>
}

// -----

func.func @linear_n_mismatch(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) -> tensor<4x9xf32> {
  // expected-error @+1 {{result last dimension (N) and weight dimension 0 (N) must match, but got 9 and 8}}
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x9xf32>
  return %y : tensor<4x9xf32>
}

// -----

func.func @linear_bias_rank(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<1x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected bias of rank 1 ([N]), but got rank 2}}
  %y = lorc.linear %x, %w, %b : tensor<4x16xf32>, tensor<8x16xf32>, tensor<1x8xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_bias_size(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<7xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{bias dimension 0 (N) and weight dimension 0 (N) must match, but got 7 and 8}}
  %y = lorc.linear %x, %w, %b : tensor<4x16xf32>, tensor<8x16xf32>, tensor<7xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_element_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #1 has element type 'f16', expected the result element type 'f32'}}
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<8x16xf16> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_bias_element_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xbf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #2 has element type 'bf16', expected the result element type 'f32'}}
  %y = lorc.linear %x, %w, %b : tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xbf16> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @linear_integer_input(%x: tensor<4x16xi32>, %w: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %y = lorc.linear %x, %w : tensor<4x16xi32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// lorc.layer_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm_input_rank0(%x: tensor<f32>, %g: tensor<1xf32>) -> tensor<f32> {
  // expected-error @+1 {{expected input of rank >= 1 ([..., C]), but got rank 0}}
  %y = lorc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f32} : tensor<f32>, tensor<1xf32>, tensor<1xf32>
  return %y : tensor<f32>
}

// -----

func.func @layer_norm_gamma_rank(%x: tensor<4x8xf32>, %g: tensor<1x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected gamma of rank 1 ([C]), but got rank 2}}
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<1x8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_beta_rank(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<f32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected beta of rank 1 ([C]), but got rank 0}}
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<f32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_gamma_size(%x: tensor<4x8xf32>, %g: tensor<4xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{gamma size and input last dimension (C) must match, but got 4 and 8}}
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<4xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_beta_size(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{beta size and input last dimension (C) must match, but got 16 and 8}}
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<16xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_element_type(%x: tensor<4x8xf32>, %g: tensor<8xf16>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #1 has element type 'f16', expected the result element type 'f32'}}
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<8xf16>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_epsilon_zero(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{attribute 'epsilon' failed to satisfy constraint: 32-bit float attribute whose value is positive}}
  %y = lorc.layer_norm %x, %g, %g {epsilon = 0.0 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_epsilon_negative(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{attribute 'epsilon' failed to satisfy constraint: 32-bit float attribute whose value is positive}}
  %y = lorc.layer_norm %x, %g, %g {epsilon = -1.0e-5 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_epsilon_missing(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{requires attribute 'epsilon'}}
  %y = lorc.layer_norm %x, %g, %g : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// The result type must equal the input type (AllTypesMatch); only the generic form can say
// otherwise.
func.func @layer_norm_result_type(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{failed to verify that all of {input, result} have same type}}
  %y = "lorc.layer_norm"(%x, %g, %g) <{epsilon = 1.0e-5 : f32}> : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

//===----------------------------------------------------------------------===//
// lorc.attention
//===----------------------------------------------------------------------===//

func.func @attention_query_rank(%q: tensor<4x8x16xf32>, %k: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{expected query of rank 4 ([B, H, S, D]), but got rank 3}}
  %o = lorc.attention %q, %k, %k : tensor<4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @attention_value_rank(%q: tensor<1x4x8x16xf32>, %v: tensor<1x1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{expected value of rank 4 ([B, H, S, D]), but got rank 5}}
  %o = lorc.attention %q, %q, %v : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @attention_result_rank(%q: tensor<1x4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{expected result of rank 4 ([B, H, S, D]), but got rank 3}}
  %o = lorc.attention %q, %q, %q : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<4x8x16xf32>
  return %o : tensor<4x8x16xf32>
}

// -----

func.func @attention_batch_mismatch(%q: tensor<2x4x8x16xf32>, %k: tensor<3x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{query dimension 0 (B) and key dimension 0 must match, but got 2 and 3}}
  %o = lorc.attention %q, %k, %q : tensor<2x4x8x16xf32>, tensor<3x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_heads_mismatch_value(%q: tensor<2x4x8x16xf32>, %v: tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{query dimension 1 (H) and value dimension 1 must match, but got 4 and 2}}
  %o = lorc.attention %q, %q, %v : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_heads_mismatch_result(%q: tensor<2x4x8x16xf32>) -> tensor<2x8x8x16xf32> {
  // expected-error @+1 {{query dimension 1 (H) and result dimension 1 must match, but got 4 and 8}}
  %o = lorc.attention %q, %q, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x8x8x16xf32>
  return %o : tensor<2x8x8x16xf32>
}

// -----

func.func @attention_head_dim_mismatch(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x32xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{query and key head dimension (D) must match, but got 16 and 32}}
  %o = lorc.attention %q, %k, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x32xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_key_length_mismatch(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x10x16xf32>, %v: tensor<2x4x12x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{key and value sequence length (Sk) must match, but got 10 and 12}}
  %o = lorc.attention %q, %k, %v : tensor<2x4x8x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x12x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_query_length_mismatch(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x9x16xf32> {
  // expected-error @+1 {{query and result sequence length (Sq) must match, but got 8 and 9}}
  %o = lorc.attention %q, %q, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x9x16xf32>
  return %o : tensor<2x4x9x16xf32>
}

// -----

func.func @attention_value_dim_mismatch(%q: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x32xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{value and result head dimension (Dv) must match, but got 32 and 16}}
  %o = lorc.attention %q, %q, %v : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x32xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_scale_zero(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected a positive finite scale, but got 0.000000e+00}}
  %o = lorc.attention %q, %q, %q {scale = 0.0 : f32} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_scale_negative(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected a positive finite scale, but got -5.000000e-01}}
  %o = lorc.attention %q, %q, %q {scale = -0.5 : f32} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_scale_inf(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected a positive finite scale}}
  %o = lorc.attention %q, %q, %q {scale = 0x7F800000 : f32} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_scale_nan(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected a positive finite scale}}
  %o = lorc.attention %q, %q, %q {scale = 0x7FC00000 : f32} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_int_mask_rank(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xi64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected an integer key-padding mask of rank 2 ([B, Sk]), but got rank 4}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xi64> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_int_mask_batch(%q: tensor<2x4x8x16xf32>, %m: tensor<3x8xi64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{key-padding mask dimension 0 and query dimension 0 (B) must match, but got 3 and 2}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<3x8xi64> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_int_mask_keys(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x10x16xf32>, %m: tensor<2x8xi64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{key-padding mask dimension 1 and key dimension 2 (Sk) must match, but got 8 and 10}}
  %o = lorc.attention %q, %k, %k, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x10x16xf32>, tensor<2x8xi64> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_float_mask_rank(%q: tensor<2x4x8x16xf32>, %m: tensor<2x8xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{expected an additive float mask of rank 4 (broadcastable to [B, H, Sq, Sk]), but got rank 2}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x8xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_float_mask_broadcast(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x3x8xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{additive mask dimension 2 (broadcast only from 1) and scores dimension 2 must match, but got 3 and 8}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x3x8xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// The last mask dimension is checked against Sk (key dimension 2), not Sq.
func.func @attention_float_mask_keys(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x10x16xf32>, %m: tensor<1x1x8x8xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{additive mask dimension 3 (broadcast only from 1) and scores dimension 3 must match, but got 8 and 10}}
  %o = lorc.attention %q, %k, %k, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x10x16xf32>, tensor<1x1x8x8xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_float_mask_element_type(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xf16>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{additive mask element type 'f16' must match the result element type 'f32'}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf16> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_index_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<2x8xindex>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{mask must have an integer (key padding) or float (additive) element type, but got 'index'}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x8xindex> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_complex_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xcomplex<f32>>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{mask must have an integer (key padding) or float (additive) element type, but got 'complex<f32>'}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xcomplex<f32>> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_query_element_type(%q: tensor<2x4x8x16xf16>, %k: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{query element type 'f16' must match the result element type 'f32'}}
  %o = lorc.attention %q, %k, %k : tensor<2x4x8x16xf16>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_key_element_type(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{key element type 'bf16' must match the result element type 'f32'}}
  %o = lorc.attention %q, %k, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x16xbf16>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_value_element_type(%q: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{value element type 'f64' must match the result element type 'f32'}}
  %o = lorc.attention %q, %q, %v : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf64> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_dynamic_head_dim_no_scale(%q: tensor<2x4x8x?xf32>) -> tensor<2x4x8x?xf32> {
  // expected-error @+1 {{requires a 'scale' attribute when the head dimension (D) is dynamic}}
  %o = lorc.attention %q, %q, %q : tensor<2x4x8x?xf32>, tensor<2x4x8x?xf32>, tensor<2x4x8x?xf32> -> tensor<2x4x8x?xf32>
  return %o : tensor<2x4x8x?xf32>
}

// -----

func.func @attention_unranked_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<*xi64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{operand #3 must be ranked tensor of any type values}}
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<*xi64> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

func.func @layer_norm_epsilon_inf(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{whose value is positive and finite}}
  %y = lorc.layer_norm %x, %g, %g {epsilon = 0x7F800000 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @lora_rank_mismatch(%a: tensor<4x16xf32>, %b: tensor<8x2xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{up dimension 1 and its expected size must match, but got 2 and 4}}
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x2xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lora_rank_zero(%a: tensor<0x16xf32>, %b: tensor<8x0xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{expected a rank r >= 1, but down has 0 rows}}
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<0x16xf32>, tensor<8x0xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lora_wrong_in(%a: tensor<4x12xf32>, %b: tensor<8x4xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{down dimension 1 and its expected size must match, but got 12 and 16}}
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<4x12xf32>, tensor<8x4xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lora_mid_on_linear(%a: tensor<4x16xf32>, %b: tensor<8x4xf32>, %m: tensor<4x4x1x1xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{a Tucker core (mid) needs a convolution}}
  %d = lorc.lora %a, %b mid %m {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> mid tensor<4x4x1x1xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lora_bad_magnitude(%a: tensor<4x16xf32>, %b: tensor<8x4xf32>, %m: tensor<16xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{magnitude dimension 0 and its expected size must match, but got 16 and 8}}
  %d = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> magnitude tensor<16xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lora_rank3_delta(%a: tensor<4x16xf32>, %b: tensor<8x4xf32>) -> !lorc.adapter<8, 16, 2> {
  // expected-error @+1 {{expected a ΔW of rank 2 ([out, in]) or 4}}
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> -> !lorc.adapter<8, 16, 2>
  return %d : !lorc.adapter<8, 16, 2>
}

// -----

func.func @loha_bad_w2b(%a: tensor<8x2xf32>, %b: tensor<2x16xf32>, %c: tensor<2x12xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{w2b dimension 1 and its expected size must match, but got 12 and 16}}
  %d = lorc.loha %a, %b, %a, %c {scale = 1.0 : f64} : tensor<8x2xf32>, tensor<2x16xf32>, tensor<8x2xf32>, tensor<2x12xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lokr_both_w1_forms(%w1: tensor<2x4xf32>, %w1a: tensor<2x1xf32>, %w1b: tensor<1x4xf32>, %w2: tensor<4x4xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{expected either w1 or both w1a and w1b}}
  %d = lorc.lokr w1 %w1 w1a %w1a w1b %w1b w2 %w2 {scale = 1.0 : f64} : tensor<2x4xf32>, tensor<2x1xf32>, tensor<1x4xf32>, tensor<4x4xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @lokr_kron_mismatch(%w1: tensor<2x4xf32>, %w2: tensor<4x3xf32>) -> !lorc.adapter<8, 16> {
  // expected-error @+1 {{kron(w1, w2) columns (c·d) and ΔW in must match, but got 12 and 16}}
  %d = lorc.lokr w1 %w1 w2 %w2 {scale = 1.0 : f64} : tensor<2x4xf32>, tensor<4x3xf32> -> !lorc.adapter<8, 16>
  return %d : !lorc.adapter<8, 16>
}

// -----

func.func @linear_adapter_shape(%x: tensor<3x16xf32>, %w: tensor<8x16xf32>, %a: !lorc.adapter<8, 12>) -> tensor<3x8xf32> {
  // expected-error @+1 {{adapter #0 ΔW columns and weight columns (K) must match, but got 12 and 16}}
  %y = lorc.linear %x, %w adapters(%a : !lorc.adapter<8, 12>) : tensor<3x16xf32>, tensor<8x16xf32> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @linear_multipliers(%x: tensor<3x16xf32>, %w: tensor<8x16xf32>, %a: !lorc.adapter<8, 16>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expected one multiplier per adapter (1), but got 2}}
  %y = lorc.linear %x, %w adapters(%a : !lorc.adapter<8, 16>) {multipliers = array<f64: 1.0, 2.0>} : tensor<3x16xf32>, tensor<8x16xf32> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @linear_two_dora(%x: tensor<3x16xf32>, %w: tensor<8x16xf32>, %a: tensor<4x16xf32>, %b: tensor<8x4xf32>, %m: tensor<8xf32>) -> tensor<3x8xf32> {
  %d0 = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
  %d1 = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
  // expected-error @+1 {{at most one DoRA adapter (with a magnitude) per layer, but got 2}}
  %y = lorc.linear %x, %w adapters(%d0, %d1 : !lorc.adapter<8, 16>, !lorc.adapter<8, 16>) : tensor<3x16xf32>, tensor<8x16xf32> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @lowrank_k_mismatch(%x: tensor<4x16xf32>, %v: tensor<12x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{input last dimension (K) and v dimension 0 (K) must match, but got 16 and 12}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 4, r_min = 1, r_max = 8} : tensor<4x16xf32>, tensor<12x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_s_size(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<6xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{s size and v dimension 1 (R) must match, but got 6 and 8}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 4, r_min = 1, r_max = 8} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<6xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_rank_bounds(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{expected r_min <= rank <= r_max, but got 5, 4, 8}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 4, r_min = 5, r_max = 8} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_rmax_beyond_stored(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{r_max (9) exceeds the stored rank R = 8}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 4, r_min = 1, r_max = 9} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_schedule_range(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{schedule_energy must be in (0, 1], got 1.5}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 8, r_min = 1, r_max = 8, schedule_energy = 1.5} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_schedule_and_rank(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>, %r: index) -> tensor<4x12xf32> {
  // expected-error @+1 {{takes either a run-time rank operand or schedule_energy, not both}}
  %y = lorc.lowrank_linear %x, %v, %s, %u rank(%r) {rank = 8, r_min = 1, r_max = 8, schedule_energy = 0.9} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @lowrank_rank_zero(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{attribute 'rank' failed to satisfy constraint}}
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 0, r_min = 1, r_max = 8} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}

// -----

func.func @quantize_shape(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x4xf8E4M3FN> {
  // expected-error @+1 {{expected the result shape to equal the input shape, but got 'tensor<4x4xf8E4M3FN>' for 'tensor<4x8xf32>'}}
  %q = lorc.quantize %x, %s : tensor<4x8xf32>, tensor<f32> -> tensor<4x4xf8E4M3FN>
  return %q : tensor<4x4xf8E4M3FN>
}

// -----

func.func @quantize_scale_rank(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xf8E4M3FN> {
  // expected-error @+1 {{expected a 0-d (per-tensor) scale without `axis`, but got 'tensor<8xf32>'}}
  %q = lorc.quantize %x, %s : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf8E4M3FN>
  return %q : tensor<4x8xf8E4M3FN>
}

// -----

func.func @quantize_channel_size(%x: tensor<4x8xf32>, %s: tensor<4xf32>) -> tensor<4x8xf8E5M2> {
  // expected-error @+1 {{scale size and input dimension 1 must match, but got 4 and 8}}
  %q = lorc.quantize %x, %s {axis = 1} : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf8E5M2>
  return %q : tensor<4x8xf8E5M2>
}

// -----

func.func @quantize_axis(%x: tensor<4x8xf32>, %s: tensor<4xf32>) -> tensor<4x8xf8E5M2> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %q = lorc.quantize %x, %s {axis = 2} : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf8E5M2>
  return %q : tensor<4x8xf8E5M2>
}

// -----

func.func @quantize_to_bf16(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xbf16> {
  // expected-error @+1 {{must be ranked tensor of f8E4M3FN type or f8E5M2 type values}}
  %q = lorc.quantize %x, %s : tensor<4xf32>, tensor<f32> -> tensor<4xbf16>
  return %q : tensor<4xbf16>
}

// -----

func.func @dequantize_scale_type(%q: tensor<4xf8E4M3FN>, %s: tensor<bf16>) -> tensor<4xf32> {
  // expected-error @+1 {{expected a scale of element type 'f32', but got 'bf16'}}
  %x = lorc.dequantize %q, %s : tensor<4xf8E4M3FN>, tensor<bf16> -> tensor<4xf32>
  return %x : tensor<4xf32>
}

// -----

func.func @chunked_matmul_k(%x: tensor<4x8xf32>, %b: tensor<6x5xf32>) {
  // expected-error @+1 {{input last dimension (K) and rhs dimension 0 (K) must match, but got 8 and 6}}
  %y = lorc.chunked_matmul %x, %b {chunk = array<i64: 2, 2, 2>, strategy = "tile"} : tensor<4x8xf32>, tensor<6x5xf32> -> tensor<4x5xf32>
  return
}

// -----

func.func @chunked_matmul_chunk(%x: tensor<4x8xf32>, %b: tensor<8x5xf32>) {
  // expected-error @+1 {{expected chunk = [tileM, tileN, tileK] of three positive sizes}}
  %y = lorc.chunked_matmul %x, %b {chunk = array<i64: 2, 0, 2>, strategy = "tile"} : tensor<4x8xf32>, tensor<8x5xf32> -> tensor<4x5xf32>
  return
}

// -----

func.func @chunked_matmul_strategy(%x: tensor<4x8xf32>, %b: tensor<8x5xf32>) {
  // expected-error @+1 {{expected strategy "row" or "tile", but got "adaptive"}}
  %y = lorc.chunked_matmul %x, %b {chunk = array<i64: 2, 2, 2>, strategy = "adaptive"} : tensor<4x8xf32>, tensor<8x5xf32> -> tensor<4x5xf32>
  return
}
