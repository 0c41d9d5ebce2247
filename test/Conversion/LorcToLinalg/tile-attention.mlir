// RUN: lorc-opt %s -split-input-file --lorc-tile-attention --canonicalize | FileCheck %s
// RUN: lorc-opt %s -split-input-file --lorc-tile-attention="query-tile=3 key-tile=2" --canonicalize | FileCheck %s --check-prefix=TILES
// RUN: lorc-opt %s -split-input-file --lorc-tile-attention="cache-bytes=65536" --canonicalize | FileCheck %s --check-prefix=SMALL
// RUN: not lorc-opt %s -split-input-file --lorc-tile-attention="key-tile=-1" 2>&1 | FileCheck %s --check-prefix=ERR

// --lorc-tile-attention: lorc.attention becomes an scf.forall over (batch, head, query tile)
// around an scf.for over key tiles that carries the online-softmax state (row max, row sum,
// unnormalised output); the scores exist only as a [tq, tk] tile.

// BERT's form: Q, K, V are heads split by transposes that keep D last, and the result is merged
// back by one. The tiles are read from the transposes' inputs ([B, S, H, D], strided) and
// written into the merged layout, so no transpose is left.
// CHECK-LABEL: func.func @bert
//  CHECK-SAME:   (%[[Q:.*]]: tensor<?x?x2x4xf32>, %[[K:.*]]: tensor<?x?x2x4xf32>, %[[V:.*]]: tensor<?x?x2x4xf32>, %[[M:.*]]: tensor<?x?xi64>)
//   CHECK-NOT:   linalg.transpose
//       CHECK:   %[[OUT:.*]] = tensor.empty({{.*}}) : tensor<?x?x2x4xf32>
//       CHECK:   %[[R:.*]] = scf.forall (%[[B:.*]], %[[H:.*]], %[[T:.*]]) in (%{{.*}}, 2, %{{.*}}) shared_outs(%[[O:.*]] = %[[OUT]]) -> (tensor<?x?x2x4xf32>)
//       CHECK:     %[[Q0:.*]] = arith.muli %[[T]], %c128
//       CHECK:     %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[Q0]], %[[H]], 0] [1, %[[TQ:.*]], 1, 4] [1, 1, 1, 1] : tensor<?x?x2x4xf32> to tensor<?x4xf32>
//       CHECK:     %[[LOOP:.*]]:3 = scf.for %[[J:.*]] = %c0 to %{{.*}} step %c256 iter_args(%[[MAX:.*]] = %{{.*}}, %[[SUM:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
//       CHECK:       %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[J]], %[[H]], 0]
//       CHECK:       %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[J]], %[[H]], 0]
//       CHECK:       %[[S:.*]] = linalg.matmul {{.*}} ins(%[[QT]], %[[KT]] : tensor<?x4xf32>, tensor<?x4xf32>)
// Scale and the key-padding mask's [1, tk] slice in one generic.
//       CHECK:       %[[MT:.*]] = tensor.extract_slice %[[M]][%[[B]], %[[J]]] [1, %{{.*}}] [1, 1] : tensor<?x?xi64> to tensor<1x?xi64>
//       CHECK:       %[[SM:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[MT]] : tensor<?x?xf32>, tensor<1x?xi64>)
//       CHECK:         arith.mulf
//       CHECK:         arith.cmpi ne
//       CHECK:         arith.select
// m' = max(m, rowmax(s)), p = exp(s − m'), c = exp(m − m'), l' = c·l + rowsum(p).
//       CHECK:       %[[MNEW:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[SM]] : tensor<?x?xf32>) outs(%[[MAX]] : tensor<?xf32>)
//       CHECK:         arith.maximumf
//       CHECK:       %[[P:.*]] = linalg.generic {{.*}} ins(%[[SM]], %[[MNEW]] : tensor<?x?xf32>, tensor<?xf32>)
//       CHECK:         math.exp
//       CHECK:       %[[C:.*]] = linalg.generic {{.*}} ins(%[[MAX]], %[[MNEW]] : tensor<?xf32>, tensor<?xf32>)
//       CHECK:         math.exp
//       CHECK:       %[[LC:.*]] = linalg.generic {{.*}} ins(%[[SUM]], %[[C]] : tensor<?xf32>, tensor<?xf32>)
//       CHECK:       %[[LNEW:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<?x?xf32>) outs(%[[LC]] : tensor<?xf32>)
// acc' = c·acc + p·V_j: the rescale, then a GEMM accumulating into it.
//       CHECK:       %[[AC:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %[[C]] : tensor<?x4xf32>, tensor<?xf32>)
//       CHECK:       %[[ANEW:.*]] = linalg.matmul ins(%[[P]], %[[VT]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[AC]] : tensor<?x4xf32>)
//       CHECK:       scf.yield %[[MNEW]], %[[LNEW]], %[[ANEW]]
//       CHECK:     %[[NORM:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : tensor<?x4xf32>, tensor<?xf32>)
//       CHECK:       arith.divf
//       CHECK:     scf.forall.in_parallel
//       CHECK:       tensor.parallel_insert_slice %[[NORM]] into %[[O]][%[[B]], %[[Q0]], %[[H]], 0] [1, %[[TQ]], 1, 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<?x?x2x4xf32>
//       CHECK:   return %[[R]]
//   CHECK-NOT:   lorc.attention
// Explicit tiles: 3 queries by 2 keys.
// TILES-LABEL: func.func @bert
//       TILES:   arith.ceildivsi %{{.*}}, %c3
//       TILES:   scf.for {{.*}} step %c2
// A 64 KiB cache: Tk = 16, the largest power of two with 4·(2·128·Tk + 8·Tk + 128·12) ≤ 32 KiB.
// SMALL-LABEL: func.func @bert
//       SMALL:   scf.for {{.*}} step %c16
func.func @bert(%q4: tensor<?x?x2x4xf32>, %k4: tensor<?x?x2x4xf32>, %v4: tensor<?x?x2x4xf32>, %mask: tensor<?x?xi64>) -> tensor<?x?x2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %q4, %c0 : tensor<?x?x2x4xf32>
  %s = tensor.dim %q4, %c1 : tensor<?x?x2x4xf32>
  %e = tensor.empty(%b, %s) : tensor<?x2x?x4xf32>
  %q = linalg.transpose ins(%q4 : tensor<?x?x2x4xf32>) outs(%e : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3]
  %k = linalg.transpose ins(%k4 : tensor<?x?x2x4xf32>) outs(%e : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3]
  %v = linalg.transpose ins(%v4 : tensor<?x?x2x4xf32>) outs(%e : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3]
  %o = lorc.attention %q, %k, %v, mask %mask {scale = 0.5 : f32} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi64> -> tensor<?x2x?x4xf32>
  %e2 = tensor.empty(%b, %s) : tensor<?x?x2x4xf32>
  %r = linalg.transpose ins(%o : tensor<?x2x?x4xf32>) outs(%e2 : tensor<?x?x2x4xf32>) permutation = [0, 2, 1, 3]
  return %r : tensor<?x?x2x4xf32>
}

