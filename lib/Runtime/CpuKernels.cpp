//===- CpuKernels.cpp - BLAS entry points called by compiled CPU code -----===//
//
// `--lorc-dispatch-blas` rewrites f32 linalg.matmul / linalg.batch_matmul into calls of these
// functions with the MLIR C interface (`_mlir_ciface_` + name, strided memref descriptors by
// pointer). Semantics are linalg's: C += op(A)·op(B), i.e. BLAS beta = 1. The GEMM itself is
// CpuGemm.cpp's (oneDNN, OpenBLAS fallback).
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Artifact.h"
#include "CpuGemm.h"
#include "lorc/Runtime/MemRef.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

namespace {

template <int N> using MemRef = lorc::StridedMemRef<float, N>;
/// A bf16 memref (raw bits): B of the `_bf16w` entry points, weights stored bf16.
template <int N> using Bf16MemRef = lorc::StridedMemRef<uint16_t, N>;

/// The logical (batch, row, column) strides of op(X) for X stored with `s` (batch stride 0
/// for 2-D operands); `bf16` for bf16 storage.
lorc::GemmOperand operand(const void *base, int64_t sb, int64_t s0, int64_t s1, bool trans,
                          bool bf16 = false) {
  lorc::GemmOperand x;
  x.data = base;
  x.strides[0] = sb;
  x.strides[1] = trans ? s1 : s0;
  x.strides[2] = trans ? s0 : s1;
  x.bf16 = bf16;
  return x;
}

/// C += op(A)·op(B) (then `epilogue`) for 2-D A and C and a B given as its operand.
void matmul2(MemRef<2> *a, const lorc::GemmOperand &b, MemRef<2> *c, int32_t transA,
             int32_t bIsParameter, lorc::GemmPrecision precision,
             const lorc::GemmEpilogue &epilogue) {
  int64_t m = c->sizes[0], n = c->sizes[1];
  int64_t k = transA ? a->sizes[0] : a->sizes[1];
  const int64_t cs[3] = {0, c->strides[0], c->strides[1]};
  lorc::cpuGemm(1, m, n, k,
                operand(a->aligned + a->offset, 0, a->strides[0], a->strides[1], transA), b,
                bIsParameter, c->aligned + c->offset, cs, precision, epilogue);
}

template <typename BMemRef>
void matmul2(MemRef<2> *a, BMemRef *b, MemRef<2> *c, int32_t transA, int32_t transB,
             int32_t bIsParameter, lorc::GemmPrecision precision,
             const lorc::GemmEpilogue &epilogue = {}) {
  constexpr bool bBf16 = std::is_same_v<BMemRef, Bf16MemRef<2>>;
  matmul2(a, operand(b->aligned + b->offset, 0, b->strides[0], b->strides[1], transB, bBf16), c,
          transA, bIsParameter, precision, epilogue);
}

/// C = act((accumulate ? C : 0) + op(A)·op(B) + bias) + residual; an absent bias or residual
/// is passed as an empty memref.
lorc::GemmEpilogue epilogueOf(MemRef<1> *bias, MemRef<2> *residual, int32_t accumulate,
                              int32_t activation) {
  lorc::GemmEpilogue e;
  e.accumulate = accumulate != 0;
  if (bias->sizes[0] > 0) {
    e.bias = bias->aligned + bias->offset;
    e.biasStride = bias->strides[0];
  }
  e.activation = static_cast<lorc::GemmActivation>(activation);
  if (residual->sizes[0] > 0 && residual->sizes[1] > 0) {
    e.residual = residual->aligned + residual->offset;
    e.residualStrides[0] = residual->strides[0];
    e.residualStrides[1] = residual->strides[1];
  }
  return e;
}

template <typename BMemRef>
void matmulEpilogue(MemRef<2> *a, BMemRef *b, MemRef<2> *c, MemRef<1> *bias,
                    MemRef<2> *residual, int32_t transA, int32_t transB, int32_t bIsParameter,
                    int32_t accumulate, int32_t activation, lorc::GemmPrecision precision) {
  matmul2(a, b, c, transA, transB, bIsParameter, precision,
          epilogueOf(bias, residual, accumulate, activation));
}

template <typename BMemRef>
void matmul3(MemRef<3> *a, BMemRef *b, MemRef<3> *c, int32_t transA, int32_t transB,
             int32_t bIsParameter, lorc::GemmPrecision precision) {
  constexpr bool bBf16 = std::is_same_v<BMemRef, Bf16MemRef<3>>;
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = transA ? a->sizes[1] : a->sizes[2];
  const int64_t cs[3] = {c->strides[0], c->strides[1], c->strides[2]};
  lorc::cpuGemm(
      batch, m, n, k,
      operand(a->aligned + a->offset, a->strides[0], a->strides[1], a->strides[2], transA),
      operand(b->aligned + b->offset, b->strides[0], b->strides[1], b->strides[2], transB,
              bBf16),
      bIsParameter, c->aligned + c->offset, cs, precision);
}

/// An FP8 memref (E4M3FN or E5M2 codes): W of the `_fp8w` entry points.
template <int N> using Fp8MemRef = lorc::StridedMemRef<uint8_t, N>;

} // namespace

