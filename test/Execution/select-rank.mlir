// RUN: lorc-opt %s -lorc-select-rank="retained-energy=1.0" 2>/dev/null | FileCheck %s --check-prefix=IR
// RUN: lorc-opt %s -lorc-select-rank="retained-energy=1.0" 2>/dev/null | lorc-opt --lorc-cpu-pipeline | %lorc_runner | FileCheck %s

// W has singular values (10, 5, 1, 0.1, 0, ...): rank 4 keeps all of them, so the low-rank form
// computes exactly x·Wᵀ; for x = [1, ..., 16] that is [10·1, 5·2, 1·3, 0.1·4, 0, 0, 0, 0].
// IR: lorc.lowrank_linear {{.*}} rank = 4 : i64
// CHECK: [10, 10, 3, 0.4, 0, 0, 0, 0]
func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]]> : tensor<1x16xf32>
  %w = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %y = lorc.linear %x, %w : tensor<1x16xf32>, tensor<8x16xf32> -> tensor<1x8xf32>
  call @print(%y) : (tensor<1x8xf32>) -> ()
  return
}
func.func private @print(%t: tensor<1x8xf32>) {
  %c = tensor.cast %t : tensor<1x8xf32> to tensor<*xf32>
  call @printMemrefF32(%c) : (tensor<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(tensor<*xf32>) attributes {llvm.emit_c_interface}
