// RUN: lorc-opt %s --lorc-cpu-pipeline=tile-rows=false | %lorc_runner > %t.reference
// RUN: lorc-opt %s --lorc-fuse=layer-norms=false --lorc-cpu-pipeline | %lorc_runner > %t.fused
// RUN: %python %S/Inputs/compare_printed.py %t.fused %t.reference 1e-5 | FileCheck %s
// RUN: lorc-opt %s --lorc-fuse=layer-norms=false | FileCheck %s --check-prefix=IR
// RUN: lorc-opt %s --lorc-cpu-pipeline=vectorize=false | %lorc_runner > %t.scalar
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner > %t.vector
// RUN: %python %S/Inputs/compare_printed.py %t.vector %t.scalar 1e-5 | FileCheck %s

// --lorc-fuse's attention folds and --lorc-tile-rows, run on the CPU against the unfused
// lowering on hashed inputs:
//   0. attention on a query scaled by 0.5 (arith.mulf) with Hugging Face's additive mask
//      (1 − float(m))·lowest over [B, 1, 1, Sk]; batch 1's keys are all masked. Fused: scale
//      0.5/√5 and the integer key-padding mask.
//   1. a linear with a residual and a layer norm marked lorc.row_tile = 3: 7 rows per batch
//      index in tiles of 3, 3 and 1, each the linear's GEMM and the norm on its rows.
// IR: lorc.attention {{.*}}, mask %{{.*}} {scale = 0.223606795 : f32} : {{.*}}, tensor<2x7xi64>
// CHECK: output 0: 210 values, max |d| {{.*}}, OK
// CHECK: output 1: 196 values, max |d| {{.*}}, OK
// CHECK: PASS

#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>

func.func @main() {
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c5 = arith.constant 5 : i64

  // 0. Hashed [B=2, S=7, H=3, D=5] tensors transposed to [B, H, S, D].
  %q4 = call @random(%c1) : (i64) -> tensor<2x7x3x5xf32>
  %k4 = call @random(%c2) : (i64) -> tensor<2x7x3x5xf32>
  %v4 = call @random(%c3) : (i64) -> tensor<2x7x3x5xf32>
  %e = tensor.empty() : tensor<2x3x7x5xf32>
  %q = linalg.transpose ins(%q4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %k = linalg.transpose ins(%k4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %v = linalg.transpose ins(%v4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %half = arith.constant dense<0.5> : tensor<2x3x7x5xf32>
  %qs = arith.mulf %q, %half : tensor<2x3x7x5xf32>
  %m = arith.constant dense<[[1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]]> : tensor<2x7xi64>
  %one = arith.constant dense<1.0> : tensor<2x7xf32>
  %lowest = arith.constant dense<-3.40282347E+38> : tensor<2x7xf32>
  %mf = arith.sitofp %m : tensor<2x7xi64> to tensor<2x7xf32>
  %inv = arith.subf %one, %mf : tensor<2x7xf32>
  %add = arith.mulf %inv, %lowest : tensor<2x7xf32>
  %mask = tensor.expand_shape %add [[0, 1, 2], [3]] output_shape [2, 1, 1, 7] : tensor<2x7xf32> into tensor<2x1x1x7xf32>
  %o = lorc.attention %qs, %k, %v, mask %mask
      : tensor<2x3x7x5xf32>, tensor<2x3x7x5xf32>, tensor<2x3x7x5xf32>, tensor<2x1x1x7xf32> -> tensor<2x3x7x5xf32>
  %p0 = tensor.cast %o : tensor<2x3x7x5xf32> to tensor<*xf32>
  call @printMemrefF32(%p0) : (tensor<*xf32>) -> ()

  // 1. x [2, 7, 15] · W[14, 15]ᵀ + b + residual, then the layer norm, in row tiles of 3.
  %x4 = call @random(%c4) : (i64) -> tensor<2x7x3x5xf32>
  %x = tensor.collapse_shape %x4 [[0], [1], [2, 3]] : tensor<2x7x3x5xf32> into tensor<2x7x15xf32>
  %w4 = call @random(%c5) : (i64) -> tensor<2x7x3x5xf32>
  %w = tensor.collapse_shape %w4 [[0, 1], [2, 3]] : tensor<2x7x3x5xf32> into tensor<14x15xf32>
  %b = arith.constant dense<0.25> : tensor<14xf32>
  %r = tensor.extract_slice %x[0, 0, 1] [2, 7, 14] [1, 1, 1] : tensor<2x7x15xf32> to tensor<2x7x14xf32>
  %y = lorc.linear %x, %w, %b residual(%r : tensor<2x7x14xf32>)
      : tensor<2x7x15xf32>, tensor<14x15xf32>, tensor<14xf32> -> tensor<2x7x14xf32>
  %g = arith.constant dense<1.5> : tensor<14xf32>
  %n = lorc.layer_norm %y, %g, %b {epsilon = 1.0e-5 : f32, lorc.row_tile = 3 : i64}
      : tensor<2x7x14xf32>, tensor<14xf32>, tensor<14xf32>
  %p1 = tensor.cast %n : tensor<2x7x14xf32> to tensor<*xf32>
  call @printMemrefF32(%p1) : (tensor<*xf32>) -> ()
  return
}

// Values in [-2, 2] from a hash of the indices and the seed.
func.func private @random(%seed: i64) -> tensor<2x7x3x5xf32> {
  %e = tensor.empty() : tensor<2x7x3x5xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<2x7x3x5xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %v = func.call @hash(%i0, %i1, %i2, %i3, %seed) : (index, index, index, index, i64) -> f32
    linalg.yield %v : f32
  } -> tensor<2x7x3x5xf32>
  return %r : tensor<2x7x3x5xf32>
}

func.func private @hash(%a: index, %b: index, %c: index, %d: index, %seed: i64) -> f32 {
  %n0 = arith.constant 1000 : index
  %x0 = arith.muli %a, %n0 : index
  %x1 = arith.addi %x0, %b : index
  %x2 = arith.muli %x1, %n0 : index
  %x3 = arith.addi %x2, %c : index
  %x4 = arith.muli %x3, %n0 : index
  %x5 = arith.addi %x4, %d : index
  %x = arith.index_cast %x5 : index to i64
  %p = arith.constant 6364136223846793005 : i64
  %q = arith.constant 1442695040888963407 : i64
  %s = arith.muli %seed, %q : i64
  %y0 = arith.addi %x, %s : i64
  %y1 = arith.muli %y0, %p : i64
  %y = arith.addi %y1, %q : i64
  %sh = arith.constant 40 : i64
  %hi = arith.shrui %y, %sh : i64
  %m = arith.constant 4001 : i64
  %h = arith.remui %hi, %m : i64
  %f = arith.uitofp %h : i64 to f32
  %milli = arith.constant 0.001 : f32
  %two = arith.constant 2.0 : f32
  %v0 = arith.mulf %f, %milli : f32
  %v = arith.subf %v0, %two : f32
  return %v : f32
}

func.func private @printMemrefF32(tensor<*xf32>) attributes {llvm.emit_c_interface}