// C += op(A)·op(B) on strided memrefs (lib/Runtime/CpuGemm.h); A is stored [k, m] when transA,
// B [n, k] when transB; bIsParameter: B is a view of the artifact's parameters (packed once).
// The bf16 forms round A and B to bf16 and accumulate in f32.
#define LORC_EXPORT extern "C" __attribute__((visibility("default"))) void
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_f32(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c,
                                             int32_t transA, int32_t transB,
                                             int32_t bIsParameter) {
  matmul2(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::F32);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_bf16(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c,
                                              int32_t transA, int32_t transB,
                                              int32_t bIsParameter) {
  matmul2(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::BF16);
}
// C = act((accumulate ? C : 0) + op(A)·op(B) + bias) + residual (CpuGemm.h's GemmEpilogue;
// activation 0 none, 1 GELU erf, 2 GELU tanh); bias [n] and residual [m, n] absent when empty.
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_epilogue_f32(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c,
                                                      MemRef<1> *bias, MemRef<2> *residual,
                                                      int32_t transA, int32_t transB,
                                                      int32_t bIsParameter, int32_t accumulate,
                                                      int32_t activation) {
  matmulEpilogue(a, b, c, bias, residual, transA, transB, bIsParameter, accumulate, activation,
                 lorc::GemmPrecision::F32);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_epilogue_bf16(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c,
                                                       MemRef<1> *bias, MemRef<2> *residual,
                                                       int32_t transA, int32_t transB,
                                                       int32_t bIsParameter, int32_t accumulate,
                                                       int32_t activation) {
  matmulEpilogue(a, b, c, bias, residual, transA, transB, bIsParameter, accumulate, activation,
                 lorc::GemmPrecision::BF16);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_batch_matmul_f32(MemRef<3> *a, MemRef<3> *b, MemRef<3> *c,
                                                   int32_t transA, int32_t transB,
                                                   int32_t bIsParameter) {
  matmul3(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::F32);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_batch_matmul_bf16(MemRef<3> *a, MemRef<3> *b, MemRef<3> *c,
                                                    int32_t transA, int32_t transB,
                                                    int32_t bIsParameter) {
  matmul3(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::BF16);
}
// The `_bf16w` forms: the bf16 GEMMs whose B is stored bf16 (the weights of a --precision=bf16
// artifact, narrowed at compile time by --lorc-narrow-weights), passed as raw bf16 bits.
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_bf16w(MemRef<2> *a, Bf16MemRef<2> *b, MemRef<2> *c,
                                               int32_t transA, int32_t transB,
                                               int32_t bIsParameter) {
  matmul2(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::BF16);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_epilogue_bf16w(MemRef<2> *a, Bf16MemRef<2> *b,
                                                        MemRef<2> *c, MemRef<1> *bias,
                                                        MemRef<2> *residual, int32_t transA,
                                                        int32_t transB, int32_t bIsParameter,
                                                        int32_t accumulate,
                                                        int32_t activation) {
  matmulEpilogue(a, b, c, bias, residual, transA, transB, bIsParameter, accumulate, activation,
                 lorc::GemmPrecision::BF16);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_batch_matmul_bf16w(MemRef<3> *a, Bf16MemRef<3> *b,
                                                     MemRef<3> *c, int32_t transA,
                                                     int32_t transB, int32_t bIsParameter) {
  matmul3(a, b, c, transA, transB, bIsParameter, lorc::GemmPrecision::BF16);
}
// The `_fp8w` forms: the f32 epilogue GEMM whose B is an FP8 layer's weight stored FP8 (codes
// [n, k] or [k, n], E4M3FN for `_fp8w` and E5M2 for `_fp8w_e5m2`, and f32 row scales,
// --lorc-narrow-weights), i.e. B = lorc.dequantize {axis = 0}; a plain C += A·B passes no bias
// or residual, accumulate = 1 and no activation. A parameter's B is decoded when it is packed,
// once, and only the packed copy is kept (the CPU emulation of an FP8 GEMM: the products of the
// dequantised values, f32 accumulation).
static void matmulEpilogueFp8(MemRef<2> *a, Fp8MemRef<2> *bq, MemRef<1> *bScales,
                              lorc::Fp8Kind kind, MemRef<2> *c, MemRef<1> *bias,
                              MemRef<2> *residual, int32_t transA, int32_t transB,
                              int32_t bIsParameter, int32_t accumulate, int32_t activation) {
  lorc::Fp8RowsOperand w{bq->aligned + bq->offset,
                         bq->sizes[0],
                         bq->sizes[1],
                         {bq->strides[0], bq->strides[1]},
                         bScales->aligned + bScales->offset,
                         bScales->strides[0],
                         kind};
  // B's values: W decoded dense row-major [rows, cols]. A parameter is decoded only when its
  // packed copy is made (cached under the codes' address) and the decode is not kept, so that
  // an FP8 layer holds its codes and one packed copy, not an f32 copy besides.
  std::vector<float> decoded;
  auto decode = [&]() -> const void * {
    if (decoded.empty())
      lorc::decodeFp8Rows(w, decoded);
    return decoded.data();
  };
  lorc::GemmOperand b = operand(nullptr, 0, w.cols, 1, transB);
  if (bIsParameter) {
    b.packKey = w.codes;
    b.packKeyScales = w.scales;
    b.packKeyFormat = static_cast<int32_t>(kind);
    b.materialize = decode;
  } else {
    b.data = decode();
  }
  matmul2(a, b, c, transA, bIsParameter, lorc::GemmPrecision::F32,
          epilogueOf(bias, residual, accumulate, activation));
}
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w(MemRef<2> *a, Fp8MemRef<2> *bq,
                                                       MemRef<1> *bScales, MemRef<2> *c,
                                                       MemRef<1> *bias, MemRef<2> *residual,
                                                       int32_t transA, int32_t transB,
                                                       int32_t bIsParameter, int32_t accumulate,
                                                       int32_t activation) {
  matmulEpilogueFp8(a, bq, bScales, lorc::Fp8Kind::E4M3FN, c, bias, residual, transA, transB,
                    bIsParameter, accumulate, activation);
}
LORC_EXPORT _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w_e5m2(
    MemRef<2> *a, Fp8MemRef<2> *bq, MemRef<1> *bScales, MemRef<2> *c, MemRef<1> *bias,
    MemRef<2> *residual, int32_t transA, int32_t transB, int32_t bIsParameter,
    int32_t accumulate, int32_t activation) {
  matmulEpilogueFp8(a, bq, bScales, lorc::Fp8Kind::E5M2, c, bias, residual, transA, transB,
                    bIsParameter, accumulate, activation);
}
// The FP8 × FP8 forms, the CPU twin of lorc_cuda_matmul_fp8_* (the `cuda-loops-cpu` target
// runs the CUDA pipeline's FP8 GEMMs through them): A and B FP8 codes, `_<A format>_<B
// format>`, C += op(A)·op(B) in f32, unscaled: both operands decoded exactly and multiplied
// by the f32 GEMM, the products and f32 accumulation of cuBLASLt's FP8 GEMM (in another
// summation order). The decodes are made per call (the twin checks numerics, not speed).
static std::vector<float> decodeFp8Matrix(const Fp8MemRef<2> *x, lorc::Fp8Kind kind) {
  // decodeFp8Rows with every row's scale 1: value(q) / 1 is value(q) exactly.
  static const float one = 1.0f;
  std::vector<float> out;
  lorc::decodeFp8Rows({x->aligned + x->offset,
                       x->sizes[0],
                       x->sizes[1],
                       {x->strides[0], x->strides[1]},
                       &one,
                       /*scaleStride=*/0,
                       kind},
                      out);
  return out;
}
static void matmulFp8(Fp8MemRef<2> *a, lorc::Fp8Kind aKind, Fp8MemRef<2> *b,
                      lorc::Fp8Kind bKind, MemRef<2> *c, int32_t transA, int32_t transB) {
  std::vector<float> da = decodeFp8Matrix(a, aKind), db = decodeFp8Matrix(b, bKind);
  MemRef<2> av{da.data(), da.data(), 0, {a->sizes[0], a->sizes[1]}, {a->sizes[1], 1}};
  matmul2(&av, operand(db.data(), 0, b->sizes[1], 1, transB), c, transA, /*bIsParameter=*/0,
          lorc::GemmPrecision::F32, lorc::GemmEpilogue{});
}
#define LORC_CPU_FP8_ENTRY(name, aKind, bKind)                                                \
  LORC_EXPORT _mlir_ciface_##name(Fp8MemRef<2> *a, Fp8MemRef<2> *b, MemRef<2> *c,             \
                                  int32_t transA, int32_t transB, int32_t /*bIsParameter*/) { \
    matmulFp8(a, lorc::Fp8Kind::aKind, b, lorc::Fp8Kind::bKind, c, transA, transB);           \
  }
LORC_CPU_FP8_ENTRY(lorc_cpu_matmul_fp8_e4m3_e4m3, E4M3FN, E4M3FN)
LORC_CPU_FP8_ENTRY(lorc_cpu_matmul_fp8_e4m3_e5m2, E4M3FN, E5M2)
LORC_CPU_FP8_ENTRY(lorc_cpu_matmul_fp8_e5m2_e4m3, E5M2, E4M3FN)
#undef LORC_CPU_FP8_ENTRY
// Read-ahead of the next chunk of a layer under a memory budget (`--lorc-dispatch-blas` emits
// it before each chunk's GEMM): asks the kernel to start reading the pages the view spans
// (madvise MADV_WILLNEED: asynchronous for a file mapping such as the weights), so that they
// load while the current chunk multiplies. A hint: failures are ignored. Off unless
// LORC_PREFETCH=1: on the 2-core development machine (virtio disk, ~1.3 GB/s) the page-fault
// read-around already hides a cold weights file and the advice cost 6% of a MiniLM run under
// 1 MiB, cold or warm (bench/chunked_prefetch.sh); it is for slower storage.
LORC_EXPORT _mlir_ciface_lorc_cpu_prefetch(MemRef<2> *v) {
  static const bool off = [] {
    const char *env = std::getenv("LORC_PREFETCH");
    return !env || !*env || std::strcmp(env, "0") == 0;
  }();
  if (off || v->sizes[0] <= 0 || v->sizes[1] <= 0)
    return;
  int64_t last = (v->sizes[0] - 1) * v->strides[0] + (v->sizes[1] - 1) * v->strides[1];
  if (last < 0)
    return; // negative strides: not a view lorc makes
  const char *begin = reinterpret_cast<const char *>(v->aligned + v->offset);
  const char *end = reinterpret_cast<const char *>(v->aligned + v->offset + last + 1);
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t first = reinterpret_cast<uintptr_t>(begin) & ~(page - 1);
  uintptr_t last_ = reinterpret_cast<uintptr_t>(end);
  // A [rows, K-chunk] view of a row-major [N, K] weight spans whole rows, so the K chunks of
  // one block of rows ask for the same pages: advise each range once.
  thread_local uintptr_t advisedFirst = 0, advisedEnd = 0;
  if (first >= advisedFirst && last_ <= advisedEnd)
    return;
  madvise(reinterpret_cast<void *>(first), last_ - first, MADV_WILLNEED);
  advisedFirst = first;
  advisedEnd = last_;
}
#undef LORC_EXPORT

static int cpuThreads = 0;

void lorc::setCpuThreads(int threads) {
  if (threads <= 0) { // the cores this process may run on
    // OpenMP's count first: with OMP_PROC_BIND set, libgomp pins the initial thread to one
    // place while it loads (before main), so the thread's own affinity mask shows one CPU
    // while omp_get_num_procs() still gives the mask the process started with.
    auto ompNumProcs = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_num_procs"));
    cpu_set_t set;
    threads = ompNumProcs ? ompNumProcs()
              : sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : 1;
    threads = std::max(threads, 1);
  }
  cpuThreads = threads;
  setGemmThreads(threads);
}

int lorc::getCpuThreads() { return cpuThreads; }

namespace {
/// MLIR's unranked memref (C interface): the rank and a pointer to a ranked descriptor
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
} // namespace

/// The strided copy that `finalize-memref-to-llvm` calls for `memref.copy` between buffers that
/// are not both contiguous (e.g. into a column block of a concatenation); MLIR's own lives in
/// libmlir_c_runner_utils (CRunnerUtils.cpp `memrefCopy`), which Debian ships but artifacts do
/// not link. Same contract: element size in bytes, source and destination of equal shape.
extern "C" __attribute__((visibility("default"))) void
memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  auto *s = static_cast<int64_t *>(src->descriptor);
  auto *d = static_cast<int64_t *>(dst->descriptor);
  auto *srcBase = reinterpret_cast<char *>(s[1]) + s[2] * elemSize;
  auto *dstBase = reinterpret_cast<char *>(d[1]) + d[2] * elemSize;
  const int64_t *sizes = s + 3, *srcStrides = s + 3 + rank, *dstStrides = d + 3 + rank;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  if (total == 0)
    return;
  // Rows that are contiguous on both sides are copied with one memcpy each.
  int64_t run = 1, loopRank = rank;
  if (rank > 0 && srcStrides[rank - 1] == 1 && dstStrides[rank - 1] == 1) {
    run = sizes[rank - 1];
    loopRank = rank - 1;
  }
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  int64_t srcOff = 0, dstOff = 0;
  for (int64_t n = 0; n < total / run; ++n) {
    std::memcpy(dstBase + dstOff * elemSize, srcBase + srcOff * elemSize,
                static_cast<size_t>(elemSize * run));
    for (int64_t axis = loopRank - 1; axis >= 0; --axis) {
      srcOff += srcStrides[axis];
      dstOff += dstStrides[axis];
      if (++index[axis] < sizes[axis])
        break;
      srcOff -= srcStrides[axis] * sizes[axis];
      dstOff -= dstStrides[axis] * sizes[axis];
      index[axis] = 0;
    }
  }
}
