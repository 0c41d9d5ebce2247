// RUN: not lorc-opt %s -split-input-file --transform-interpreter 2>&1 | FileCheck %s

// Tiles that would be wrong are refused: a layer norm's row split across tiles (its statistics
// need whole rows), and a linear with an adapter tiled along N (the adapter is one [N, K] update).
// CHECK: tiling-invalid.mlir:[[# @LINE + 2]]:{{.*}}error: 'lorc.layer_norm' op faild to tile operation
func.func @ln_columns(%x: tensor<8x64xf32>, %g: tensor<64xf32>) -> tensor<8x64xf32> {
  %n = lorc.layer_norm %x, %g, %g {epsilon = 1.0e-5 : f32} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %n : tensor<8x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["lorc.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [2, 16]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// CHECK: tiling-invalid.mlir:[[# @LINE + 4]]:{{.*}}error: 'lorc.linear' op faild to tile operation
func.func @adapter_columns(%x: tensor<8x4xf32>, %w: tensor<2x4xf32>, %down: tensor<1x4xf32>,
                           %up: tensor<2x1xf32>) -> tensor<8x2xf32> {
  %a = lorc.lora %down, %up {scale = 1.0 : f64} : tensor<1x4xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 4>
  %y = lorc.linear %x, %w adapters(%a : !lorc.adapter<2, 4>) : tensor<8x4xf32>, tensor<2x4xf32> -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["lorc.linear"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %op tile_sizes [4, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Rows of a linear with an adapter tile (N stays whole, the adapter is passed on).
// CHECK-LABEL: func.func @adapter_rows
//       CHECK:   scf.for
//       CHECK:     lorc.linear %{{.*}}, %{{.*}} adapters(%{{.*}} : !lorc.adapter<2, 4>) : tensor<4x4xf32>, tensor<2x4xf32> -> tensor<4x2xf32>
func.func @adapter_rows(%x: tensor<8x4xf32>, %w: tensor<2x4xf32>, %down: tensor<1x4xf32>,
                        %up: tensor<2x1xf32>) -> tensor<8x2xf32> {
  %a = lorc.lora %down, %up {scale = 1.0 : f64} : tensor<1x4xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 4>
  %y = lorc.linear %x, %w adapters(%a : !lorc.adapter<2, 4>) : tensor<8x4xf32>, tensor<2x4xf32> -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["lorc.linear"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops = transform.structured.tile_using_for %op tile_sizes [4, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
