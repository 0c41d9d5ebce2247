//===- FakeCuda.cpp - a host-memory stand-in for libcuda and cuBLAS (tests only) ===//
//
// Loaded by CudaRuntimeTest through $LORC_CUDA_DRIVER and $LORC_CUBLAS, so that the lorc CUDA
// runtime's own logic (initialisation, the one stream, allocation, copies, sticky errors, the
// row-major → column-major mapping of every GEMM onto cublasSgemm and cublasGemmEx) runs in CI
// without a GPU. "Device" memory is host memory; kernels cannot run (cuLaunchKernel fails). The
// GEMMs are the reference column-major SGEMM loops of the BLAS specification:
// C = α·op(A)·op(B) + β·C; cublasGemmEx(StridedBatchedEx) takes A and B both f32 (CUDA_R_32F) or
// both bf16 (CUDA_R_16BF, widened exactly), C f32, compute type CUBLAS_COMPUTE_32F (f32
// accumulation), and reports NOT_SUPPORTED for anything else. cuBLASLt's FP8 subset
// (cublasLtMatmul on CUDA_R_8F_E4M3 / CUDA_R_8F_E5M2 A and B, f32 C and D) keeps the real
// library's rules that lorc's runtime must respect: "TN" only, leading dimensions multiples of
// 16 bytes, not both E5M2, compute type 32F; anything else is NOT_SUPPORTED.
//
// With LORC_FAKE_CUDA_NOOP=1 (bench/cuda_host_overhead.sh) launches and GEMMs succeed without
// doing anything and are counted; the counts are printed at exit. That isolates the host-side
// cost of a forward pass (lorc's generated host code and runtime) from the driver's.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>

#include "lorc/Support/Fp8.h"
#include "../lib/Runtime/CublasLtAbi.h"


namespace {
struct Counters {
  bool noop = std::getenv("LORC_FAKE_CUDA_NOOP") && *std::getenv("LORC_FAKE_CUDA_NOOP") == '1';
  long launches = 0, gemms = 0;
  ~Counters() {
    if (noop)
      std::fprintf(stderr, "fake-cuda: %ld launches, %ld gemms\n", launches, gemms);
  }
} counters;
} // namespace

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int) { *d = 0; return 0; }
int cuDeviceGetName(char *name, int len, int) { std::strncpy(name, "lorc fake device", len); return 0; }
int cuDevicePrimaryCtxRetain(void **ctx, int) { static int c; *ctx = &c; return 0; }
int cuCtxSetCurrent(void *) { return 0; }
int cuGetErrorName(int r, const char **name) { *name = r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_FAKE"; return 0; }
int cuStreamCreate(void **s, unsigned) { static int st; *s = &st; return 0; }
int cuStreamSynchronize(void *) { return 0; }
int cuModuleLoadData(void **m, const void *) { static int mod; *m = &mod; return 0; }
int cuModuleLoadDataEx(void **m, const void *, unsigned, int *, void **) { static int mod; *m = &mod; return 0; }
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(void **f, void *, const char *) { static int fn; *f = &fn; return 0; }
int cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                   void *, void **, void **) {
  ++counters.launches;
  return counters.noop ? 0 : 98; // kernels cannot run here
}
int cuMemAllocAsync(unsigned long long *p, size_t bytes, void *) {
  if (bytes > (size_t(1) << 40))
    return 2; // out of memory
  *p = reinterpret_cast<unsigned long long>(std::malloc(bytes));
  return 0;
}
int cuMemFreeAsync(unsigned long long p, void *) { std::free(reinterpret_cast<void *>(p)); return 0; }
int cuMemcpyAsync(unsigned long long d, unsigned long long s, size_t n, void *) {
  std::memcpy(reinterpret_cast<void *>(d), reinterpret_cast<void *>(s), n);
  return 0;
}
int cuMemGetInfo_v2(size_t *freeBytes, size_t *total) { *freeBytes = 1 << 30; *total = size_t(1) << 31; return 0; }
int cuMemAllocHost_v2(void **p, size_t n) { *p = std::malloc(n); return 0; }
int cuMemFreeHost(void *p) { std::free(p); return 0; }
int cuDeviceGetDefaultMemPool(void **pool, int) { static int p; *pool = &p; return 0; }
int cuMemPoolSetAttribute(void *, int, void *) { return 0; }

int cublasCreate_v2(void **h) { static int handle; *h = &handle; return 0; }
int cublasSetStream_v2(void *, void *) { return 0; }
}

