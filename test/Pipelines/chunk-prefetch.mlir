// RUN: lorc-opt %s -lorc-externalize-weights -lorc-cpu-pipeline -mlir-print-ir-after=lorc-dispatch-blas -o /dev/null 2>&1 | FileCheck %s

// A layer under a memory budget, chunked 8 × 32 × 16 over its [64, 64] weight (a view of the
// parameters once externalized): before each chunk's GEMM, the chunk the K loop's next
// iteration reads is prefetched (its view cloned with k + 16, under k + 16 < 64), and the GEMM
// passes B as not a parameter (bIsParameter = 0: no packed copy cached per chunk).

// CHECK-LABEL: func.func @forward
//       CHECK:   scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
//       CHECK:     scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
//       CHECK:       scf.for %[[K:.*]] = %[[C0:.*]] to %[[C64:.*]] step %[[C16:[^ ]*]] {
//       CHECK:         %[[B:.*]] = memref.subview %[[W:.*]][%[[J]], %[[K]]] [%[[NJ:.*]], %{{.*}}] [1, 1]
//       CHECK:         %[[NEXT:.*]] = arith.addi %[[K]], %[[C16]] : index
//       CHECK:         %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %[[C64]] : index
//       CHECK:         scf.if %[[MORE]] {
//       CHECK:           %[[REST:.*]] = arith.subi %[[C64]], %[[NEXT]] : index
//       CHECK:           %[[KK:.*]] = arith.minsi %[[REST]], %[[C16]] : index
//       CHECK:           %[[BN:.*]] = memref.subview %[[W]][%[[J]], %[[NEXT]]] [%[[NJ]], %[[KK]]] [1, 1]
//       CHECK:           %[[CN:.*]] = memref.cast %[[BN]]
//       CHECK:           func.call @lorc_cpu_prefetch(%[[CN]])
//       CHECK:         }
//       CHECK:         %[[CB:.*]] = memref.cast %[[B]]
//       CHECK:         func.call @lorc_cpu_matmul_f32(%{{.*}}, %[[CB]], %{{.*}}, %c0_i32, %c1_i32, %c0_i32_{{[0-9]+}})
//       CHECK: func.func private @lorc_cpu_prefetch(memref<?x?xf32, strided<[?, ?], offset: ?>>)
func.func @forward(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %y = lorc.chunked_matmul %x, %w {chunk = array<i64: 8, 32, 16>, rhs_transposed, strategy = "tile"} : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
