//===- FakeCuda.cpp - a host-memory stand-in for libcuda and cuBLAS (tests only) ===//
//
// Loaded by CudaRuntimeTest through $LORC_CUDA_DRIVER and $LORC_CUBLAS, so that the lorc CUDA
// runtime's own logic (initialisation, the one stream, allocation, copies, sticky errors, the
// row-major → column-major mapping of every GEMM onto cublasSgemm) runs in CI without a GPU.
// "Device" memory is host memory; kernels cannot run (cuLaunchKernel fails). The GEMMs are the
// reference column-major SGEMM loops of the BLAS specification: C = α·op(A)·op(B) + β·C.
//
// With LORC_FAKE_CUDA_NOOP=1 (bench/cuda_host_overhead.sh) launches and GEMMs succeed without
// doing anything and are counted; the counts are printed at exit. That isolates the host-side
// cost of a forward pass (lorc's generated host code and runtime) from the driver's.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

int cublasCreate_v2(void **h) { static int handle; *h = &handle; return 0; }
int cublasSetStream_v2(void *, void *) { return 0; }
int cublasSgemm_v2(void *, int opA, int opB, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta, float *c,
                   int ldc) {
  ++counters.gemms;
  if (counters.noop)
    return 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0;
      for (int l = 0; l < k; ++l) {
        float x = opA ? a[l + i * lda] : a[i + l * lda];
        float y = opB ? b[j + l * ldb] : b[l + j * ldb];
        s += x * y;
      }
      c[i + j * ldc] = *alpha * s + *beta * c[i + j * ldc];
    }
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
}
