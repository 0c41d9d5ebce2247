// RUN: lorc-opt %s -split-input-file -lorc-fuse-elementwise | FileCheck %s

// A chain of element-wise linalg.generic ops whose producer has one use is fused into one.

// CHECK-LABEL: func.func @chain
//  CHECK-SAME:   %[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4x8xf32>
//       CHECK:   %[[G:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<4x8xf32>)
//       CHECK:     %[[S:.*]] = arith.addf
//       CHECK:     %[[E:.*]] = math.exp %[[S]] : f32
//       CHECK:     linalg.yield %[[E]]
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[G]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @chain(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = math.exp %x : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// A producer with another use is not fused (its work would be recomputed in each consumer).

// CHECK-LABEL: func.func @producer_with_two_uses
//       CHECK:   %[[P:.*]] = linalg.generic
//       CHECK:     arith.addf
//       CHECK:   %[[C:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<4x8xf32>)
//       CHECK:     math.exp
//       CHECK:   return %[[P]], %[[C]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @producer_with_two_uses(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = math.exp %x : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// The matmul stays a named linalg.matmul: its broadcast-bias init is not fused into it, and a
// reshape between it and an element-wise consumer is not propagated through it (upstream
// --linalg-fuse-elementwise-ops turns it into a linalg.generic here).

// CHECK-LABEL: func.func @matmul_stays_named
//       CHECK:   %[[BIAS:.*]] = linalg.generic
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<16x8xf32>) outs(%[[BIAS]] : tensor<8x16xf32>)
//       CHECK:   %[[R:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0, 1], [2]] output_shape [2, 4, 16]
//       CHECK:   %[[G:.*]] = linalg.generic {{.*}} ins(%[[R]] : tensor<2x4x16xf32>)
//       CHECK:     math.erf
//       CHECK:   return %[[G]]
func.func @matmul_stays_named(%x: tensor<8x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %bc = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<8x16xf32>
  %mm = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                       affine_map<(d0, d1, d2) -> (d1, d2)>,
                                       affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%x, %w : tensor<8x8xf32>, tensor<16x8xf32>) outs(%bc : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = tensor.expand_shape %mm [[0, 1], [2]] output_shape [2, 4, 16] : tensor<8x16xf32> into tensor<2x4x16xf32>
  %e3 = tensor.empty() : tensor<2x4x16xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r : tensor<2x4x16xf32>) outs(%e3 : tensor<2x4x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = math.erf %v : f32
    linalg.yield %s : f32
  } -> tensor<2x4x16xf32>
  return %g : tensor<2x4x16xf32>
}
