//===- Cuda.cpp - CUDA driver and cuBLAS over dlopen, the mgpu* host ABI --===//
//
// See include/lorc/Runtime/Cuda.h for the execution model. The few driver and cuBLAS prototypes
// used are declared here (the C ABI of cuda.h and cublas_api.h), so this builds without the
// CUDA toolkit's headers.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Cuda.h"
#include "BlasLayout.h"
#include "CublasLtAbi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>
#include <dlfcn.h>
#include <array>
#include <map>
#include <mutex>
#include <type_traits>

namespace {

// --- The driver API subset (cuda.h) -------------------------------------------------------
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7; // CUjit_option

struct Driver {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemGetInfo)(size_t *, size_t *);
  CUresult (*cuMemAllocHost)(void **, size_t);
  CUresult (*cuMemFreeHost)(void *);
  CUresult (*cuDeviceGetDefaultMemPool)(void **, CUdevice);
  CUresult (*cuMemPoolSetAttribute)(void *, int, void *);
};

// --- The cuBLAS subset (cublas_api.h, column-major) ----------------------------------------
using cublasHandle_t = struct cublasContext *;
using cublasStatus_t = int;
constexpr int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
// The bf16 GEMMs' enums, with the values of the CUDA 13.1 headers (stable since CUDA 11.0):
// cudaDataType_t CUDA_R_32F, CUDA_R_16BF (library_types.h), cublasComputeType_t
// CUBLAS_COMPUTE_32F (f32 accumulation; with bf16 inputs the tensor cores' bf16 path) and
// cublasGemmAlgo_t CUBLAS_GEMM_DEFAULT (cublas_api.h). Not COMPUTE_32F_FAST_16BF on f32
// matrices: it only "allows" down-converting, and cuBLAS 13.1 on an H200 chose TF32 (measured;
// docs/CudaPipeline.md), so the compiled code converts the operands to bf16 itself.
constexpr int CUDA_R_32F = 0, CUDA_R_16BF = 14;
constexpr int CUBLAS_COMPUTE_32F = 68;
constexpr int CUBLAS_GEMM_DEFAULT = -1;

struct Cublas {
  void *handle = nullptr;
  cublasHandle_t blas = nullptr;
  cublasStatus_t (*cublasCreate)(cublasHandle_t *);
  cublasStatus_t (*cublasSetStream)(cublasHandle_t, CUstream);
  cublasStatus_t (*cublasSgemm)(cublasHandle_t, int, int, int, int, int, const float *,
                                const float *, int, const float *, int, const float *, float *,
                                int);
  cublasStatus_t (*cublasSgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                              const float *, const float *, int, long long,
                                              const float *, int, long long, const float *,
                                              float *, int, long long, int);
  cublasStatus_t (*cublasGemmEx)(cublasHandle_t, int, int, int, int, int, const void *,
                                 const void *, int, int, const void *, int, int, const void *,
                                 void *, int, int, int, int);
  cublasStatus_t (*cublasGemmStridedBatchedEx)(cublasHandle_t, int, int, int, int, int,
                                               const void *, const void *, int, int, long long,
                                               const void *, int, int, long long, const void *,
                                               void *, int, int, long long, int, int, int);
};

// --- The cuBLASLt subset (CublasLtAbi.h) for FP8 GEMMs -------------------------------------
// cuBLAS's classic API has no FP8 GEMM; cuBLASLt's cublasLtMatmul takes A and B of type
// CUDA_R_8F_E4M3 / CUDA_R_8F_E5M2 (not both E5M2), f32 accumulation (CUBLAS_COMPUTE_32F), an
// f32 C and D ("fp8 kernels with an output type of CUDA_R_32F", cublasLt.h), in the "TN" layout
// only: op(A) = T, op(B) = N in column-major terms, leading dimensions and pointers 16-byte
// aligned.
using cublasLtHandle_t = struct cublasLtContext *;
using cublasLtMatmulDesc_t = struct cublasLtMatmulDescOpaque *;
using cublasLtMatrixLayout_t = struct cublasLtMatrixLayoutOpaque *;
using cublasLtMatmulPreference_t = struct cublasLtMatmulPreferenceOpaque *;
using cublasLtMatmulAlgo_t = lorc::cublaslt::MatmulAlgo;
using cublasLtMatmulHeuristicResult_t = lorc::cublaslt::HeuristicResult;
constexpr int CUDA_R_8F_E4M3 = lorc::cublaslt::kR8FE4M3, CUDA_R_8F_E5M2 = lorc::cublaslt::kR8FE5M2;
constexpr int CUBLASLT_MATMUL_DESC_TRANSA = lorc::cublaslt::kDescTransA,
              CUBLASLT_MATMUL_DESC_TRANSB = lorc::cublaslt::kDescTransB;
constexpr int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = lorc::cublaslt::kPrefMaxWorkspaceBytes;
/// The workspace handed to cublasLtMatmul: 32 MiB, PyTorch's default for Hopper
/// (CUBLASLT_WORKSPACE_SIZE in ATen/cuda/CUDABlas.cpp); allocated on the first FP8 GEMM.
constexpr size_t kLtWorkspaceBytes = size_t(32) << 20;

struct CublasLt {
  void *handle = nullptr;
  cublasLtHandle_t lt = nullptr;
  cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *);
  cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *, int, int);
  cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t, int, const void *,
                                                   size_t);
  cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *, int, uint64_t, uint64_t,
                                               int64_t);
  cublasStatus_t (*cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *);
  cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t, int,
                                                         const void *, size_t);
  cublasStatus_t (*cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t,
                                                   cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                                   cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                                   cublasLtMatmulPreference_t, int,
                                                   cublasLtMatmulHeuristicResult_t *, int *);
  cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *,
                                   const void *, cublasLtMatrixLayout_t, const void *,
                                   cublasLtMatrixLayout_t, const void *, const void *,
                                   cublasLtMatrixLayout_t, void *, cublasLtMatrixLayout_t,
                                   const cublasLtMatmulAlgo_t *, void *, size_t, CUstream);
  void *workspace = nullptr;
  /// One FP8 GEMM shape's descriptors and the algorithm the heuristic chose for it: made on the
  /// shape's first call and kept (a forward pass repeats its shapes on every run).
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo;
  };
  /// (rows, cols, k, lda, ldb, ldc, A type, B type) → plan.
  std::map<std::array<int64_t, 8>, Plan> plans;
};

