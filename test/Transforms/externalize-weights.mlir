// RUN: lorc-opt %s -split-input-file -verify-diagnostics -lorc-externalize-weights | FileCheck %s
// RUN: lorc-opt %s -split-input-file -verify-diagnostics -lorc-externalize-weights=min-elements=2 | FileCheck %s --check-prefix=MIN2

// A dense f32 constant of 32 elements becomes a slice of the new leading parameter argument,
// expanded to its shape; the layout is recorded in `lorc.parameters`.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<32xf32>, %[[X:.*]]: tensor<2x8xf32>) -> tensor<2x4xf32>
//  CHECK-SAME:   attributes {lorc.parameters = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 4, 8>}]}
//       CHECK:   %[[FLAT:.*]] = tensor.extract_slice %[[P]][0] [32] [1] : tensor<32xf32> to tensor<32xf32>
//       CHECK:   %[[W:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [4, 8] : tensor<32xf32> into tensor<4x8xf32>
//   CHECK-NOT:   arith.constant
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]] : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
//       CHECK:   return %[[Y]]

// MIN2-LABEL: func.func @forward
//  MIN2-SAME:   (%{{.*}}: tensor<32xf32>, %{{.*}}: tensor<2x8xf32>)
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                             [9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0],
                             [17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0],
                             [25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0]]> : tensor<4x8xf32>
  %y = lorc.linear %x, %w : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Several weights are laid out one after the other (offsets in elements); a rank-1 weight is
// used as the slice itself; a splat constant is externalized too; the constant below
// min-elements (default 16) stays in the code, but not with min-elements=2.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<64xf32>, %[[X:.*]]: tensor<2x8xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 2, 8>}, {name = "constant_1", offset = 16 : i64, shape = array<i64: 16>}, {name = "constant_2", offset = 32 : i64, shape = array<i64: 4, 2, 4>}]
//       CHECK:   %[[S0:.*]] = tensor.extract_slice %[[P]][0] [16] [1] : tensor<64xf32> to tensor<16xf32>
//       CHECK:   %[[W0:.*]] = tensor.expand_shape %[[S0]] {{\[\[}}0, 1]] output_shape [2, 8] : tensor<16xf32> into tensor<2x8xf32>
//       CHECK:   %[[W1:.*]] = tensor.extract_slice %[[P]][16] [16] [1] : tensor<64xf32> to tensor<16xf32>
//       CHECK:   %[[S2:.*]] = tensor.extract_slice %[[P]][32] [32] [1] : tensor<64xf32> to tensor<32xf32>
//       CHECK:   %[[W2:.*]] = tensor.expand_shape %[[S2]] {{\[\[}}0, 1, 2]] output_shape [4, 2, 4] : tensor<32xf32> into tensor<4x2x4xf32>
//       CHECK:   %[[SMALL:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
//       CHECK:   return %[[W0]], %[[W1]], %[[W2]], %[[SMALL]]

// MIN2-LABEL: func.func @forward
//  MIN2-SAME:   (%[[P:.*]]: tensor<66xf32>, %{{.*}}: tensor<2x8xf32>)
//  MIN2-SAME:   {name = "constant_3", offset = 64 : i64, shape = array<i64: 2>}
//   MIN2-NOT:   arith.constant
//       MIN2:   %[[SMALL:.*]] = tensor.extract_slice %[[P]][64] [2] [1] : tensor<66xf32> to tensor<2xf32>
//   MIN2-NOT:   arith.constant
//       MIN2:   return %{{.*}}, %{{.*}}, %{{.*}}, %[[SMALL]]
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<16xf32>, tensor<4x2x4xf32>, tensor<2xf32>) {
  %a = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                             [9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]]> : tensor<2x8xf32>
  %b = arith.constant dense<0.5> : tensor<16xf32>
  %c = arith.constant dense<2.0> : tensor<4x2x4xf32>
  %small = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %a, %b, %c, %small : tensor<2x8xf32>, tensor<16xf32>, tensor<4x2x4xf32>, tensor<2xf32>
}

// -----

