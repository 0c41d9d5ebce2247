// RUN: lorc-opt %s --lorc-chunk-matmul="memory-budget-bytes=4194304" --lorc-cpu-pipeline | %lorc_runner | FileCheck %s

// A 2048³ f32 matmul under a 4 MiB budget (its operands and result take 48 MiB), run chunk by
// chunk, against the same product computed whole by OpenBLAS' sgemm (what numpy.matmul calls)
// and, on 16 rows, against an f64 product computed by plain loops. Each line prints
// [max|C − R| / max|R| < 1e-4, max|C − R| / max|R|].
//
// 1. y = x·Wᵀ as a lorc.linear: --lorc-chunk-matmul makes it a lorc.chunked_matmul (adaptive
//    picks 512×1024×128 tiles, 3.5 MiB with double buffering; test/Transforms/chunk-matmul.mlir).
// CHECK: [1, {{[0-9.e-]+}}]
// 2. The same rows against the f64 loops.
// CHECK: [1, {{[0-9.e-]+}}]
// 3. y = x·B with B [K, N] and chunks that divide nothing (300×700×500: edge chunks).
// CHECK: [1, {{[0-9.e-]+}}]

#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i, j) -> ()>
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>

func.func @main() {
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %x = call @random(%c1) : (i64) -> tensor<2048x2048xf32>
  %w = call @random(%c2) : (i64) -> tensor<2048x2048xf32>

  %y = lorc.linear %x, %w : tensor<2048x2048xf32>, tensor<2048x2048xf32> -> tensor<2048x2048xf32>
  %e0 = tensor.empty() : tensor<2048x2048xf32>
  %zero = arith.constant 0.0 : f32
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  %ref = linalg.matmul indexing_maps = [#mk, #nk, #mn]
      ins(%x, %w : tensor<2048x2048xf32>, tensor<2048x2048xf32>) outs(%z0 : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  %d0 = tensor.cast %y : tensor<2048x2048xf32> to tensor<?x?xf32>
  %r0 = tensor.cast %ref : tensor<2048x2048xf32> to tensor<?x?xf32>
  call @report(%d0, %r0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> ()

  // f64 loops on the first 16 rows.
  %x16 = tensor.extract_slice %x[0, 0] [16, 2048] [1, 1] : tensor<2048x2048xf32> to tensor<16x2048xf32>
  %x64 = call @widen(%x16) : (tensor<16x2048xf32>) -> tensor<16x2048xf64>
  %wc = tensor.cast %w : tensor<2048x2048xf32> to tensor<?x2048xf32>
  %w64 = call @widenDyn(%wc) : (tensor<?x2048xf32>) -> tensor<?x2048xf64>
  %e1 = tensor.empty() : tensor<16x2048xf64>
  %zd = arith.constant 0.0 : f64
  %z1 = linalg.fill ins(%zd : f64) outs(%e1 : tensor<16x2048xf64>) -> tensor<16x2048xf64>
  %ref64 = linalg.matmul indexing_maps = [#mk, #nk, #mn]
      ins(%x64, %w64 : tensor<16x2048xf64>, tensor<?x2048xf64>) outs(%z1 : tensor<16x2048xf64>) -> tensor<16x2048xf64>
  %y16 = tensor.extract_slice %y[0, 0] [16, 2048] [1, 1] : tensor<2048x2048xf32> to tensor<16x2048xf32>
  %y64 = call @widen(%y16) : (tensor<16x2048xf32>) -> tensor<16x2048xf64>
  %c64 = tensor.cast %y64 : tensor<16x2048xf64> to tensor<?x?xf64>
  %r64 = tensor.cast %ref64 : tensor<16x2048xf64> to tensor<?x?xf64>
  call @report64(%c64, %r64) : (tensor<?x?xf64>, tensor<?x?xf64>) -> ()

  // [K, N] right-hand side, chunks that leave edges in every dimension.
  %y2 = lorc.chunked_matmul %x, %w {chunk = array<i64: 300, 700, 500>, strategy = "tile"}
      : tensor<2048x2048xf32>, tensor<2048x2048xf32> -> tensor<2048x2048xf32>
  %e2 = tensor.empty() : tensor<2048x2048xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  %ref2 = linalg.matmul indexing_maps = [#mk, #kn, #mn]
      ins(%x, %w : tensor<2048x2048xf32>, tensor<2048x2048xf32>) outs(%z2 : tensor<2048x2048xf32>) -> tensor<2048x2048xf32>
  %d2 = tensor.cast %y2 : tensor<2048x2048xf32> to tensor<?x?xf32>
  %r2 = tensor.cast %ref2 : tensor<2048x2048xf32> to tensor<?x?xf32>
  call @report(%d2, %r2) : (tensor<?x?xf32>, tensor<?x?xf32>) -> ()
  return
}

// Values in [-1, 1] from a hash of (row, column, seed).
func.func private @random(%seed: i64) -> tensor<2048x2048xf32> {
  %e = tensor.empty() : tensor<2048x2048xf32>
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<2048x2048xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %i64 = arith.index_cast %i : index to i64
    %j64 = arith.index_cast %j : index to i64
    %p1 = arith.constant 73856093 : i64
    %p2 = arith.constant 19349663 : i64
    %p3 = arith.constant 83492791 : i64
    %m = arith.constant 2001 : i64
    %a = arith.muli %i64, %p1 : i64
    %b = arith.muli %j64, %p2 : i64
    %s = arith.muli %seed, %p3 : i64
    %h0 = arith.xori %a, %b : i64
    %h1 = arith.xori %h0, %s : i64
    %h = arith.remui %h1, %m : i64
    %f = arith.uitofp %h : i64 to f32
    %milli = arith.constant 0.001 : f32
    %one = arith.constant 1.0 : f32
    %v0 = arith.mulf %f, %milli : f32
    %v = arith.subf %v0, %one : f32
    linalg.yield %v : f32
  } -> tensor<2048x2048xf32>
  return %r : tensor<2048x2048xf32>
}

func.func private @widen(%t: tensor<16x2048xf32>) -> tensor<16x2048xf64> {
  %e = tensor.empty() : tensor<16x2048xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<16x2048xf32>) outs(%e : tensor<16x2048xf64>) {
  ^bb0(%a: f32, %o: f64):
    %d = arith.extf %a : f32 to f64
    linalg.yield %d : f64
  } -> tensor<16x2048xf64>
  return %r : tensor<16x2048xf64>
}

func.func private @widenDyn(%t: tensor<?x2048xf32>) -> tensor<?x2048xf64> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %t, %c0 : tensor<?x2048xf32>
  %e = tensor.empty(%n) : tensor<?x2048xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<?x2048xf32>) outs(%e : tensor<?x2048xf64>) {
  ^bb0(%a: f32, %o: f64):
    %d = arith.extf %a : f32 to f64
    linalg.yield %d : f64
  } -> tensor<?x2048xf64>
  return %r : tensor<?x2048xf64>
}

// Prints [max|c − r| / max|r| < 1e-4, max|c − r| / max|r|].
func.func private @report(%c: tensor<?x?xf32>, %r: tensor<?x?xf32>) {
  %c64 = call @widenAll(%c) : (tensor<?x?xf32>) -> tensor<?x?xf64>
  %r64 = call @widenAll(%r) : (tensor<?x?xf32>) -> tensor<?x?xf64>
  call @report64(%c64, %r64) : (tensor<?x?xf64>, tensor<?x?xf64>) -> ()
  return
}

func.func private @widenAll(%t: tensor<?x?xf32>) -> tensor<?x?xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %t, %c0 : tensor<?x?xf32>
  %n = tensor.dim %t, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%m, %n) : tensor<?x?xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<?x?xf32>) outs(%e : tensor<?x?xf64>) {
  ^bb0(%a: f32, %o: f64):
    %d = arith.extf %a : f32 to f64
    linalg.yield %d : f64
  } -> tensor<?x?xf64>
  return %r : tensor<?x?xf64>
}

