// RUN: lorc-opt %s -split-input-file --lorc-prepare-gpu-buffers | FileCheck %s --check-prefix=DEVICE
// RUN: lorc-opt %s -split-input-file --lorc-prepare-gpu-buffers=device-allocations=false | FileCheck %s --check-prefix=HOST

// The CUDA pipeline's buffer preparation (--lorc-prepare-gpu-buffers): every copy becomes a
// linalg.copy (later a mapped parallel loop, so a generated kernel); with device allocations
// (the default) host allocations and frees become gpu.alloc / gpu.dealloc, and a host constant
// read by the function gets a device copy, freed before each return. The CPU twin
// (device-allocations=false) keeps host memory.

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// DEVICE-LABEL: func.func @buffers
//  DEVICE-SAME:   (%[[SRC:.*]]: memref<?x8xf32>, %[[N:.*]]: index)
//       DEVICE:   %[[TMP:.*]] = gpu.alloc (%[[N]]) : memref<?x8xf32>
//       DEVICE:   %[[OUT:.*]] = gpu.alloc (%[[N]]) : memref<?x8xf32>
//       DEVICE:   %[[DST:.*]] = memref.subview %[[OUT]]
//       DEVICE:   %[[SUB:.*]] = memref.subview %[[SRC]]
//       DEVICE:   linalg.copy ins(%[[SUB]] : memref<?x4xf32, strided<[8, 1]>>) outs(%[[DST]] : memref<?x4xf32, strided<[8, 1]>>)
//       DEVICE:   linalg.copy ins(%[[SRC]] : memref<?x8xf32>) outs(%[[TMP]] : memref<?x8xf32>)
//       DEVICE:   %[[TDEV:.*]] = gpu.alloc () : memref<4xf32>
//       DEVICE:   %[[THOST:.*]] = memref.get_global @table : memref<4xf32>
//       DEVICE:   gpu.memcpy %[[TDEV]], %[[THOST]] : memref<4xf32>, memref<4xf32>
//       DEVICE:   memref.load %[[TDEV]]
//       DEVICE:   gpu.dealloc %[[TMP]] : memref<?x8xf32>
//       DEVICE:   gpu.dealloc %[[TDEV]] : memref<4xf32>
//  DEVICE-NEXT:   return %[[OUT]]
//   DEVICE-NOT:   memref.alloc
//   DEVICE-NOT:   memref.copy

// HOST-LABEL: func.func @buffers
//       HOST:   memref.alloc
//       HOST:   memref.alloc
//       HOST:   linalg.copy
//       HOST:   linalg.copy
//       HOST:   memref.get_global @table
//   HOST-NOT:   gpu.alloc
//   HOST-NOT:   gpu.memcpy
//       HOST:   memref.dealloc
//   HOST-NOT:   memref.copy
func.func @buffers(%src: memref<?x8xf32>, %n: index) -> memref<?x8xf32> {
  %tmp = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
  %out = memref.alloc(%n) : memref<?x8xf32>
  %dst = memref.subview %out[0, 0] [%n, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1]>>
  %sub = memref.subview %src[0, 0] [%n, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1]>>
  memref.copy %sub, %dst : memref<?x4xf32, strided<[8, 1]>> to memref<?x4xf32, strided<[8, 1]>>
  memref.copy %src, %tmp : memref<?x8xf32> to memref<?x8xf32>
  %t = memref.get_global @table : memref<4xf32>
  %c0 = arith.constant 0 : index
  %v = memref.load %t[%c0] : memref<4xf32>
  memref.dealloc %tmp : memref<?x8xf32>
  return %out : memref<?x8xf32>
}

// -----

// Kernels are left alone: only host code is rewritten.

// HOST-LABEL: func.func @inside_launch
// DEVICE-LABEL: func.func @inside_launch
//       DEVICE:   gpu.launch
//       DEVICE:     memref.alloca
//       DEVICE:     memref.copy
func.func @inside_launch(%a: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    %s = memref.alloca() : memref<4xf32>
    memref.copy %a, %s : memref<4xf32> to memref<4xf32>
    gpu.terminator
  }
  return
}
