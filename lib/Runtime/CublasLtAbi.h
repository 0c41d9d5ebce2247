//===- CublasLtAbi.h - the cuBLASLt subset lorc calls (runtime-internal) -===//
//
// lorc loads cuBLASLt with dlopen and builds without the CUDA toolkit's headers, so the few
// types and enum values its FP8 GEMM uses are declared here, with the values of the CUDA 13.1
// headers (library_types.h, cublasLt.h). lib/Runtime/Cuda.cpp calls them, unittests/FakeCuda.cpp
// implements them on the host, and unittests/CublasLtAbiTest.cpp checks them against the real
// headers wherever the toolkit is installed (CI has it).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_CUBLASLTABI_H
#define LORC_RUNTIME_CUBLASLTABI_H

#include <cstddef>
#include <cstdint>

namespace lorc::cublaslt {

/// cudaDataType_t values.
constexpr int kR32F = 0, kR8FE4M3 = 28, kR8FE5M2 = 29;
/// cublasComputeType_t CUBLAS_COMPUTE_32F; cublasOperation_t N and T.
constexpr int kCompute32F = 68, kOpN = 0, kOpT = 1;
/// cublasLtMatmulDescAttributes_t CUBLASLT_MATMUL_DESC_TRANSA / _TRANSB (int32 values).
constexpr int kDescTransA = 3, kDescTransB = 4;
/// cublasLtMatmulPreferenceAttributes_t CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64).
constexpr int kPrefMaxWorkspaceBytes = 1;
/// cublasStatus_t CUBLAS_STATUS_NOT_SUPPORTED.
constexpr int kStatusNotSupported = 15;

/// cublasLtMatmulAlgo_t.
struct MatmulAlgo {
  uint64_t data[8];
};
/// cublasLtMatmulHeuristicResult_t.
struct HeuristicResult {
  MatmulAlgo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

} // namespace lorc::cublaslt

#endif // LORC_RUNTIME_CUBLASLTABI_H