func.func private @report64(%c: tensor<?x?xf64>, %r: tensor<?x?xf64>) {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2xf64>
  %i0 = tensor.empty() : tensor<f64>
  %init = linalg.fill ins(%zero : f64) outs(%i0 : tensor<f64>) -> tensor<f64>
  %red:2 = linalg.generic {indexing_maps = [#id, #id, #all, #all],
                         iterator_types = ["reduction", "reduction"]}
      ins(%c, %r : tensor<?x?xf64>, tensor<?x?xf64>) outs(%init, %init : tensor<f64>, tensor<f64>) {
  ^bb0(%a: f64, %b: f64, %dmax: f64, %rmax: f64):
    %d = arith.subf %a, %b : f64
    %ad = math.absf %d : f64
    %ab = math.absf %b : f64
    %m1 = arith.maximumf %dmax, %ad : f64
    %m2 = arith.maximumf %rmax, %ab : f64
    linalg.yield %m1, %m2 : f64, f64
  } -> (tensor<f64>, tensor<f64>)
  %dm = tensor.extract %red#0[] : tensor<f64>
  %rm = tensor.extract %red#1[] : tensor<f64>
  %rel = arith.divf %dm, %rm : f64
  %tol = arith.constant 1.0e-4 : f64
  %ok = arith.cmpf olt, %rel, %tol : f64
  %okf = arith.uitofp %ok : i1 to f64
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %t0 = tensor.insert %okf into %e[%c0] : tensor<2xf64>
  %t1 = tensor.insert %rel into %t0[%c1] : tensor<2xf64>
  %u = tensor.cast %t1 : tensor<2xf64> to tensor<*xf64>
  call @printMemrefF64(%u) : (tensor<*xf64>) -> ()
  return
}

func.func private @printMemrefF64(tensor<*xf64>) attributes {llvm.emit_c_interface}