struct State {
  std::mutex mutex;
  bool tried = false;
  std::string initError; // why the driver is unusable ("" once initialised)
  Driver drv;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  CUdevice device = 0;
  bool cublasTried = false;
  std::string cublasError;
  Cublas blas;
  bool cublasLtTried = false;
  std::string cublasLtError;
  CublasLt blasLt;
  std::string firstError; // sticky, see Cuda.h
  void *pinned = nullptr;
  size_t pinnedBytes = 0;
  // Since the process started (lorc::cuda::callCounts).
  uint64_t numLaunches = 0, numGemms = 0, numDriverAllocations = 0;
  /// The runtime's caching allocator over the driver's stream-ordered pool: released blocks are
  /// kept by exact size and handed out again (safe without events: every use is on `stream`,
  /// so a block's next use is ordered after its last one). A forward pass allocates the same
  /// sizes on every run, so after the first run no allocation reaches the driver.
  llvm::DenseMap<void *, size_t> liveSizes;
  std::map<size_t, std::vector<void *>> cached;
  size_t cachedBytes = 0;
  /// (module, kernel name) → function, so a launch does not look its kernel up in the driver
  /// each time (gpu-to-llvm's host code calls mgpuModuleGetFunction before every launch). The
  /// name is a constant of the compiled library, so its address identifies it.
  llvm::DenseMap<std::pair<void *, const char *>, CUfunction> functions;
};

/// Released device memory kept for reuse, at most this many bytes; beyond, blocks go back to the
/// driver's pool.
constexpr size_t kMaxCachedBytes = size_t(4) << 30;

State &state() {
  static State s;
  return s;
}

/// The name `fn` was looked up by, for error messages ("" if unknown); a scan, errors are rare.
std::string kernelName(CUfunction fn) {
  for (const auto &[key, f] : state().functions)
    if (f == fn)
      return key.second;
  return "";
}

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string errorName(CUresult r) {
  const char *name = nullptr;
  if (state().drv.cuGetErrorName && state().drv.cuGetErrorName(r, &name) == CUDA_SUCCESS && name)
    return name;
  // cuda.h's values, for drivers (stubs) that cannot name their own errors.
  switch (r) {
  case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3: return "CUDA_ERROR_NOT_INITIALIZED";
  case 34: return "CUDA_ERROR_STUB_LIBRARY (the toolkit's stub libcuda, not a driver)";
  case 35: return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 100: return "CUDA_ERROR_NO_DEVICE";
  default: return "CUresult " + std::to_string(r);
  }
}

/// Records the first failure of a forward pass; true if `r` succeeded.
bool check(CUresult r, const llvm::Twine &call) {
  if (r == CUDA_SUCCESS)
    return true;
  State &s = state();
  if (s.firstError.empty())
    s.firstError = (call + ": " + errorName(r)).str();
  return false;
}

void recordError(const llvm::Twine &message) {
  if (state().firstError.empty())
    state().firstError = message.str();
}

/// Whether calls may go on: initialised, and no error recorded yet.
bool usable() {
  State &s = state();
  if (!s.tried || !s.initError.empty()) {
    recordError("CUDA runtime used before lorc::cuda::initialize() succeeded" +
                (s.initError.empty() ? std::string() : ": " + s.initError));
    return false;
  }
  return s.firstError.empty();
}

