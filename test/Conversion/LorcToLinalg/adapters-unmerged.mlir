// RUN: lorc-opt %s -split-input-file -convert-lorc-to-linalg -verify-diagnostics | FileCheck %s

// LoRA side path: x·Aᵀ, scaled by m·s, then ·Bᵀ accumulated into the base GEMM's output.
// CHECK-LABEL: func.func @lora
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[A:.*]]: tensor<2x16xf32>, %[[B:.*]]: tensor<8x2xf32>)
// CHECK: %[[MS:.*]] = arith.constant 1.500000e+00 : f32
// CHECK: %[[BASE:.*]] = linalg.matmul {{.*}} ins(%[[X]], %[[W]] : {{.*}}) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[XA:.*]] = linalg.matmul {{.*}} ins(%[[X]], %[[A]] : {{.*}}) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[XA]]
// CHECK: arith.mulf %{{.*}}, %[[MS]] : f32
// CHECK: linalg.matmul {{.*}} ins(%[[S]], %[[B]] : {{.*}}) outs(%[[BASE]] : tensor<4x8xf32>)
func.func @lora(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %a: tensor<2x16xf32>, %b: tensor<8x2xf32>) -> tensor<4x8xf32> {
  %d = lorc.lora %a, %b {scale = 3.0 : f64} : tensor<2x16xf32>, tensor<8x2xf32> -> !lorc.adapter<8, 16>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<8, 16>) {multipliers = array<f64: 0.5>} : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// LoKr: the Kronecker product is never formed. x [M, c·d] → [M·c, d] · w2ᵀ → [M, c, b] →
// transpose → [M·b, c] · w1ᵀ → [M, b, a] → transpose → [M, a·b], added to the base output.
// CHECK-LABEL: func.func @lokr
// CHECK-NOT: tensor<8x16xf32> = linalg.generic
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 4] : tensor<?x16xf32> into tensor<?x4x4xf32>
// CHECK: linalg.matmul {{.*}} outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: linalg.transpose
// CHECK: linalg.matmul {{.*}} outs(%{{.*}} : tensor<?x2xf32>)
// CHECK: linalg.transpose
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<?x2x4xf32> into tensor<?x8xf32>
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @lokr(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>, %w1: tensor<2x4xf32>, %w2: tensor<4x4xf32>) -> tensor<?x8xf32> {
  %k = lorc.lokr w1 %w1 w2 %w2 {scale = 1.0 : f64} : tensor<2x4xf32>, tensor<4x4xf32> -> !lorc.adapter<8, 16>
  %y = lorc.linear %x, %w adapters(%k : !lorc.adapter<8, 16>) : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// LoHa: ΔW = s·(w1a·w1b) ⊙ (w2a·w2b) is materialised, then x·ΔWᵀ accumulates.
// CHECK-LABEL: func.func @loha
// CHECK: %[[P1:.*]] = linalg.matmul {{.*}} -> tensor<8x16xf32>
// CHECK: %[[P2:.*]] = linalg.matmul {{.*}} -> tensor<8x16xf32>
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%[[P1]], %[[P2]]
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[DW]] :
func.func @loha(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %wa: tensor<8x2xf32>, %wb: tensor<2x16xf32>) -> tensor<4x8xf32> {
  %h = lorc.loha %wa, %wb, %wa, %wb {scale = 1.0 : f64} : tensor<8x2xf32>, tensor<2x16xf32>, tensor<8x2xf32>, tensor<2x16xf32> -> !lorc.adapter<8, 16>
  %y = lorc.linear %x, %w adapters(%h : !lorc.adapter<8, 16>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// PEFT DoRA at run time: the base GEMM uses m ⊙ (W + ΔW)/‖W + ΔW‖.
// CHECK-LABEL: func.func @dora
// CHECK: %[[DW:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x2xf32>, tensor<2x16xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[DW]] :
// CHECK: %[[NORM2:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: %[[WP:.*]] = linalg.generic {{.*}} ins(%[[SUM]], %[[NORM2]], %{{.*}} :
// CHECK: math.sqrt
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[WP]] :
func.func @dora(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %a: tensor<2x16xf32>, %b: tensor<8x2xf32>, %m: tensor<8xf32>) -> tensor<4x8xf32> {
  %d = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<2x16xf32>, tensor<8x2xf32> magnitude tensor<8xf32> -> !lorc.adapter<8, 16>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<8, 16>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// LoCon-Tucker has no side path: a clear error that says to merge.
func.func @tucker(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %h: !lorc.adapter<8, 16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{has an adapter without an unmerged side path}}
  %y = lorc.linear %x, %w adapters(%h : !lorc.adapter<8, 16>) : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
