// RUN: lorc-opt %s -split-input-file -lorc-narrow-weights -mlir-print-elementsattrs-with-hex-if-larger=-1 | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-narrow-weights=fp8=false | FileCheck %s --check-prefix=OFF

// An FP8 E4M3 layer's weight (the dequantised f32 constant --lorc-assign-precision makes, with
// its row scales in lorc.fp8_weight) is stored as its codes and row scales, read through
// lorc.dequantize {axis = 0}. Row 0 (amax 8, scale 448 / 8 = 56): 1, 2, 4, 8, -1 are
// 56, 112, 224, 448, -56 after scaling, codes 0x66, 0x6E, 0x76, 0x7E (the largest finite) and
// 0xE6; 0 and -0 keep their sign (0x00, 0x80). Row 1 is all zero (scale 1).

// CHECK-LABEL: func.func @forward
//       CHECK:   %[[Q:.*]] = arith.constant dense_resource<weight.e4m3> : tensor<2x8xf8E4M3FN>
//       CHECK:   %[[S:.*]] = arith.constant dense_resource<weight.e4m3_scale> : tensor<2xf32>
//       CHECK:   %[[W:.*]] = lorc.dequantize %[[Q]], %[[S]] {axis = 0 : i64} : tensor<2x8xf8E4M3FN>, tensor<2xf32> -> tensor<2x8xf32>
//   CHECK-NOT:   lorc.fp8_weight
//       CHECK:   lorc.linear %{{.*}}, %[[W]], %{{.*}} : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2xf32>
//       CHECK:   weight.e4m3: "0x01000000666E767EE60080660000000000000000"
//       CHECK:   weight.e4m3_scale: "0x04000000000060420000803F"

// With fp8=false the f32 constant stays.
// OFF-LABEL: func.func @forward
//       OFF:   arith.constant {lorc.fp8_weight = {{.*}} : tensor<2x8xf32>
//   OFF-NOT:   lorc.dequantize

func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = "arith.constant"() {value = dense<[[1.0, 2.0, 4.0, 8.0, -1.0, 0.0, -0.0, 1.0],
                                          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<2x8xf32>,
                            lorc.fp8_weight = {format = "fp8-e4m3", row_scales = dense<[56.0, 1.0]> : tensor<2xf32>}}
       : () -> tensor<2x8xf32>
  %b = arith.constant dense<1.0> : tensor<2xf32>
  %y = lorc.linear %x, %w, %b : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Stays f32: weights whose codes do not reproduce them (0.1 is no E4M3 value at scale 1, 0.3
// no E5M2 value) and a weight read by something else.

// CHECK-LABEL: func.func @kept
//   CHECK-NOT:   lorc.dequantize
//       CHECK:   return
func.func @kept(%x: tensor<2x8xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x8xf32>) {
  %inexact = "arith.constant"() {value = dense<0.1> : tensor<2x8xf32>,
                                  lorc.fp8_weight = {format = "fp8-e4m3", row_scales = dense<[1.0, 1.0]> : tensor<2xf32>}}
             : () -> tensor<2x8xf32>
  %e5m2 = "arith.constant"() {value = dense<0.3> : tensor<2x8xf32>,
                               lorc.fp8_weight = {format = "fp8-e5m2", row_scales = dense<[1.0, 1.0]> : tensor<2xf32>}}
          : () -> tensor<2x8xf32>
  %shared = "arith.constant"() {value = dense<2.0> : tensor<2x8xf32>,
                                 lorc.fp8_weight = {format = "fp8-e4m3", row_scales = dense<[1.0, 1.0]> : tensor<2xf32>}}
            : () -> tensor<2x8xf32>
  %y0 = lorc.linear %x, %inexact : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  %y1 = lorc.linear %x, %e5m2 : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  %y2 = lorc.linear %x, %shared : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  return %y0, %y1, %y2, %shared : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x8xf32>
}

// -----

// Every value 1 at scale 1: code 0x38 (E4M3's 1.0).

// CHECK-LABEL: func.func @second
//       CHECK:   lorc.dequantize
//       CHECK:   weight.e4m3: "0x0100000038383838383838383838383838383838"
func.func @second(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = "arith.constant"() {value = dense<1.0> : tensor<2x8xf32>,
                            lorc.fp8_weight = {format = "fp8-e4m3", row_scales = dense<[1.0, 1.0]> : tensor<2xf32>}}
       : () -> tensor<2x8xf32>
  %y = lorc.linear %x, %w : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// An FP8 E5M2 layer's weight: its codes are f8E5M2 (`<weight>.e5m2`). Row 0 (amax 8, scale
// 57344 / 8 = 7168): 1, 2, 4, 8, -1 are 7168 = 1.75 · 2^12, ..., 57344 (the largest finite)
// after scaling, codes 0x6F, 0x73, 0x77, 0x7B and 0xEF; ±0 keep their sign. Row 1: 0.25 at
// scale 1 is 0x34.

// CHECK-LABEL: func.func @e5m2
//       CHECK:   %[[Q:.*]] = arith.constant dense_resource<weight.e5m2> : tensor<2x8xf8E5M2>
//       CHECK:   %[[S:.*]] = arith.constant dense_resource<weight.e5m2_scale> : tensor<2xf32>
//       CHECK:   %[[W:.*]] = lorc.dequantize %[[Q]], %[[S]] {axis = 0 : i64} : tensor<2x8xf8E5M2>, tensor<2xf32> -> tensor<2x8xf32>
//       CHECK:   lorc.linear %{{.*}}, %[[W]] : tensor<2x8xf32>, tensor<2x8xf32>
//       CHECK:   weight.e5m2: "0x010000006F73777BEF00806F3434343434343434"
//       CHECK:   weight.e5m2_scale: "0x040000000000E0450000803F"
// OFF-LABEL: func.func @e5m2
//   OFF-NOT:   lorc.dequantize
func.func @e5m2(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = "arith.constant"() {value = dense<[[1.0, 2.0, 4.0, 8.0, -1.0, 0.0, -0.0, 1.0],
                                          [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]]> : tensor<2x8xf32>,
                            lorc.fp8_weight = {format = "fp8-e5m2", row_scales = dense<[7168.0, 1.0]> : tensor<2xf32>}}
       : () -> tensor<2x8xf32>
  %y = lorc.linear %x, %w : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
