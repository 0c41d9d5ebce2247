//===- CublasLtAbiTest.cpp - lorc's cuBLASLt declarations vs the toolkit's -===//
//
// lib/Runtime/CublasLtAbi.h declares the cuBLASLt types and values lorc's runtime passes to
// the library it dlopens (no toolkit headers at build time). Built only where the CUDA toolkit's
// cublasLt.h is found (CI has it): each value and layout must equal the real header's, or a
// GPU run would pass wrong enums silently.
//
//===----------------------------------------------------------------------===//

#include "../lib/Runtime/CublasLtAbi.h"

#include <cublasLt.h>
#include <gtest/gtest.h>

#include <cstddef>

namespace c = lorc::cublaslt;

static_assert(c::kR32F == CUDA_R_32F && c::kR8FE4M3 == CUDA_R_8F_E4M3 &&
              c::kR8FE5M2 == CUDA_R_8F_E5M2);
static_assert(c::kCompute32F == CUBLAS_COMPUTE_32F && c::kOpN == CUBLAS_OP_N &&
              c::kOpT == CUBLAS_OP_T);
static_assert(c::kDescTransA == CUBLASLT_MATMUL_DESC_TRANSA &&
              c::kDescTransB == CUBLASLT_MATMUL_DESC_TRANSB);
static_assert(c::kPrefMaxWorkspaceBytes == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
static_assert(c::kStatusNotSupported == CUBLAS_STATUS_NOT_SUPPORTED);
static_assert(sizeof(c::MatmulAlgo) == sizeof(cublasLtMatmulAlgo_t));
static_assert(sizeof(c::HeuristicResult) == sizeof(cublasLtMatmulHeuristicResult_t));
static_assert(offsetof(c::HeuristicResult, workspaceSize) ==
              offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize));
static_assert(offsetof(c::HeuristicResult, state) ==
              offsetof(cublasLtMatmulHeuristicResult_t, state));

TEST(CublasLtAbi, MatchesTheToolkitHeaders) {
  // The checks are the static_asserts above; this records that they were compiled.
  EXPECT_EQ(sizeof(c::HeuristicResult), sizeof(cublasLtMatmulHeuristicResult_t));
}
