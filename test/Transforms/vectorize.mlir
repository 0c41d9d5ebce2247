// RUN: lorc-opt %s -split-input-file --lorc-vectorize | FileCheck %s
// RUN: not lorc-opt %s --lorc-vectorize="parallel-tile=8 vector-width=16" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD

// BAD: error: --lorc-vectorize: vector-width must be positive and at most parallel-tile and max-row-elements (got 16, 8 and 1024)

// A layer norm's row sum over [rows, 384] with a reassociable combiner: one row per
// iteration of a parallel loop over all rows, summed as one 384-lane vector.reduction in a
// tree (fastmath<reassoc>), not lane by lane.

// CHECK-LABEL: func.func @row_sum
//       CHECK:   scf.parallel (%[[I:.*]], %[[J:.*]]) = {{.*}} step (%c1{{.*}}, %c1{{.*}}) {
//       CHECK:     %[[X:.*]] = memref.subview %{{.*}}[%[[I]], %[[J]], 0] [1, 1, 384] [1, 1, 1]
//       CHECK:     %[[V:.*]] = vector.transfer_read %[[X]]{{.*}} : memref<1x1x384xf32, {{.*}}>, vector<1x1x384xf32>
//       CHECK:     %[[FLAT:.*]] = vector.shape_cast %[[V]] : vector<1x1x384xf32> to vector<384xf32>
//       CHECK:     %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : f32 from vector<1x1xf32>
//       CHECK:     %[[SUM:.*]] = vector.reduction <add>, %[[FLAT]], %[[ACC]] fastmath<reassoc> : vector<384xf32> into f32
//       CHECK:     %[[B:.*]] = vector.broadcast %[[SUM]] : f32 to vector<1x1xf32>
//       CHECK:     vector.transfer_write %[[B]]
//       CHECK:   } {lorc.vector_rows}
//   CHECK-NOT:   linalg.generic
func.func @row_sum(%x: memref<?x?x384xf32>, %o: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x?x384xf32>) outs(%o : memref<?x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in fastmath<reassoc> : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The variance's body: only the combiner needs reassoc (the subtraction and square do not).

// CHECK-LABEL: func.func @variance
//       CHECK:   vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<384xf32> into f32
//   CHECK-NOT:   linalg.generic
func.func @variance(%x: memref<?x384xf32>, %mean: memref<?xf32>, %o: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : memref<?x384xf32>, memref<?xf32>) outs(%o : memref<?xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %sq = arith.mulf %d, %d : f32
    %s = arith.addf %out, %sq fastmath<reassoc> : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A combiner that may not be reassociated must add in order: left to the scalar loops.

// CHECK-LABEL: func.func @ordered_sum
//       CHECK:   linalg.generic
//   CHECK-NOT:   vector.
func.func @ordered_sum(%x: memref<?x384xf32>, %o: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x384xf32>) outs(%o : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reduction over a dynamic extent (softmax over a dynamic number of keys): left to LLVM's
// loop vectoriser, which keeps a vector accumulator.

// CHECK-LABEL: func.func @dynamic_row_max
//       CHECK:   linalg.generic
//   CHECK-NOT:   vector.
func.func @dynamic_row_max(%x: memref<?x?xf32>, %o: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%o : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.maximumf %out, %in fastmath<reassoc> : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A layer norm's normalisation over rows of 384 with broadcast per-row and per-column
// operands: rows in steps of one, each row in steps of 64 lanes (4 AVX-512 registers; 64
// divides 384, so no mask). The inner loop is not a row loop: no lorc.vector_rows.

// CHECK-LABEL: func.func @normalize
//       CHECK:   scf.parallel (%[[R:.*]], %[[C:.*]]) = (%c0{{.*}}, %c0{{.*}}) to (%{{.*}}, %c384{{.*}}) step (%c1{{.*}}, %c64{{.*}}) {
//       CHECK:     vector.transfer_read {{.*}} : memref<1x64xf32, {{.*}}>, vector<1x64xf32>
//       CHECK:     vector.transfer_read {{.*}}permutation_map = #{{.*}} : memref<1xf32, {{.*}}>, vector<1x64xf32>
//       CHECK:     vector.transfer_read {{.*}}permutation_map = #{{.*}} : memref<64xf32, {{.*}}>, vector<1x64xf32>
//       CHECK:     arith.subf {{.*}} : vector<1x64xf32>
//       CHECK:     arith.mulf {{.*}} : vector<1x64xf32>
//       CHECK:     vector.transfer_write {{.*}} : vector<1x64xf32>, memref<1x64xf32
//   CHECK-NOT:     vector.mask
//       CHECK:   }
//   CHECK-NOT:   lorc.vector_rows
func.func @normalize(%x: memref<?x384xf32>, %rstd: memref<?xf32>, %gamma: memref<384xf32>,
                     %o: memref<?x384xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %rstd, %gamma : memref<?x384xf32>, memref<?xf32>, memref<384xf32>)
      outs(%o : memref<?x384xf32>) {
  ^bb0(%in: f32, %r: f32, %g: f32, %out: f32):
    %d = arith.subf %in, %r : f32
    %y = arith.mulf %d, %g : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// Rows of 32 (an attention key tile): each row one vector, all dimensions over rows.

// CHECK-LABEL: func.func @key_tile
//       CHECK:   scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%{{.*}}) step (%c1{{.*}}) {
//       CHECK:     vector.transfer_read {{.*}} : memref<1x32xf32, {{.*}}>, vector<1x32xf32>
//       CHECK:     math.exp {{.*}} : vector<1x32xf32>
//       CHECK:   } {lorc.vector_rows}
func.func @key_tile(%s: memref<?x32xf32>, %o: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x32xf32>) outs(%o : memref<?x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A dynamic innermost extent: steps of one register (16 lanes), the last one masked.

// CHECK-LABEL: func.func @dynamic_add
//       CHECK:   scf.parallel (%[[I:.*]]) = (%c0{{.*}}) to (%{{.*}}) step (%c16{{.*}}) {
//       CHECK:     %[[N:.*]] = affine.min
//       CHECK:     %[[M:.*]] = vector.create_mask %{{.*}} : vector<16xi1>
//       CHECK:     vector.mask %[[M]] { vector.transfer_read {{.*}} : memref<?xf32, {{.*}}>, vector<16xf32> }
//       CHECK:     arith.addf {{.*}} : vector<16xf32>
//       CHECK:     vector.mask %[[M]] { vector.transfer_write
//   CHECK-NOT:   lorc.vector_rows
func.func @dynamic_add(%a: memref<?xf32>, %b: memref<?xf32>, %o: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>,
                                   affine_map<(d0) -> (d0)>],
                  iterator_types = ["parallel"]}
      ins(%a, %b : memref<?xf32>, memref<?xf32>) outs(%o : memref<?xf32>) {
  ^bb0(%x: f32, %y: f32, %out: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention's head transpose [B, H, S, D] -> [B, S, H, D]: the innermost dimension (D = 32)
// is contiguous in both, so each (b, s, h) row is one 32-lane copy.

// CHECK-LABEL: func.func @heads
//       CHECK:   scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
//       CHECK:     vector.transfer_read {{.*}} : memref<1x1x1x32xf32, {{.*}}>, vector<1x1x1x32xf32>
//       CHECK:     vector.transfer_write {{.*}} : vector<1x1x1x32xf32>, memref<1x1x1x32xf32
//       CHECK:   } {lorc.vector_rows}
func.func @heads(%x: memref<?x12x?x32xf32>, %o: memref<?x?x12x32xf32>) {
  linalg.transpose ins(%x : memref<?x12x?x32xf32>) outs(%o : memref<?x?x12x32xf32>)
    permutation = [0, 2, 1, 3]
  return
}

// -----

// Not vectorised: a transpose that moves the innermost dimension (each lane a different row
// of the input), an operand whose innermost stride is not one, and a GEMM.

// CHECK-LABEL: func.func @left_alone
//       CHECK:   linalg.transpose
//       CHECK:   linalg.generic
//       CHECK:   linalg.matmul
//   CHECK-NOT:   vector.
func.func @left_alone(%x: memref<?x64xf32>, %t: memref<64x?xf32>,
                      %s: memref<?x64xf32, strided<[1, ?]>>, %o: memref<?x64xf32>,
                      %a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.transpose ins(%x : memref<?x64xf32>) outs(%t : memref<64x?xf32>) permutation = [1, 0]
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?x64xf32, strided<[1, ?]>>) outs(%o : memref<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.matmul ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  return
}

// -----

// Mean pooling's sums over the sequence, [B, S, H] → [B, H], with H the second loop and S the
// innermost: the loops are interchanged so that H is innermost and contiguous. The sum over S
// is then an scf.for outside the vector row (each feature still summed in order, so no
// reassoc is needed) and the rows of H go in steps of 64 lanes.

// CHECK-LABEL: func.func @mean_pool
//       CHECK:   scf.parallel (%[[B:.*]]) =
//       CHECK:     scf.for %[[S:.*]] =
//       CHECK:       scf.parallel (%[[H:.*]]) = (%c0{{.*}}) to (%c384{{.*}}) step (%c64{{.*}})
//       CHECK:         vector.transfer_read {{.*}} : memref<1x1x64xf32, {{.*}}>, vector<1x1x64xf32>
//       CHECK:         arith.sitofp {{.*}} : vector<1x1x64xi64> to vector<1x1x64xf32>
//       CHECK:         vector.transfer_write {{.*}} : vector<1x64xf32>, memref<1x64xf32
//       CHECK:         vector.transfer_write {{.*}} : vector<1x64xf32>, memref<1x64xf32
//   CHECK-NOT:   linalg.generic
func.func @mean_pool(%x: memref<?x?x384xf32>, %mask: memref<?x?xi64>, %sum: memref<?x384xf32>,
                     %count: memref<?x384xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %mask : memref<?x?x384xf32>, memref<?x?xi64>)
      outs(%sum, %count : memref<?x384xf32>, memref<?x384xf32>) {
  ^bb0(%in: f32, %m: i64, %s: f32, %c: f32):
    %mf = arith.sitofp %m : i64 to f32
    %w = arith.mulf %in, %mf : f32
    %s2 = arith.addf %s, %w : f32
    %c2 = arith.addf %c, %mf : f32
    linalg.yield %s2, %c2 : f32, f32
  }
  return
}