// Equal constants are stored once: both uses read the same slice.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>, %[[X:.*]]: tensor<4x4xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 4, 4>}]}
//       CHECK:   %[[S:.*]] = tensor.extract_slice %[[P]][0] [16] [1]
//       CHECK:   %[[W:.*]] = tensor.expand_shape %[[S]]
//   CHECK-NOT:   tensor.extract_slice
//       CHECK:   %[[Y0:.*]] = lorc.linear %[[X]], %[[W]]
//       CHECK:   %[[Y1:.*]] = lorc.linear %[[Y0]], %[[W]]
//       CHECK:   return %[[Y1]]
func.func @forward(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w0 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0],
                              [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %y0 = lorc.linear %x, %w0 : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0],
                              [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %y1 = lorc.linear %y0, %w1 : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %y1 : tensor<4x4xf32>
}

// -----

// Only the entry function (`forward` by default) is rewritten; constants in nested regions of
// the entry are read from the parameters too (materialised at the top of the entry block).
// Scalars and non-tensor constants are left alone.

// CHECK-LABEL: func.func @helper
//  CHECK-SAME:   (%{{.*}}: tensor<16xf32>) -> tensor<16xf32> {
//       CHECK:   arith.constant dense<1.000000e+00> : tensor<16xf32>
// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>, %[[X:.*]]: tensor<16xf32>, %[[C:.*]]: i1)
//       CHECK:   %[[W:.*]] = tensor.extract_slice %[[P]][0] [16] [1]
//       CHECK:   arith.constant 1.000000e+00 : f32
//       CHECK:   scf.if %[[C]]
//       CHECK:     arith.addf %[[X]], %[[W]] : tensor<16xf32>
func.func @helper(%x: tensor<16xf32>) -> tensor<16xf32> {
  %w = arith.constant dense<1.0> : tensor<16xf32>
  %y = arith.addf %x, %w : tensor<16xf32>
  return %y : tensor<16xf32>
}
func.func @forward(%x: tensor<16xf32>, %c: i1) -> (tensor<16xf32>, f32) {
  %one = arith.constant 1.0 : f32
  %r = scf.if %c -> tensor<16xf32> {
    %w = arith.constant dense<3.0> : tensor<16xf32>
    %y = arith.addf %x, %w : tensor<16xf32>
    scf.yield %y : tensor<16xf32>
  } else {
    scf.yield %x : tensor<16xf32>
  }
  return %r, %one : tensor<16xf32>, f32
}

// -----

// A function without large constants still gets the (empty) parameter argument.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<0xf32>, %{{.*}}: tensor<4xf32>) -> tensor<4xf32> attributes {lorc.parameters = []}
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// Weights from a dense_resource blob keep the resource's name.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>) -> tensor<4x4xf32>
//  CHECK-SAME:   lorc.parameters = [{name = "blob_weight", offset = 0 : i64, shape = array<i64: 4, 4>}]
//       CHECK:   %[[S:.*]] = tensor.extract_slice %[[P]][0] [16] [1]
//       CHECK:   %[[W:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1]] output_shape [4, 4]
//       CHECK:   return %[[W]]
func.func @forward() -> tensor<4x4xf32> {
  %w = arith.constant dense_resource<blob_weight> : tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blob_weight: "0x040000000000803F0000004000004040000080400000A0400000C0400000E040000000410000104100002041000030410000404100005041000060410000704100008041"
    }
  }
#-}

// -----

// The parameter buffer holds f32 only: a large constant of another element type is an error.

func.func @forward(%x: tensor<4x4xf16>) -> tensor<4x4xf16> {
  // expected-error @+1 {{weight of element type 'f16' cannot be externalized: the parameter buffers hold f32, bf16, f8E4M3FN and f8E5M2 only}}
  %w = arith.constant dense<0.5> : tensor<4x4xf16>
  %y = arith.addf %x, %w : tensor<4x4xf16>
  return %y : tensor<4x4xf16>
}

// -----

// A dense_resource whose blob was elided has no data to externalize.

