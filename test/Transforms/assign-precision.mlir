// RUN: %python %S/Inputs/make_gram.py %t.amax.safetensors w0=scalar:1 w1=scalar:2
// RUN: lorc-opt %s -split-input-file --lorc-assign-precision="layers=w0,w1:bf16 amax=%t.amax.safetensors record-amax=true" -verify-diagnostics | FileCheck %s

// --lorc-assign-precision{record-amax}: each FP8 layer's input amax (max |x| over the whole
// tensor) becomes a result, fp8_amax [L], and the function names its layers; bf16 layers have
// no scale to calibrate and are not recorded. The max is taken in two reductions that each sit
// under a parallel loop (the CUDA pipeline maps both to the grid): per row where the layer
// reads its input, then over the rows into the layer's slot of fp8_amax at the return.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @forward
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<1xf32> {lorc.name = "fp8_amax"})
//  CHECK-SAME:   attributes {lorc.fp8_amax_layers = ["w0"]}
//       CHECK:   lorc.quantize %[[X]]
//       CHECK:   %[[ROWS:.*]] = tensor.dim %[[X]], %c0
//       CHECK:   %[[EMPTY:.*]] = tensor.empty(%[[ROWS]]) : tensor<?xf32>
//       CHECK:   %[[ZERO:.*]] = linalg.fill {{.*}} outs(%[[EMPTY]] : tensor<?xf32>)
//       CHECK:   %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x2xf32>) outs(%[[ZERO]] : tensor<?xf32>)
//       CHECK:     math.absf
//       CHECK:     arith.maximumf
//       CHECK:   arith.truncf
//       CHECK:   %[[L0:.*]] = tensor.empty() : tensor<1xf32>
//       CHECK:   %[[SLOT:.*]] = tensor.extract_slice %[[L0]][0] [1] [1]
//       CHECK:   %[[INIT:.*]] = linalg.fill {{.*}} outs(%[[SLOT]] : tensor<1xf32>)
//       CHECK:   %[[A:.*]] = linalg.generic {indexing_maps = [#[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[R]] : tensor<?xf32>) outs(%[[INIT]] : tensor<1xf32>)
//       CHECK:   %[[L:.*]] = tensor.insert_slice %[[A]] into %[[L0]][0] [1] [1]
//       CHECK:   return %{{.*}}, %[[L]]
func.func @forward(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %w1 = arith.constant dense_resource<w1> : tensor<2x2xf32>
  %y = lorc.linear %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  %z = lorc.linear %y, %w1 : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %z : tensor<?x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000009A99993E0000803F9A99993E6F12833A",
      w1: "0x040000009A99993E0000803F9A99993E6F12833A"
    }
  }
#-}

// -----

// A function with callers cannot return one more value.
// expected-error @+1 {{'func.func' op --lorc-assign-precision{record-amax}: @layer has callers, so it cannot return fp8_amax}}
func.func @layer(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %y = lorc.linear %x, %w : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
func.func @caller(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %y = func.call @layer(%x) : (tensor<4x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000009A99993E0000803F9A99993E6F12833A"
    }
  }
#-}
