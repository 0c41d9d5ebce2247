// RUN: lorc-opt %s -split-input-file --lorc-fuse | FileCheck %s
// RUN: lorc-opt %s -split-input-file --lorc-fuse=projections=false | FileCheck %s --check-prefix=OFF
// RUN: lorc-opt %s -split-input-file --lorc-fuse=epilogues=false | FileCheck %s --check-prefix=NOEPI
// RUN: lorc-opt %s -split-input-file --lorc-fuse=cache-bytes=65536 | FileCheck %s --check-prefix=SMALL
// RUN: lorc-opt %s -split-input-file --lorc-fuse=layer-norms=false | FileCheck %s --check-prefix=NOLN
// RUN: lorc-opt %s -split-input-file --lorc-fuse=attention=false | FileCheck %s --check-prefix=NOATT

// --lorc-fuse, projections: linears that read the same input become one GEMM over their
// stacked weights ([Σ Nᵢ, K], biases concatenated), each old result a slice of the new one.

// The resource keys name the parts, brace-expanded where they differ; the values are the
// stacked rows (q: 1.0, k: 2.0, v: the 2×4 literal) and biases.
// CHECK-LABEL: func.func @qkv
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x?x4xf32>)
//       CHECK:   %[[W:.*]] = arith.constant dense_resource<"layer.{query,key,value}.weight"> : tensor<10x4xf32>
//       CHECK:   %[[B:.*]] = arith.constant dense_resource<"layer.{query,key,value}.bias"> : tensor<10xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]], %[[B]] {lorc.fused_from = ["layer.query.weight", "layer.key.weight", "layer.value.weight"]} : tensor<?x?x4xf32>, tensor<10x4xf32>, tensor<10xf32> -> tensor<?x?x10xf32>
//       CHECK:   %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0, 0] [%{{.*}}, %{{.*}}, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
//       CHECK:   %[[K:.*]] = tensor.extract_slice %[[Y]][0, 0, 4] [%{{.*}}, %{{.*}}, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
//       CHECK:   %[[V:.*]] = tensor.extract_slice %[[Y]][0, 0, 8] [%{{.*}}, %{{.*}}, 2] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x2xf32>
//       CHECK:   return %[[Q]], %[[K]], %[[V]]
//   CHECK-NOT:   lorc.linear
//       CHECK: "layer.{query,key,value}.weight": "0x04000000{{(0000803F)+(00000040)+}}0000803F0000004000004040000080400000A0400000C0400000E04000000041"
//       CHECK: "layer.{query,key,value}.bias": "0x04000000CDCCCC3DCDCCCC3DCDCCCC3DCDCCCC3DCDCC4C3ECDCC4C3ECDCC4C3ECDCC4C3E9A99993ECDCCCC3E"
// OFF-LABEL: func.func @qkv
// OFF-COUNT-3: lorc.linear
// OFF-NOT: lorc.fused_from
func.func @qkv(%x: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x2xf32>) {
  %wq = arith.constant dense_resource<"layer.query.weight"> : tensor<4x4xf32>
  %bq = arith.constant dense_resource<"layer.query.bias"> : tensor<4xf32>
  %wk = arith.constant dense_resource<"layer.key.weight"> : tensor<4x4xf32>
  %bk = arith.constant dense_resource<"layer.key.bias"> : tensor<4xf32>
  %wv = arith.constant dense_resource<"layer.value.weight"> : tensor<2x4xf32>
  %bv = arith.constant dense_resource<"layer.value.bias"> : tensor<2xf32>
  %q = lorc.linear %x, %wq, %bq : tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %k = lorc.linear %x, %wk, %bk : tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %v = lorc.linear %x, %wv, %bv : tensor<?x?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x?x2xf32>
  return %q, %k, %v : tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      "layer.query.weight": "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      "layer.query.bias": "0x04000000CDCCCC3DCDCCCC3DCDCCCC3DCDCCCC3D",
      "layer.key.weight": "0x0400000000000040000000400000004000000040000000400000004000000040000000400000004000000040000000400000004000000040000000400000004000000040",
      "layer.key.bias": "0x04000000CDCC4C3ECDCC4C3ECDCC4C3ECDCC4C3E",
      "layer.value.weight": "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041",
      "layer.value.bias": "0x040000009A99993ECDCCCC3E"
    }
  }