func.func @forward() -> tensor<4x4xf32> {
  // expected-error @+1 {{weight 'missing_blob' has no data (its resource blob was elided)}}
  %w = arith.constant dense_resource<missing_blob> : tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----

// Integer tables are not weights: they stay constants.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<0xf32>, %{{.*}}: tensor<1x32xi64>)
// CHECK: arith.constant dense<7> : tensor<1x32xi64>
func.func @forward(%x: tensor<1x32xi64>) -> tensor<1x32xi64> {
  %ids = arith.constant dense<7> : tensor<1x32xi64>
  %y = arith.addi %x, %ids : tensor<1x32xi64>
  return %y : tensor<1x32xi64>
}

// -----

// An entry point called from within the module cannot take a new argument.
// expected-error @+1 {{'func.func' op is called from within the module}}
func.func @forward(%x: tensor<32xf32>) -> tensor<32xf32> {
  %w = arith.constant dense<1.0> : tensor<32xf32>
  %y = arith.addf %x, %w : tensor<32xf32>
  return %y : tensor<32xf32>
}
func.func @caller(%x: tensor<32xf32>) -> tensor<32xf32> {
  %y = func.call @forward(%x) : (tensor<32xf32>) -> tensor<32xf32>
  return %y : tensor<32xf32>
}

// -----

// bf16 weights (--lorc-narrow-weights) go to a second buffer, argument 1, laid out in
// lorc.parameters_bf16 with offsets in bf16 elements; their bytes follow every f32 tensor's.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>, %[[P16:.*]]: tensor<48xbf16>, %[[X:.*]]: tensor<2x8xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_1", offset = 0 : i64, shape = array<i64: 16>}]
//  CHECK-SAME:   lorc.parameters_bf16 = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 2, 8>}, {name = "constant_2", offset = 16 : i64, shape = array<i64: 4, 8>}]
//       CHECK:   %[[S0:.*]] = tensor.extract_slice %[[P16]][0] [16] [1] : tensor<48xbf16> to tensor<16xbf16>
//       CHECK:   tensor.expand_shape %[[S0]] {{\[\[}}0, 1]] output_shape [2, 8] : tensor<16xbf16> into tensor<2x8xbf16>
//       CHECK:   tensor.extract_slice %[[P]][0] [16] [1] : tensor<16xf32> to tensor<16xf32>
//       CHECK:   tensor.extract_slice %[[P16]][16] [32] [1] : tensor<48xbf16> to tensor<32xbf16>
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<16xf32>, tensor<4x8xf32>) {
  %a = arith.constant dense<1.5> : tensor<2x8xbf16>
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %c = arith.constant dense<-3.0> : tensor<4x8xbf16>
  %a32 = arith.extf %a : tensor<2x8xbf16> to tensor<2x8xf32>
  %c32 = arith.extf %c : tensor<4x8xbf16> to tensor<4x8xf32>
  return %a32, %b, %c32 : tensor<2x8xf32>, tensor<16xf32>, tensor<4x8xf32>
}

// -----

// FP8 E4M3 weights (an FP8 layer's codes, --lorc-narrow-weights) go to a third buffer after the
// bf16 one, laid out in lorc.parameters_fp8 with offsets in bytes (one per element); their
// bytes follow every bf16 tensor's.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>, %[[P16:.*]]: tensor<16xbf16>, %[[P8:.*]]: tensor<64xf8E4M3FN>, %[[X:.*]]: tensor<2x8xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_1", offset = 0 : i64, shape = array<i64: 16>}]
//  CHECK-SAME:   lorc.parameters_bf16 = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 2, 8>}]
//  CHECK-SAME:   lorc.parameters_fp8 = [{name = "constant_2", offset = 0 : i64, shape = array<i64: 4, 8>}, {name = "constant_3", offset = 32 : i64, shape = array<i64: 32>}]
//       CHECK:   tensor.extract_slice %[[P16]][0] [16] [1] : tensor<16xbf16> to tensor<16xbf16>
//       CHECK:   tensor.extract_slice %[[P]][0] [16] [1] : tensor<16xf32> to tensor<16xf32>
//       CHECK:   %[[Q:.*]] = tensor.extract_slice %[[P8]][0] [32] [1] : tensor<64xf8E4M3FN> to tensor<32xf8E4M3FN>
//       CHECK:   tensor.expand_shape %[[Q]] {{\[\[}}0, 1]] output_shape [4, 8] : tensor<32xf8E4M3FN> into tensor<4x8xf8E4M3FN>
//       CHECK:   tensor.extract_slice %[[P8]][32] [32] [1] : tensor<64xf8E4M3FN> to tensor<32xf8E4M3FN>
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<16xf32>, tensor<4x8xf32>, tensor<32xf32>) {
  %a = arith.constant dense<1.5> : tensor<2x8xbf16>
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %c = arith.constant dense<-3.0> : tensor<4x8xf8E4M3FN>
  %d = arith.constant dense<0.5> : tensor<32xf8E4M3FN>
  %a32 = arith.extf %a : tensor<2x8xbf16> to tensor<2x8xf32>
  %c32 = arith.extf %c : tensor<4x8xf8E4M3FN> to tensor<4x8xf32>
  %d32 = arith.extf %d : tensor<32xf8E4M3FN> to tensor<32xf32>
  return %a32, %b, %c32, %d32 : tensor<2x8xf32>, tensor<16xf32>, tensor<4x8xf32>, tensor<32xf32>
}

