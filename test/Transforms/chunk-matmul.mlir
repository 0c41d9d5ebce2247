// RUN: lorc-opt %s -split-input-file --lorc-chunk-matmul="memory-budget-bytes=4194304" 2>&1 | FileCheck %s --check-prefix=ADAPTIVE
// RUN: lorc-opt %s -split-input-file --lorc-chunk-matmul="memory-budget-bytes=4194304 strategy=tile" 2>&1 | FileCheck %s --check-prefix=ADAPTIVE
// RUN: lorc-opt %s -split-input-file --lorc-chunk-matmul="memory-budget-bytes=20971520 strategy=row" 2>&1 | FileCheck %s --check-prefix=ROW
// RUN: not lorc-opt %s -split-input-file --lorc-chunk-matmul="memory-budget-bytes=4194304 strategy=row" 2>&1 | FileCheck %s --check-prefix=ROW-TOO-SMALL
// RUN: not lorc-opt %s -split-input-file --lorc-chunk-matmul="memory-budget-bytes=20000 strategy=tile" 2>&1 | FileCheck %s --check-prefix=TILE-TOO-SMALL
// RUN: not lorc-opt %s --lorc-chunk-matmul="memory-budget-bytes=4194304 strategy=columns" 2>&1 | FileCheck %s --check-prefix=BAD-STRATEGY
// RUN: not lorc-opt %s --lorc-chunk-matmul 2>&1 | FileCheck %s --check-prefix=NO-BUDGET

// Working sets (include/lorc/CostModel/Chunking.h), f32, operand chunks double-buffered:
// * 2048³ whole: 4·3·2048² = 48 MiB. Under 4 MiB the least-traffic tiles are 512×1024×128:
//   4·(2·512·128 + 2·128·1024 + 512·1024) = 3670016 bytes, ⌈2048/512⌉·⌈2048/1024⌉·⌈2048/128⌉ = 128 chunks.
// * row keeps W (16 MiB) whole: with 20 MiB, (20971520/4 − 2048²) / (2·2048 + 2048) = 170 rows,
//   4·(2·170·2048 + 2048² + 170·2048) = 20955136 bytes, ⌈2048/170⌉ = 13 chunks. Its smallest
//   budget is one row: 4·(2048² + 2·2048 + 2048) = 16801792 bytes.
// * tile's smallest budget: 32-edges, 4·(2·32·32 + 2·32·32 + 32·32) = 20480 bytes.
// ADAPTIVE-LABEL: func.func @square
// ADAPTIVE: lorc.chunked_matmul %arg0, %cst {chunk = array<i64: 512, 1024, 128>, lorc.chunk = {layer = "w", num_chunks = 128 : i64, unchunked = 50331648 : i64, working_set = 3670016 : i64}, rhs_transposed, strategy = "tile"}
// ROW-LABEL: func.func @square
// ROW: lorc.chunked_matmul %arg0, %cst {chunk = array<i64: 170, 2048, 2048>, lorc.chunk = {layer = "w", num_chunks = 13 : i64, unchunked = 50331648 : i64, working_set = 20955136 : i64}, rhs_transposed, strategy = "row"}
// ROW-TOO-SMALL: error: 'lorc.linear' op 'w' [M=2048, N=2048, K=2048] does not fit memory-budget-bytes=4194304 with strategy row: the smallest feasible budget is 16801792 bytes (16.02 MiB)
// TILE-TOO-SMALL: error: 'lorc.linear' op 'w' [M=2048, N=2048, K=2048] does not fit memory-budget-bytes=20000 with strategy tile: the smallest feasible budget is 20480 bytes (20.0 KiB)
// BAD-STRATEGY: error: --lorc-chunk-matmul: strategy 'columns': expected row, tile or adaptive
// NO-BUDGET: error: --lorc-chunk-matmul: memory-budget-bytes must be > 0
func.func @square(%x: tensor<2048x2048xf32>) -> tensor<2048x2048xf32> {
  %w = arith.constant dense_resource<w> : tensor<2048x2048xf32>
  %y = lorc.linear %x, %w : tensor<2048x2048xf32>, tensor<2048x2048xf32> -> tensor<2048x2048xf32>
  return %y : tensor<2048x2048xf32>
}

// -----

// Dynamic rows cannot be proven to fit: the layer is chunked whatever M turns out to be. At
// 4 MiB, row blocks would hold W (2.25 MiB) and 199 rows, re-reading W every 199 rows; tiles of
// 512 rows × all 1536 columns × 64 of K read W twice per 1024 rows (traffic priced at M = 1024)
// and win. Row blocks at 20 MiB: (20971520/4 − 1536·384) / (2·384 + 1536) = 2019 rows,
// 4·(2·2019·384 + 1536·384 + 2019·1536) = 20966400 bytes. The bias is kept.
// ADAPTIVE-LABEL: func.func @dynamic_rows
// ADAPTIVE: lorc.chunked_matmul %arg0, %arg1, %arg2 {chunk = array<i64: 512, 1536, 64>, lorc.chunk = {working_set = 4194304 : i64}, rhs_transposed, strategy = "tile"}
// ROW-LABEL: func.func @dynamic_rows
// ROW: lorc.chunked_matmul %arg0, %arg1, %arg2 {chunk = array<i64: 2019, 1536, 384>, lorc.chunk = {working_set = 20966400 : i64}, rhs_transposed, strategy = "row"}
func.func @dynamic_rows(%x: tensor<?x128x384xf32>, %w: tensor<1536x384xf32>, %b: tensor<1536xf32>) -> tensor<?x128x1536xf32> {
  %y = lorc.linear %x, %w, %b : tensor<?x128x384xf32>, tensor<1536x384xf32>, tensor<1536xf32> -> tensor<?x128x1536xf32>
  return %y : tensor<?x128x1536xf32>
}

// -----

// A layer that fits stays a lorc.linear.
// ADAPTIVE-LABEL: func.func @fits
// ADAPTIVE: lorc.linear
// ADAPTIVE-NOT: lorc.chunked_matmul
func.func @fits(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %y = lorc.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