template <typename F> bool bind(void *lib, F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

std::string loadDriver(Driver &d) {
  const char *path = std::getenv("LORC_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  d.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!d.handle)
    return std::string("no CUDA driver: cannot load ") + dlerror();
  const char *missing = nullptr;
#define LORC_BIND(field, symbol)                                                              \
  if (!missing && !bind(d.handle, d.field, symbol))                                          \
    missing = symbol;
  LORC_BIND(cuInit, "cuInit")
  LORC_BIND(cuDeviceGetCount, "cuDeviceGetCount")
  LORC_BIND(cuDeviceGet, "cuDeviceGet")
  LORC_BIND(cuDeviceGetName, "cuDeviceGetName")
  LORC_BIND(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
  LORC_BIND(cuCtxSetCurrent, "cuCtxSetCurrent")
  LORC_BIND(cuGetErrorName, "cuGetErrorName")
  LORC_BIND(cuStreamCreate, "cuStreamCreate")
  LORC_BIND(cuStreamSynchronize, "cuStreamSynchronize")
  LORC_BIND(cuModuleLoadData, "cuModuleLoadData")
  LORC_BIND(cuModuleLoadDataEx, "cuModuleLoadDataEx")
  LORC_BIND(cuModuleUnload, "cuModuleUnload")
  LORC_BIND(cuModuleGetFunction, "cuModuleGetFunction")
  LORC_BIND(cuLaunchKernel, "cuLaunchKernel")
  LORC_BIND(cuMemAllocAsync, "cuMemAllocAsync")
  LORC_BIND(cuMemFreeAsync, "cuMemFreeAsync")
  LORC_BIND(cuMemcpyAsync, "cuMemcpyAsync")
  LORC_BIND(cuMemGetInfo, "cuMemGetInfo_v2")
  LORC_BIND(cuMemAllocHost, "cuMemAllocHost_v2")
  LORC_BIND(cuMemFreeHost, "cuMemFreeHost")
  LORC_BIND(cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool")
  LORC_BIND(cuMemPoolSetAttribute, "cuMemPoolSetAttribute")
#undef LORC_BIND
  if (missing)
    return std::string("no CUDA driver: ") + path + " lacks " + missing +
           " (a driver for CUDA 11.2 or newer is needed)";
  return "";
}

/// The first library that loads of $`envVar` (when set) and `names`, in that order; null if
/// none does, with `error` the first dlerror.
void *openLibrary(const char *envVar, std::initializer_list<const char *> names,
                  std::string &error) {
  const char *env = std::getenv(envVar);
  std::vector<const char *> candidates{env};
  candidates.insert(candidates.end(), names);
  for (const char *name : candidates) {
    if (!name || !*name)
      continue;
    if (void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL))
      return handle;
    if (error.empty())
      error = dlerror();
  }
  return nullptr;
}

/// cuBLAS, loaded on the first GEMM; records an error (naming `op`) if it cannot be.
Cublas *getCublas(const char *op) {
  State &s = state();
  if (!s.cublasTried) {
    s.cublasTried = true;
    Cublas &b = s.blas;
    std::string loadError;
    b.handle = openLibrary("LORC_CUBLAS",
                           {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"}, loadError);
    if (!b.handle) {
      s.cublasError = "cannot load cuBLAS (libcublas.so.13/.12/.11): " + loadError;
    } else if (!bind(b.handle, b.cublasCreate, "cublasCreate_v2") ||
               !bind(b.handle, b.cublasSetStream, "cublasSetStream_v2") ||
               !bind(b.handle, b.cublasSgemm, "cublasSgemm_v2") ||
               !bind(b.handle, b.cublasSgemmStridedBatched, "cublasSgemmStridedBatched") ||
               !bind(b.handle, b.cublasGemmEx, "cublasGemmEx") ||
               !bind(b.handle, b.cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx")) {
      s.cublasError = "the cuBLAS library lacks cublasCreate_v2/SetStream_v2/Sgemm_v2/"
                      "SgemmStridedBatched/GemmEx/GemmStridedBatchedEx";
    } else if (int st = b.cublasCreate(&b.blas)) {
      s.cublasError = "cublasCreate_v2 failed with status " + std::to_string(st);
    } else if (int st = b.cublasSetStream(b.blas, s.stream)) {
      s.cublasError = "cublasSetStream_v2 failed with status " + std::to_string(st);
    }
  }
  if (!s.cublasError.empty()) {
    recordError(llvm::Twine(op) + ": " + s.cublasError);
    return nullptr;
  }
  return &s.blas;
}

/// The operands of a GEMM: F32 (f32 A and B, cublasSgemm), or Bf16 (bf16 A and B, as the
/// compiled code converted them, cublasGemmEx with CUBLAS_COMPUTE_32F: f32 accumulation on the
/// tensor cores). C is f32 in both.
enum class GemmPrecision { F32, Bf16 };

/// The precision of A and B stored as `In`: float, or uint16_t bf16 bit patterns.
template <typename In>
constexpr GemmPrecision precisionOf = std::is_same_v<In, float> ? GemmPrecision::F32
                                                                : GemmPrecision::Bf16;

/// C[m×n] (row-major view: strides cs0, cs1) += op(A)·op(B) (= when !accumulate: beta 0, C not
/// read) on the device with cuBLAS, which is
/// column-major: a row-major C is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ. Batched when `batch` > 1,
/// with element strides between the matrices.
void deviceGemm(const char *op, GemmPrecision precision, const void *a, int64_t as0,
                int64_t as1, bool transA, const void *b, int64_t bs0, int64_t bs1, bool transB,
                float *c, int64_t cs0, int64_t cs1, int64_t m, int64_t n, int64_t k,
                bool accumulate, int64_t batch = 1, int64_t strideA = 0, int64_t strideB = 0,
                int64_t strideC = 0) {
  if (!usable() || m == 0 || n == 0 || k == 0 || batch == 0)
    return;
  ++state().numGemms;
  Cublas *blas = getCublas(op);
  if (!blas)
    return;
  std::optional<lorc::BlasView> va = lorc::blasView(m, k, as0, as1, transA);
  std::optional<lorc::BlasView> vb = lorc::blasView(k, n, bs0, bs1, transB);
  bool rowMajorC = cs1 == 1 || n == 1;
  bool colMajorC = cs0 == 1 || m == 1;
  if (!va || !vb || (!rowMajorC && !colMajorC)) {
    recordError(llvm::formatv("{0}: operand strides A({1},{2}) B({3},{4}) C({5},{6}) fit no "
                              "cuBLAS layout",
                              op, as0, as1, bs0, bs1, cs0, cs1)
                    .str());
    return;
  }
  // cuBLAS computes X = op1(P)·op2(Q), column-major. A row-major C is computed as its
  // transpose, X = Cᵀ = op(B)ᵀ·op(A)ᵀ (P = B, Q = A); a column-major C directly (P = A, Q = B).
  // A row-major view with leading dimension ld reads as its transpose in column-major, hence
  // op = T exactly when the view's `trans` equals rowMajorC.
  struct Operand {
    const void *data;
    lorc::BlasView view;
    int64_t batchStride;
  } opA{a, *va, strideA}, opB{b, *vb, strideB};
  const Operand &p = rowMajorC ? opB : opA, &q = rowMajorC ? opA : opB;
  auto opOf = [&](const Operand &o) { return o.view.trans == rowMajorC ? CUBLAS_OP_T : CUBLAS_OP_N; };
  int64_t rows = rowMajorC ? n : m, cols = rowMajorC ? m : n;
  int ldc = static_cast<int>(cols <= 1 ? std::max<int64_t>(rows, 1) : (rowMajorC ? cs0 : cs1));
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  int status;
  if (precision == GemmPrecision::F32)
    status = batch == 1
                 ? blas->cublasSgemm(blas->blas, opOf(p), opOf(q), rows, cols, k, &one,
                                     static_cast<const float *>(p.data), p.view.ld,
                                     static_cast<const float *>(q.data), q.view.ld, &beta, c, ldc)
                 : blas->cublasSgemmStridedBatched(
                       blas->blas, opOf(p), opOf(q), rows, cols, k, &one,
                       static_cast<const float *>(p.data), p.view.ld, p.batchStride,
                       static_cast<const float *>(q.data), q.view.ld, q.batchStride, &beta, c,
                       ldc, strideC, batch);
  else // bf16 A and B, f32 C, f32 accumulation (alpha, beta f32)
    status = batch == 1
                 ? blas->cublasGemmEx(blas->blas, opOf(p), opOf(q), rows, cols, k, &one, p.data,
                                      CUDA_R_16BF, p.view.ld, q.data, CUDA_R_16BF, q.view.ld,
                                      &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT)
                 : blas->cublasGemmStridedBatchedEx(
                       blas->blas, opOf(p), opOf(q), rows, cols, k, &one, p.data, CUDA_R_16BF,
                       p.view.ld, p.batchStride, q.data, CUDA_R_16BF, q.view.ld, q.batchStride,
                       &beta, c, CUDA_R_32F, ldc, strideC, batch, CUBLAS_COMPUTE_32F,
                       CUBLAS_GEMM_DEFAULT);
  if (status != 0)
    recordError(llvm::formatv("{0}: cuBLAS {1} [M={2}, N={3}, K={4}, batch={5}] failed with "
                              "status {6}",
                              op,
                              precision == GemmPrecision::F32
                                  ? "SGEMM"
                                  : "GemmEx (bf16 A and B, COMPUTE_32F)",
                              m, n, k, batch, status)
                    .str());
}

/// cuBLASLt, loaded on the first FP8 GEMM ($LORC_CUBLASLT, else libcublasLt.so.13 or .12),
/// with its handle and workspace; records an error (naming `op`) if it cannot be.
CublasLt *getCublasLt(const char *op) {
  State &s = state();
  if (!s.cublasLtTried) {
    s.cublasLtTried = true;
    CublasLt &b = s.blasLt;
    std::string loadError;
    b.handle = openLibrary("LORC_CUBLASLT", {"libcublasLt.so.13", "libcublasLt.so.12"}, loadError);
    const char *missing = nullptr;
#define LORC_BIND(field)                                                                      \
  if (!missing && !bind(b.handle, b.field, #field))                                          \
    missing = #field;
    if (b.handle) {
      LORC_BIND(cublasLtCreate)
      LORC_BIND(cublasLtMatmulDescCreate)
      LORC_BIND(cublasLtMatmulDescSetAttribute)
      LORC_BIND(cublasLtMatrixLayoutCreate)
      LORC_BIND(cublasLtMatmulPreferenceCreate)
      LORC_BIND(cublasLtMatmulPreferenceSetAttribute)
      LORC_BIND(cublasLtMatmulPreferenceDestroy)
      LORC_BIND(cublasLtMatmulAlgoGetHeuristic)
      LORC_BIND(cublasLtMatmul)
    }
#undef LORC_BIND
    if (!b.handle) {
      s.cublasLtError = "cannot load cuBLASLt (libcublasLt.so.13/.12): " + loadError;
    } else if (missing) {
      s.cublasLtError = std::string("the cuBLASLt library lacks ") + missing;
    } else if (int st = b.cublasLtCreate(&b.lt)) {
      s.cublasLtError = "cublasLtCreate failed with status " + std::to_string(st);
    } else {
      llvm::Expected<void *> ws = lorc::cuda::allocate(kLtWorkspaceBytes, "cuBLASLt workspace");
      if (!ws)
        s.cublasLtError = llvm::toString(ws.takeError());
      else
        b.workspace = *ws;
    }
  }
  if (!s.cublasLtError.empty()) {
    recordError(llvm::Twine(op) + ": " + s.cublasLtError);
    return nullptr;
  }
  return &s.blasLt;
}

/// The FP8 GEMM of a linear layer: C[m×n] (row-major, strides cs0 and 1) = (accumulate ? C : 0)
/// + A·Bᵀ with A = X [m, k] row-major (FP8 codes of type aType, stride as0) and B = W [n, k]
/// row-major (bType, stride bs0), f32 accumulation, unscaled (the compiled code applies the
/// activation's and the weight rows' scales after the call). cuBLASLt is column-major and
/// takes FP8 only as "TN", which is exactly this: Cᵀ [n×m] = Wᵀᵀ·Xᵀ with W as its A
/// ([k, n] column-major, op T) and X as its B ([k, m], op N). Anything else is an error naming
/// the strides, never a copy.
void deviceGemmFp8(const char *op, int aType, const uint8_t *a, int64_t as0, int64_t as1,
                   bool transA, int bType, const uint8_t *b, int64_t bs0, int64_t bs1,
                   bool transB, float *c, int64_t cs0, int64_t cs1, int64_t m, int64_t n,
                   int64_t k, bool accumulate) {
  if (!usable() || m == 0 || n == 0 || k == 0)
    return;
  ++state().numGemms;
  std::optional<lorc::BlasView> va = lorc::blasView(m, k, as0, as1, transA);
  std::optional<lorc::BlasView> vb = lorc::blasView(k, n, bs0, bs1, transB);
  // A row-major (not transposed as a BLAS view), B stored [n, k] row-major (transposed), C
  // row-major: cuBLASLt's TN. The leading dimensions (bytes for FP8, 4 per f32 element of C)
  // and the pointers must be multiples of 16.
  int64_t ldc = n == 1 ? std::max<int64_t>(cs0, 1) : cs0;
  bool layout = va && !va->trans && vb && vb->trans && (cs1 == 1 || n == 1);
  bool aligned = layout && va->ld % 16 == 0 && vb->ld % 16 == 0 && (ldc * 4) % 16 == 0 &&
                 reinterpret_cast<uintptr_t>(a) % 16 == 0 &&
                 reinterpret_cast<uintptr_t>(b) % 16 == 0 &&
                 reinterpret_cast<uintptr_t>(c) % 16 == 0;
  if (!aligned) {
    recordError(llvm::formatv("{0}: [M={1}, N={2}, K={3}]: cuBLASLt's FP8 GEMM needs A [M, K] "
                              "and B [N, K] row-major and C [M, N] row-major, with leading "
                              "dimensions and pointers 16-byte aligned; got strides A({4},{5}) "
                              "B({6},{7}) C({8},{9}) (transA {10}, transB {11})",
                              op, m, n, k, as0, as1, bs0, bs1, cs0, cs1, int(transA),
                              int(transB))
                    .str());
    return;
  }
  CublasLt *lt = getCublasLt(op);
  if (!lt)
    return;
  // M (cuBLASLt's column count) a multiple of 16, as PyTorch's _scaled_mm and Transformer
  // Engine require of FP8 GEMMs: otherwise X is copied into M rounded up to 16 rows and C
  // computed in a padded buffer whose first M rows are copied back (rows are independent, so
  // the padding rows' contents do not matter).
  int64_t mGemm = (m + 15) / 16 * 16;
  const uint8_t *x = a;
  float *cGemm = c;
  int64_t ldx = va->ld, ldcGemm = ldc;
  void *xPad = nullptr, *cPad = nullptr;
  auto releasePadding = [&] {
    if (xPad)
      lorc::cuda::release(xPad);
    if (cPad)
      lorc::cuda::release(cPad);
  };
  if (mGemm != m) {
    if (va->ld != k || ldc != n) {
      recordError(llvm::formatv("{0}: [M={1}, N={2}, K={3}]: M is not a multiple of 16 and A "
                                "or C has padded rows (strides A({4},{5}) C({6},{7})): cannot "
                                "pad M for cuBLASLt's FP8 GEMM",
                                op, m, n, k, as0, as1, cs0, cs1)
                      .str());
      return;
    }
    llvm::Expected<void *> xp = lorc::cuda::allocate(size_t(mGemm * k), "FP8 GEMM padded A");
    if (!xp)
      return recordError(llvm::toString(xp.takeError()));
    xPad = *xp;
    llvm::Expected<void *> cp =
        lorc::cuda::allocate(size_t(mGemm * n) * sizeof(float), "FP8 GEMM padded C");
    if (!cp) {
      releasePadding();
      return recordError(llvm::toString(cp.takeError()));
    }
    cPad = *cp;
    State &s = state();
    auto dev = [](const void *p) { return reinterpret_cast<CUdeviceptr>(p); };
    if (!check(s.drv.cuMemcpyAsync(dev(xPad), dev(a), size_t(m * k), s.stream),
               llvm::Twine(op) + ": cuMemcpyAsync (A into its padded copy)") ||
        (accumulate &&
         !check(s.drv.cuMemcpyAsync(dev(cPad), dev(c), size_t(m * n) * sizeof(float), s.stream),
                llvm::Twine(op) + ": cuMemcpyAsync (C into its padded copy)"))) {
      releasePadding();
      return;
    }
    x = static_cast<const uint8_t *>(xPad);
    cGemm = static_cast<float *>(cPad);
    ldx = k;
    ldcGemm = n;
  }
  auto fail = [&](const char *call, int status) {
    releasePadding();
    recordError(llvm::formatv("{0}: cuBLASLt {1} for the FP8 GEMM [M={2}, N={3}, K={4}] "
                              "failed with status {5}",
                              op, call, m, n, k, status)
                    .str());
  };
  // Column-major problem: rows = n, cols = mGemm; cuBLASLt's A is W (type bType), its B is X.
  std::array<int64_t, 8> key{n, mGemm, k, vb->ld, ldx, ldcGemm, bType, aType};
  auto it = lt->plans.find(key);
  if (it == lt->plans.end()) {
    CublasLt::Plan plan;
    int opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
    if (int st = lt->cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F))
      return fail("cublasLtMatmulDescCreate", st);
    if (int st = lt->cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT,
                                                    sizeof opT))
      return fail("cublasLtMatmulDescSetAttribute(TRANSA)", st);
    if (int st = lt->cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN,
                                                    sizeof opN))
      return fail("cublasLtMatmulDescSetAttribute(TRANSB)", st);
    if (int st = lt->cublasLtMatrixLayoutCreate(&plan.a, bType, k, n, vb->ld))
      return fail("cublasLtMatrixLayoutCreate(A)", st);
    if (int st = lt->cublasLtMatrixLayoutCreate(&plan.b, aType, k, mGemm, ldx))
      return fail("cublasLtMatrixLayoutCreate(B)", st);
    if (int st = lt->cublasLtMatrixLayoutCreate(&plan.c, CUDA_R_32F, n, mGemm, ldcGemm))
      return fail("cublasLtMatrixLayoutCreate(C)", st);
    cublasLtMatmulPreference_t pref = nullptr;
    if (int st = lt->cublasLtMatmulPreferenceCreate(&pref))
      return fail("cublasLtMatmulPreferenceCreate", st);
    uint64_t wsBytes = kLtWorkspaceBytes;
    int st = lt->cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof wsBytes);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    if (st == 0)
      st = lt->cublasLtMatmulAlgoGetHeuristic(lt->lt, plan.desc, plan.a, plan.b, plan.c, plan.c,
                                              pref, 1, &result, &found);
    lt->cublasLtMatmulPreferenceDestroy(pref);
    if (st != 0)
      return fail("cublasLtMatmulAlgoGetHeuristic", st);
    if (found == 0)
      return fail("cublasLtMatmulAlgoGetHeuristic (no algorithm for these types and layout)",
                  lorc::cublaslt::kStatusNotSupported);
    plan.algo = result.algo;
    it = lt->plans.emplace(key, plan).first;
  }
  const CublasLt::Plan &plan = it->second;
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  if (int st = lt->cublasLtMatmul(lt->lt, plan.desc, &one, b, plan.a, x, plan.b, &beta, cGemm,
                                  plan.c, cGemm, plan.c, &plan.algo, lt->workspace,
                                  kLtWorkspaceBytes, state().stream))
    return fail("cublasLtMatmul", st);
  if (cPad) {
    State &s = state();
    check(s.drv.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(c), reinterpret_cast<CUdeviceptr>(cPad),
                              size_t(m * n) * sizeof(float), s.stream),
          llvm::Twine(op) + ": cuMemcpyAsync (C from its padded copy)");
  }
  releasePadding();
}

} // namespace

/// The device's default memory pool (which cuMemAllocAsync draws from) keeps what is freed
/// instead of returning it to the driver at every stream synchronisation (its default release
/// threshold, 0, does that): otherwise each forward pass maps its activations afresh. Measured
/// on an H200 before this: MiniLM batch 32 x 128 spent 3.6 ms of host time enqueueing 231
/// calls (15.5 µs each) and ran in 23 ms for 7.7 ms of GPU time (docs/CudaPipeline.md).
static CUresult keepPoolMemory(Driver &d, CUdevice device) {
  void *pool = nullptr;
  if (CUresult r = d.cuDeviceGetDefaultMemPool(&pool, device))
    return r;
  uint64_t threshold = UINT64_MAX;
  return d.cuMemPoolSetAttribute(pool, /*CU_MEMPOOL_ATTR_RELEASE_THRESHOLD=*/4, &threshold);
}

lorc::cuda::CallCounts lorc::cuda::callCounts() {
  return {state().numLaunches, state().numGemms, state().numDriverAllocations};
}

/// Whether this thread has made the context current (cuCtxSetCurrent once per thread).
static thread_local bool contextCurrent = false;

llvm::Error lorc::cuda::initialize() {
  State &s = state();
  if (contextCurrent) // initialised, and current on this thread: the common case, no lock
    return llvm::Error::success();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.tried) {
    s.tried = true;
    s.initError = loadDriver(s.drv);
    Driver &d = s.drv;
    int count = 0;
    if (s.initError.empty()) {
      if (CUresult r = d.cuInit(0))
        s.initError = "no CUDA driver/device: cuInit failed: " + errorName(r);
      else if (CUresult r = d.cuDeviceGetCount(&count))
        s.initError = "no CUDA device: cuDeviceGetCount failed: " + errorName(r);
      else if (count == 0)
        s.initError = "no CUDA device: the driver reports 0 devices";
      else if (CUresult r = d.cuDeviceGet(&s.device, 0))
        s.initError = "no CUDA device: cuDeviceGet(0) failed: " + errorName(r);
      else if (CUresult r = d.cuDevicePrimaryCtxRetain(&s.context, s.device))
        s.initError = "cuDevicePrimaryCtxRetain failed: " + errorName(r);
      else if (CUresult r = d.cuCtxSetCurrent(s.context))
        s.initError = "cuCtxSetCurrent failed: " + errorName(r);
      else if (CUresult r = d.cuStreamCreate(&s.stream, /*CU_STREAM_NON_BLOCKING=*/1))
        s.initError = "cuStreamCreate failed: " + errorName(r);
      else if (CUresult r = keepPoolMemory(d, s.device))
        s.initError = "cuMemPoolSetAttribute(RELEASE_THRESHOLD) failed: " + errorName(r);
    }
  } else if (s.initError.empty()) {
    s.drv.cuCtxSetCurrent(s.context); // the calling thread is a new one (see the check above)
  }
  contextCurrent = s.initError.empty();
  if (!s.initError.empty())
    return makeError(s.initError);
  return llvm::Error::success();
}

std::string lorc::cuda::deviceName() {
  char name[256] = {0};
  if (state().drv.cuDeviceGetName && state().drv.cuDeviceGetName(name, 255, state().device) == 0)
    return name;
  return "unknown CUDA device";
}

/// Returns every cached block to the driver's pool.
static void trimCache(State &s) {
  for (auto &[size, blocks] : s.cached)
    for (void *p : blocks)
      s.drv.cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(p), s.stream);
  s.cached.clear();
  s.cachedBytes = 0;
}

