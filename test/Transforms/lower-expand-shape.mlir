// RUN: lorc-opt %s -split-input-file -lorc-lower-expand-shape | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-lower-expand-shape --expand-strided-metadata | FileCheck %s --check-prefix=ESM

// A memref.expand_shape of an identity-layout buffer with dynamic output sizes becomes a
// memref.reinterpret_cast with row-major strides (products of the trailing sizes, arith.muli
// where dynamic) and a memref.cast back to the op's result type. Upstream
// --expand-strided-metadata aborts on such expand_shapes with several dynamic sizes; after this
// pass it runs through (second RUN line).

// CHECK-LABEL: func.func @expand_two_dynamic
//  CHECK-SAME:   %[[M:.*]]: memref<?x384xf32>, %[[B:.*]]: index, %[[S:.*]]: index
//       CHECK:   %[[C384:.*]] = arith.constant 384 : index
//       CHECK:   %[[S0:.*]] = arith.muli %[[S]], %[[C384]] : index
//       CHECK:   %[[RC:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[S]], 384], strides: [%[[S0]], 384, 1] : memref<?x384xf32> to memref<?x?x384xf32, strided<[?, 384, 1]>>
//       CHECK:   %[[R:.*]] = memref.cast %[[RC]] : memref<?x?x384xf32, strided<[?, 384, 1]>> to memref<?x?x384xf32>
//   CHECK-NOT:   memref.expand_shape
//       CHECK:   return %[[R]]

// ESM-LABEL: func.func @expand_two_dynamic
//   ESM-NOT:   memref.expand_shape
//       ESM:   memref.reinterpret_cast
//       ESM:   return
func.func @expand_two_dynamic(%m: memref<?x384xf32>, %b: index, %s: index) -> memref<?x?x384xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %s, 384] : memref<?x384xf32> into memref<?x?x384xf32>
  return %e : memref<?x?x384xf32>
}

// -----

// All sizes dynamic: every stride but the last is a product of dynamic sizes.

// CHECK-LABEL: func.func @expand_all_dynamic
//  CHECK-SAME:   %[[M:.*]]: memref<?x?xf32>, %[[B:.*]]: index, %[[S:.*]]: index, %[[N:.*]]: index
//       CHECK:   %[[S0:.*]] = arith.muli %[[N]], %[[S]] : index
//       CHECK:   %[[RC:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[S]], %[[N]]], strides: [%[[S0]], %[[N]], 1] : memref<?x?xf32> to memref<?x?x?xf32, strided<[?, ?, 1]>>
//       CHECK:   %[[R:.*]] = memref.cast %[[RC]] : memref<?x?x?xf32, strided<[?, ?, 1]>> to memref<?x?x?xf32>
//       CHECK:   return %[[R]]

// ESM-LABEL: func.func @expand_all_dynamic
//   ESM-NOT:   memref.expand_shape
//       ESM:   return
func.func @expand_all_dynamic(%m: memref<?x?xf32>, %b: index, %s: index, %n: index) -> memref<?x?x?xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %s, %n] : memref<?x?xf32> into memref<?x?x?xf32>
  return %e : memref<?x?x?xf32>
}

// -----

// Mixed static and dynamic sizes ([B·H·S, D] -> [B, H, S, D]): the static part of the strides
// is kept in the layout as long as every trailing size is static.

// CHECK-LABEL: func.func @expand_heads
//  CHECK-SAME:   %[[M:.*]]: memref<?x32xf32>, %[[B:.*]]: index, %[[S:.*]]: index
//   CHECK-DAG:   %[[C12:.*]] = arith.constant 12 : index
//   CHECK-DAG:   %[[C32:.*]] = arith.constant 32 : index
//       CHECK:   %[[SH:.*]] = arith.muli %[[S]], %[[C32]] : index
//       CHECK:   %[[SB:.*]] = arith.muli %[[SH]], %[[C12]] : index
//       CHECK:   %[[RC:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], 12, %[[S]], 32], strides: [%[[SB]], %[[SH]], 32, 1] : memref<?x32xf32> to memref<?x12x?x32xf32, strided<[?, ?, 32, 1]>>
//       CHECK:   memref.cast %[[RC]] : memref<?x12x?x32xf32, strided<[?, ?, 32, 1]>> to memref<?x12x?x32xf32>

// ESM-LABEL: func.func @expand_heads
//   ESM-NOT:   memref.expand_shape
//       ESM:   return
func.func @expand_heads(%m: memref<?x32xf32>, %b: index, %s: index) -> memref<?x12x?x32xf32> {
  %e = memref.expand_shape %m [[0, 1, 2], [3]] output_shape [%b, 12, %s, 32] : memref<?x32xf32> into memref<?x12x?x32xf32>
  return %e : memref<?x12x?x32xf32>
}

// -----

// Left alone: static shapes (upstream handles them).

// CHECK-LABEL: func.func @expand_static
//       CHECK:   %[[E:.*]] = memref.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, 4, 8] : memref<8x8xf32> into memref<2x4x8xf32>
//   CHECK-NOT:   memref.reinterpret_cast
//       CHECK:   return %[[E]]
func.func @expand_static(%m: memref<8x8xf32>) -> memref<2x4x8xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [2, 4, 8] : memref<8x8xf32> into memref<2x4x8xf32>
  return %e : memref<2x4x8xf32>
}

// -----

// Left alone: a strided (non-identity) source.

// CHECK-LABEL: func.func @expand_strided_source
//       CHECK:   %[[E:.*]] = memref.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, 4, 8] : memref<?x8xf32, strided<[16, 1], offset: ?>> into memref<?x4x8xf32, strided<[64, 16, 1], offset: ?>>
//   CHECK-NOT:   memref.reinterpret_cast
//       CHECK:   return %[[E]]
func.func @expand_strided_source(%m: memref<?x8xf32, strided<[16, 1], offset: ?>>, %b: index) -> memref<?x4x8xf32, strided<[64, 16, 1], offset: ?>> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, 4, 8] : memref<?x8xf32, strided<[16, 1], offset: ?>> into memref<?x4x8xf32, strided<[64, 16, 1], offset: ?>>
  return %e : memref<?x4x8xf32, strided<[64, 16, 1], offset: ?>>
}
