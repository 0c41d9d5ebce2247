//===- CpuKernels.cpp - BLAS entry points called by compiled CPU code -----===//
//
// `--lorc-dispatch-blas` rewrites f32 linalg.matmul / linalg.batch_matmul into calls of these
// functions with the MLIR C interface (`_mlir_ciface_` + name, strided memref descriptors by
// pointer). Semantics are linalg's: C += op(A)·op(B), i.e. BLAS beta = 1.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Artifact.h"
#include "BlasLayout.h"

#include <cblas.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

template <int N> using MemRef = lorc::StridedMemRef<float, N>;

/// A matrix operand as BLAS wants it: row-major with a leading dimension, possibly transposed.
struct BlasOperand {
  const float *data;
  bool trans;
  int64_t ld;
  std::vector<float> copy; // when the strides fit neither layout
};

/// Describes the logical matrix op(X) (rows × cols) stored in `x` with strides (s0, s1).
BlasOperand asBlas(const float *base, int64_t rows, int64_t cols, int64_t s0, int64_t s1,
                   bool trans) {
  if (std::optional<lorc::BlasView> view = lorc::blasView(rows, cols, s0, s1, trans))
    return {base, view->trans, view->ld, {}};
  // Stored shape is (r, c) = trans ? (cols, rows) : (rows, cols); copy it row-major.
  int64_t r = trans ? cols : rows, c = trans ? rows : cols;
  BlasOperand op{nullptr, trans, std::max<int64_t>(c, 1), {}};
  op.copy.resize(static_cast<size_t>(r * c));
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      op.copy[i * c + j] = base[i * s0 + j * s1];
  op.data = op.copy.data();
  return op;
}

/// C[m×n] += op(A)[m×k] · op(B)[k×n]; C must have unit column stride.
void gemm(const float *a, int64_t as0, int64_t as1, bool transA, const float *b, int64_t bs0,
          int64_t bs1, bool transB, float *c, int64_t cs0, int64_t cs1, int64_t m, int64_t n,
          int64_t k) {
  if (m == 0 || n == 0 || k == 0)
    return;
  if (cs1 != 1) { // not expressible as row-major C: accumulate through a contiguous copy
    std::vector<float> tmp(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        tmp[i * n + j] = c[i * cs0 + j * cs1];
    gemm(a, as0, as1, transA, b, bs0, bs1, transB, tmp.data(), n, 1, m, n, k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * cs0 + j * cs1] = tmp[i * n + j];
    return;
  }
  BlasOperand A = asBlas(a, m, k, as0, as1, transA);
  BlasOperand B = asBlas(b, k, n, bs0, bs1, transB);
  cblas_sgemm(CblasRowMajor, A.trans ? CblasTrans : CblasNoTrans,
              B.trans ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, A.data, static_cast<int>(A.ld), B.data,
              static_cast<int>(B.ld), 1.0f, c, static_cast<int>(m <= 1 ? std::max<int64_t>(n, 1)
                                                                      : cs0));
}

} // namespace

extern "C" {

/// C += op(A)·op(B) on 2-D strided memrefs; A is stored [k, m] when transA, B [n, k] when transB.
__attribute__((visibility("default"))) void
_mlir_ciface_lorc_cpu_matmul_f32(MemRef<2> *a, MemRef<2> *b, MemRef<2> *c, int32_t transA,
                                 int32_t transB) {
  int64_t m = c->sizes[0], n = c->sizes[1];
  int64_t k = transA ? a->sizes[0] : a->sizes[1];
  gemm(a->aligned + a->offset, a->strides[0], a->strides[1], transA, b->aligned + b->offset,
       b->strides[0], b->strides[1], transB, c->aligned + c->offset, c->strides[0],
       c->strides[1], m, n, k);
}

/// The batched form over the leading dimension of 3-D strided memrefs.
__attribute__((visibility("default"))) void
_mlir_ciface_lorc_cpu_batch_matmul_f32(MemRef<3> *a, MemRef<3> *b, MemRef<3> *c, int32_t transA,
                                       int32_t transB) {
  int64_t batch = c->sizes[0], m = c->sizes[1], n = c->sizes[2];
  int64_t k = transA ? a->sizes[1] : a->sizes[2];
  for (int64_t i = 0; i < batch; ++i)
    gemm(a->aligned + a->offset + i * a->strides[0], a->strides[1], a->strides[2], transA,
         b->aligned + b->offset + i * b->strides[0], b->strides[1], b->strides[2], transB,
         c->aligned + c->offset + i * c->strides[0], c->strides[1], c->strides[2], m, n, k);
}

} // extern "C"

// OpenBLAS' thread control (declared in its cblas.h; declared here so other BLAS builds link).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

static int cpuThreads = 0;

void lorc::setCpuThreads(int threads) {
  cpuThreads = threads;
  if (openblas_set_num_threads && threads > 0)
    openblas_set_num_threads(threads);
}

int lorc::getCpuThreads() {
  if (openblas_get_num_threads)
    return openblas_get_num_threads();
  return cpuThreads;
}

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