llvm::Expected<void *> lorc::cuda::allocate(size_t bytes, const char *what) {
  if (llvm::Error e = initialize())
    return std::move(e);
  State &s = state();
  size_t size = std::max<size_t>(bytes, 1);
  if (auto it = s.cached.find(size); it != s.cached.end() && !it->second.empty()) {
    void *p = it->second.back();
    it->second.pop_back();
    s.cachedBytes -= size;
    s.liveSizes[p] = size;
    return p;
  }
  CUdeviceptr p = 0;
  ++s.numDriverAllocations;
  CUresult r = s.drv.cuMemAllocAsync(&p, size, s.stream);
  if (r && s.cachedBytes) { // out of memory, perhaps only because of the cache
    trimCache(s);
    r = s.drv.cuMemAllocAsync(&p, size, s.stream);
  }
  if (r) {
    size_t freeBytes = 0, total = 0;
    s.drv.cuMemGetInfo(&freeBytes, &total);
    return makeError(llvm::formatv("{0}: cannot allocate {1} bytes of device memory ({2}); "
                                   "{3} of {4} bytes are free",
                                   what, bytes, errorName(r), freeBytes, total));
  }
  s.liveSizes[reinterpret_cast<void *>(p)] = size;
  return reinterpret_cast<void *>(p);
}

