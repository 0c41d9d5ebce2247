// RUN: lorc-opt %s -split-input-file --lorc-map-parallel-loops -verify-diagnostics | FileCheck %s
// RUN: lorc-opt %s -split-input-file --lorc-map-parallel-loops=block-size=128 -verify-diagnostics | FileCheck %s --check-prefix=B128
// RUN: not lorc-opt %s --lorc-map-parallel-loops=block-size=100 2>&1 | FileCheck %s --check-prefix=BAD

// --lorc-map-parallel-loops: each outermost scf.parallel is tiled by the thread count along its
// innermost dimension, with an in-bounds guard (so the thread loop has a constant trip count),
// and mapped: tile loop innermost → block y when there is an outer dimension (block x when it is
// the only one), the outer dimension → block x, where dimensions beyond two are first collapsed
// into one (linearised: x allows 2^31 - 1 blocks, y and z 65535); thread loop innermost →
// thread x. This is the loop-mapped form the CPU twin pipeline executes.

// BAD: error: lorc-map-parallel-loops: block-size=100: expected a multiple of 32 in [32, 1024]

// Dynamic extents: the full block size, guards on both dimensions.
// CHECK-LABEL: func.func @rows
//   CHECK-DAG:   %[[C256:.*]] = arith.constant 256 : index
//   CHECK-DAG:   %[[M:.*]] = memref.dim %{{.*}}, %c0
//   CHECK-DAG:   %[[N:.*]] = memref.dim %{{.*}}, %c1
//       CHECK:   %[[STEP:.*]] = arith.muli %{{.*}}, %[[C256]] : index
//       CHECK:   scf.parallel (%[[I:.*]], %[[J:.*]]) = ({{.*}}) to (%[[M]], %[[N]]) step (%{{.*}}, %[[STEP]]) {
//       CHECK:     scf.parallel (%[[TI:.*]], %[[TJ:.*]]) = ({{.*}}) to (%{{.*}}, %[[STEP]])
//       CHECK:       arith.cmpi ult, %{{.*}}, %[[M]] : index
//       CHECK:       arith.cmpi ult, %{{.*}}, %[[N]] : index
//       CHECK:       scf.if
//       CHECK:         memref.load
//       CHECK:         memref.store
//       CHECK:     } {mapping = [#gpu.loop_dim_map<processor = sequential, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
//       CHECK:   } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = block_y, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// B128-LABEL: func.func @rows
//       B128:   arith.constant 128 : index
func.func @rows(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %a, %c0 : memref<?x?xf32>
  %n = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    memref.store %v, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// Static extents pick fewer threads: 384 (MiniLM's hidden size) = 2 blocks of 192; 40 fits one
// block of 64 (rounded up to whole warps); 1000 has no divisor in [128, 256] that is a multiple
// of 32, so it keeps 256. A 4-D loop [d0, 2, 3, d3] becomes 2-D: its three outer dimensions one
// of d0 * 2 * 3 (blocks along x), each thread recovering its indices by div/rem, and d3 in
// blocks of threads along y. Reductions stay scf.for loops in each thread.
// CHECK-LABEL: func.func @static_extents
//       CHECK:   arith.constant 192 : index
//       CHECK:   scf.parallel
//       CHECK:   arith.constant 64 : index
//       CHECK:   scf.parallel
//       CHECK:   arith.constant 256 : index
//       CHECK:   scf.parallel
//       CHECK:       scf.for
//       CHECK:   processor = block_x
//       CHECK:   %[[D0:.*]] = memref.dim %{{.*}}, %c0
//       CHECK:   %[[P0:.*]] = arith.muli %{{.*}}, %[[D0]] : index
//       CHECK:   %[[P1:.*]] = arith.muli %[[P0]], %c2{{.*}} : index
//       CHECK:   %[[OUTER:.*]] = arith.muli %[[P1]], %c3{{.*}} : index
//       CHECK:   scf.parallel (%{{.*}}, %{{.*}}) = ({{.*}}) to (%[[OUTER]], %{{.*}})
//       CHECK:     arith.remsi %{{.*}}, %c3
//       CHECK:     arith.divsi %{{.*}}, %c3
//       CHECK:     arith.remsi %{{.*}}, %c2
//       CHECK:     arith.divsi %{{.*}}, %c2
//       CHECK:   } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
//       CHECK:   } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>]}
func.func @static_extents(%a: memref<384xf32>, %b: memref<40xf32>, %c: memref<1000x64xf32>,
                          %r: memref<1000xf32>, %d: memref<?x2x3x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c40 = arith.constant 40 : index
  %c64 = arith.constant 64 : index
  %c384 = arith.constant 384 : index
  %c1000 = arith.constant 1000 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c384) step (%c1) {
    memref.store %f, %a[%i] : memref<384xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c40) step (%c1) {
    memref.store %f, %b[%i] : memref<40xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1000) step (%c1) {
    %s = scf.for %k = %c0 to %c64 step %c1 iter_args(%acc = %f) -> (f32) {
      %v = memref.load %c[%i, %k] : memref<1000x64xf32>
      %n = arith.addf %acc, %v : f32
      scf.yield %n : f32
    }
    memref.store %s, %r[%i] : memref<1000xf32>
    scf.reduce
  }
  %d0 = memref.dim %d, %c0 : memref<?x2x3x?xf32>
  %d3 = memref.dim %d, %c3 : memref<?x2x3x?xf32>
  scf.parallel (%i, %j, %k, %l) = (%c0, %c0, %c0, %c0) to (%d0, %c2, %c3, %d3) step (%c1, %c1, %c1, %c1) {
    memref.store %f, %d[%i, %j, %k, %l] : memref<?x2x3x?xf32>
    scf.reduce
  }
  return
}

// -----

// Serial work on memory (a reduction's last step, a one-element fill: canonicalize folds their
// one-iteration parallel loops away) goes back under a one-iteration parallel loop: one thread.
// CHECK-LABEL: func.func @serial_store
//       CHECK:   scf.parallel
//       CHECK:     scf.parallel
//       CHECK:       scf.if
//  CHECK-NEXT:         memref.store %{{.*}}, %{{.*}}[%c0] : memref<1xf32>
//       CHECK:     } {mapping = [#gpu.loop_dim_map<processor = thread_x
//       CHECK:   } {mapping = [#gpu.loop_dim_map<processor = block_x
//       CHECK:   scf.parallel
//       CHECK:     scf.parallel
//       CHECK:       scf.if
//  CHECK-NEXT:         scf.for
//       CHECK:     } {mapping = [#gpu.loop_dim_map<processor = thread_x
//       CHECK:   } {mapping = [#gpu.loop_dim_map<processor = block_x
//  CHECK-NEXT:   return
func.func @serial_store(%a: memref<8xf32>, %r: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  memref.store %z, %r[%c0] : memref<1xf32>
  scf.for %k = %c0 to %c8 step %c1 {
    %v = memref.load %a[%k] : memref<8xf32>
    %m = memref.load %r[%c0] : memref<1xf32>
    %n = arith.maximumf %m, %v : f32
    memref.store %n, %r[%c0] : memref<1xf32>
  }
  return
}

// -----

// A loop nest without a parallel dimension whose value the host uses would run on the host
// and read device memory.
func.func @serial(%a: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  %s = scf.for %k = %c0 to %c8 step %c1 iter_args(%acc = %z) -> (f32) {
    // expected-error @below {{accesses memory outside any parallel loop: it cannot be mapped to the GPU}}
    %v = memref.load %a[%k] : memref<8xf32>
    %n = arith.addf %acc, %v : f32
    scf.yield %n : f32
  }
  return %s : f32
}
