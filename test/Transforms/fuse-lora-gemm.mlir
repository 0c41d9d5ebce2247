// RUN: lorc-opt %s -split-input-file -lorc-fuse-lora-gemm | FileCheck %s

// Two LoRA adapters become one GEMM over [x, x·A0ᵀ, x·A1ᵀ] against [W | m0·s0·B0 | m1·s1·B1].
// CHECK-LABEL: func.func @two_loras
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[A0:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<1x3xf32>
// CHECK-DAG: %[[A1:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00, 0.000000e+00]]> : tensor<1x3xf32>
// CHECK: %[[XA0:.*]] = lorc.linear %[[X]], %[[A0]] {lorc.adapter_factor} : tensor<?x3xf32>, tensor<1x3xf32> -> tensor<?x1xf32>
// CHECK: %[[XA1:.*]] = lorc.linear %[[X]], %[[A1]] {lorc.adapter_factor} : tensor<?x3xf32>, tensor<1x3xf32> -> tensor<?x1xf32>
// CHECK: %[[XCAT:.*]] = tensor.concat dim(1) %[[X]], %[[XA0]], %[[XA1]] : (tensor<?x3xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x5xf32>
// CHECK: %[[WCAT:.*]] = arith.constant {lorc.fused_lora = [{column = 3 : i64, rank = 1 : i64, scale = 2.000000e+00 : f64, up = ""}, {column = 4 : i64, rank = 1 : i64, scale = 5.000000e-01 : f64, up = ""}]} dense_resource<weight.lora_fused> : tensor<2x5xf32>
// CHECK: %[[Y:.*]] = lorc.linear %[[XCAT]], %[[WCAT]], %[[B]] : tensor<?x5xf32>, tensor<2x5xf32>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-NOT: lorc.lora
// CHECK: return %[[Y]]
// The fused weight: rows [W | 2·B0 | 0.5·B1] = [1 2 3 | 2 | 0.5], [4 5 6 | 4 | 1].
// CHECK: weight.lora_fused: "0x040000000000803F0000004000004040000000400000003F000080400000A0400000C040000080400000803F"
func.func @two_loras(%x: tensor<?x3xf32>, %b: tensor<2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %a0 = arith.constant dense<[[1.0, 0.0, 0.0]]> : tensor<1x3xf32>
  %b0 = arith.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %a1 = arith.constant dense<[[0.0, 1.0, 0.0]]> : tensor<1x3xf32>
  %b1 = arith.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %l0 = lorc.lora %a0, %b0 {scale = 2.0 : f64} : tensor<1x3xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 3>
  %l1 = lorc.lora %a1, %b1 {scale = 1.0 : f64} : tensor<1x3xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 3>
  %y = lorc.linear %x, %w, %b adapters(%l0, %l1 : !lorc.adapter<2, 3>, !lorc.adapter<2, 3>) {multipliers = array<f64: 1.0, 0.5>} : tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// DoRA and other algorithms keep their side paths: nothing is fused.
// CHECK-LABEL: func.func @dora_not_fused
// CHECK-NOT: tensor.concat
// CHECK: lorc.linear {{.*}} adapters(
func.func @dora_not_fused(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<[[3.0, 4.0]]> : tensor<1x2xf32>
  %a = arith.constant dense<0.0> : tensor<1x2xf32>
  %b = arith.constant dense<0.0> : tensor<1x1xf32>
  %m = arith.constant dense<10.0> : tensor<1xf32>
  %d = lorc.lora %a, %b magnitude %m {scale = 1.0 : f64} : tensor<1x2xf32>, tensor<1x1xf32> magnitude tensor<1xf32> -> !lorc.adapter<1, 2>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<1, 2>) : tensor<4x2xf32>, tensor<1x2xf32> -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// A weight that is not a constant cannot be concatenated at compile time.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-NOT: tensor.concat
// CHECK: lorc.linear {{.*}} adapters(
func.func @runtime_weight(%x: tensor<4x3xf32>, %w: tensor<2x3xf32>) -> tensor<4x2xf32> {
  %a = arith.constant dense<1.0> : tensor<1x3xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %d = lorc.lora %a, %b {scale = 1.0 : f64} : tensor<1x3xf32>, tensor<2x1xf32> -> !lorc.adapter<2, 3>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<2, 3>) : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
