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
