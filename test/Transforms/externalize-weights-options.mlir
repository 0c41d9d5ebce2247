// RUN: lorc-opt %s -lorc-externalize-weights="entry=encode min-elements=4 weights-file=%t.safetensors" | FileCheck %s
// RUN: test -s %t.safetensors
// RUN: FileCheck %s --input-file=%t.safetensors --check-prefix=FILE
// RUN: not lorc-opt %s -lorc-externalize-weights=entry=missing 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not lorc-opt %s -lorc-externalize-weights=entry=declared 2>&1 | FileCheck %s --check-prefix=DECLARED

// The options of --lorc-externalize-weights: `entry` picks the function (here not `forward`),
// `min-elements` the size threshold, `weights-file` writes the parameter buffer as safetensors.

// CHECK-LABEL: func.func private @declared
// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%{{.*}}: tensor<4xf32>) -> tensor<4xf32> {
//       CHECK:   arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK-LABEL: func.func @encode
//  CHECK-SAME:   (%[[P:.*]]: tensor<12xf32>, %[[X:.*]]: tensor<4xf32>) -> (tensor<4xf32>, tensor<2x4xf32>)
//  CHECK-SAME:   lorc.parameters = [{name = "constant_0", offset = 0 : i64, shape = array<i64: 4>}, {name = "constant_1", offset = 4 : i64, shape = array<i64: 2, 4>}]
//       CHECK:   %[[A:.*]] = tensor.extract_slice %[[P]][0] [4] [1] : tensor<12xf32> to tensor<4xf32>
//       CHECK:   %[[S:.*]] = tensor.extract_slice %[[P]][4] [8] [1] : tensor<12xf32> to tensor<8xf32>
//       CHECK:   %[[B:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1]] output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
//       CHECK:   %[[Y:.*]] = arith.addf %[[X]], %[[A]]
//       CHECK:   return %[[Y]], %[[B]]

// The safetensors header lists the tensors in data order with byte offsets.
// FILE: {"constant_0":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"constant_1":{"dtype":"F32","shape":[2,4],"data_offsets":[16,48]}}

// MISSING: error: no function 'missing' with a body
// DECLARED: error: no function 'declared' with a body

func.func private @declared(tensor<4xf32>) -> tensor<4xf32>

func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = arith.addf %x, %w : tensor<4xf32>
  return %y : tensor<4xf32>
}

func.func @encode(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %b = arith.constant dense<[[5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<2x4xf32>
  %small = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = arith.addf %x, %w : tensor<4xf32>
  return %y, %b : tensor<4xf32>, tensor<2x4xf32>
}
