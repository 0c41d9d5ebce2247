// RUN: lorc-opt %s -split-input-file -lorc-merge-adapters -verify-diagnostics | FileCheck %s

// LoRA: W' = W + m·s·B·A = [[1,2,3],[4,5,6]] + 0.5·2·[[1,0,1],[2,0,2]].
// CHECK-LABEL: func.func @lora
// CHECK-NOT: lorc.lora
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 4.000000e+00], [6.000000e+00, 5.000000e+00, 8.000000e+00]]> : tensor<2x3xf32>
// CHECK: %[[Y:.*]] = lorc.linear %{{.*}}, %[[W]] : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x2xf32>
// CHECK: return %[[Y]]
func.func @lora(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %a = arith.constant dense<[[1.0, 0.0, 1.0]]> : tensor<1x3xf32>
  %b = arith.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %d = lorc.lora %a, %b {scale = 2.0 : f64} : tensor<1x3xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 3>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<2, 3>) {multipliers = array<f64: 0.5>} : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// LoKr: ΔW = kron([[2]], I₂) = 2·I₂ added to a zero weight; two adapters sum.
// CHECK-LABEL: func.func @lokr_and_lora
// CHECK: arith.constant dense<{{\[}}[3.000000e+00, 1.000000e+00], [1.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
func.func @lokr_and_lora(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<0.0> : tensor<2x2xf32>
  %w1 = arith.constant dense<[[2.0]]> : tensor<1x1xf32>
  %w2 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %ones = arith.constant dense<1.0> : tensor<1x2xf32>
  %col = arith.constant dense<1.0> : tensor<2x1xf32>
  %k = lorc.lokr w1 %w1 w2 %w2 {scale = 1.0 : f64} : tensor<1x1xf32>, tensor<2x2xf32> -> !lorc.adapter<2, 2>
  %l = lorc.lora %ones, %col {scale = 1.0 : f64} : tensor<1x2xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 2>
  %y = lorc.linear %x, %w adapters(%k, %l : !lorc.adapter<2, 2>, !lorc.adapter<2, 2>) : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// PEFT DoRA: W' = m ⊙ (W + ΔW)/‖W + ΔW‖ per row: [3, 4] has norm 5, m = 10 → [6, 8].
// CHECK-LABEL: func.func @dora
// CHECK: arith.constant dense<{{\[}}[6.000000e+00, 8.000000e+00]]> : tensor<1x2xf32>
func.func @dora(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<[[3.0, 4.0]]> : tensor<1x2xf32>
  %a = arith.constant dense<0.0> : tensor<1x2xf32>
  %b = arith.constant dense<0.0> : tensor<1x1xf32>
  %m = arith.constant dense<10.0> : tensor<1xf32>
  %d = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<1x2xf32>, tensor<1x1xf32> magnitude tensor<1xf32> -> !lorc.adapter<1, 2>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<1, 2>) : tensor<4x2xf32>, tensor<1x2xf32> -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// A weight that is not a constant cannot be merged: the layer is left as it is.
// CHECK-LABEL: func.func @runtime_weight
// CHECK: lorc.lora
// CHECK: lorc.linear {{.*}} adapters(
func.func @runtime_weight(%x: tensor<4x3xf32>, %w: tensor<2x3xf32>) -> tensor<4x2xf32> {
  %a = arith.constant dense<1.0> : tensor<1x3xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<1x3xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 3>
  // expected-remark @+1 {{weight is not an f32 constant; adapters left unmerged}}
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<2, 3>) : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
