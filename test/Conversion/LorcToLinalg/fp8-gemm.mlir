// RUN: lorc-opt %s -split-input-file --convert-lorc-to-linalg=fp8-gemm=1 | FileCheck %s
// RUN: lorc-opt %s -split-input-file --convert-lorc-to-linalg | FileCheck %s --check-prefix=OFF

// convert-lorc-to-linalg{fp8-gemm} (the CUDA pipelines): an FP8 layer of
// --lorc-assign-precision, y = dequantize(x_q, s_x) · dequantize(w_q, s_w {axis 0})ᵀ + b, is the
// GEMM on the codes (FP8 A and B, f32 zero-filled C) and then the scales and the bias after the
// sum: y = P / (s_x · s_w[n]) + b. Without the option, the f32 emulation (dequantised operands).

// CHECK-LABEL: func.func @fp8_layer
//  CHECK-SAME:   %[[X:.*]]: tensor<2x3x16xf32>, %[[SX:.*]]: tensor<f32>, %[[WQ:.*]]: tensor<8x16xf8E4M3FN>, %[[SW:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>
//       CHECK:   %[[XQ:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[SX]] : tensor<2x3x16xf32>, tensor<f32>) outs(%{{.*}} : tensor<2x3x16xf8E4M3FN>)
//       CHECK:   %[[XQ2:.*]] = tensor.collapse_shape %[[XQ]] {{\[}}[0, 1], [2]] : tensor<2x3x16xf8E4M3FN> into tensor<6x16xf8E4M3FN>
//       CHECK:   %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<6x8xf32>)
//       CHECK:   %[[P:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[XQ2]], %[[WQ]] : tensor<6x16xf8E4M3FN>, tensor<8x16xf8E4M3FN>) outs(%[[Z]] : tensor<6x8xf32>)
//       CHECK:   linalg.generic {{.*}} ins(%[[P]], %[[SX]], %[[SW]], %[[B]] : tensor<6x8xf32>, tensor<f32>, tensor<8xf32>, tensor<8xf32>)
//       CHECK:     %[[S:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
//       CHECK:     %[[D:.*]] = arith.divf %{{.*}}, %[[S]] : f32
//       CHECK:     arith.addf %[[D]], %{{.*}} : f32
//   CHECK-NOT:   tensor<8x16xf32>
//       CHECK:   return

// OFF-LABEL: func.func @fp8_layer
//       OFF:   linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<6x16xf32>, tensor<8x16xf32>)
func.func @fp8_layer(%x: tensor<2x3x16xf32>, %sx: tensor<f32>, %wq: tensor<8x16xf8E4M3FN>,
                     %sw: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %xq = lorc.quantize %x, %sx : tensor<2x3x16xf32>, tensor<f32> -> tensor<2x3x16xf8E4M3FN>
  %xd = lorc.dequantize %xq, %sx : tensor<2x3x16xf8E4M3FN>, tensor<f32> -> tensor<2x3x16xf32>
  %w = lorc.dequantize %wq, %sw {axis = 0 : i64} : tensor<8x16xf8E4M3FN>, tensor<8xf32> -> tensor<8x16xf32>
  %y = lorc.linear %xd, %w, %b : tensor<2x3x16xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// An epilogue (GELU here) applies to the scaled sum; E5M2 activations with an E4M3 weight are a
// format pair cuBLASLt has.
// CHECK-LABEL: func.func @fp8_gelu
//       CHECK:   linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x32xf8E5M2>, tensor<16x32xf8E4M3FN>) outs(%{{.*}} : tensor<4x16xf32>)
//       CHECK:   arith.divf
//       CHECK:   math.erf
func.func @fp8_gelu(%x: tensor<4x32xf32>, %sx: tensor<f32>, %wq: tensor<16x32xf8E4M3FN>,
                    %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  %xq = lorc.quantize %x, %sx : tensor<4x32xf32>, tensor<f32> -> tensor<4x32xf8E5M2>
  %xd = lorc.dequantize %xq, %sx : tensor<4x32xf8E5M2>, tensor<f32> -> tensor<4x32xf32>
  %w = lorc.dequantize %wq, %sw {axis = 0 : i64} : tensor<16x32xf8E4M3FN>, tensor<16xf32> -> tensor<16x32xf32>
  %y = lorc.linear %xd, %w {activation = "gelu_erf"} : tensor<4x32xf32>, tensor<16x32xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Kept as the f32 emulation: E5M2 × E5M2 (no cuBLASLt kernel), K = 8 (rows of 8 bytes: cuBLASLt
// needs 16-byte leading dimensions), N = 6 (f32 C rows of 24 bytes), a per-channel input scale.
// CHECK-LABEL: func.func @kept
//   CHECK-NOT:   linalg.matmul {{.*}}f8E
//       CHECK:   return
func.func @kept(%x: tensor<4x16xf32>, %x8: tensor<4x8xf32>, %sx: tensor<f32>, %sxc: tensor<16xf32>,
                %w55: tensor<8x16xf8E5M2>, %wk8: tensor<8x8xf8E4M3FN>, %wn6: tensor<6x16xf8E4M3FN>,
                %w: tensor<8x16xf8E4M3FN>, %s8: tensor<8xf32>, %s6: tensor<6xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x6xf32>, tensor<4x8xf32>) {
  %q5 = lorc.quantize %x, %sx : tensor<4x16xf32>, tensor<f32> -> tensor<4x16xf8E5M2>
  %d5 = lorc.dequantize %q5, %sx : tensor<4x16xf8E5M2>, tensor<f32> -> tensor<4x16xf32>
  %w5d = lorc.dequantize %w55, %s8 {axis = 0 : i64} : tensor<8x16xf8E5M2>, tensor<8xf32> -> tensor<8x16xf32>
  %y0 = lorc.linear %d5, %w5d : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  %q8 = lorc.quantize %x8, %sx : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf8E4M3FN>
  %d8 = lorc.dequantize %q8, %sx : tensor<4x8xf8E4M3FN>, tensor<f32> -> tensor<4x8xf32>
  %wk8d = lorc.dequantize %wk8, %s8 {axis = 0 : i64} : tensor<8x8xf8E4M3FN>, tensor<8xf32> -> tensor<8x8xf32>
  %y1 = lorc.linear %d8, %wk8d : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %q = lorc.quantize %x, %sx : tensor<4x16xf32>, tensor<f32> -> tensor<4x16xf8E4M3FN>
  %d = lorc.dequantize %q, %sx : tensor<4x16xf8E4M3FN>, tensor<f32> -> tensor<4x16xf32>
  %wn6d = lorc.dequantize %wn6, %s6 {axis = 0 : i64} : tensor<6x16xf8E4M3FN>, tensor<6xf32> -> tensor<6x16xf32>
  %y2 = lorc.linear %d, %wn6d : tensor<4x16xf32>, tensor<6x16xf32> -> tensor<4x6xf32>
  %qc = lorc.quantize %x, %sxc {axis = 1 : i64} : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf8E4M3FN>
  %dc = lorc.dequantize %qc, %sxc {axis = 1 : i64} : tensor<4x16xf8E4M3FN>, tensor<16xf32> -> tensor<4x16xf32>
  %wd = lorc.dequantize %w, %s8 {axis = 0 : i64} : tensor<8x16xf8E4M3FN>, tensor<8xf32> -> tensor<8x16xf32>
  %y3 = lorc.linear %dc, %wd : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y0, %y1, %y2, %y3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x6xf32>, tensor<4x8xf32>
}
