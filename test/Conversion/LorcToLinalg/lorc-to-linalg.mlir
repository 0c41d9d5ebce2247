// RUN: lorc-opt %s -convert-lorc-to-linalg -split-input-file | FileCheck %s

// lorc.linear: rank-3 input collapsed to [M, K], the bias broadcast into the [M, N] init,
// linalg.matmul with the transposed-B maps (x·Wᵀ), then expanded back to [..., N].

// CHECK-DAG: #[[$MAP_A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$MAP_B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$MAP_C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_bias_rank3
//  CHECK-SAME:   %[[X:.*]]: tensor<?x8x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>
//   CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
//       CHECK:   %[[XM:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<?x8x16xf32> into tensor<?x16xf32>
//       CHECK:   %[[M:.*]] = tensor.dim %[[XM]], %[[C0]] : tensor<?x16xf32>
//       CHECK:   %[[EMPTY:.*]] = tensor.empty(%[[M]]) : tensor<?x32xf32>
//       CHECK:   %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<32xf32>) outs(%[[EMPTY]] : tensor<?x32xf32>) dimensions = [0]
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$MAP_A]], #[[$MAP_B]], #[[$MAP_C]]] ins(%[[XM]], %[[W]] : tensor<?x16xf32>, tensor<32x16xf32>) outs(%[[INIT]] : tensor<?x32xf32>) -> tensor<?x32xf32>
//       CHECK:   %[[B0:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x8x16xf32>
//       CHECK:   %[[Y:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0, 1], [2]] output_shape [%[[B0]], 8, 32] : tensor<?x32xf32> into tensor<?x8x32xf32>
//       CHECK:   return %[[Y]]
//   CHECK-NOT:   lorc.
func.func @linear_bias_rank3(%x: tensor<?x8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>) -> tensor<?x8x32xf32> {
  %y = lorc.linear %x, %w, %b : tensor<?x8x16xf32>, tensor<32x16xf32>, tensor<32xf32> -> tensor<?x8x32xf32>
  return %y : tensor<?x8x32xf32>
}

// -----

// Without a bias, the accumulator is zero-filled; a rank-2 input is used as is.