void lorc::cuda::release(void *devicePtr) {
  State &s = state();
  if (!devicePtr || !s.initError.empty() || !s.tried)
    return;
  auto it = s.liveSizes.find(devicePtr);
  if (it != s.liveSizes.end()) {
    size_t size = it->second;
    s.liveSizes.erase(it);
    if (s.cachedBytes + size <= kMaxCachedBytes) {
      s.cached[size].push_back(devicePtr);
      s.cachedBytes += size;
      return;
    }
  }
  check(s.drv.cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(devicePtr), s.stream),
        "cuMemFreeAsync");
}

static llvm::Error copy(void *dst, const void *src, size_t bytes, const char *what) {
  if (llvm::Error e = lorc::cuda::initialize())
    return e;
  State &s = state();
  if (CUresult r = s.drv.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                       reinterpret_cast<CUdeviceptr>(src), bytes, s.stream))
    return makeError(llvm::Twine(what) + ": cuMemcpyAsync of " + llvm::Twine(bytes) +
                     " bytes failed: " + errorName(r));
  return llvm::Error::success();
}

llvm::Error lorc::cuda::copyToDevice(void *dst, const void *src, size_t bytes, const char *what) {
  return copy(dst, src, bytes, what);
}

llvm::Error lorc::cuda::copyToHost(void *dst, const void *src, size_t bytes, const char *what) {
  return copy(dst, src, bytes, what);
}

