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
  %y = "lorc.linear"(%x, %w, %b) : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %n = "lorc.layer_norm"(%y, %b, %b) <{epsilon = 1.0e-3 : f32}> : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %o = "lorc.attention"(%q, %q, %q) <{causal, scale = 0.5 : f32}> : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %n, %o : tensor<4x8xf32>, tensor<1x1x4x8xf32>
}
