// An FP8 GEMM whose B is stored [K, N]: cuBLASLt takes FP8 only as A [M, K] · B [N, K]ᵀ, so
// on cuda it is an error naming the op (test/Transforms/dispatch-blas-fp8.mlir); the CPU twin
// takes any layout.
func.func @kn(%x: memref<4x16xf8E4M3FN>, %w: memref<16x8xf8E4M3FN>, %c: memref<4x8xf32>) {
  linalg.matmul ins(%x, %w : memref<4x16xf8E4M3FN>, memref<16x8xf8E4M3FN>) outs(%c : memref<4x8xf32>)
  return
}