llvm::Expected<void *> lorc::cuda::pinnedStaging(size_t bytes) {
  if (llvm::Error e = initialize())
    return std::move(e);
  State &s = state();
  if (bytes > s.pinnedBytes) {
    if (s.pinned) {
      s.drv.cuStreamSynchronize(s.stream);
      s.drv.cuMemFreeHost(s.pinned);
    }
    s.pinned = nullptr;
    s.pinnedBytes = 0;
    if (CUresult r = s.drv.cuMemAllocHost(&s.pinned, bytes))
      return makeError("cannot allocate " + llvm::Twine(bytes) +
                       " bytes of pinned host memory: " + errorName(r));
    s.pinnedBytes = bytes;
  }
  return s.pinned;
}

llvm::Error lorc::cuda::synchronize() {
  if (llvm::Error e = initialize())
    return e;
  State &s = state();
  check(s.drv.cuStreamSynchronize(s.stream), "cuStreamSynchronize (a kernel or GEMM failed)");
  std::string error = std::exchange(s.firstError, std::string());
  if (!error.empty())
    return makeError("CUDA: " + error);
  return llvm::Error::success();
}

// --- The host ABI of MLIR's gpu-to-llvm lowering (LLVM 22) --------------------------------
// Signatures as the lowering declares them (`declare ptr @mgpuModuleLoad(ptr, i64)`, ...).

