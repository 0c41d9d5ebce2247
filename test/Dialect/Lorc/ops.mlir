// RUN: lorc-opt %s -split-input-file | lorc-opt -split-input-file | FileCheck %s
// RUN: lorc-opt %s -split-input-file --mlir-print-op-generic | lorc-opt -split-input-file | FileCheck %s

// Round trip of every lorc op, in the custom and in the generic form.

// CHECK-LABEL: func.func @linear_bias_rank3
//  CHECK-SAME:   %[[X:.*]]: tensor<2x8x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]], %[[B]] : tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32> -> tensor<2x8x32xf32>
//       CHECK:   return %[[Y]]
func.func @linear_bias_rank3(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %y = lorc.linear %x, %w, %b : tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32> -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @linear_no_bias_rank2
//  CHECK-SAME:   %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<32x16xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]] : tensor<4x16xf32>, tensor<32x16xf32> -> tensor<4x32xf32>
//       CHECK:   return %[[Y]]
func.func @linear_no_bias_rank2(%x: tensor<4x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x32xf32> {
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<32x16xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// CHECK-LABEL: func.func @linear_rank1
//  CHECK-SAME:   %[[X:.*]]: tensor<16xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8xf32>
//       CHECK:   lorc.linear %[[X]], %[[W]], %[[B]] : tensor<16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<8xf32>
func.func @linear_rank1(%x: tensor<16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %y = lorc.linear %x, %w, %b : tensor<16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Dynamic leading dimensions, dynamic K and N, and an f16 linear.
// CHECK-LABEL: func.func @linear_dynamic
//       CHECK:   lorc.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x384xf32>, tensor<1536x384xf32>, tensor<1536xf32> -> tensor<?x?x1536xf32>
//       CHECK:   lorc.linear %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
//       CHECK:   lorc.linear %{{.*}}, %{{.*}} : tensor<3x?xf16>, tensor<5x?xf16> -> tensor<3x5xf16>
func.func @linear_dynamic(%x: tensor<?x?x384xf32>, %w: tensor<1536x384xf32>, %b: tensor<1536xf32>,
                          %x2: tensor<?x?xf32>, %w2: tensor<?x?xf32>,
                          %x3: tensor<3x?xf16>, %w3: tensor<5x?xf16>)
    -> (tensor<?x?x1536xf32>, tensor<?x?xf32>, tensor<3x5xf16>) {
  %y = lorc.linear %x, %w, %b : tensor<?x?x384xf32>, tensor<1536x384xf32>, tensor<1536xf32> -> tensor<?x?x1536xf32>
  %y2 = lorc.linear %x2, %w2 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  %y3 = lorc.linear %x3, %w3 : tensor<3x?xf16>, tensor<5x?xf16> -> tensor<3x5xf16>
  return %y, %y2, %y3 : tensor<?x?x1536xf32>, tensor<?x?xf32>, tensor<3x5xf16>
}

// -----

// CHECK-LABEL: func.func @layer_norm
//  CHECK-SAME:   %[[X:.*]]: tensor<?x?x384xf32>, %[[G:.*]]: tensor<384xf32>, %[[B:.*]]: tensor<384xf32>
//       CHECK:   %[[Y:.*]] = lorc.layer_norm %[[X]], %[[G]], %[[B]] {epsilon = 9.99999996E-13 : f32} : tensor<?x?x384xf32>, tensor<384xf32>, tensor<384xf32>
//       CHECK:   return %[[Y]]
func.func @layer_norm(%x: tensor<?x?x384xf32>, %g: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<?x?x384xf32> {
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f32} : tensor<?x?x384xf32>, tensor<384xf32>, tensor<384xf32>
  return %y : tensor<?x?x384xf32>
}

// -----

// Rank-1 input, dynamic C (gamma and beta dynamic too).
// CHECK-LABEL: func.func @layer_norm_rank1_dynamic
//       CHECK:   lorc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<?xf32>, tensor<?xf32>, tensor<8xf32>
func.func @layer_norm_rank1_dynamic(%x: tensor<?xf32>, %g: tensor<?xf32>, %b: tensor<8xf32>) -> tensor<?xf32> {
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f32} : tensor<?xf32>, tensor<?xf32>, tensor<8xf32>
  return %y : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @attention_no_mask
//  CHECK-SAME:   %[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x10x16xf32>, %[[V:.*]]: tensor<2x4x10x32xf32>
//       CHECK:   %[[O:.*]] = lorc.attention %[[Q]], %[[K]], %[[V]] : tensor<2x4x8x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x10x32xf32> -> tensor<2x4x8x32xf32>
//       CHECK:   return %[[O]]
func.func @attention_no_mask(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x10x16xf32>, %v: tensor<2x4x10x32xf32>) -> tensor<2x4x8x32xf32> {
  %o = lorc.attention %q, %k, %v : tensor<2x4x8x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x10x32xf32> -> tensor<2x4x8x32xf32>
  return %o : tensor<2x4x8x32xf32>
}

// -----

// Integer key-padding mask [B, Sk], dynamic B and S, explicit scale.
// CHECK-LABEL: func.func @attention_key_padding
//  CHECK-SAME:   %[[Q:.*]]: tensor<?x12x?x32xf32>, %[[K:.*]]: tensor<?x12x?x32xf32>, %[[V:.*]]: tensor<?x12x?x32xf32>, %[[M:.*]]: tensor<?x?xi64>
//       CHECK:   lorc.attention %[[Q]], %[[K]], %[[V]], mask %[[M]] {scale = 0.176776692 : f32} : tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x?xi64> -> tensor<?x12x?x32xf32>
func.func @attention_key_padding(%q: tensor<?x12x?x32xf32>, %k: tensor<?x12x?x32xf32>, %v: tensor<?x12x?x32xf32>, %m: tensor<?x?xi64>) -> tensor<?x12x?x32xf32> {
  %o = lorc.attention %q, %k, %v, mask %m {scale = 0.17677669 : f32}
      : tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x?xi64> -> tensor<?x12x?x32xf32>
  return %o : tensor<?x12x?x32xf32>
}

// -----

// Key-padding mask of i1 with static sizes.
// CHECK-LABEL: func.func @attention_key_padding_i1
//       CHECK:   lorc.attention %{{.*}}, %{{.*}}, %{{.*}}, mask %{{.*}} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x8xi1> -> tensor<2x4x8x16xf32>
func.func @attention_key_padding_i1(%q: tensor<2x4x8x16xf32>, %m: tensor<2x8xi1>) -> tensor<2x4x8x16xf32> {
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x8xi1> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// Additive float mask broadcast over H and Sq ([B, 1, 1, Sk]), and a full one.
// CHECK-LABEL: func.func @attention_additive_mask
//  CHECK-SAME:   %[[Q:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x1x1x8xf32>, %[[F:.*]]: tensor<2x4x8x8xf32>
//       CHECK:   lorc.attention %[[Q]], %[[Q]], %[[Q]], mask %[[M]] : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
//       CHECK:   lorc.attention %[[Q]], %[[Q]], %[[Q]], mask %[[F]] : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32> -> tensor<2x4x8x16xf32>
func.func @attention_additive_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xf32>, %f: tensor<2x4x8x8xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  %p = lorc.attention %q, %q, %q, mask %f : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32> -> tensor<2x4x8x16xf32>
  return %o, %p : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @attention_causal
//       CHECK:   lorc.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
//       CHECK:   lorc.attention %{{.*}}, %{{.*}}, %{{.*}}, mask %{{.*}} {causal, scale = 2.500000e-01 : f32} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x8xi32> -> tensor<1x2x8x16xf32>
func.func @attention_causal(%q: tensor<1x2x8x16xf32>, %m: tensor<1x8xi32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %o = lorc.attention %q, %q, %q {causal} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  %p = lorc.attention %q, %q, %q, mask %m {causal, scale = 0.25 : f32} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x8xi32> -> tensor<1x2x8x16xf32>
  return %o, %p : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// A dynamic head dimension is allowed when the scale is given.
// CHECK-LABEL: func.func @attention_dynamic_head_dim
//       CHECK:   lorc.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.250000e-01 : f32} : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32> -> tensor<?x?x?x?xf32>
func.func @attention_dynamic_head_dim(%q: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o = lorc.attention %q, %q, %q {scale = 0.125 : f32} : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32> -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// -----

// Input in the generic form: printed back in the custom form.
// CHECK-LABEL: func.func @generic_form
//  CHECK-SAME:   %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8xf32>, %[[Q:.*]]: tensor<1x1x4x8xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]], %[[B]] : tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<4x8xf32>
//       CHECK:   %[[N:.*]] = lorc.layer_norm %[[Y]], %[[B]], %[[B]] {epsilon = 1.000000e-03 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
//       CHECK:   %[[O:.*]] = lorc.attention %[[Q]], %[[Q]], %[[Q]] {causal, scale = 5.000000e-01 : f32} : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
//       CHECK:   return %[[N]], %[[O]]
func.func @generic_form(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>, %q: tensor<1x1x4x8xf32>) -> (tensor<4x8xf32>, tensor<1x1x4x8xf32>) {
  %y = "lorc.linear"(%x, %w, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>}> : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %n = "lorc.layer_norm"(%y, %b, %b) <{epsilon = 1.0e-3 : f32}> : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %o = "lorc.attention"(%q, %q, %q) <{causal, scale = 0.5 : f32}> : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %n, %o : tensor<4x8xf32>, tensor<1x1x4x8xf32>
}

// -----

// Adapters: LoRA (linear, conv, Tucker, DoRA), LoHa (plain, Tucker), LoKr (full and decomposed
// factors), attached to a linear with multipliers.
// CHECK-LABEL: func.func @adapters
// CHECK: %[[L:.*]] = lorc.lora %{{.*}}, %{{.*}} {scale = 2.000000e+00 : f64} : tensor<4x16xf32>, tensor<8x4xf32> -> !lorc.adapter<8, 16>
// CHECK: %[[D:.*]] = lorc.lora %{{.*}}, %{{.*}} magnitude %{{.*}} {scale = 5.000000e-01 : f64} : tensor<4x16xf32>, tensor<8x4xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
// CHECK: %[[H:.*]] = lorc.loha %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f64} : tensor<8x2xf32>, tensor<2x16xf32>, tensor<8x2xf32>, tensor<2x16xf32> -> !lorc.adapter<8, 16>
// CHECK: %[[K:.*]] = lorc.lokr w1 %{{.*}} w2a %{{.*}} w2b %{{.*}} {scale = 1.000000e+00 : f64} : tensor<2x4xf32>, tensor<4x2xf32>, tensor<2x4xf32> -> !lorc.adapter<8, 16>
// CHECK: lorc.linear %{{.*}}, %{{.*}}, %{{.*}} adapters(%[[L]], %[[H]], %[[K]] : !lorc.adapter<8, 16>, !lorc.adapter<8, 16>, !lorc.adapter<8, 16>) {multipliers = array<f64: 1.000000e+00, {{.*}}, 5.000000e-01>}
// CHECK: lorc.linear %{{.*}}, %{{.*}} adapters(%[[D]] : !lorc.adapter<8, 16>)
func.func @adapters(%x: tensor<3x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>,
                    %a: tensor<4x16xf32>, %u: tensor<8x4xf32>, %m: tensor<8xf32>,
                    %ha: tensor<8x2xf32>, %hb: tensor<2x16xf32>,
                    %k1: tensor<2x4xf32>, %k2a: tensor<4x2xf32>, %k2b: tensor<2x4xf32>) -> (tensor<3x8xf32>, tensor<3x8xf32>) {
  %l = lorc.lora %a, %u {scale = 2.0 : f64} : tensor<4x16xf32>, tensor<8x4xf32> -> !lorc.adapter<8, 16>
  %d = lorc.lora %a, %u magnitude %m {scale = 0.5 : f64} : tensor<4x16xf32>, tensor<8x4xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
  %h = lorc.loha %ha, %hb, %ha, %hb {scale = 1.0 : f64} : tensor<8x2xf32>, tensor<2x16xf32>, tensor<8x2xf32>, tensor<2x16xf32> -> !lorc.adapter<8, 16>
  %k = lorc.lokr w1 %k1 w2a %k2a w2b %k2b {scale = 1.0 : f64} : tensor<2x4xf32>, tensor<4x2xf32>, tensor<2x4xf32> -> !lorc.adapter<8, 16>
  %y = lorc.linear %x, %w, %b adapters(%l, %h, %k : !lorc.adapter<8, 16>, !lorc.adapter<8, 16>, !lorc.adapter<8, 16>) {multipliers = array<f64: 1.0, 0.7, 0.5>} : tensor<3x16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<3x8xf32>
  %z = lorc.linear %x, %w adapters(%d : !lorc.adapter<8, 16>) : tensor<3x16xf32>, tensor<8x16xf32> -> tensor<3x8xf32>
  return %y, %z : tensor<3x8xf32>, tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @conv_adapters
// CHECK: lorc.lora %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f64} : tensor<2x4x3x3xf32>, tensor<8x2x1x1xf32> -> !lorc.adapter<8, 4, 3, 3>
// CHECK: lorc.lora %{{.*}}, %{{.*}} mid %{{.*}} {scale = 1.000000e+00 : f64} : tensor<2x4x1x1xf32>, tensor<8x2x1x1xf32> mid tensor<2x2x3x3xf32> -> !lorc.adapter<8, 4, 3, 3>
// CHECK: lorc.loha %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} tucker(%{{.*}}, %{{.*}})
func.func @conv_adapters(%d: tensor<2x4x3x3xf32>, %u: tensor<8x2x1x1xf32>, %d1: tensor<2x4x1x1xf32>,
                         %mid: tensor<2x2x3x3xf32>, %wa: tensor<2x8xf32>, %wb: tensor<2x4xf32>)
    -> (!lorc.adapter<8, 4, 3, 3>, !lorc.adapter<8, 4, 3, 3>, !lorc.adapter<8, 4, 3, 3>) {
  %a = lorc.lora %d, %u {scale = 1.0 : f64} : tensor<2x4x3x3xf32>, tensor<8x2x1x1xf32> -> !lorc.adapter<8, 4, 3, 3>
  %b = lorc.lora %d1, %u mid %mid {scale = 1.0 : f64} : tensor<2x4x1x1xf32>, tensor<8x2x1x1xf32> mid tensor<2x2x3x3xf32> -> !lorc.adapter<8, 4, 3, 3>
  %c = lorc.loha %wa, %wb, %wa, %wb tucker(%mid, %mid) {scale = 1.0 : f64} : tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x2x3x3xf32>, tensor<2x2x3x3xf32> -> !lorc.adapter<8, 4, 3, 3>
  return %a, %b, %c : !lorc.adapter<8, 4, 3, 3>, !lorc.adapter<8, 4, 3, 3>, !lorc.adapter<8, 4, 3, 3>
}

// -----

// CHECK-LABEL: func.func @lowrank
// CHECK: lorc.lowrank_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {r_max = 8 : i64, r_min = 2 : i64, rank = 4 : i64} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32>, tensor<12xf32> -> tensor<?x12xf32>
// CHECK: lorc.lowrank_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} rank(%{{.*}}) {r_max = 8 : i64, r_min = 2 : i64, rank = 4 : i64} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<?x12xf32>
func.func @lowrank(%x: tensor<?x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>, %b: tensor<12xf32>, %r: index) -> (tensor<?x12xf32>, tensor<?x12xf32>) {
  %y = lorc.lowrank_linear %x, %v, %s, %u, %b {rank = 4, r_min = 2, r_max = 8} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32>, tensor<12xf32> -> tensor<?x12xf32>
  %z = lorc.lowrank_linear %x, %v, %s, %u rank(%r) {rank = 4, r_min = 2, r_max = 8} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<?x12xf32>
  return %y, %z : tensor<?x12xf32>, tensor<?x12xf32>
}

// -----

// A linear with a fused epilogue (--lorc-fuse): the residual operand and the activation
// attribute print back as written, the generic form names the residual's operand segment.
// CHECK-LABEL: func.func @linear_epilogue
//  CHECK-SAME:   %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8xf32>, %[[H:.*]]: tensor<4x8xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]], %[[B]] residual(%[[H]] : tensor<4x8xf32>) {activation = "gelu_tanh"} : tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<4x8xf32>
//       CHECK:   %[[Z:.*]] = lorc.linear %[[X]], %[[W]] residual(%[[Y]] : tensor<4x8xf32>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
//       CHECK:   return %[[Z]]
func.func @linear_epilogue(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>, %h: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = lorc.linear %x, %w, %b residual(%h : tensor<4x8xf32>) {activation = "gelu_tanh"} : tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %z = "lorc.linear"(%x, %w, %y) <{operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0>}> : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %z : tensor<4x8xf32>
}