// CHECK-DAG: #[[$MAP_A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$MAP_B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$MAP_C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_no_bias
//  CHECK-SAME:   %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<32x16xf32>
//   CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//   CHECK-DAG:   %[[EMPTY:.*]] = tensor.empty() : tensor<4x32xf32>
//       CHECK:   %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<4x32xf32>) -> tensor<4x32xf32>
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$MAP_A]], #[[$MAP_B]], #[[$MAP_C]]] ins(%[[X]], %[[W]] : tensor<4x16xf32>, tensor<32x16xf32>) outs(%[[INIT]] : tensor<4x32xf32>)
//   CHECK-NOT:   tensor.collapse_shape
//   CHECK-NOT:   tensor.expand_shape
//       CHECK:   return %[[MM]]
func.func @linear_no_bias(%x: tensor<4x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x32xf32> {
  %y = lorc.linear %x, %w : tensor<4x16xf32>, tensor<32x16xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// A rank-1 input is expanded to [1, K] and the [1, N] result collapsed back to [N].

// CHECK-LABEL: func.func @linear_rank1
//  CHECK-SAME:   %[[X:.*]]: tensor<16xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<8xf32>
//       CHECK:   %[[XM:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0, 1]] output_shape [1, 16] : tensor<16xf32> into tensor<1x16xf32>
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x8xf32>
//       CHECK:   %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<8xf32>) outs(%[[EMPTY]] : tensor<1x8xf32>) dimensions = [0]
//       CHECK:   %[[MM:.*]] = linalg.matmul indexing_maps = [{{.*}}] ins(%[[XM]], %[[W]] : tensor<1x16xf32>, tensor<8x16xf32>) outs(%[[INIT]] : tensor<1x8xf32>)
//       CHECK:   %[[Y:.*]] = tensor.collapse_shape %[[MM]] {{\[\[}}0, 1]] : tensor<1x8xf32> into tensor<8xf32>
//       CHECK:   return %[[Y]]
func.func @linear_rank1(%x: tensor<16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %y = lorc.linear %x, %w, %b : tensor<16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// lorc.layer_norm: sum over C, mean = sum / C, sum of squared deviations over C,
// rstd = 1 / sqrt(var + eps), then y = (x - mean) * rstd * gamma + beta.

// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm
//  CHECK-SAME:   %[[X:.*]]: tensor<?x?x384xf32>, %[[G:.*]]: tensor<384xf32>, %[[B:.*]]: tensor<384xf32>
//   CHECK-DAG:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
//   CHECK-DAG:   %[[EPS:.*]] = arith.constant 9.99999996E-13 : f32
//   CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//   CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
//       CHECK:   %[[CDIM:.*]] = tensor.dim %[[X]], %[[C2]]
//       CHECK:   %[[CI:.*]] = arith.index_cast %[[CDIM]] : index to i64
//       CHECK:   %[[CF:.*]] = arith.uitofp %[[CI]] : i64 to f32
//       CHECK:   %[[SUM_INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x?xf32>)
//       CHECK:   %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<?x?x384xf32>) outs(%[[SUM_INIT]] : tensor<?x?xf32>)
//       CHECK:   ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:     %[[ADD:.*]] = arith.addf %[[ACC]], %[[IN]] fastmath<reassoc> : f32
//       CHECK:     linalg.yield %[[ADD]]
//       CHECK:   %[[MEAN:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[SUM]] : tensor<?x?xf32>)
//       CHECK:     arith.divf %{{.*}}, %[[CF]] : f32
//       CHECK:   %[[SQ_INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32)
//       CHECK:   %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[MEAN]] : tensor<?x?x384xf32>, tensor<?x?xf32>) outs(%[[SQ_INIT]] : tensor<?x?xf32>)
//       CHECK:   ^bb0(%[[IN:.*]]: f32, %[[MU:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:     %[[D:.*]] = arith.subf %[[IN]], %[[MU]] : f32
//       CHECK:     %[[D2:.*]] = arith.mulf %[[D]], %[[D]] : f32
//       CHECK:     %[[S:.*]] = arith.addf %[[ACC]], %[[D2]] fastmath<reassoc> : f32
//       CHECK:     linalg.yield %[[S]]
//       CHECK:   %[[RSTD:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[SQ]] : tensor<?x?xf32>)
//       CHECK:     %[[VAR:.*]] = arith.divf %{{.*}}, %[[CF]] : f32
//       CHECK:     %[[VE:.*]] = arith.addf %[[VAR]], %[[EPS]] : f32
//       CHECK:     %[[SQRT:.*]] = math.sqrt %[[VE]] : f32
//       CHECK:     %[[R:.*]] = arith.divf %[[ONE]], %[[SQRT]] : f32
//       CHECK:     linalg.yield %[[R]]
//       CHECK:   %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ROW]], #[[$ROW]], #[[$LAST]], #[[$LAST]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[MEAN]], %[[RSTD]], %[[G]], %[[B]] : {{.*}}) outs(%{{.*}} : tensor<?x?x384xf32>)
//       CHECK:   ^bb0(%[[XV:.*]]: f32, %[[MV:.*]]: f32, %[[RV:.*]]: f32, %[[GV:.*]]: f32, %[[BV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     %[[T0:.*]] = arith.subf %[[XV]], %[[MV]] : f32
//       CHECK:     %[[T1:.*]] = arith.mulf %[[T0]], %[[RV]] : f32
//       CHECK:     %[[T2:.*]] = arith.mulf %[[T1]], %[[GV]] : f32
//       CHECK:     %[[T3:.*]] = arith.addf %[[T2]], %[[BV]] : f32
//       CHECK:     linalg.yield %[[T3]]
//       CHECK:   return %[[Y]]
func.func @layer_norm(%x: tensor<?x?x384xf32>, %g: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<?x?x384xf32> {
  %y = lorc.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f32} : tensor<?x?x384xf32>, tensor<384xf32>, tensor<384xf32>
  return %y : tensor<?x?x384xf32>
}

// -----

// lorc.attention with an integer key-padding mask: [B, H] collapsed, Q·Kᵀ as a batch_matmul
// with the transposed-B maps, the scores expanded back to [B, H, Sq, Sk] and masked by a
// linalg.generic reading the [B, Sk] mask through (d0, d3) (arith.cmpi ne + arith.select),
// softmax (max, exp, sum, div), P·V as a second batch_matmul, expand to [B, H, Sq, Dv].

// CHECK-DAG: #[[$QMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$KMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$KPMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-LABEL: func.func @attention_key_padding
//  CHECK-SAME:   %[[Q:.*]]: tensor<?x12x?x32xf32>, %[[K:.*]]: tensor<?x12x?x32xf32>, %[[V:.*]]: tensor<?x12x?x32xf32>, %[[M:.*]]: tensor<?x?xi64>
//   CHECK-DAG:   %[[I0:.*]] = arith.constant 0 : i64
//   CHECK-DAG:   %[[LOWEST:.*]] = arith.constant -3.40282347E+38 : f32
//   CHECK-DAG:   %[[SCALE:.*]] = arith.constant 0.176776692 : f32
//   CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK:   %[[QC:.*]] = tensor.collapse_shape %[[Q]] {{\[\[}}0, 1], [2], [3]] : tensor<?x12x?x32xf32> into tensor<?x?x32xf32>
//       CHECK:   %[[KC:.*]] = tensor.collapse_shape %[[K]] {{\[\[}}0, 1], [2], [3]] : tensor<?x12x?x32xf32> into tensor<?x?x32xf32>
//       CHECK:   %[[VC:.*]] = tensor.collapse_shape %[[V]] {{\[\[}}0, 1], [2], [3]] : tensor<?x12x?x32xf32> into tensor<?x?x32xf32>
//       CHECK:   %[[SINIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x?x?xf32>)
//       CHECK:   %[[S:.*]] = linalg.batch_matmul indexing_maps = [#[[$QMAP]], #[[$KMAP]], #[[$ROW]]] ins(%[[QC]], %[[KC]] : tensor<?x?x32xf32>, tensor<?x?x32xf32>) outs(%[[SINIT]] : tensor<?x?x?xf32>)
//       CHECK:   %[[S4:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1], [2], [3]] output_shape [%{{.*}}, 12, %{{.*}}, %{{.*}}] : tensor<?x?x?xf32> into tensor<?x12x?x?xf32>
//       CHECK:   %[[MASKED:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$KPMAP]], #[[$ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S4]], %[[M]] : tensor<?x12x?x?xf32>, tensor<?x?xi64>)
//       CHECK:   ^bb0(%[[SV:.*]]: f32, %[[MV:.*]]: i64, %{{.*}}: f32):
//       CHECK:     %[[SS:.*]] = arith.mulf %[[SV]], %[[SCALE]] : f32
//       CHECK:     %[[KEEP:.*]] = arith.cmpi ne, %[[MV]], %[[I0]] : i64
//       CHECK:     %[[OFF:.*]] = arith.addf %[[SS]], %[[LOWEST]] : f32
//       CHECK:     %[[SEL:.*]] = arith.select %[[KEEP]], %[[SS]], %[[OFF]] : f32
//       CHECK:     linalg.yield %[[SEL]]
//       CHECK:   %[[MAXINIT:.*]] = linalg.fill ins(%[[LOWEST]] : f32) outs(%{{.*}} : tensor<?x12x?xf32>)
//       CHECK:   %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[MASKED]] : tensor<?x12x?x?xf32>) outs(%[[MAXINIT]] : tensor<?x12x?xf32>)
//       CHECK:     arith.maximumf
//       CHECK:   %[[EXP:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$ROW]], #[[$ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[MASKED]], %[[MAX]] : tensor<?x12x?x?xf32>, tensor<?x12x?xf32>)
//       CHECK:     %[[SUB:.*]] = arith.subf
//       CHECK:     math.exp %[[SUB]] : f32
//       CHECK:   %[[SUMINIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x12x?xf32>)
//       CHECK:   %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[EXP]] : tensor<?x12x?x?xf32>) outs(%[[SUMINIT]] : tensor<?x12x?xf32>)
//       CHECK:     arith.addf
//       CHECK:   %[[P:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$ROW]], #[[$ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[EXP]], %[[SUM]] : tensor<?x12x?x?xf32>, tensor<?x12x?xf32>)
//       CHECK:     arith.divf
//       CHECK:   %[[PC:.*]] = tensor.collapse_shape %[[P]] {{\[\[}}0, 1], [2], [3]] : tensor<?x12x?x?xf32> into tensor<?x?x?xf32>
//       CHECK:   %[[OINIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x?x32xf32>)
//       CHECK:   %[[O:.*]] = linalg.batch_matmul ins(%[[PC]], %[[VC]] : tensor<?x?x?xf32>, tensor<?x?x32xf32>) outs(%[[OINIT]] : tensor<?x?x32xf32>)
//       CHECK:   %[[B0:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x12x?x32xf32>
//       CHECK:   %[[SQ:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x12x?x32xf32>
//       CHECK:   %[[R:.*]] = tensor.expand_shape %[[O]] {{\[\[}}0, 1], [2], [3]] output_shape [%[[B0]], 12, %[[SQ]], 32] : tensor<?x?x32xf32> into tensor<?x12x?x32xf32>
//       CHECK:   return %[[R]]
func.func @attention_key_padding(%q: tensor<?x12x?x32xf32>, %k: tensor<?x12x?x32xf32>, %v: tensor<?x12x?x32xf32>, %m: tensor<?x?xi64>) -> tensor<?x12x?x32xf32> {
  %o = lorc.attention %q, %k, %v, mask %m : tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x12x?x32xf32>, tensor<?x?xi64> -> tensor<?x12x?x32xf32>
  return %o : tensor<?x12x?x32xf32>
}

// -----

// Additive float mask broadcast over H and Sq: read through (d0, 0, 0, d3) and added to the
// scaled scores. The default scale is 1/√16.

// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$BCAST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>
// CHECK-LABEL: func.func @attention_additive_mask
//  CHECK-SAME:   %[[Q:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x1x1x8xf32>
//   CHECK-DAG:   %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
//       CHECK:   %[[S:.*]] = linalg.batch_matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<8x8x16xf32>, tensor<8x8x16xf32>) outs(%{{.*}} : tensor<8x8x8xf32>)
//       CHECK:   %[[S4:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 4, 8, 8] : tensor<8x8x8xf32> into tensor<2x4x8x8xf32>
//       CHECK:   linalg.generic {indexing_maps = [#[[$ID4]], #[[$BCAST]], #[[$ID4]]], {{.*}} ins(%[[S4]], %[[M]] : tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>)
//       CHECK:   ^bb0(%[[SV:.*]]: f32, %[[MV:.*]]: f32, %{{.*}}: f32):
//       CHECK:     %[[SS:.*]] = arith.mulf %[[SV]], %[[SCALE]] : f32
//       CHECK:     %[[ADD:.*]] = arith.addf %[[SS]], %[[MV]] : f32
//       CHECK:     linalg.yield %[[ADD]]
//   CHECK-NOT:   arith.select
//       CHECK:   arith.maximumf
//       CHECK:   math.exp
//       CHECK:   tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<2x4x8x8xf32> into tensor<8x8x8xf32>
//       CHECK:   linalg.batch_matmul ins
//       CHECK:   tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] output_shape [2, 4, 8, 16] : tensor<8x8x16xf32> into tensor<2x4x8x16xf32>
func.func @attention_additive_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xf32>) -> tensor<2x4x8x16xf32> {
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// A full [B, H, Sq, Sk] additive mask is read with the identity map.

// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @attention_full_additive_mask
//  CHECK-SAME:   %[[Q:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x4x8x8xf32>
//       CHECK:   linalg.generic {indexing_maps = [#[[$ID4]], #[[$ID4]], #[[$ID4]]], {{.*}} ins(%{{.*}}, %[[M]] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>)
//       CHECK:     arith.mulf
//       CHECK:     arith.addf
//       CHECK:     linalg.yield
func.func @attention_full_additive_mask(%q: tensor<2x4x8x16xf32>, %m: tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32> {
  %o = lorc.attention %q, %q, %q, mask %m : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// Causal attention with an explicit scale and dynamic H and D: keys j > i get the lowest value
// added (arith.cmpi ugt on linalg.index 3 and 2, then arith.select); no mask operand.

// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @attention_causal
//  CHECK-SAME:   %[[Q:.*]]: tensor<1x?x8x?xf32>
//   CHECK-DAG:   %[[LOWEST:.*]] = arith.constant -3.40282347E+38 : f32
//   CHECK-DAG:   %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
//       CHECK:   %[[S:.*]] = linalg.batch_matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<?x8x?xf32>, tensor<?x8x?xf32>) outs(%{{.*}} : tensor<?x8x8xf32>)
//       CHECK:   %[[S4:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1], [2], [3]] output_shape [1, %{{.*}}, 8, 8] : tensor<?x8x8xf32> into tensor<1x?x8x8xf32>
//       CHECK:   linalg.generic {indexing_maps = [#[[$ID4]], #[[$ID4]]], {{.*}} ins(%[[S4]] : tensor<1x?x8x8xf32>)
//       CHECK:     %[[SS:.*]] = arith.mulf %{{.*}}, %[[SCALE]] : f32
//       CHECK:     %[[I:.*]] = linalg.index 2 : index
//       CHECK:     %[[J:.*]] = linalg.index 3 : index
//       CHECK:     %[[FUTURE:.*]] = arith.cmpi ugt, %[[J]], %[[I]] : index
//       CHECK:     %[[OFF:.*]] = arith.addf %[[SS]], %[[LOWEST]] : f32
//       CHECK:     %[[SEL:.*]] = arith.select %[[FUTURE]], %[[OFF]], %[[SS]] : f32
//       CHECK:     linalg.yield %[[SEL]]
//       CHECK:   linalg.batch_matmul ins
//       CHECK:   %[[H:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<1x?x8x?xf32>
//       CHECK:   tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] output_shape [1, %[[H]], 8, %{{.*}}] : tensor<?x8x?xf32> into tensor<1x?x8x?xf32>
func.func @attention_causal(%q: tensor<1x?x8x?xf32>) -> tensor<1x?x8x?xf32> {
  %o = lorc.attention %q, %q, %q {causal, scale = 0.25 : f32} : tensor<1x?x8x?xf32>, tensor<1x?x8x?xf32>, tensor<1x?x8x?xf32> -> tensor<1x?x8x?xf32>
  return %o : tensor<1x?x8x?xf32>
}

// -----

// Key-padding mask and causal together: the select on the mask, then the causal select.

// CHECK-LABEL: func.func @attention_causal_key_padding
//  CHECK-SAME:   %[[Q:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x8xi32>
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %[[M]] : tensor<2x4x8x8xf32>, tensor<2x8xi32>)
//       CHECK:   ^bb0(%{{.*}}: f32, %[[MV:.*]]: i32, %{{.*}}: f32):
//       CHECK:     %[[SS:.*]] = arith.mulf
//       CHECK:     %[[KEEP:.*]] = arith.cmpi ne, %[[MV]], %{{.*}} : i32
//       CHECK:     %[[S1:.*]] = arith.select %[[KEEP]], %[[SS]], %{{.*}} : f32
//       CHECK:     %[[FUTURE:.*]] = arith.cmpi ugt
//       CHECK:     %[[OFF:.*]] = arith.addf %[[S1]], %{{.*}} : f32
//       CHECK:     %[[S2:.*]] = arith.select %[[FUTURE]], %[[OFF]], %[[S1]] : f32
//       CHECK:     linalg.yield %[[S2]]
func.func @attention_causal_key_padding(%q: tensor<2x4x8x16xf32>, %m: tensor<2x8xi32>) -> tensor<2x4x8x16xf32> {
  %o = lorc.attention %q, %q, %q, mask %m {causal} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x8xi32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// A result type less static than the operands imply gets a tensor.cast after the lowering.
// CHECK-LABEL: func.func @linear_result_more_dynamic
func.func @linear_result_more_dynamic(%x: tensor<?x?xf32>, %w: tensor<4x?xf32>) -> tensor<?x?xf32> {
  // CHECK: %[[MM:.*]] = linalg.matmul
  // CHECK-SAME: -> tensor<?x4xf32>
  // CHECK: %[[CAST:.*]] = tensor.cast %[[MM]] : tensor<?x4xf32> to tensor<?x?xf32>
  // CHECK: return %[[CAST]]
  %y = lorc.linear %x, %w : tensor<?x?xf32>, tensor<4x?xf32> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func.func @linear_rank3_result_static
func.func @linear_rank3_result_static(%x: tensor<?x3x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x3x4xf32> {
  // CHECK: %[[E:.*]] = tensor.expand_shape {{.*}} : tensor<?x4xf32> into tensor<?x3x4xf32>
  // CHECK: tensor.cast %[[E]] : tensor<?x3x4xf32> to tensor<2x3x4xf32>
  %y = lorc.linear %x, %w : tensor<?x3x8xf32>, tensor<4x8xf32> -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @attention_result_more_dynamic
func.func @attention_result_more_dynamic(%q: tensor<2x4x8x16xf32>) -> tensor<?x?x?x?xf32> {
  // CHECK: %[[E:.*]] = tensor.expand_shape {{.*}} into tensor<2x4x8x16xf32>
  // CHECK: tensor.cast %[[E]] : tensor<2x4x8x16xf32> to tensor<?x?x?x?xf32>
  %o = lorc.attention %q, %q, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// -----

// lorc.lowrank_linear: the first r columns of V and U (r clamped to [r_min, r_max] at run time),
// x·V_r, a column scaling by S_r, then ·U_rᵀ into the broadcast bias.
// CHECK-LABEL: func.func @lowrank_dynamic_rank
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[V:.*]]: tensor<16x8xf32>, %[[S:.*]]: tensor<8xf32>, %[[U:.*]]: tensor<12x8xf32>, %[[R:.*]]: index)
// CHECK: %[[LO:.*]] = arith.maxsi %[[R]], %{{.*}} : index
// CHECK: %[[RANK:.*]] = arith.minsi %[[LO]], %{{.*}} : index
// CHECK: %[[VR:.*]] = tensor.extract_slice %[[V]][0, 0] [16, %[[RANK]]] [1, 1]
// CHECK: %[[UR:.*]] = tensor.extract_slice %[[U]][0, 0] [12, %[[RANK]]] [1, 1]
// CHECK: %[[SR:.*]] = tensor.extract_slice %[[S]][0] [%[[RANK]]] [1]
// CHECK: %[[T:.*]] = linalg.matmul ins(%[[X]], %[[VR]] :
// CHECK: %[[TS:.*]] = linalg.generic {{.*}} ins(%[[T]], %[[SR]] :
// CHECK: linalg.matmul indexing_maps = {{.*}} ins(%[[TS]], %[[UR]] :
func.func @lowrank_dynamic_rank(%x: tensor<?x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>, %r: index) -> tensor<?x12xf32> {
  %y = lorc.lowrank_linear %x, %v, %s, %u rank(%r) {rank = 4, r_min = 2, r_max = 8} : tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<?x12xf32>
  return %y : tensor<?x12xf32>
}

// -----

// lorc.chunked_matmul: the tiled loop form. Rows, columns, then K chunks; each chunk size
// clamped at the edge (minsi), the operands read through slices, the bias broadcast first.
// CHECK-LABEL: func.func @chunked
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[TM:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[TN:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[TK:.*]] = arith.constant 16 : index
// CHECK: %[[M:.*]] = tensor.dim %{{.*}}, %[[C0]] : tensor<?x40xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%arg2 : tensor<24xf32>)
// CHECK: scf.for %[[I:.*]] = %[[C0]] to %[[M]] step %[[TM]] iter_args(%{{.*}} = %[[INIT]])
// CHECK:   arith.minsi %[[TM]]
// CHECK:   scf.for %[[J:.*]] = %[[C0]] to %{{.*}} step %[[TN]]
// CHECK:     %[[CT:.*]] = tensor.extract_slice %{{.*}}[%[[I]], %[[J]]]
// CHECK:     scf.for %[[K:.*]] = %[[C0]] to %{{.*}} step %[[TK]] iter_args(%[[ACC:.*]] = %[[CT]])
// CHECK:       %[[A:.*]] = tensor.extract_slice %{{.*}}[%[[I]], %[[K]]]
// CHECK:       %[[B:.*]] = tensor.extract_slice %arg1[%[[J]], %[[K]]]
// CHECK:       linalg.matmul {{.*}} ins(%[[A]], %[[B]] : tensor<?x?xf32>, tensor<?x?xf32>) outs(%[[ACC]] : tensor<?x?xf32>)
// CHECK:     tensor.insert_slice
func.func @chunked(%x: tensor<?x40xf32>, %w: tensor<24x40xf32>, %b: tensor<24xf32>) -> tensor<?x24xf32> {
  %y = lorc.chunked_matmul %x, %w, %b {chunk = array<i64: 4, 8, 16>, rhs_transposed, strategy = "tile"}
      : tensor<?x40xf32>, tensor<24x40xf32>, tensor<24xf32> -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// A fused epilogue (--lorc-fuse): after the GEMM, one element-wise generic written in place on
// its result (outs), reading the residual collapsed to [M, N], computing GELU (erf form) then
// the add, tagged for --lorc-dispatch-blas.
// CHECK-LABEL: func.func @linear_epilogue
//  CHECK-SAME:   %[[X:.*]]: tensor<?x8x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>, %[[H:.*]]: tensor<?x8x32xf32>
//       CHECK:   %[[MM:.*]] = linalg.matmul
//       CHECK:   %[[HM:.*]] = tensor.collapse_shape %[[H]] {{\[\[}}0, 1], [2]] : tensor<?x8x32xf32> into tensor<?x32xf32>
//       CHECK:   %[[E:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[HM]] : tensor<?x32xf32>) outs(%[[MM]] : tensor<?x32xf32>) attrs =  {lorc.epilogue = {activation = "gelu_erf", residual}}
//       CHECK:   ^bb0(%[[R:.*]]: f32, %[[V:.*]]: f32):
//       CHECK:     arith.mulf %[[V]]
//       CHECK:     math.erf
//       CHECK:     arith.mulf
//       CHECK:     %[[G:.*]] = arith.mulf
//  CHECK-NEXT:     %[[S:.*]] = arith.addf %[[G]], %[[R]] : f32
//       CHECK:     linalg.yield %[[S]]
//       CHECK:   tensor.expand_shape %[[E]]
// The tanh form, without a residual: no inputs.
// CHECK-LABEL: func.func @linear_gelu_tanh
//       CHECK:   linalg.generic {{.*}} outs(%{{.*}} : tensor<4x32xf32>) attrs =  {lorc.epilogue = {activation = "gelu_tanh"}}
//       CHECK:     math.tanh
func.func @linear_epilogue(%x: tensor<?x8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>, %h: tensor<?x8x32xf32>) -> tensor<?x8x32xf32> {
  %y = lorc.linear %x, %w, %b residual(%h : tensor<?x8x32xf32>) {activation = "gelu_erf"} : tensor<?x8x16xf32>, tensor<32x16xf32>, tensor<32xf32> -> tensor<?x8x32xf32>
  return %y : tensor<?x8x32xf32>
}
func.func @linear_gelu_tanh(%x: tensor<4x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x32xf32> {
  %y = lorc.linear %x, %w {activation = "gelu_tanh"} : tensor<4x16xf32>, tensor<32x16xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