#define LORC_EXPORT extern "C" __attribute__((visibility("default")))

LORC_EXPORT void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  if (!usable())
    return nullptr;
  CUmodule module = nullptr;
  check(state().drv.cuModuleLoadData(&module, data), "cuModuleLoadData (kernel fat binary)");
  return module;
}

LORC_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!usable())
    return nullptr;
  CUmodule module = nullptr;
  int options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(state().drv.cuModuleLoadDataEx(&module, data, 1, options, values),
        "cuModuleLoadDataEx (JIT of the kernels' PTX)");
  return module;
}

LORC_EXPORT void mgpuModuleUnload(void *module) {
  State &s = state();
  if (module && s.tried && s.initError.empty())
    s.drv.cuModuleUnload(static_cast<CUmodule>(module));
  // A module loaded later may reuse the address: forget this one's functions.
  for (auto it = s.functions.begin(); it != s.functions.end();)
    if (it->first.first == module)
      s.functions.erase(it++);
    else
      ++it;
}

LORC_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!usable())
    return nullptr;
  if (!module) {
    recordError(llvm::Twine("kernel ") + name + ": its module was not loaded");
    return nullptr;
  }
  State &s = state();
  if (auto it = s.functions.find({module, name}); it != s.functions.end())
    return it->second;
  CUfunction fn = nullptr;
  if (check(s.drv.cuModuleGetFunction(&fn, static_cast<CUmodule>(module), name),
            llvm::Twine("cuModuleGetFunction(") + name + ")"))
    s.functions[{module, name}] = fn;
  return fn;
}

LORC_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                                  int32_t smem, void * /*stream*/, void **params, void **extra,
                                  size_t /*paramsCount*/) {
  if (!usable() || !function)
    return;
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return; // an empty iteration space
  State &s = state();
  ++s.numLaunches;
  auto fn = static_cast<CUfunction>(function);
  if (gridY > 65535 || gridZ > 65535) {
    recordError(llvm::formatv("kernel {0}: grid [{1}, {2}, {3}] exceeds 65535 blocks in y or z "
                              "(a batch or sequence dimension too large for the block mapping)",
                              kernelName(fn), gridX, gridY, gridZ)
                    .str());
    return;
  }
  if (CUresult r = s.drv.cuLaunchKernel(fn, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                                        s.stream, params, extra))
    check(r, llvm::formatv("cuLaunchKernel(kernel {0}, grid [{1}, {2}, {3}], block [{4}, {5}, "
                           "{6}])",
                           kernelName(fn), gridX, gridY, gridZ, blockX, blockY, blockZ));
}

/// Every stream of compiled code is the runtime's one stream.
LORC_EXPORT void *mgpuStreamCreate() { return state().stream; }
LORC_EXPORT void mgpuStreamDestroy(void * /*stream*/) {}
/// Deferred to lorc::cuda::synchronize() at the end of the pass (see Cuda.h).
LORC_EXPORT void mgpuStreamSynchronize(void * /*stream*/) {}

LORC_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/, bool isHostShared) {
  if (!usable())
    return nullptr;
  if (isHostShared) {
    recordError("gpu.alloc host_shared is not supported by the lorc runtime");
    return nullptr;
  }
  llvm::Expected<void *> p = lorc::cuda::allocate(sizeBytes, "gpu.alloc in compiled code");
  if (!p) {
    recordError(llvm::toString(p.takeError()));
    return nullptr;
  }
  return *p;
}

LORC_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) { lorc::cuda::release(ptr); }

LORC_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void * /*stream*/) {
  if (!usable())
    return;
  State &s = state();
  check(s.drv.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                            reinterpret_cast<CUdeviceptr>(src), sizeBytes, s.stream),
        "cuMemcpyAsync (gpu.memcpy)");
}

// --- GEMMs (--lorc-dispatch-blas{library=cuda}) -------------------------------------------

template <int N> using MemRef = lorc::StridedMemRef<float, N>;
/// bf16 operands: the raw 16-bit patterns (upper half of the f32 bits, rounded to nearest even
/// by the compiled code's conversion kernel).
template <int N> using MemRefBf16 = lorc::StridedMemRef<uint16_t, N>;

