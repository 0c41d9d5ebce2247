// RUN: lorc-opt %s --lorc-cpu-pipeline=tile-attention=false | %lorc_runner > %t.reference
// RUN: lorc-opt %s --lorc-tile-attention="query-tile=3 key-tile=2" --lorc-cpu-pipeline | %lorc_runner > %t.tiled
// RUN: %python %S/Inputs/compare_printed.py %t.tiled %t.reference 1e-5 | FileCheck %s
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner > %t.default
// RUN: %python %S/Inputs/compare_printed.py %t.default %t.reference 1e-5 | FileCheck %s
// RUN: lorc-opt %s --lorc-cpu-pipeline=vectorize=false | %lorc_runner > %t.scalar
// RUN: lorc-opt %s --lorc-cpu-pipeline | %lorc_runner > %t.vector
// RUN: %python %S/Inputs/compare_printed.py %t.vector %t.scalar 1e-5 | FileCheck %s

// --lorc-tile-attention against the unfused lowering (materialised scores, one softmax; itself
// checked against PyTorch by the MiniLM goldens) on random inputs. Tiles of 3 queries × 2 keys
// over Sq = Sk = 7 leave partial tiles on both axes and run the online-softmax recurrence over
// four key tiles; the default tile sizes cover each sequence with one tile.
//   0. BERT's form: Q, K, V transposed from [B, S, H, D] (read through the transposes), the
//      result transposed back (written in that layout), key-padding mask; batch 1's keys are
//      all masked, so its rows are the mean of V (uniform weights) in both lowerings.
//   1. [B, H, S, D] operands, an additive mask broadcast over B and H, causal, D ≠ Dv.
// CHECK: output 0: 210 values, max |d| {{.*}}, OK
// CHECK: output 1: 210 values, max |d| {{.*}}, OK
// CHECK: PASS

#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>
#id2 = affine_map<(a, b) -> (a, b)>

func.func @main() {
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c5 = arith.constant 5 : i64
  %c6 = arith.constant 6 : i64
  %c7 = arith.constant 7 : i64

  // 0. [B=2, S=7, H=3, D=5] → [B, H, S, D] and back.
  %q4 = call @random(%c1) : (i64) -> tensor<2x7x3x5xf32>
  %k4 = call @random(%c2) : (i64) -> tensor<2x7x3x5xf32>
  %v4 = call @random(%c3) : (i64) -> tensor<2x7x3x5xf32>
  %e = tensor.empty() : tensor<2x3x7x5xf32>
  %q = linalg.transpose ins(%q4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %k = linalg.transpose ins(%k4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %v = linalg.transpose ins(%v4 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %mask = arith.constant dense<[[1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]]> : tensor<2x7xi64>
  %o = lorc.attention %q, %k, %v, mask %mask {scale = 0.5 : f32}
      : tensor<2x3x7x5xf32>, tensor<2x3x7x5xf32>, tensor<2x3x7x5xf32>, tensor<2x7xi64> -> tensor<2x3x7x5xf32>
  %e2 = tensor.empty() : tensor<2x7x3x5xf32>
  %r = linalg.transpose ins(%o : tensor<2x3x7x5xf32>) outs(%e2 : tensor<2x7x3x5xf32>) permutation = [0, 2, 1, 3]
  %p0 = tensor.cast %r : tensor<2x7x3x5xf32> to tensor<*xf32>
  call @printMemrefF32(%p0) : (tensor<*xf32>) -> ()

  // 1. Additive [1, 1, Sq, Sk] mask and causal; D = 4, Dv = 5.
  %q1 = call @random4(%c4) : (i64) -> tensor<2x3x7x4xf32>
  %k1 = call @random4(%c5) : (i64) -> tensor<2x3x7x4xf32>
  %v1 = call @random(%c6) : (i64) -> tensor<2x7x3x5xf32>
  %v1t = linalg.transpose ins(%v1 : tensor<2x7x3x5xf32>) outs(%e : tensor<2x3x7x5xf32>) permutation = [0, 2, 1, 3]
  %m0 = call @random(%c7) : (i64) -> tensor<2x7x3x5xf32>
  %am = tensor.extract_slice %m0[0, 0, 0, 0] [1, 1, 3, 5] [1, 1, 1, 1] : tensor<2x7x3x5xf32> to tensor<1x1x3x5xf32>
  %amask = tensor.empty() : tensor<1x1x7x7xf32>
  %zero = arith.constant 0.0 : f32
  %amz = linalg.fill ins(%zero : f32) outs(%amask : tensor<1x1x7x7xf32>) -> tensor<1x1x7x7xf32>
  %amask2 = tensor.insert_slice %am into %amz[0, 0, 2, 1] [1, 1, 3, 5] [1, 1, 1, 1] : tensor<1x1x3x5xf32> into tensor<1x1x7x7xf32>
  %o1 = lorc.attention %q1, %k1, %v1t, mask %amask2 {causal}
      : tensor<2x3x7x4xf32>, tensor<2x3x7x4xf32>, tensor<2x3x7x5xf32>, tensor<1x1x7x7xf32> -> tensor<2x3x7x5xf32>
  %p1 = tensor.cast %o1 : tensor<2x3x7x5xf32> to tensor<*xf32>
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

func.func private @random4(%seed: i64) -> tensor<2x3x7x4xf32> {
  %e = tensor.empty() : tensor<2x3x7x4xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<2x3x7x4xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %v = func.call @hash(%i0, %i1, %i2, %i3, %seed) : (index, index, index, index, i64) -> f32
    linalg.yield %v : f32
  } -> tensor<2x3x7x4xf32>
  return %r : tensor<2x3x7x4xf32>
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
