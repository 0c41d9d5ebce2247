// RUN: lorc-opt %s -split-input-file --lorc-fuse | FileCheck %s
// RUN: lorc-opt %s -split-input-file --lorc-fuse=projections=false | FileCheck %s --check-prefix=OFF

// --lorc-fuse, projections: linears that read the same input become one GEMM over their
// stacked weights ([Σ Nᵢ, K], biases concatenated), each old result a slice of the new one.

// The resource keys name the parts, brace-expanded where they differ; the values are the
// stacked rows (q: 1.0, k: 2.0, v: the 2×4 literal) and biases.
// CHECK-LABEL: func.func @qkv
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x?x4xf32>)
//       CHECK:   %[[W:.*]] = arith.constant dense_resource<"layer.{query,key,value}.weight"> : tensor<10x4xf32>
//       CHECK:   %[[B:.*]] = arith.constant dense_resource<"layer.{query,key,value}.bias"> : tensor<10xf32>
//       CHECK:   %[[Y:.*]] = lorc.linear %[[X]], %[[W]], %[[B]] {lorc.fused_from = ["layer.query.weight", "layer.key.weight", "layer.value.weight"]} : tensor<?x?x4xf32>, tensor<10x4xf32>, tensor<10xf32> -> tensor<?x?x10xf32>
//       CHECK:   %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0, 0] [%{{.*}}, %{{.*}}, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
//       CHECK:   %[[K:.*]] = tensor.extract_slice %[[Y]][0, 0, 4] [%{{.*}}, %{{.*}}, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
//       CHECK:   %[[V:.*]] = tensor.extract_slice %[[Y]][0, 0, 8] [%{{.*}}, %{{.*}}, 2] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x2xf32>
//       CHECK:   return %[[Q]], %[[K]], %[[V]]
//   CHECK-NOT:   lorc.linear
//       CHECK: "layer.{query,key,value}.weight": "0x04000000{{(0000803F)+(00000040)+}}0000803F0000004000004040000080400000A0400000C0400000E04000000041"
//       CHECK: "layer.{query,key,value}.bias": "0x04000000CDCCCC3DCDCCCC3DCDCCCC3DCDCCCC3DCDCC4C3ECDCC4C3ECDCC4C3ECDCC4C3E9A99993ECDCCCC3E"
// OFF-LABEL: func.func @qkv
// OFF-COUNT-3: lorc.linear
// OFF-NOT: lorc.fused_from
func.func @qkv(%x: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x2xf32>) {
  %wq = arith.constant dense_resource<"layer.query.weight"> : tensor<4x4xf32>
  %bq = arith.constant dense_resource<"layer.query.bias"> : tensor<4xf32>
  %wk = arith.constant dense_resource<"layer.key.weight"> : tensor<4x4xf32>
  %bk = arith.constant dense_resource<"layer.key.bias"> : tensor<4xf32>
  %wv = arith.constant dense_resource<"layer.value.weight"> : tensor<2x4xf32>
  %bv = arith.constant dense_resource<"layer.value.bias"> : tensor<2xf32>
  %q = lorc.linear %x, %wq, %bq : tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %k = lorc.linear %x, %wk, %bk : tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %v = lorc.linear %x, %wv, %bv : tensor<?x?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x?x2xf32>
  return %q, %k, %v : tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      "layer.query.weight": "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      "layer.query.bias": "0x04000000CDCCCC3DCDCCCC3DCDCCCC3DCDCCCC3D",
      "layer.key.weight": "0x0400000000000040000000400000004000000040000000400000004000000040000000400000004000000040000000400000004000000040000000400000004000000040",
      "layer.key.bias": "0x04000000CDCC4C3ECDCC4C3ECDCC4C3ECDCC4C3E",
      "layer.value.weight": "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041",
      "layer.value.bias": "0x040000009A99993ECDCCCC3E"
    }
  }
#-}

// -----

// Must not fuse: a linear alone on its input; linears on different inputs; a weight that is not
// a constant; a linear with an adapter; the A projection of a fused LoRA
// (lorc.adapter_factor). Mixed bias presence splits the group: the two with a bias fuse, the
// one without stays.
// CHECK-LABEL: func.func @negative
//  CHECK-SAME:   (%[[X:.*]]: tensor<?x4xf32>, %[[Z:.*]]: tensor<?x4xf32>, %[[WD:.*]]: tensor<3x4xf32>
//       CHECK:   lorc.linear %[[Z]], %{{.*}} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
//       CHECK:   lorc.linear %[[X]], %[[WD]] : tensor<?x4xf32>, tensor<3x4xf32> -> tensor<?x3xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}} adapters(%{{.*}})
//       CHECK:   lorc.linear %[[X]], %{{.*}} {lorc.adapter_factor} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}}, %{{.*}} {lorc.fused_from = ["weight", "weight"]} : tensor<?x4xf32>, tensor<4x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
//       CHECK:   lorc.linear %[[X]], %{{.*}} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
//   CHECK-NOT:   lorc.fused_from
func.func @negative(%x: tensor<?x4xf32>, %z: tensor<?x4xf32>, %wd: tensor<3x4xf32>,
                    %up: tensor<2x1xf32>, %down: tensor<1x4xf32>)
    -> (tensor<?x2xf32>, tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %w2 = arith.constant dense<1.0> : tensor<2x4xf32>
  %b2 = arith.constant dense<0.5> : tensor<2xf32>
  %w1 = arith.constant dense<1.0> : tensor<1x4xf32>
  %lonely = lorc.linear %z, %w2 : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %dyn = lorc.linear %x, %wd : tensor<?x4xf32>, tensor<3x4xf32> -> tensor<?x3xf32>
  %a = lorc.lora %down, %up {scale = 1.0 : f64} : tensor<1x4xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 4>
  %adapted = lorc.linear %x, %w2 adapters(%a : !lorc.adapter<2, 4>) : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %xa = lorc.linear %x, %w1 {lorc.adapter_factor} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
  %p = lorc.linear %x, %w2, %b2 : tensor<?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x2xf32>
  %r = lorc.linear %x, %w2, %b2 : tensor<?x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<?x2xf32>
  %nobias = lorc.linear %x, %w2 : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  return %lonely, %dyn, %adapted, %xa, %p, %r, %nobias : tensor<?x2xf32>, tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}