namespace {
/// C += op(A)·op(B) on 2-D strided device memrefs; A is stored [k, m] when transA, B [n, k]
/// when transB (the contract of the CPU entry points, lib/Runtime/CpuKernels.cpp).
template <typename In>
void matmul(const char *op, lorc::StridedMemRef<In, 2> *a, lorc::StridedMemRef<In, 2> *b,
            MemRef<2> *c, int32_t transA, int32_t transB, int32_t accumulate) {
  int64_t m = c->sizes[0], n = c->sizes[1];
  int64_t k = transA ? a->sizes[0] : a->sizes[1];
  deviceGemm(op, precisionOf<In>, a->aligned + a->offset, a->strides[0], a->strides[1], transA,
             b->aligned + b->offset, b->strides[0], b->strides[1], transB,
             c->aligned + c->offset, c->strides[0], c->strides[1], m, n, k, accumulate != 0);
}

/// The batched form over the leading dimension of 3-D strided device memrefs.
template <typename In>
void batchMatmul(const char *op, lorc::StridedMemRef<In, 3> *a, lorc::StridedMemRef<In, 3> *b,
                 MemRef<3> *c, int32_t transA, int32_t transB, int32_t accumulate) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = transA ? a->sizes[1] : a->sizes[2];
  deviceGemm(op, precisionOf<In>, a->aligned + a->offset, a->strides[1], a->strides[2], transA,
             b->aligned + b->offset, b->strides[1], b->strides[2], transB,
             c->aligned + c->offset, c->strides[1], c->strides[2], m, n, k, accumulate != 0,
             batch, a->strides[0], b->strides[0], c->strides[0]);
}
} // namespace

/// The f32 forms: f32 A, B and C, cublasSgemm(StridedBatched). `accumulate` 0 is beta = 0 (C's
/// zero fill folded by --lorc-dispatch-blas), 1 beta = 1 (C += A·B).
LORC_EXPORT void _mlir_ciface_lorc_cuda_matmul_f32(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c,
                                                   int32_t transA, int32_t transB,
                                                   int32_t accumulate) {
  matmul("lorc_cuda_matmul_f32", a, b, c, transA, transB, accumulate);
}

LORC_EXPORT void _mlir_ciface_lorc_cuda_batch_matmul_f32(MemRef<3> *a, MemRef<3> *b,
                                                         MemRef<3> *c, int32_t transA,
                                                         int32_t transB, int32_t accumulate) {
  batchMatmul("lorc_cuda_batch_matmul_f32", a, b, c, transA, transB, accumulate);
}

/// The bf16 forms (--lorc-dispatch-blas{library=cuda precision=bf16}, or a bf16 layer of
/// --lorc-assign-precision): A and B bf16 (the compiled code rounds them from f32, nearest
/// even, in a generated kernel before the call), C f32, f32 accumulation: the rounding of the
/// CPU's lorc_cpu_(batch_)matmul_bf16.
LORC_EXPORT void _mlir_ciface_lorc_cuda_matmul_bf16(MemRefBf16<2> *a, MemRefBf16<2> *b,
                                                    MemRef<2> *c, int32_t transA,
                                                    int32_t transB, int32_t accumulate) {
  matmul("lorc_cuda_matmul_bf16", a, b, c, transA, transB, accumulate);
}

LORC_EXPORT void _mlir_ciface_lorc_cuda_batch_matmul_bf16(MemRefBf16<3> *a, MemRefBf16<3> *b,
                                                          MemRef<3> *c, int32_t transA,
                                                          int32_t transB, int32_t accumulate) {
  batchMatmul("lorc_cuda_batch_matmul_bf16", a, b, c, transA, transB, accumulate);
}

/// The FP8 forms (an FP8 layer of --lorc-assign-precision on the cuda target): A = X's codes
/// [m, k] (the compiled code's lorc.quantize), B = the weight's codes [n, k] (stored FP8 by
/// --lorc-narrow-weights), `_<A format>_<B format>`; C f32 = (accumulate ? C : 0) + A·Bᵀ,
/// unscaled, through cuBLASLt (deviceGemmFp8). E5M2 × E5M2 has no cuBLASLt kernel and no
/// entry point: such layers keep the emulation.
template <int N> using MemRefFp8 = lorc::StridedMemRef<uint8_t, N>;
static void matmulFp8(const char *op, int aType, MemRefFp8<2> *a, int bType, MemRefFp8<2> *b,
                      MemRef<2> *c, int32_t transA, int32_t transB, int32_t accumulate) {
  int64_t m = c->sizes[0], n = c->sizes[1];
  int64_t k = transA ? a->sizes[0] : a->sizes[1];
  deviceGemmFp8(op, aType, a->aligned + a->offset, a->strides[0], a->strides[1], transA, bType,
                b->aligned + b->offset, b->strides[0], b->strides[1], transB,
                c->aligned + c->offset, c->strides[0], c->strides[1], m, n, k, accumulate != 0);
}
#define LORC_CUDA_FP8_ENTRY(name, aType, bType)                                               \
  LORC_EXPORT void _mlir_ciface_##name(MemRefFp8<2> *a, MemRefFp8<2> *b, MemRef<2> *c,        \
                                       int32_t transA, int32_t transB, int32_t accumulate) {  \
    matmulFp8(#name, aType, a, bType, b, c, transA, transB, accumulate);                      \
  }
LORC_CUDA_FP8_ENTRY(lorc_cuda_matmul_fp8_e4m3_e4m3, CUDA_R_8F_E4M3, CUDA_R_8F_E4M3)
LORC_CUDA_FP8_ENTRY(lorc_cuda_matmul_fp8_e4m3_e5m2, CUDA_R_8F_E4M3, CUDA_R_8F_E5M2)
LORC_CUDA_FP8_ENTRY(lorc_cuda_matmul_fp8_e5m2_e4m3, CUDA_R_8F_E5M2, CUDA_R_8F_E4M3)
#undef LORC_CUDA_FP8_ENTRY