// -----

// Not read or written through: a transpose that moves the head dimension (K given as [B, H,
// D, S]) stays and is tiled as a [B, H, S, D] tensor; a result with another user than the
// transpose is written as [B, H, S, D] and the transpose stays.
// CHECK-LABEL: func.func @not_folded
//  CHECK-SAME:   (%[[Q:.*]]: tensor<?x2x?x4xf32>, %[[KT:.*]]: tensor<?x2x4x?xf32>, %[[V:.*]]: tensor<?x2x?x4xf32>)
//       CHECK:   %[[K:.*]] = linalg.transpose ins(%[[KT]] : tensor<?x2x4x?xf32>) {{.*}} permutation = [0, 1, 3, 2]
//       CHECK:   %[[R:.*]] = scf.forall {{.*}} -> (tensor<?x2x?x4xf32>)
//       CHECK:     tensor.extract_slice %[[Q]][
//       CHECK:     scf.for
//       CHECK:       tensor.extract_slice %[[K]][
//       CHECK:       tensor.extract_slice %[[V]][
// No mask: the scores are only scaled (by 1/√D = 0.5).
//       CHECK:       linalg.generic {{.*}} ins(%{{.*}} : tensor<?x?xf32>)
//       CHECK:         arith.mulf %{{.*}}, %cst{{.*}} : f32
//   CHECK-NOT:         arith.select
//       CHECK:   %[[T:.*]] = linalg.transpose ins(%[[R]] : tensor<?x2x?x4xf32>) {{.*}} permutation = [0, 2, 1, 3]
//       CHECK:   return %[[T]], %[[R]]
func.func @not_folded(%q: tensor<?x2x?x4xf32>, %kt: tensor<?x2x4x?xf32>, %v: tensor<?x2x?x4xf32>) -> (tensor<?x?x2x4xf32>, tensor<?x2x?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x2x?x4xf32>
  %s = tensor.dim %q, %c2 : tensor<?x2x?x4xf32>
  %c3 = arith.constant 3 : index
  %sk = tensor.dim %kt, %c3 : tensor<?x2x4x?xf32>
  %e = tensor.empty(%b, %sk) : tensor<?x2x?x4xf32>
  %k = linalg.transpose ins(%kt : tensor<?x2x4x?xf32>) outs(%e : tensor<?x2x?x4xf32>) permutation = [0, 1, 3, 2]
  %o = lorc.attention %q, %k, %v : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %e2 = tensor.empty(%b, %s) : tensor<?x?x2x4xf32>
  %r = linalg.transpose ins(%o : tensor<?x2x?x4xf32>) outs(%e2 : tensor<?x?x2x4xf32>) permutation = [0, 2, 1, 3]
  return %r, %o : tensor<?x?x2x4xf32>, tensor<?x2x?x4xf32>
}

