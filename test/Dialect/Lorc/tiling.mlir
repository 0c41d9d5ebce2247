// RUN: lorc-opt %s -split-input-file --transform-interpreter --canonicalize | FileCheck %s

// lorc.linear through its TilingInterface, with upstream's transform.structured.tile_using_for:
// rows and N both tiled: the input's rows (all of K), the weight's and bias's rows [n, n + 16),
// the residual like the result; the epilogue stays on the tile.
// CHECK-LABEL: func.func @linear
//  CHECK-SAME:   (%[[X:.*]]: tensor<8x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<32xf32>, %[[R:.*]]: tensor<8x32xf32>)
//       CHECK:   scf.for %[[I:.*]] = %c0 to %c8 step %c4
//       CHECK:     scf.for %[[J:.*]] = %c0 to %c32 step %c16
//   CHECK-DAG:       %[[XT:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [4, 64] [1, 1]
//   CHECK-DAG:       %[[WT:.*]] = tensor.extract_slice %[[W]][%[[J]], 0] [16, 64] [1, 1]
//   CHECK-DAG:       %[[BT:.*]] = tensor.extract_slice %[[B]][%[[J]]] [16] [1]
//   CHECK-DAG:       %[[RT:.*]] = tensor.extract_slice %[[R]][%[[I]], %[[J]]] [4, 16] [1, 1]
//       CHECK:       %[[YT:.*]] = lorc.linear %[[XT]], %[[WT]], %[[BT]] residual(%[[RT]] : tensor<4x16xf32>) {activation = "gelu_tanh"} : tensor<4x64xf32>, tensor<16x64xf32>, tensor<16xf32> -> tensor<4x16xf32>
//       CHECK:       tensor.insert_slice %[[YT]] into %{{.*}}[%[[I]], %[[J]]] [4, 16] [1, 1]
func.func @linear(%x: tensor<8x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>,
                  %r: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %y = lorc.linear %x, %w, %b residual(%r : tensor<8x32xf32>) {activation = "gelu_tanh"}
      : tensor<8x64xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["lorc.linear"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [4, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// lorc.layer_norm: rows tile (here through scf.forall), gamma and beta stay whole.
// CHECK-LABEL: func.func @layer_norm
//       CHECK:   scf.forall (%[[I:.*]]) in (4)
//       CHECK:     %[[ROW:.*]] = affine.apply #{{.*}}(%[[I]])
//       CHECK:     %[[XT:.*]] = tensor.extract_slice %{{.*}}[%[[ROW]], 0] [2, 64] [1, 1]
//       CHECK:     lorc.layer_norm %[[XT]], %{{.*}}, %{{.*}} {epsilon = {{.*}}} : tensor<2x64xf32>, tensor<64xf32>, tensor<64xf32>
func.func @layer_norm(%x: tensor<8x64xf32>, %g: tensor<64xf32>) -> tensor<8x64xf32> {
  %n = lorc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f32} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %n : tensor<8x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["lorc.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [2, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