#-}

// -----

// Must not fuse: a linear alone on its input; linears on different inputs; a weight that is not
// a constant; a linear with an adapter; the A projection of a fused LoRA
// (lorc.adapter_factor) with a plain linear. Mixed bias presence splits the group: the two with a bias fuse, the
// one without stays.
// CHECK-LABEL: func.func @negative
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x4xf32>, %[[Z:.*]]: tensor<?x4xf32>, %[[WD:.*]]: tensor<3x4xf32>
//       CHECK:   lorc.linear %[[Z]], %{{.*}} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
//       CHECK:   lorc.linear %[[X]], %[[WD]] : tensor<?x4xf32>, tensor<3x4xf32> -> tensor<?x3xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}} adapters(%{{.*}})
//       CHECK:   lorc.linear %[[X]], %{{.*}} {lorc.adapter_factor} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}}, %{{.*}} {lorc.fused_from = ["weight", "weight"]} : tensor<?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
//   CHECK-NOT:   lorc.fused_from
func.func @negative(%x: tensor<?x4xf32>, %z: tensor<?x4xf32>, %wd: tensor<3x4xf32>,
                    %up: tensor<2x1xf32>, %down: tensor<1x4xf32>)
    -> (tensor<?x2xf32>, tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %w2 = arith.constant dense<1.0> : tensor<2x4xf32>
  %b2 = arith.constant dense<0.5> : tensor<2xf32>
  %w1 = arith.constant dense<1.0> : tensor<1x4xf32>
  %lonely = lorc.linear %z, %w2 : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %dyn = lorc.linear %x, %wd : tensor<?x4xf32>, tensor<3x4xf32> -> tensor<?x3xf32>
  %a = lorc.lora %down, %up {scale = 1.0 : f64} : tensor<1x4xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 4>
  %adapted = lorc.linear %x, %w2 adapters(%a : !lorc.adapter<2, 4>) : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %xa = lorc.linear %x, %w1 {lorc.adapter_factor} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
  %p = lorc.linear %x, %w2, %b2 : tensor<?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x2xf32>
  %r = lorc.linear %x, %w2, %b2 : tensor<?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x2xf32>
  %nobias = lorc.linear %x, %w2 : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  return %lonely, %dyn, %adapted, %xa, %p, %r, %nobias : tensor<?x2xf32>, tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Adapters' A matrices on a shared input (the A projections --lorc-fuse-lora-gemm makes, marked
// lorc.adapter_factor) stack with each other, keep the mark and list each part's first row
// (lorc-compile tells the runtime where each A lives); a plain linear of the same K and bias
// presence on the same input does not join them.
// CHECK-LABEL: func.func @adapter_factors
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x4xf32>)
//       CHECK:   %[[A:.*]] = arith.constant dense_resource<"adapter0.layer.{query,value}.down"> : tensor<3x4xf32>
//       CHECK:   %[[XA:.*]] = lorc.linear %[[X]], %[[A]] {lorc.adapter_factor, lorc.fused_from = ["adapter0.layer.query.down", "adapter0.layer.value.down"], lorc.fused_rows = array<i64: 0, 1>} : tensor<?x4xf32>, tensor<3x4xf32> -> tensor<?x3xf32>
//       CHECK:   tensor.extract_slice %[[XA]][0, 0] [%{{.*}}, 1] [1, 1]
//       CHECK:   tensor.extract_slice %[[XA]][0, 1] [%{{.*}}, 2] [1, 1]
//       CHECK:   lorc.linear %[[X]], %{{.*}} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
// The stacked rows: A_query (1, 2, 3, 4) then A_value (5 … 12).
//       CHECK:   "adapter0.layer.{query,value}.down": "0x040000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041"
//  OFF-LABEL: func.func @adapter_factors
//    OFF-NOT:   lorc.fused_rows
func.func @adapter_factors(%x: tensor<?x4xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %aq = arith.constant dense_resource<"adapter0.layer.query.down"> : tensor<1x4xf32>
  %av = arith.constant dense_resource<"adapter0.layer.value.down"> : tensor<2x4xf32>
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %q = lorc.linear %x, %aq {lorc.adapter_factor} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
  %v = lorc.linear %x, %av {lorc.adapter_factor} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %p = lorc.linear %x, %w : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  return %q, %v, %p : tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      "adapter0.layer.query.down": "0x040000000000803F000000400000404000008040",
      "adapter0.layer.value.down": "0x040000000000A0400000C0400000E0400000004100001041000020410000304100004041"
    }
  }