namespace {
/// The reference column-major GEMM on A and B of element type T (float, or uint16_t bf16 bits).
float widen(float v) { return v; }
float widen(uint16_t v) { return lorc::fromBf16Bits(v); } // inline: no LorcSupport linked
template <typename T>
void gemm(int opA, int opB, int m, int n, int k, float alpha, const T *a, int lda, const T *b,
          int ldb, float beta, float *c, int ldc) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0;
      for (int l = 0; l < k; ++l) {
        float x = widen(opA ? a[l + i * lda] : a[i + l * lda]);
        float y = widen(opB ? b[j + l * ldb] : b[l + j * ldb]);
        s += x * y;
      }
      c[i + j * ldc] = alpha * s + beta * c[i + j * ldc];
    }
}

// cublas_api.h / library_types.h values (see lib/Runtime/Cuda.cpp).
constexpr int CUDA_R_32F = 0, CUDA_R_16BF = 14, CUBLAS_COMPUTE_32F = 68;
constexpr int CUBLAS_STATUS_NOT_SUPPORTED = 15;
} // namespace

extern "C" {
int cublasSgemm_v2(void *, int opA, int opB, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta, float *c,
                   int ldc) {
  ++counters.gemms;
  if (!counters.noop)
    gemm(opA, opB, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
  return 0;
}
int cublasSgemmStridedBatched(void *h, int opA, int opB, int m, int n, int k, const float *alpha,
                              const float *a, int lda, long long sa, const float *b, int ldb,
                              long long sb, const float *beta, float *c, int ldc, long long sc,
                              int batch) {
  if (counters.noop) {
    ++counters.gemms;
    return 0;
  }
  for (int i = 0; i < batch; ++i)
    cublasSgemm_v2(h, opA, opB, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta,
                   c + i * sc, ldc);
  return 0;
}

/// A and B both f32 or both bf16, C f32, compute type 32F.
int cublasGemmStridedBatchedEx(void *, int opA, int opB, int m, int n, int k, const void *alpha,
                               const void *a, int aType, int lda, long long sa, const void *b,
                               int bType, int ldb, long long sb, const void *beta, void *c,
                               int cType, int ldc, long long sc, int batch, int computeType,
                               int /*algo*/) {
  ++counters.gemms;
  if (aType != bType || (aType != CUDA_R_32F && aType != CUDA_R_16BF) || cType != CUDA_R_32F ||
      computeType != CUBLAS_COMPUTE_32F)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (counters.noop)
    return 0;
  float al = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);
  auto *fc = static_cast<float *>(c);
  for (int i = 0; i < batch; ++i) {
    if (aType == CUDA_R_32F)
      gemm(opA, opB, m, n, k, al, static_cast<const float *>(a) + i * sa, lda,
           static_cast<const float *>(b) + i * sb, ldb, be, fc + i * sc, ldc);
    else
      gemm(opA, opB, m, n, k, al, static_cast<const uint16_t *>(a) + i * sa, lda,
           static_cast<const uint16_t *>(b) + i * sb, ldb, be, fc + i * sc, ldc);
  }
  return 0;
}
int cublasGemmEx(void *h, int opA, int opB, int m, int n, int k, const void *alpha,
                 const void *a, int aType, int lda, const void *b, int bType, int ldb,
                 const void *beta, void *c, int cType, int ldc, int computeType, int algo) {
  return cublasGemmStridedBatchedEx(h, opA, opB, m, n, k, alpha, a, aType, lda, 0, b, bType,
                                    ldb, 0, beta, c, cType, ldc, 0, 1, computeType, algo);
}
}

