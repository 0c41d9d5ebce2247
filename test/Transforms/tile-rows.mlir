// RUN: not lorc-opt %s -split-input-file --lorc-tile-rows | FileCheck %s
// RUN: not lorc-opt %s -split-input-file --lorc-tile-rows 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR

// A marked layer norm and the linear producing its input (bias, GELU, residual) become one
// scf.forall over tiles of 64 rows of the second-last dimension (whole rows, one batch index
// at a time): the linear on slices of its input and residual, the norm on the linear's tile.
// The loop's bounds come from the linear's operands, so the untiled linear is gone.
// CHECK-DAG: #[[MIN:.*]] = affine_map<(d0)[s0] -> (-d0 + s0, 64)>
// CHECK-LABEL: func.func @ln
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x?x64xf32>, %[[R:.*]]: tensor<?x?x32xf32>)
//       CHECK:   %[[B:.*]] = tensor.dim %[[X]], %c0
//       CHECK:   %[[S:.*]] = tensor.dim %[[X]], %c1
//       CHECK:   %[[INIT:.*]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x?x32xf32>
//       CHECK:   %[[Y:.*]] = scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (%{{.*}}, %[[SS:.*]]) step (1, 64) shared_outs(%[[O:.*]] = %[[INIT]])
//       CHECK:     %[[T:.*]] = affine.min #[[MIN]](%[[J]])[%[[SS]]]
//       CHECK:     %[[XT:.*]] = tensor.extract_slice %[[X]][%[[I]], %[[J]], 0] [1, %[[T]], 64] [1, 1, 1] : tensor<?x?x64xf32> to tensor<1x?x64xf32>
//       CHECK:     %[[RT:.*]] = tensor.extract_slice %[[R]][%[[I]], %[[J]], 0] [1, %[[T]], 32] [1, 1, 1] : tensor<?x?x32xf32> to tensor<1x?x32xf32>
//       CHECK:     %[[HT:.*]] = lorc.linear %[[XT]], %{{.*}}, %{{.*}} residual(%[[RT]] : tensor<1x?x32xf32>) {activation = "gelu_erf"} : tensor<1x?x64xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<1x?x32xf32>
//       CHECK:     %[[NT:.*]] = lorc.layer_norm %[[HT]], %{{.*}}, %{{.*}} {epsilon = {{.*}}} : tensor<1x?x32xf32>
//       CHECK:     scf.forall.in_parallel
//       CHECK:       tensor.parallel_insert_slice %[[NT]] into %[[O]][%[[I]], %[[J]], 0] [1, %[[T]], 32] [1, 1, 1]
//   CHECK-NOT:   lorc.linear
//   CHECK-NOT:   lorc.row_tile
//       CHECK:   return %[[Y]]
func.func @ln(%x: tensor<?x?x64xf32>, %r: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %b = arith.constant dense<0.1> : tensor<32xf32>
  %g = arith.constant dense<1.5> : tensor<32xf32>
  %be = arith.constant dense<0.2> : tensor<32xf32>
  %y = lorc.linear %x, %w, %b residual(%r : tensor<?x?x32xf32>) {activation = "gelu_erf"} : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  %n = lorc.layer_norm %y, %g, %be {epsilon = 1.0e-12 : f32, lorc.row_tile = 64 : i64} : tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>
  return %n : tensor<?x?x32xf32>
}

// -----

// Rank 2 with static rows: tiles of 16 of the 40 rows (the last one partial), the weight and
// bias whole.
// CHECK-LABEL: func.func @rank2
//       CHECK:   scf.forall (%[[I:.*]]) = (0) to (40) step (16) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<40x32xf32>)
//       CHECK:     %[[XT:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [%{{.*}}, 64] [1, 1] : tensor<40x64xf32> to tensor<?x64xf32>
//       CHECK:     lorc.linear %[[XT]], %{{.*}} : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
//       CHECK:     lorc.layer_norm
func.func @rank2(%x: tensor<40x64xf32>) -> tensor<40x32xf32> {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %g = arith.constant dense<1.5> : tensor<32xf32>
  %y = lorc.linear %x, %w : tensor<40x64xf32>, tensor<32x64xf32> -> tensor<40x32xf32>
  %n = lorc.layer_norm %y, %g, %g {epsilon = 1.0e-12 : f32, lorc.row_tile = 16 : i64} : tensor<40x32xf32>, tensor<32xf32>, tensor<32xf32>
  return %n : tensor<40x32xf32>
}

// -----

// Not tiled: a layer norm without the mark; a marked one whose input is not a linear's, or
// whose linear has another user (the mark is dropped: the norm alone gains nothing).
// CHECK-LABEL: func.func @untouched
//   CHECK-NOT:   scf.forall
//   CHECK-NOT:   lorc.row_tile
//       CHECK:   return
func.func @untouched(%x: tensor<8x64xf32>) -> (tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>) {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %g = arith.constant dense<1.5> : tensor<64xf32>
  %y = lorc.linear %x, %w : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
  %n1 = lorc.layer_norm %y, %g, %g {epsilon = 1.0e-12 : f32} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %n2 = lorc.layer_norm %x, %g, %g {epsilon = 1.0e-12 : f32, lorc.row_tile = 4 : i64} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %y3 = lorc.linear %x, %w : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
  %n3 = lorc.layer_norm %y3, %g, %g {epsilon = 1.0e-12 : f32, lorc.row_tile = 4 : i64} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %n1, %n2, %y3, %n3 : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>
}

// -----

// A malformed mark is an error naming the op.
// ERR: error: 'lorc.layer_norm' op lorc.row_tile needs a positive integer and rank >= 2
func.func @bad_mark(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %g = arith.constant dense<1.5> : tensor<64xf32>
  %y = lorc.linear %x, %w : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
  %n = lorc.layer_norm %y, %g, %g {epsilon = 1.0e-12 : f32, lorc.row_tile = 0 : i64} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %n : tensor<8x64xf32>
}