#-}

// -----

// --lorc-fuse, epilogues: a GELU (erf form, any operand order; its tensor.empty's size query
// on the linear's result does not count as a use) then a residual add (either operand order)
// become the linear's epilogue, created where the add was.
// CHECK-LABEL: func.func @gelu_residual
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x4xf32>, %[[H:.*]]: tensor<?x8xf32>)
//   CHECK-NOT:   linalg.generic
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %{{.*}}, %{{.*}} residual(%[[H]] : tensor<?x8xf32>) {activation = "gelu_erf"} : tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<?x8xf32>
//   CHECK-NOT:   arith.addf
//       CHECK:   return %[[Y]]
// NOEPI-LABEL: func.func @gelu_residual
//       NOEPI:   lorc.linear
//   NOEPI-NOT:   activation
//       NOEPI:   linalg.generic
//       NOEPI:   arith.addf %{{.*}}, %{{.*}} : tensor<?x8xf32>
func.func @gelu_residual(%x: tensor<?x4xf32>, %h: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %b = arith.constant dense<0.1> : tensor<8xf32>
  %c0 = arith.constant 0 : index
  %y = lorc.linear %x, %w, %b : tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %d0 = tensor.dim %y, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%d0) : tensor<?x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %z = arith.addf %h, %g : tensor<?x8xf32>
  return %z : tensor<?x8xf32>
}

// -----

// The tanh form (GELU(approximate="tanh"), transformers' gelu_new), alone.
// CHECK-LABEL: func.func @gelu_tanh
//       CHECK:   %[[Y:.*]] = lorc.linear %{{.*}}, %{{.*}} {activation = "gelu_tanh"}
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[Y]]
func.func @gelu_tanh(%x: tensor<?x4xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %c0 = arith.constant 0 : index
  %y = lorc.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %d0 = tensor.dim %y, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%d0) : tensor<?x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %k = arith.constant 0.797884583 : f32
    %cub = arith.constant 4.471500e-02 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %v2 = arith.mulf %v, %v : f32
    %v3 = arith.mulf %v2, %v : f32
    %t0 = arith.mulf %v3, %cub : f32
    %t1 = arith.addf %t0, %v : f32
    %t2 = arith.mulf %t1, %k : f32
    %th = math.tanh %t2 : f32
    %p = arith.addf %th, %one : f32
    %xp = arith.mulf %v, %p : f32
    %r = arith.mulf %xp, %half : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %g : tensor<?x8xf32>
}

// -----

