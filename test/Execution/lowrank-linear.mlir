// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner | FileCheck %s

// y = ((x·V_r)·diag(S_r))·U_rᵀ + b, computed and printed. With V_2 = [[1,0],[0,1],[1,1]],
// S_2 = [2, 3], U_2 rows [1,0], [0,1], [1,-1], [2,2], b = 0.5:
//   x = [1, 2, 3]: x·V_2 = [4, 5], ·S = [8, 15] → [8, 15, -7, 46] + 0.5
//   x = [0, 1, 0]: [0, 1] → [0, 3] → [0, 3, -3, 6] + 0.5
// The third component (S = 100) must not contribute: it is beyond the rank.
func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]> : tensor<2x3xf32>
  %v = arith.constant dense<[[1.0, 0.0, 5.0], [0.0, 1.0, 5.0], [1.0, 1.0, 5.0]]> : tensor<3x3xf32>
  %s = arith.constant dense<[2.0, 3.0, 100.0]> : tensor<3xf32>
  %u = arith.constant dense<[[1.0, 0.0, 7.0], [0.0, 1.0, 7.0], [1.0, -1.0, 7.0], [2.0, 2.0, 7.0]]> : tensor<4x3xf32>
  %b = arith.constant dense<0.5> : tensor<4xf32>
  // CHECK: [8.5, 15.5, -6.5, 46.5]
  // CHECK-NEXT: [0.5, 3.5, -2.5, 6.5]
  %y = lorc.lowrank_linear %x, %v, %s, %u, %b {rank = 2, r_min = 1, r_max = 3} : tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<2x4xf32>
  call @print(%y) : (tensor<2x4xf32>) -> ()

  // A run-time rank of 1 uses the first component only: [4·2·U[:,0]] = [8, 0, 8, 16] + 0.5 and
  // [0, 0, 0, 0] + 0.5.
  // CHECK: [8.5, 0.5, 8.5, 16.5]
  // CHECK-NEXT: [0.5, 0.5, 0.5, 0.5]
  %c1 = arith.constant 1 : index
  %y1 = lorc.lowrank_linear %x, %v, %s, %u, %b rank(%c1) {rank = 2, r_min = 1, r_max = 3} : tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<2x4xf32>
  call @print(%y1) : (tensor<2x4xf32>) -> ()

  // A run-time rank of 9 is clamped to r_max = 2: the same as the first result.
  // CHECK: [8.5, 15.5, -6.5, 46.5]
  %c9 = arith.constant 9 : index
  %y9 = lorc.lowrank_linear %x, %v, %s, %u, %b rank(%c9) {rank = 2, r_min = 1, r_max = 2} : tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<2x4xf32>
  call @print(%y9) : (tensor<2x4xf32>) -> ()

  // The run-time scheduler (schedule_energy τ = 0.99) with V = U = I₃, S = 1, r_min = 1,
  // r_max = 3. Rows [10, 0.1, 0.1]: component energies 200, 0.02, 0.02, so r* = 1 keeps 0.99 of
  // them; LoRAven's mapping r = round(1 + (1/3)·2) = 2 keeps the first two components.
  // CHECK: [10, 0.1, 0]
  // CHECK-NEXT: [10, 0.1, 0]
  // Rows of ones spread their energy evenly: r* = 3, s = 1, r = 3, the identity.
  // CHECK: [1, 1, 1]
  // CHECK-NEXT: [1, 1, 1]
  %eye = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<3x3xf32>
  %ones = arith.constant dense<1.0> : tensor<3xf32>
  %xc = arith.constant dense<[[10.0, 0.1, 0.1], [10.0, 0.1, 0.1]]> : tensor<2x3xf32>
  %xs = arith.constant dense<1.0> : tensor<2x3xf32>
  %yc = lorc.lowrank_linear %xc, %eye, %ones, %eye {rank = 3, r_min = 1, r_max = 3, schedule_energy = 0.99} : tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
  call @print3(%yc) : (tensor<2x3xf32>) -> ()
  %ys = lorc.lowrank_linear %xs, %eye, %ones, %eye {rank = 3, r_min = 1, r_max = 3, schedule_energy = 0.99} : tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
  call @print3(%ys) : (tensor<2x3xf32>) -> ()
  return
}
func.func private @print3(%t: tensor<2x3xf32>) {
  %c = tensor.cast %t : tensor<2x3xf32> to tensor<*xf32>
  call @printMemrefF32(%c) : (tensor<*xf32>) -> ()
  return
}
func.func private @print(%t: tensor<2x4xf32>) {
  %c = tensor.cast %t : tensor<2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%c) : (tensor<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(tensor<*xf32>) attributes {llvm.emit_c_interface}