// --- cuBLASLt's FP8 subset --------------------------------------------------------------------
namespace {
constexpr int CUDA_R_8F_E4M3 = lorc::cublaslt::kR8FE4M3, CUDA_R_8F_E5M2 = lorc::cublaslt::kR8FE5M2;
constexpr int CUBLASLT_MATMUL_DESC_TRANSA = lorc::cublaslt::kDescTransA,
              CUBLASLT_MATMUL_DESC_TRANSB = lorc::cublaslt::kDescTransB;
constexpr int CUBLAS_STATUS_INVALID_VALUE = 7;

/// An FP8 code's value, written here from the formats' definitions (OCP FP8: E4M3FN bias 7,
/// S.1111.111 NaN, no infinities; E5M2 bias 15, IEEE-like), independently of lorc's.
float fp8Value(uint8_t code, int type) {
  bool e4m3 = type == CUDA_R_8F_E4M3;
  int manBits = e4m3 ? 3 : 2, bias = e4m3 ? 7 : 15;
  int e = (code & 0x7F) >> manBits, m = code & ((1 << manBits) - 1);
  float sign = (code & 0x80) ? -1.0f : 1.0f;
  if (e4m3 && (code & 0x7F) == 0x7F)
    return __builtin_nanf("");
  if (!e4m3 && e == 31)
    return m ? __builtin_nanf("") : sign * __builtin_inff();
  if (e == 0)
    return sign * std::ldexp(float(m), 1 - bias - manBits);
  return sign * std::ldexp(1.0f + float(m) / float(1 << manBits), e - bias);
}

struct LtDesc {
  int computeType, scaleType, transA = 0, transB = 0;
};
struct LtLayout {
  int type;
  uint64_t rows, cols;
  int64_t ld;
};
bool isFp8(int t) { return t == CUDA_R_8F_E4M3 || t == CUDA_R_8F_E5M2; }

/// Whether cuBLASLt (CUDA 13, sm_90) has an FP8 kernel for this problem.
bool ltSupported(const LtDesc *d, const LtLayout *a, const LtLayout *b, const LtLayout *c,
                 const LtLayout *dd) {
  return d->computeType == CUBLAS_COMPUTE_32F && d->scaleType == CUDA_R_32F && isFp8(a->type) &&
         isFp8(b->type) && !(a->type == CUDA_R_8F_E5M2 && b->type == CUDA_R_8F_E5M2) &&
         c->type == CUDA_R_32F && dd->type == CUDA_R_32F && d->transA == lorc::cublaslt::kOpT &&
         d->transB == lorc::cublaslt::kOpN &&
         a->ld % 16 == 0 && b->ld % 16 == 0 && (c->ld * 4) % 16 == 0 && c->ld == dd->ld;
}
} // namespace

extern "C" {
int cublasLtCreate(void **h) { static int handle; *h = &handle; return 0; }
int cublasLtMatmulDescCreate(LtDesc **d, int computeType, int scaleType) {
  *d = new LtDesc{computeType, scaleType};
  return 0;
}
int cublasLtMatmulDescSetAttribute(LtDesc *d, int attr, const void *buf, size_t size) {
  if (size != sizeof(int))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (attr == CUBLASLT_MATMUL_DESC_TRANSA)
    std::memcpy(&d->transA, buf, sizeof(int));
  else if (attr == CUBLASLT_MATMUL_DESC_TRANSB)
    std::memcpy(&d->transB, buf, sizeof(int));
  else
    return CUBLAS_STATUS_INVALID_VALUE; // lorc sets nothing else
  return 0;
}
int cublasLtMatrixLayoutCreate(LtLayout **l, int type, uint64_t rows, uint64_t cols,
                               int64_t ld) {
  *l = new LtLayout{type, rows, cols, ld};
  return 0;
}
int cublasLtMatmulPreferenceCreate(void **p) { static int pref; *p = &pref; return 0; }
int cublasLtMatmulPreferenceSetAttribute(void *, int, const void *, size_t) { return 0; }
int cublasLtMatmulPreferenceDestroy(void *) { return 0; }
int cublasLtMatmulAlgoGetHeuristic(void *, LtDesc *d, LtLayout *a, LtLayout *b, LtLayout *c,
                                   LtLayout *dd, void *, int requested, void *results,
                                   int *found) {
  if (requested < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!ltSupported(d, a, b, c, dd))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  std::memset(results, 0, sizeof(lorc::cublaslt::HeuristicResult));
  *found = 1;
  return 0;
}
/// D = α·op(A)·op(B) + β·C, column-major, on FP8 A and B (decoded exactly, products and sums
/// in f32), C and D f32.
int cublasLtMatmul(void *, LtDesc *d, const float *alpha, const uint8_t *a, LtLayout *al,
                   const uint8_t *b, LtLayout *bl, const float *beta, const float *c,
                   LtLayout *cl, float *dOut, LtLayout *dl, const void *algo, void *workspace,
                   size_t, void *) {
  ++counters.gemms;
  if (!ltSupported(d, al, bl, cl, dl) || !algo || !workspace)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (counters.noop)
    return 0;
  // op(A) = Aᵀ: A is [k, m] column-major; op(B) = B: [k, n].
  uint64_t m = al->cols, n = bl->cols, k = al->rows;
  if (bl->rows != k || dl->rows != m || dl->cols != n)
    return CUBLAS_STATUS_INVALID_VALUE;
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) {
      float s = 0;
      for (uint64_t l = 0; l < k; ++l)
        s += fp8Value(a[l + i * al->ld], al->type) * fp8Value(b[l + j * bl->ld], bl->type);
      float prior = *beta == 0 ? 0.0f : *beta * c[i + j * cl->ld];
      dOut[i + j * dl->ld] = *alpha * s + prior;
    }
  return 0;
}
}