// Must not fuse an epilogue: the linear's result has another user (the pre-activation value is
// needed), so neither the GELU nor the add fold; the activated value has another user, so the
// add does not fold (but the GELU does); an add of a value to itself; a generic that is not a
// GELU (a wrong constant).
// CHECK-LABEL: func.func @epilogue_negative
//       CHECK:   %[[Y1:.*]] = lorc.linear %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
//       CHECK:   linalg.generic
//  CHECK-SAME:     ins(%[[Y1]]
//       CHECK:   %[[Y2:.*]] = lorc.linear %{{.*}}, %{{.*}} {activation = "gelu_erf"}
//       CHECK:   arith.addf %[[Y2]], %{{.*}}
//       CHECK:   %[[Y3:.*]] = lorc.linear
//   CHECK-NOT:     residual
//       CHECK:   arith.addf %[[Y3]], %[[Y3]]
//       CHECK:   %[[Y4:.*]] = lorc.linear
//   CHECK-NOT:     activation
//       CHECK:   linalg.generic
//  CHECK-SAME:     ins(%[[Y4]]
func.func @epilogue_negative(%x: tensor<?x4xf32>, %x2: tensor<?x4xf32>, %x3: tensor<?x4xf32>,
                             %x4: tensor<?x4xf32>, %h: tensor<?x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %c0 = arith.constant 0 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x4xf32>
  %y1 = lorc.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %e1 = tensor.empty(%d0) : tensor<?x8xf32>
  %g1 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y1 : tensor<?x8xf32>) outs(%e1 : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %y2 = lorc.linear %x2, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %e2 = tensor.empty(%d0) : tensor<?x8xf32>
  %g2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %z2 = arith.addf %g2, %h : tensor<?x8xf32>
  %y3 = lorc.linear %x3, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %z3 = arith.addf %y3, %y3 : tensor<?x8xf32>
  %y4 = lorc.linear %x4, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %e4 = tensor.empty(%d0) : tensor<?x8xf32>
  %g4 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y4 : tensor<?x8xf32>) outs(%e4 : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.5 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y1, %g1, %g2, %z2, %z3, %g4 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A shared input with different consumers: the linear feeding a GELU takes it as its epilogue,
// so projection fusion does not merge it with the plain one beside it (their epilogues
// differ); two linears with the same activation and no residual do merge, keeping it.
// CHECK-LABEL: func.func @shared_input_different_consumers
//       CHECK:   lorc.linear %{{.*}}, %{{.*}} {lorc.fused_from = ["weight", "weight"]} : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
//       CHECK:   lorc.linear %{{.*}}, %{{.*}} {activation = "gelu_erf", lorc.fused_from = ["weight", "weight"]} : tensor<?x4xf32>, tensor<16x4xf32> -> tensor<?x16xf32>
//   CHECK-NOT:   lorc.linear
// NOEPI-LABEL: func.func @shared_input_different_consumers
//       NOEPI:   lorc.linear %{{.*}}, %{{.*}} {lorc.fused_from = ["weight", "weight", "weight", "weight"]} : tensor<?x4xf32>, tensor<24x4xf32> -> tensor<?x24xf32>
func.func @shared_input_different_consumers(%x: tensor<?x4xf32>)
    -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %w4 = arith.constant dense<0.5> : tensor<4x4xf32>
  %w = arith.constant dense<0.25> : tensor<8x4xf32>
  %c0 = arith.constant 0 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x4xf32>
  %p1 = lorc.linear %x, %w4 : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %p2 = lorc.linear %x, %w4 : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %y1 = lorc.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %e1 = tensor.empty(%d0) : tensor<?x8xf32>
  %g1 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y1 : tensor<?x8xf32>) outs(%e1 : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %y2 = lorc.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  %e2 = tensor.empty(%d0) : tensor<?x8xf32>
  %g2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %s = arith.mulf %c, %v : f32
    %er = math.erf %s : f32
    %p = arith.addf %one, %er : f32
    %hv = arith.mulf %half, %v : f32
    %r = arith.mulf %hv, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %p1, %p2, %g1, %g2 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// --lorc-fuse, layer norms: a layer norm on a linear's result (after its residual epilogue)
// is marked to run with it in row tiles that fit half the cache: a row is K + N + N (input,
// output, residual) × 4 B = 512 B here, so T = min(⌊cache / 2 / 512 / 16⌋·16, 256): 256 with
// the default 1 MiB, 64 with cache-bytes=65536.
// CHECK-LABEL: func.func @layer_norm
//       CHECK:   %[[Y:.*]] = lorc.linear %{{.*}} residual(
//       CHECK:   lorc.layer_norm %[[Y]], %{{.*}}, %{{.*}} {epsilon = {{.*}}, lorc.row_tile = 256 : i64}
// SMALL-LABEL: func.func @layer_norm
//       SMALL:   lorc.layer_norm {{.*}}lorc.row_tile = 64 : i64
//  NOLN-LABEL: func.func @layer_norm
//    NOLN-NOT:   lorc.row_tile
func.func @layer_norm(%x: tensor<?x?x64xf32>, %h: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %b = arith.constant dense<0.1> : tensor<32xf32>
  %g = arith.constant dense<1.5> : tensor<32xf32>
  %be = arith.constant dense<0.2> : tensor<32xf32>
  %y = lorc.linear %x, %w, %b : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  %s = arith.addf %y, %h : tensor<?x?x32xf32>
  %n = lorc.layer_norm %s, %g, %be {epsilon = 1.0e-12 : f32} : tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>
  return %n : tensor<?x?x32xf32>
}

// -----

// Layer norms left alone: rows that do not fit (K = 4096, N = 16384 with a residual: 144 KiB
// a row, 3 rows in half of 1 MiB; K = 64, N = 8192 with a residual: 64 KiB a row, 7 rows;
// 16 are needed); a linear whose result has another user; an input that is not a linear's.
// CHECK-LABEL: func.func @layer_norm_negative
//   CHECK-NOT:   lorc.row_tile
//       CHECK:   return
// SMALL-LABEL: func.func @layer_norm_negative
//   SMALL-NOT:   lorc.row_tile
//       SMALL:   return
func.func @layer_norm_negative(%x: tensor<?x4096xf32>, %h: tensor<?x16384xf32>,
                               %z: tensor<?x64xf32>, %zh: tensor<?x8192xf32>)
    -> (tensor<?x16384xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x8192xf32>) {
  %w = arith.constant dense<0.5> : tensor<16384x4096xf32>
  %g = arith.constant dense<1.5> : tensor<16384xf32>
  %be = arith.constant dense<0.2> : tensor<16384xf32>
  %y = lorc.linear %x, %w residual(%h : tensor<?x16384xf32>) : tensor<?x4096xf32>, tensor<16384x4096xf32> -> tensor<?x16384xf32>
  %n = lorc.layer_norm %y, %g, %be {epsilon = 1.0e-12 : f32} : tensor<?x16384xf32>, tensor<16384xf32>, tensor<16384xf32>
  %w2 = arith.constant dense<0.5> : tensor<64x64xf32>
  %g2 = arith.constant dense<1.5> : tensor<64xf32>
  %y2 = lorc.linear %z, %w2 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %n2 = lorc.layer_norm %y2, %g2, %g2 {epsilon = 1.0e-12 : f32} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %n3 = lorc.layer_norm %z, %g2, %g2 {epsilon = 1.0e-12 : f32} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %w4 = arith.constant dense<0.5> : tensor<8192x64xf32>
  %g4 = arith.constant dense<1.5> : tensor<8192xf32>
  %y4 = lorc.linear %z, %w4 residual(%zh : tensor<?x8192xf32>) : tensor<?x64xf32>, tensor<8192x64xf32> -> tensor<?x8192xf32>
  %n4 = lorc.layer_norm %y4, %g4, %g4 {epsilon = 1.0e-12 : f32} : tensor<?x8192xf32>, tensor<8192xf32>, tensor<8192xf32>
  return %n, %y2, %n2, %n3, %n4 : tensor<?x16384xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x8192xf32>
}

// -----

// --lorc-fuse, attention: a query multiplied by a splat constant becomes part of the op's scale
// (0.5 · 1/√16 = 0.125), and Hugging Face's additive mask (1 − float(m))·lowest, reshaped to
// [B, 1, 1, Sk], becomes the integer key-padding mask m it was computed from; the float mask's
// ops go once neither attention reads them.
// CHECK-LABEL: func.func @attention
//  CHECK-SAME:   (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x8xi64>)
//   CHECK-NOT:   arith.mulf
//   CHECK-NOT:   tensor.expand_shape
//       CHECK:   lorc.attention %[[Q]], %[[K]], %[[K]], mask %[[M]] {scale = 1.250000e-01 : f32} : {{.*}}, tensor<2x8xi64>
//       CHECK:   lorc.attention %[[K]], %[[K]], %[[K]], mask %[[M]] {scale = 2.500000e-01 : f32} : {{.*}}, tensor<2x8xi64>
//  NOATT-LABEL: func.func @attention
//       NOATT:   arith.mulf
//       NOATT:   lorc.attention {{.*}} tensor<2x1x1x8xf32>
func.func @attention(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %m: tensor<2x8xi64>)
    -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %half = arith.constant dense<0.5> : tensor<2x4x8x16xf32>
  %qs = arith.mulf %q, %half : tensor<2x4x8x16xf32>
  %one = arith.constant dense<1.0> : tensor<2x8xf32>
  %lowest = arith.constant dense<-3.40282347E+38> : tensor<2x8xf32>
  %mf = arith.sitofp %m : tensor<2x8xi64> to tensor<2x8xf32>
  %inv = arith.subf %one, %mf : tensor<2x8xf32>
  %add = arith.mulf %lowest, %inv : tensor<2x8xf32>
  %mask = tensor.expand_shape %add [[0, 1, 2], [3]] output_shape [2, 1, 1, 8] : tensor<2x8xf32> into tensor<2x1x1x8xf32>
  %o1 = lorc.attention %qs, %k, %k, mask %mask : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  %o2 = lorc.attention %k, %k, %k, mask %mask {scale = 0.25 : f32} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  return %o1, %o2 : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// -----

// Masks that stay additive: one of the wrong shape for key padding ([B, 1, Sq, Sk], from a
// [B, Sq, Sk] mask), a soft bias (c = -1 > -1e4), a mask that is not 1 − m, and one from an
// i1 mask through sitofp (true → -1, so not 1 − m either). A query scale with another user
// stays too.
// CHECK-LABEL: func.func @attention_negative
//       CHECK:   arith.mulf
//       CHECK:   lorc.attention {{.*}}, mask %{{.*}} : {{.*}}, tensor<2x1x8x8xf32> -> tensor<2x4x8x16xf32>
//       CHECK:   lorc.attention {{.*}}, mask %{{.*}} : {{.*}}, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
//       CHECK:   lorc.attention {{.*}}, mask %{{.*}} : {{.*}}, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
//       CHECK:   lorc.attention {{.*}}, mask %{{.*}} : {{.*}}, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
//   CHECK-NOT:   xi64> -> tensor<2x4x8x16xf32>
//   CHECK-NOT:   xi1> -> tensor<2x4x8x16xf32>
func.func @attention_negative(%q: tensor<2x4x8x16xf32>, %m3: tensor<2x8x8xi64>, %m: tensor<2x8xi64>)
    -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %half = arith.constant dense<0.5> : tensor<2x4x8x16xf32>
  %qs = arith.mulf %q, %half : tensor<2x4x8x16xf32>
  %lowest3 = arith.constant dense<-3.40282347E+38> : tensor<2x8x8xf32>
  %one3 = arith.constant dense<1.0> : tensor<2x8x8xf32>
  %mf3 = arith.sitofp %m3 : tensor<2x8x8xi64> to tensor<2x8x8xf32>
  %inv3 = arith.subf %one3, %mf3 : tensor<2x8x8xf32>
  %add3 = arith.mulf %lowest3, %inv3 : tensor<2x8x8xf32>
  %mask3 = tensor.expand_shape %add3 [[0, 1], [2], [3]] output_shape [2, 1, 8, 8] : tensor<2x8x8xf32> into tensor<2x1x8x8xf32>
  %o1 = lorc.attention %qs, %q, %q, mask %mask3 : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x8x8xf32> -> tensor<2x4x8x16xf32>
  %one = arith.constant dense<1.0> : tensor<2x8xf32>
  %soft = arith.constant dense<-1.0> : tensor<2x8xf32>
  %mf = arith.sitofp %m : tensor<2x8xi64> to tensor<2x8xf32>
  %inv = arith.subf %one, %mf : tensor<2x8xf32>
  %bias = arith.mulf %soft, %inv : tensor<2x8xf32>
  %mask = tensor.expand_shape %bias [[0, 1, 2], [3]] output_shape [2, 1, 1, 8] : tensor<2x8xf32> into tensor<2x1x1x8xf32>
  %o2 = lorc.attention %q, %q, %q, mask %mask : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  %lowest = arith.constant dense<-3.40282347E+38> : tensor<2x8xf32>
  %plain = arith.mulf %lowest, %mf : tensor<2x8xf32>
  %maskp = tensor.expand_shape %plain [[0, 1, 2], [3]] output_shape [2, 1, 1, 8] : tensor<2x8xf32> into tensor<2x1x1x8xf32>
  %o3 = lorc.attention %q, %q, %q, mask %maskp : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  %b1 = arith.constant dense<true> : tensor<2x8xi1>
  %bf = arith.sitofp %b1 : tensor<2x8xi1> to tensor<2x8xf32>
  %binv = arith.subf %one, %bf : tensor<2x8xf32>
  %badd = arith.mulf %lowest, %binv : tensor<2x8xf32>
  %maskb = tensor.expand_shape %badd [[0, 1, 2], [3]] output_shape [2, 1, 1, 8] : tensor<2x8xf32> into tensor<2x1x1x8xf32>
  %o4 = lorc.attention %q, %q, %q, mask %maskb : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  return %o1, %o2, %o3, %o4, %qs : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}
