// RUN: lorc-opt %s -split-input-file --lorc-outermost-parallel-loops | FileCheck %s
// RUN: lorc-opt %s -split-input-file --lorc-outermost-parallel-loops --convert-scf-to-openmp \
// RUN:   --lorc-omp-parallel-if=min-iterations=64 | FileCheck %s --check-prefix=OMP

// An elementwise op over [batch, seq, 384]: rows (batch, seq) stay parallel, the 384 elements
// of a row become a contiguous scf.for inside; with OpenMP the fork happens only when there
// are at least min-iterations rows.

// CHECK-LABEL: func.func @rows
//       CHECK:   scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step
//       CHECK:     scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:       memref.load %{{.*}}[%[[I]], %[[J]], %[[K]]]
//       CHECK:       memref.store
//   CHECK-NOT:   scf.parallel

// OMP-LABEL: func.func @rows
//       OMP:   %[[N:.*]] = memref.dim %{{.*}}, %c0
//       OMP:   %[[S:.*]] = memref.dim %{{.*}}, %c1
//       OMP:   %[[TN:.*]] = arith.ceildivsi
//       OMP:   %[[TS:.*]] = arith.ceildivsi
//       OMP:   %[[ROWS:.*]] = arith.muli %[[TN]], %[[TS]] : index
//       OMP:   %[[MIN:.*]] = arith.constant 64 : index
//       OMP:   %[[COND:.*]] = arith.cmpi sge, %[[ROWS]], %[[MIN]] : index
//       OMP:   omp.parallel if(%[[COND]]) {
//       OMP:     omp.wsloop {
//       OMP:       omp.loop_nest (%{{.*}}, %{{.*}}) : index = (%{{.*}}, %{{.*}}) to (%[[N]], %[[S]])
//       OMP:         scf.for
func.func @rows(%a: memref<?x?x384xf32>, %b: memref<?x?x384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c384 = arith.constant 384 : index
  %n = memref.dim %a, %c0 : memref<?x?x384xf32>
  %s = memref.dim %a, %c1 : memref<?x?x384xf32>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%n, %s, %c384) step (%c1, %c1, %c1) {
    %x = memref.load %a[%i, %j, %k] : memref<?x?x384xf32>
    memref.store %x, %b[%i, %j, %k] : memref<?x?x384xf32>
  }
  return
}

// -----

// Rows that --lorc-vectorize vectorised whole (lorc.vector_rows): both dimensions are rows,
// so both stay parallel, also when the body has no loop; with OpenMP, one collapsed nest.

// CHECK-LABEL: func.func @vector_rows
//       CHECK:   scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step
//   CHECK-NOT:     scf.for
//       CHECK:     vector.transfer_read
//       CHECK:   } {lorc.vector_rows}
// OMP-LABEL: func.func @vector_rows
//       OMP:   omp.parallel if(
//       OMP:     omp.loop_nest (%{{.*}}, %{{.*}}) : index
//   OMP-NOT:     scf.for
func.func @vector_rows(%a: memref<?x?x32xf32>, %b: memref<?x?x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %p = ub.poison : f32
  %n = memref.dim %a, %c0 : memref<?x?x32xf32>
  %s = memref.dim %a, %c1 : memref<?x?x32xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %s) step (%c1, %c1) {
    %v = vector.transfer_read %a[%i, %j, %c0], %p {in_bounds = [true]} : memref<?x?x32xf32>, vector<32xf32>
    vector.transfer_write %v, %b[%i, %j, %c0] {in_bounds = [true]} : vector<32xf32>, memref<?x?x32xf32>
  } {lorc.vector_rows}
  return
}

// -----

// A row loop with a parallel loop nested inside (two levels): the inner one becomes scf.for,
// so only the outer one forks; the row loop, now with a loop inside, stays parallel.

// CHECK-LABEL: func.func @nested
//       CHECK:   scf.parallel (%[[R:.*]]) =
//       CHECK:     scf.for %[[C:.*]] =
//       CHECK:       memref.load %{{.*}}[%[[R]], %[[C]]]
//   CHECK-NOT:   scf.parallel
// OMP-LABEL: func.func @nested
//       OMP:   omp.parallel if(
//   OMP-NOT:   omp.parallel
func.func @nested(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    scf.parallel (%c) = (%c0) to (%m) step (%c1) {
      %x = memref.load %a[%r, %c] : memref<?x?xf32>
      memref.store %x, %b[%r, %c] : memref<?x?xf32>
    }
  }
  return
}

// -----

// Rank 1 (one element per iteration over a short vector) is not worth a fork: it becomes a
// plain scf.for and no omp.parallel is created.

// CHECK-LABEL: func.func @vector
//   CHECK-NOT:   scf.parallel
//       CHECK:   scf.for
// OMP-LABEL: func.func @vector
//   OMP-NOT:   omp.parallel
//       OMP:   return
func.func @vector(%a: memref<384xf32>, %b: memref<384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c384 = arith.constant 384 : index
  scf.parallel (%i) = (%c0) to (%c384) step (%c1) {
    %x = memref.load %a[%i] : memref<384xf32>
    memref.store %x, %b[%i] : memref<384xf32>
  }
  return
}

// -----

// Loops with results (reductions) are left alone (linalg's parallel loops never have them;
// convert-scf-to-openmp would make an omp reduction, which lorc's runtime does not provide).

// CHECK-LABEL: func.func @reduction
//       CHECK:   scf.parallel
//       CHECK:     scf.reduce
func.func @reduction(%a: memref<?x?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %r = scf.parallel (%i, %j) = (%c0, %c0) to (%n, %n) step (%c1, %c1) init (%zero) -> f32 {
    %x = memref.load %a[%i, %j] : memref<?x?xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %rr: f32):
      %s = arith.addf %l, %rr : f32
      scf.reduce.return %s : f32
    }
  }
  return %r : f32
}

// -----

// Iterations that call a function (the tiled attention's per-tile GEMMs, the row tiles of
// --lorc-tile-rows) fork from 2 iterations on, under min-iterations (12 heads here); a single
// one runs on the calling thread, where the library GEMM uses the threads itself.
// OMP-LABEL: func.func @calls
//       OMP:   %[[N:.*]] = memref.dim
//       OMP:   %[[T:.*]] = arith.ceildivsi
//       OMP:   %[[MIN:.*]] = arith.constant 2 : index
//       OMP:   %[[COND:.*]] = arith.cmpi sge, %[[T]], %[[MIN]] : index
//       OMP:   omp.parallel if(%[[COND]]) {
//       OMP:     omp.wsloop
//       OMP:       func.call @gemm
func.func private @gemm(memref<?x?xf32>)
func.func @calls(%a: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c12 = arith.constant 12 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  scf.parallel (%h) = (%c0) to (%n) step (%c1) {
    func.call @gemm(%a) : (memref<?x?xf32>) -> ()
    scf.for %i = %c0 to %c12 step %c1 {
      %z = arith.constant 0.0 : f32
      memref.store %z, %a[%i, %h] : memref<?x?xf32>
    }
  }
  return
}
