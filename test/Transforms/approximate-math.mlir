// RUN: lorc-opt %s -split-input-file -lorc-approximate-math=ops=erf,exp | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-approximate-math=ops=exp | FileCheck %s --check-prefix=EXP-ONLY

// erf and exp become polynomial arithmetic (no libm call left to make); ops not listed stay.
// CHECK-LABEL: func.func @gelu_softmax
// CHECK-NOT: math.erf
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK: math.sqrt
// EXP-ONLY-LABEL: func.func @gelu_softmax
// EXP-ONLY: math.erf
// EXP-ONLY-NOT: math.exp
func.func @gelu_softmax(%x: f32) -> (f32, f32, f32) {
  %e = math.erf %x : f32
  %p = math.exp %x : f32
  %s = math.sqrt %x : f32
  return %e, %p, %s : f32, f32, f32
}