// -----

// Additive mask broadcast over B and H: its [1, 1, tq, tk] slice at (0, 0, q0, j0), indexed
// (0, 0, i, j); causal: key j0 + j is masked after query q0 + i.
// CHECK-LABEL: func.func @additive_causal
//  CHECK-SAME:   %[[M:[a-z0-9]+]]: tensor<1x1x?x?xf32>
//       CHECK:   scf.forall
//       CHECK:     %[[Q0:.*]] = arith.muli
//       CHECK:     scf.for %[[J:[a-z0-9_]+]] =
//       CHECK:       %[[MT:.*]] = tensor.extract_slice %[[M]][0, 0, %[[Q0]], %[[J]]] [1, 1, %{{.*}}, %{{.*}}] [1, 1, 1, 1] : tensor<1x1x?x?xf32> to tensor<1x1x?x?xf32>
//       CHECK:       linalg.generic {indexing_maps = [#{{.*}}, #[[MAP:.*]], #{{.*}}], {{.*}} ins(%{{.*}}, %[[MT]] :
//       CHECK:         linalg.index 0
//       CHECK:         linalg.index 1
//       CHECK:         arith.cmpi ugt
func.func @additive_causal(%q: tensor<?x2x?x4xf32>, %k: tensor<?x2x?x4xf32>, %v: tensor<?x2x?x4xf32>, %m: tensor<1x1x?x?xf32>) -> tensor<?x2x?x4xf32> {
  %o = lorc.attention %q, %k, %v, mask %m {causal} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<1x1x?x?xf32> -> tensor<?x2x?x4xf32>
  return %o : tensor<?x2x?x4xf32>
}

// ERR: error: lorc-tile-attention: query-tile and key-tile must be >= 0 and cache-bytes > 0