// -----

// FP8 weights without bf16 ones: the FP8 buffer is argument 1.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<16xf32>, %{{.*}}: tensor<32xf8E4M3FN>, %{{.*}}: tensor<2x8xf32>)
//   CHECK-NOT:   lorc.parameters_bf16
//  CHECK-SAME:   lorc.parameters_fp8 = [{name = "constant_1", offset = 0 : i64, shape = array<i64: 4, 8>}]
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<16xf32>, tensor<4x8xf32>) {
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %c = arith.constant dense<-3.0> : tensor<4x8xf8E4M3FN>
  %c32 = arith.extf %c : tensor<4x8xf8E4M3FN> to tensor<4x8xf32>
  return %b, %c32 : tensor<16xf32>, tensor<4x8xf32>
}

// -----

// FP8 E5M2 weights (an fp8-e5m2 layer's codes) go to a buffer of their own after the E4M3 one,
// laid out in lorc.parameters_e5m2; without bf16 and E4M3 weights it is argument 1.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[P:.*]]: tensor<16xf32>, %[[P8:.*]]: tensor<64xf8E4M3FN>, %[[P5:.*]]: tensor<32xf8E5M2>, %{{.*}}: tensor<2x8xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 16>}]
//  CHECK-SAME:   lorc.parameters_e5m2 = [{name = "constant_2", offset = 0 : i64, shape = array<i64: 4, 8>}]
//  CHECK-SAME:   lorc.parameters_fp8 = [{name = "constant_1", offset = 0 : i64, shape = array<i64: 64>}]
//       CHECK:   tensor.extract_slice %[[P]][0] [16] [1]
//       CHECK:   tensor.extract_slice %[[P8]][0] [64] [1] : tensor<64xf8E4M3FN> to tensor<64xf8E4M3FN>
//       CHECK:   %[[Q:.*]] = tensor.extract_slice %[[P5]][0] [32] [1] : tensor<32xf8E5M2> to tensor<32xf8E5M2>
//       CHECK:   tensor.expand_shape %[[Q]] {{\[\[}}0, 1]] output_shape [4, 8] : tensor<32xf8E5M2> into tensor<4x8xf8E5M2>
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<16xf32>, tensor<64xf32>, tensor<4x8xf32>) {
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %d = arith.constant dense<0.5> : tensor<64xf8E4M3FN>
  %c = arith.constant dense<-3.0> : tensor<4x8xf8E5M2>
  %d32 = arith.extf %d : tensor<64xf8E4M3FN> to tensor<64xf32>
  %c32 = arith.extf %c : tensor<4x8xf8E5M2> to tensor<4x8xf32>
  return %b, %d32, %c32 : tensor<16xf32>, tensor<64xf32>, tensor<4x8xf32>
}

// -----

// E5M2 weights alone: the E5M2 buffer is argument 1.

// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<16xf32>, %{{.*}}: tensor<32xf8E5M2>, %{{.*}}: tensor<2x8xf32>)
//   CHECK-NOT:   lorc.parameters_fp8
//  CHECK-SAME:   lorc.parameters_e5m2 = [{name = "constant_1", offset = 0 : i64, shape = array<i64: 4, 8>}]
func.func @forward(%x: tensor<2x8xf32>) -> (tensor<16xf32>, tensor<4x8xf32>) {
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %c = arith.constant dense<-3.0> : tensor<4x8xf8E5M2>
  %c32 = arith.extf %c : tensor<4x8xf8E5M2> to tensor<4x8xf32>
  return %b, %c32 : tensor<16xf32>, tensor<4x8xf32>
}
