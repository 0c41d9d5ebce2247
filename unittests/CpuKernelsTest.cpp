//===- CpuKernelsTest.cpp - the runtime entry points compiled code calls --===//

#include "lorc/Runtime/MemRef.h"
#include "lorc/Support/Fp8.h"
#include "CpuGemm.h" // lib/Runtime: clearPackedWeights, chooseBf16Gemm
#include "CpuPeak.h" // lib/Runtime: measureVectorOpGflops

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

// The C entry points of lib/Runtime/CpuKernels.cpp, as compiled code declares them.
namespace {
// The bf16 tests check bf16 arithmetic wherever the CPU has VDPBF16PS, also where the runtime's
// default (auto) would run those GEMMs in f32 because VDPBF16PS is slow there (chooseBf16Gemm,
// tested below). The runtime reads the variable once, at its first bf16 GEMM.
const bool kBf16GemmsForced = setenv("LORC_CPU_BF16_GEMM", "on", 1) == 0;

template <int N> using MemRef = lorc::StridedMemRef<float, N>;
struct Unranked {
  int64_t rank;
  void *descriptor;
};
} // namespace

extern "C" void _mlir_ciface_lorc_cpu_matmul_f32(MemRef<2> *, MemRef<2> *, MemRef<2> *, int32_t,
                                                 int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_bf16(MemRef<2> *, MemRef<2> *, MemRef<2> *, int32_t,
                                                  int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_batch_matmul_f32(MemRef<3> *, MemRef<3> *, MemRef<3> *,
                                                       int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_epilogue_f32(MemRef<2> *, MemRef<2> *, MemRef<2> *,
                                                          lorc::StridedMemRef<float, 1> *,
                                                          MemRef<2> *, int32_t, int32_t, int32_t,
                                                          int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_epilogue_bf16(MemRef<2> *, MemRef<2> *, MemRef<2> *,
                                                           lorc::StridedMemRef<float, 1> *,
                                                           MemRef<2> *, int32_t, int32_t, int32_t,
                                                           int32_t, int32_t);
// The `_bf16w` forms: B stored bf16 (raw bits), as weights of a --precision=bf16 artifact.
template <int N> using Bf16MemRef = lorc::StridedMemRef<uint16_t, N>;
extern "C" void _mlir_ciface_lorc_cpu_matmul_bf16w(MemRef<2> *, Bf16MemRef<2> *, MemRef<2> *,
                                                   int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_epilogue_bf16w(MemRef<2> *, Bf16MemRef<2> *,
                                                            MemRef<2> *,
                                                            lorc::StridedMemRef<float, 1> *,
                                                            MemRef<2> *, int32_t, int32_t,
                                                            int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_batch_matmul_bf16(MemRef<3> *, MemRef<3> *, MemRef<3> *,
                                                        int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_batch_matmul_bf16w(MemRef<3> *, Bf16MemRef<3> *,
                                                         MemRef<3> *, int32_t, int32_t, int32_t);
template <int N> using Fp8MemRef = lorc::StridedMemRef<uint8_t, N>;
extern "C" void _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w(MemRef<2> *, Fp8MemRef<2> *,
                                                           MemRef<1> *, MemRef<2> *,
                                                           MemRef<1> *, MemRef<2> *, int32_t,
                                                           int32_t, int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w_e5m2(MemRef<2> *, Fp8MemRef<2> *,
                                                                MemRef<1> *, MemRef<2> *,
                                                                MemRef<1> *, MemRef<2> *, int32_t,
                                                                int32_t, int32_t, int32_t,
                                                                int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_fp8_e4m3_e4m3(Fp8MemRef<2> *, Fp8MemRef<2> *,
                                                           MemRef<2> *, int32_t, int32_t,
                                                           int32_t);
extern "C" void _mlir_ciface_lorc_cpu_matmul_fp8_e5m2_e4m3(Fp8MemRef<2> *, Fp8MemRef<2> *,
                                                           MemRef<2> *, int32_t, int32_t,
                                                           int32_t);
extern "C" void memrefCopy(int64_t, Unranked *, Unranked *);

namespace {

/// A row-major [rows, cols] view of `data` (optionally with a row stride and offset).
MemRef<2> view2(std::vector<float> &data, int64_t rows, int64_t cols, int64_t rowStride = -1,
                int64_t offset = 0) {
  return {data.data(), data.data(), offset, {rows, cols}, {rowStride < 0 ? cols : rowStride, 1}};
}

float at(const std::vector<float> &d, int64_t i, int64_t j, int64_t s0, int64_t s1) {
  return d[i * s0 + j * s1];
}

// C += op(A)·op(B) for every transpose combination, against a naive triple loop, with C
// accumulating (BLAS beta = 1) and A a strided view into a wider buffer.
TEST(CpuKernels, MatmulTransposesAndAccumulates) {
  const int64_t m = 5, n = 7, k = 3;
  for (int transA = 0; transA < 2; ++transA)
    for (int transB = 0; transB < 2; ++transB) {
      int64_t ar = transA ? k : m, ac = transA ? m : k;
      int64_t br = transB ? n : k, bc = transB ? k : n;
      std::vector<float> a(ar * (ac + 2)), b(br * bc), c(m * n, 1.0f);
      for (size_t i = 0; i < a.size(); ++i)
        a[i] = 0.25f * static_cast<float>(i % 11) - 1.0f;
      for (size_t i = 0; i < b.size(); ++i)
        b[i] = 0.5f * static_cast<float>(i % 7) - 1.5f;
      MemRef<2> A = view2(a, ar, ac, ac + 2, 1), B = view2(b, br, bc), C = view2(c, m, n);
      _mlir_ciface_lorc_cpu_matmul_f32(&A, &B, &C, transA, transB, 0);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          float expected = 1.0f;
          for (int64_t p = 0; p < k; ++p) {
            // A is the view at offset 1 with row stride ac + 2.
            float av = transA ? a[1 + p * (ac + 2) + i] : a[1 + i * (ac + 2) + p];
            float bv = transB ? at(b, j, p, bc, 1) : at(b, p, j, bc, 1);
            expected += av * bv;
          }
          EXPECT_NEAR(c[i * n + j], expected, 1e-5) << "transA=" << transA << " transB=" << transB
                                                    << " at (" << i << ", " << j << ")";
        }
    }
}

TEST(CpuKernels, BatchMatmulUsesBatchStrides) {
  const int64_t batch = 3, m = 2, n = 4, k = 3;
  std::vector<float> a(batch * m * k), b(batch * n * k), c(batch * m * n, 0.0f);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<float>(i % 5) - 2.0f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<float>(i % 3) - 1.0f;
  MemRef<3> A{a.data(), a.data(), 0, {batch, m, k}, {m * k, k, 1}};
  MemRef<3> B{b.data(), b.data(), 0, {batch, n, k}, {n * k, k, 1}}; // [n, k]: transposed
  MemRef<3> C{c.data(), c.data(), 0, {batch, m, n}, {m * n, n, 1}};
  _mlir_ciface_lorc_cpu_batch_matmul_f32(&A, &B, &C, 0, 1, 0);
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float expected = 0;
        for (int64_t p = 0; p < k; ++p)
          expected += a[t * m * k + i * k + p] * b[t * n * k + j * k + p];
        EXPECT_FLOAT_EQ(c[t * m * n + i * n + j], expected);
      }
}

/// Deterministic values in [-1, 1) that are not bf16-representable (so rounding shows).
std::vector<float> values(size_t n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (float &f : v) {
    x = x * 1664525u + 1013904223u;
    f = static_cast<float>(x >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return v;
}

float toBf16(float f) { // round to nearest even, as VCVTNEPS2BF16 (no NaNs here)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}

/// C = A·Bᵀ (+ C) in double, A [m, k], B [n, k], optionally rounding A and B to bf16.
std::vector<double> reference(const std::vector<float> &a, const std::vector<float> &b,
                              const std::vector<float> &c, int64_t m, int64_t n, int64_t k,
                              bool bf16) {
  std::vector<double> r(c.begin(), c.end());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        r[i * n + j] += double(bf16 ? toBf16(a[i * k + p]) : a[i * k + p]) *
                        double(bf16 ? toBf16(b[j * k + p]) : b[j * k + p]);
  return r;
}

double maxAbsDiff(const std::vector<float> &x, const std::vector<double> &ref) {
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i)
    d = std::max(d, std::fabs(double(x[i]) - ref[i]));
  return d;
}

// The epilogue entry points: C = act((accumulate ? C : 0) + A·Bᵀ + bias) + residual for every
// combination of accumulation, bias (strided), activation (none, GELU erf, GELU tanh) and
// residual (a strided view), f32 and bf16, B a parameter or not, against a double reference
// (GELU as torch.nn.GELU). oneDNN runs them as bias + post-ops; ctest also runs this test with
// LORC_GEMM_LIBRARY=openblas, where the epilogue is CpuGemm.cpp's own loop.
TEST(CpuKernels, EpilogueMatchesReference) {
  const int64_t m = 37, n = 24, k = 40, rld = n + 3;
  std::vector<float> a = values(m * k, 5), b = values(n * k, 6), c0 = values(m * n, 7);
  std::vector<float> biasData = values(2 * n, 8), residual = values(m * rld, 9);
  // bf16 products where the CPU has them and oneDNN runs (the OpenBLAS fallback is f32).
  const char *library = std::getenv("LORC_GEMM_LIBRARY");
  bool bf16Dot = __builtin_cpu_supports("avx512bf16") &&
                 !(library && std::strcmp(library, "openblas") == 0);
  for (int bf16 = 0; bf16 < 2; ++bf16)
    for (int accumulate = 0; accumulate < 2; ++accumulate)
      for (int withBias = 0; withBias < 2; ++withBias)
        for (int activation = 0; activation < 3; ++activation)
          for (int withResidual = 0; withResidual < 2; ++withResidual)
            for (int parameter = 0; parameter < 2; ++parameter) {
              std::vector<float> c = c0;
              MemRef<2> A = view2(a, m, k), B = view2(b, n, k), C = view2(c, m, n);
              std::vector<float> none;
              // bias: every other element of biasData (stride 2); empty when absent.
              lorc::StridedMemRef<float, 1> bias{biasData.data(), biasData.data(), 0,
                                                 {withBias ? n : 0}, {2}};
              MemRef<2> res = withResidual ? view2(residual, m, n, rld, 2)
                                           : MemRef<2>{nullptr, nullptr, 0, {0, 0}, {0, 1}};
              auto entry = bf16 ? _mlir_ciface_lorc_cpu_matmul_epilogue_bf16
                                : _mlir_ciface_lorc_cpu_matmul_epilogue_f32;
              entry(&A, &B, &C, &bias, &res, 0, 1, parameter, accumulate, activation);
              std::vector<float> start(m * n, 0.0f);
              if (accumulate)
                start = c0;
              std::vector<double> r = reference(a, b, start, m, n, k, bf16 && bf16Dot);
              for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) {
                  double &v = r[i * n + j];
                  if (withBias)
                    v += biasData[2 * j];
                  if (activation == 1)
                    v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                  else if (activation == 2)
                    v = 0.5 * v *
                        (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
                  if (withResidual)
                    v += residual[2 + i * rld + j];
                }
              EXPECT_LT(maxAbsDiff(c, r), bf16 ? 2e-4 : 2e-5)
                  << "bf16=" << bf16 << " accumulate=" << accumulate << " bias=" << withBias
                  << " activation=" << activation << " residual=" << withResidual
                  << " parameter=" << parameter;
            }
  lorc::clearPackedWeights();
}

// A parameter B (a weight, stored [n, k]) is packed on the first call and reused: a changed B
// is not seen until clearPackedWeights(), which the artifact calls after an adapter swap.
TEST(CpuKernels, ParameterOperandIsPackedOnceUntilCleared) {
  const int64_t m = 24, n = 72, k = 40;
  std::vector<float> a = values(m * k, 1), b = values(n * k, 2), c(m * n, 0.5f);
  std::vector<float> c0 = c;
  MemRef<2> A = view2(a, m, k), B = view2(b, n, k), C = view2(c, m, n);
  _mlir_ciface_lorc_cpu_matmul_f32(&A, &B, &C, 0, 1, 1);
  EXPECT_LT(maxAbsDiff(c, reference(a, b, c0, m, n, k, false)), 1e-4);

  std::vector<float> oldB = b;
  for (float &x : b)
    x = -x;
  c = c0;
  _mlir_ciface_lorc_cpu_matmul_f32(&A, &B, &C, 0, 1, 1);
  EXPECT_LT(maxAbsDiff(c, reference(a, oldB, c0, m, n, k, false)), 1e-4)
      << "the packed copy of the parameter is reused";

  lorc::clearPackedWeights();
  c = c0;
  _mlir_ciface_lorc_cpu_matmul_f32(&A, &B, &C, 0, 1, 1);
  EXPECT_LT(maxAbsDiff(c, reference(a, b, c0, m, n, k, false)), 1e-4)
      << "after clearPackedWeights the new values are packed";
  lorc::clearPackedWeights();
}

// bf16 GEMMs round both operands to bf16 and accumulate in f32: they match a bf16-rounded
// reference to accumulation error, and differ from the f32 product by the rounding.
TEST(CpuKernels, Bf16MatmulRoundsInputsAndAccumulatesInF32) {
  if (!__builtin_cpu_supports("avx512bf16"))
    GTEST_SKIP() << "no AVX512_BF16 on this CPU (bf16 GEMMs fall back to f32)";
  const int64_t m = 16, n = 48, k = 384;
  std::vector<float> a = values(m * k, 3), b = values(n * k, 4), c(m * n, 0.0f);
  for (int parameter = 0; parameter < 2; ++parameter) {
    std::fill(c.begin(), c.end(), 0.0f);
    MemRef<2> A = view2(a, m, k), B = view2(b, n, k), C = view2(c, m, n);
    _mlir_ciface_lorc_cpu_matmul_bf16(&A, &B, &C, 0, 1, parameter);
    std::vector<float> zero(m * n, 0.0f);
    EXPECT_LT(maxAbsDiff(c, reference(a, b, zero, m, n, k, true)), 1e-4)
        << "parameter=" << parameter;
    EXPECT_GT(maxAbsDiff(c, reference(a, b, zero, m, n, k, false)), 1e-3)
        << "the inputs were rounded to bf16";
  }
  lorc::clearPackedWeights();
}

// Weights stored bf16 (`_bf16w`: B passed as raw bf16 bits, the parameter buffer of a
// --precision=bf16 artifact) give the result of the `_bf16` entry points on the same values
// held as f32: those round B to bf16 anyway, so narrowing B at compile time loses nothing.
// Every form (plain, epilogue, batched), transposed and not, B a parameter (packed once) or not.
// Bitwise where oneDNN runs; the OpenBLAS fallback widens B back to f32 (ctest runs both).
TEST(CpuKernels, Bf16StoredWeightsMatchBf16Gemm) {
  const int64_t m = 19, n = 40, k = 72, batch = 3;
  std::vector<float> a = values(batch * m * k, 11), bf = values(batch * n * k, 12);
  std::vector<uint16_t> bits(bf.size());
  for (size_t i = 0; i < bf.size(); ++i) {
    bits[i] = lorc::toBf16Bits(bf[i]);
    bf[i] = lorc::fromBf16Bits(bits[i]); // the same values, held as f32
  }
  std::vector<float> biasData = values(n, 13), residual = values(m * n, 14);
  auto bits2 = [&](int64_t rows, int64_t cols) {
    return Bf16MemRef<2>{bits.data(), bits.data(), 0, {rows, cols}, {cols, 1}};
  };
  for (int parameter = 0; parameter < 2; ++parameter)
    for (int transB = 0; transB < 2; ++transB) {
      int64_t br = transB ? n : k, bc = transB ? k : n;
      std::vector<float> want(m * n, 0.25f), got(m * n, 0.25f);
      MemRef<2> A = view2(a, m, k), B = view2(bf, br, bc), C = view2(want, m, n);
      Bf16MemRef<2> Bw = bits2(br, bc);
      MemRef<2> Cw = view2(got, m, n);
      _mlir_ciface_lorc_cpu_matmul_bf16(&A, &B, &C, 0, transB, parameter);
      _mlir_ciface_lorc_cpu_matmul_bf16w(&A, &Bw, &Cw, 0, transB, parameter);
      EXPECT_LT(maxAbsDiff(got, std::vector<double>(want.begin(), want.end())), 1e-5)
          << "matmul parameter=" << parameter << " transB=" << transB;
      // Against the f32 product: bf16 rounding of A shows where the CPU has bf16 dot products.
      if (transB) {
        std::vector<float> start(m * n, 0.25f);
        EXPECT_LT(maxAbsDiff(got, reference(a, bf, start, m, n, k, false)), 5e-2)
            << "a GEMM, not garbage: parameter=" << parameter;
      }

      std::fill(want.begin(), want.end(), 0.0f);
      std::fill(got.begin(), got.end(), 0.0f);
      lorc::StridedMemRef<float, 1> bias{biasData.data(), biasData.data(), 0, {n}, {1}};
      MemRef<2> res = view2(residual, m, n);
      _mlir_ciface_lorc_cpu_matmul_epilogue_bf16(&A, &B, &C, &bias, &res, 0, transB, parameter,
                                                 0, 1);
      _mlir_ciface_lorc_cpu_matmul_epilogue_bf16w(&A, &Bw, &Cw, &bias, &res, 0, transB,
                                                  parameter, 0, 1);
      EXPECT_LT(maxAbsDiff(got, std::vector<double>(want.begin(), want.end())), 1e-5)
          << "epilogue parameter=" << parameter << " transB=" << transB;
    }
  // Batched, B [batch, n, k] used transposed.
  std::vector<float> want(batch * m * n, 0.0f), got(batch * m * n, 0.0f);
  MemRef<3> A{a.data(), a.data(), 0, {batch, m, k}, {m * k, k, 1}};
  MemRef<3> B{bf.data(), bf.data(), 0, {batch, n, k}, {n * k, k, 1}};
  Bf16MemRef<3> Bw{bits.data(), bits.data(), 0, {batch, n, k}, {n * k, k, 1}};
  MemRef<3> C{want.data(), want.data(), 0, {batch, m, n}, {m * n, n, 1}};
  MemRef<3> Cw{got.data(), got.data(), 0, {batch, m, n}, {m * n, n, 1}};
  _mlir_ciface_lorc_cpu_batch_matmul_bf16(&A, &B, &C, 0, 1, 0);
  _mlir_ciface_lorc_cpu_batch_matmul_bf16w(&A, &Bw, &Cw, 0, 1, 0);
  EXPECT_LT(maxAbsDiff(got, std::vector<double>(want.begin(), want.end())), 1e-5) << "batched";
  EXPECT_GT(maxAbsDiff(got, std::vector<double>(got.size(), 0.0)), 1e-2) << "not all zeros";
  lorc::clearPackedWeights();
}

// Weights stored FP8 (`_epilogue_fp8w`: E4M3 codes, `_epilogue_fp8w_e5m2`: E5M2 codes, and one
// f32 scale per stored row, an FP8 layer's weight under --lorc-narrow-weights) give exactly the
// `_f32` result on the dequantised values (value(q) / s, fp8FakeQuantRows: what the weight was
// before it was stored FP8), plain and with an epilogue, B [n, k] used transposed or [k, n] not,
// a parameter (decoded once, cached until clearPackedWeights) or not.
TEST(CpuKernels, Fp8StoredWeightsMatchDequantisedF32Gemm) {
  const int64_t m = 19, n = 40, k = 72;
  using Entry = void (*)(MemRef<2> *, Fp8MemRef<2> *, MemRef<1> *, MemRef<2> *, MemRef<1> *,
                         MemRef<2> *, int32_t, int32_t, int32_t, int32_t, int32_t);
  auto entryOf = [](lorc::Fp8Kind kind) -> Entry {
    return kind == lorc::Fp8Kind::E4M3FN ? _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w
                                         : _mlir_ciface_lorc_cpu_matmul_epilogue_fp8w_e5m2;
  };
  // The plain C += op(A)·op(B): no bias or residual (empty), accumulate, no activation.
  MemRef<1> noBias{nullptr, nullptr, 0, {0}, {1}};
  MemRef<2> noResidual{nullptr, nullptr, 0, {0, 0}, {0, 1}};
  auto plainFp8w = [&](lorc::Fp8Kind kind, MemRef<2> *a, Fp8MemRef<2> *bq, MemRef<1> *s,
                       MemRef<2> *c, int32_t transB, int32_t parameter) {
    entryOf(kind)(a, bq, s, c, &noBias, &noResidual, 0, transB, parameter, 1, 0);
  };
  std::vector<float> a = values(m * k, 21), w = values(n * k, 22);
  std::vector<float> biasData = values(n, 23), residual = values(m * n, 24);
  for (lorc::Fp8Kind kind : {lorc::Fp8Kind::E4M3FN, lorc::Fp8Kind::E5M2})
    for (int parameter = 0; parameter < 2; ++parameter)
      for (int transB = 0; transB < 2; ++transB) {
        std::string where = std::string(kind == lorc::Fp8Kind::E4M3FN ? "e4m3" : "e5m2") +
                            " parameter=" + std::to_string(parameter) +
                            " transB=" + std::to_string(transB);
        int64_t br = transB ? n : k, bc = transB ? k : n; // B as stored: rows carry the scales
        lorc::Fp8Rows q = lorc::fp8QuantizeRows(w.data(), br, bc, kind, 0);
        std::vector<float> dq = lorc::fp8FakeQuantRows(w.data(), br, bc, kind, 0);
        MemRef<2> A = view2(a, m, k), B = view2(dq, br, bc);
        Fp8MemRef<2> Bq{q.codes.data(), q.codes.data(), 0, {br, bc}, {bc, 1}};
        MemRef<1> S{q.scales.data(), q.scales.data(), 0, {br}, {1}};
        std::vector<float> want(m * n, 0.25f), got(m * n, 0.25f);
        MemRef<2> C = view2(want, m, n), Cq = view2(got, m, n);
        _mlir_ciface_lorc_cpu_matmul_f32(&A, &B, &C, 0, transB, parameter);
        plainFp8w(kind, &A, &Bq, &S, &Cq, transB, parameter);
        EXPECT_EQ(got, want) << "matmul " << where;
        EXPECT_GT(maxAbsDiff(got, std::vector<double>(got.size(), 0.25)), 1e-2) << "not a no-op";

        std::fill(want.begin(), want.end(), 0.0f);
        std::fill(got.begin(), got.end(), 0.0f);
        MemRef<1> bias{biasData.data(), biasData.data(), 0, {n}, {1}};
        MemRef<2> res = view2(residual, m, n);
        _mlir_ciface_lorc_cpu_matmul_epilogue_f32(&A, &B, &C, &bias, &res, 0, transB, parameter,
                                                  0, 1);
        entryOf(kind)(&A, &Bq, &S, &Cq, &bias, &res, 0, transB, parameter, 0, 1);
        EXPECT_EQ(got, want) << "epilogue " << where;
        // The reference's packed B is cached by the address of `dq`, which the next
        // iteration's may reuse.
        lorc::clearPackedWeights();
      }

  // A parameter is decoded when oneDNN packs it, once, and the packed copy is kept under the
  // codes' address (with the scales' and the format): new codes at the same address are seen
  // only after clearPackedWeights(), which the artifact calls when it rewrites parameters. The
  // OpenBLAS fallback packs nothing and decodes on every call.
  const char *library = std::getenv("LORC_GEMM_LIBRARY");
  bool packs = !(library && std::strcmp(library, "openblas") == 0);
  lorc::Fp8Rows q = lorc::fp8QuantizeRows(w.data(), n, k, lorc::Fp8Kind::E4M3FN, 0);
  MemRef<2> A = view2(a, m, k);
  Fp8MemRef<2> Bq{q.codes.data(), q.codes.data(), 0, {n, k}, {k, 1}};
  MemRef<1> S{q.scales.data(), q.scales.data(), 0, {n}, {1}};
  std::vector<float> first(m * n, 0.0f), cached(m * n, 0.0f), fresh(m * n, 0.0f);
  MemRef<2> C1 = view2(first, m, n), C2 = view2(cached, m, n), C3 = view2(fresh, m, n);
  plainFp8w(lorc::Fp8Kind::E4M3FN, &A, &Bq, &S, &C1, 1, 1);
  // The same bytes read as E5M2 are other values (some ±inf or NaN: E4M3's 0x7E is E5M2's
  // exponent 31): the cache tells the formats apart.
  std::vector<float> asE5m2(m * n, 0.0f);
  MemRef<2> C5 = view2(asE5m2, m, n);
  plainFp8w(lorc::Fp8Kind::E5M2, &A, &Bq, &S, &C5, 1, 1);
  EXPECT_NE(asE5m2, first) << "E5M2 codes decoded as the cached E4M3 weight";
  // The same codes with other scales (twice as large: every weight halved) are another weight.
  std::vector<float> doubled(q.scales.size()), halved(m * n, 0.0f);
  for (size_t i = 0; i < doubled.size(); ++i)
    doubled[i] = 2 * q.scales[i];
  MemRef<1> S2{doubled.data(), doubled.data(), 0, {n}, {1}};
  MemRef<2> CH = view2(halved, m, n);
  plainFp8w(lorc::Fp8Kind::E4M3FN, &A, &Bq, &S2, &CH, 1, 1);
  for (int64_t i = 0; i < m * n; ++i)
    EXPECT_EQ(halved[i], first[i] / 2) << "other scales: " << i;
  for (uint8_t &c : q.codes)
    c ^= 0x80; // negate every weight
  plainFp8w(lorc::Fp8Kind::E4M3FN, &A, &Bq, &S, &C2, 1, 1);
  if (packs) {
    EXPECT_EQ(cached, first) << "the packed parameter is reused";
  } else {
    for (int64_t i = 0; i < m * n; ++i)
      EXPECT_EQ(cached[i], -first[i]) << "the fallback decodes every call: " << i;
  }
  lorc::clearPackedWeights();
  plainFp8w(lorc::Fp8Kind::E4M3FN, &A, &Bq, &S, &C3, 1, 1);
  for (int64_t i = 0; i < m * n; ++i)
    EXPECT_EQ(fresh[i], -first[i]) << i;
  lorc::clearPackedWeights();
}

// Threads may run the same GEMM primitive at once (the tiled attention calls one per
// (batch, head) tile from an OpenMP loop): each gets its own scratchpad, so every concurrent
// result equals the one computed alone. Shapes of MiniLM's attention tiles, f32 and bf16,
// B a strided view (a head of the fused QKV output) that is not a parameter.
/// The CPU twin of the device's FP8 GEMMs (lorc_cpu_matmul_fp8_*: the `cuda-loops-cpu`
/// target): C += op(A)·op(B) on the exact values of FP8 codes, for transposed and strided
/// operands, and with the formats read as named (E5M2 A, E4M3 B).
TEST(CpuKernels, Fp8GemmOnCodesMatchesDecodedLoops) {
  const int64_t m = 3, n = 5, k = 7;
  for (int e5m2 = 0; e5m2 < 2; ++e5m2)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        lorc::Fp8Kind ka = e5m2 ? lorc::Fp8Kind::E5M2 : lorc::Fp8Kind::E4M3FN;
        // Codes of small finite values of both signs (no NaN or inf in either format).
        std::vector<uint8_t> a(2 * m * k), b(n * k);
        for (size_t i = 0; i < a.size(); ++i)
          a[i] = static_cast<uint8_t>(((i * 29) % 0x60) | (i % 3 == 0 ? 0x80 : 0));
        for (size_t i = 0; i < b.size(); ++i)
          b[i] = static_cast<uint8_t>(((i * 13) % 0x70) | (i % 4 == 1 ? 0x80 : 0));
        // A stored [m, k] (or [k, m]) with row stride twice its width; B dense.
        int64_t ar = ta ? k : m, ac = ta ? m : k;
        Fp8MemRef<2> A{a.data(), a.data(), 0, {ar, ac}, {2 * ac, 1}};
        int64_t br = tb ? n : k, bc = tb ? k : n;
        Fp8MemRef<2> B{b.data(), b.data(), 0, {br, bc}, {bc, 1}};
        std::vector<float> c(m * n, 0.5f);
        MemRef<2> C{c.data(), c.data(), 0, {m, n}, {n, 1}};
        if (e5m2)
          _mlir_ciface_lorc_cpu_matmul_fp8_e5m2_e4m3(&A, &B, &C, ta, tb, 1);
        else
          _mlir_ciface_lorc_cpu_matmul_fp8_e4m3_e4m3(&A, &B, &C, ta, tb, 1);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0.5;
            for (int64_t l = 0; l < k; ++l) {
              uint8_t qa = ta ? a[l * 2 * ac + i] : a[i * 2 * ac + l];
              uint8_t qb = tb ? b[j * bc + l] : b[l * bc + j];
              s += double(lorc::fp8Decode(qa, ka)) *
                   double(lorc::fp8Decode(qb, lorc::Fp8Kind::E4M3FN));
            }
            EXPECT_NEAR(c[i * n + j], s, 1e-5 * (1 + std::abs(s)))
                << "e5m2 " << e5m2 << " transA " << ta << " transB " << tb;
          }
      }
}

TEST(CpuKernels, ConcurrentCallsOfOnePrimitiveAgreeWithSerial) {
  const int64_t m = 128, n = 128, k = 32, ld = 1152;
  const int threads = 4, rounds = 20;
  bool bf16Cpu = __builtin_cpu_supports("avx512bf16");
  for (int bf16 = 0; bf16 < (bf16Cpu ? 2 : 1); ++bf16) {
    auto gemm = bf16 ? _mlir_ciface_lorc_cpu_matmul_bf16 : _mlir_ciface_lorc_cpu_matmul_f32;
    std::vector<std::vector<float>> a(threads), b(threads), alone(threads);
    for (int t = 0; t < threads; ++t) {
      a[t] = values(m * k, 10 + t);
      b[t] = values(n * ld, 20 + t);
      alone[t].assign(m * n, 0.0f);
      MemRef<2> A = view2(a[t], m, k), B = view2(b[t], n, k, ld, 32 * t),
                C = view2(alone[t], m, n);
      gemm(&A, &B, &C, 0, 1, 0);
    }
    std::vector<int> mismatches(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) {
          std::vector<float> c(m * n, 0.0f);
          MemRef<2> A = view2(a[t], m, k), B = view2(b[t], n, k, ld, 32 * t),
                    C = view2(c, m, n);
          gemm(&A, &B, &C, 0, 1, 0);
          mismatches[t] += std::memcmp(c.data(), alone[t].data(), c.size() * 4) != 0;
        }
      });
    for (std::thread &th : pool)
      th.join();
    for (int t = 0; t < threads; ++t)
      EXPECT_EQ(mismatches[t], 0) << "thread " << t << (bf16 ? ", bf16" : ", f32");
  }
}

// The strided copy behind memref.copy into a column block (a concatenation) and out of a
// transposed view.
// LORC_CPU_BF16_GEMM: auto, on, off; unset or empty is auto; anything else is auto with a warning.
TEST(CpuGemm, Bf16GemmModeReadsTheVariable) {
  ASSERT_TRUE(kBf16GemmsForced);
  std::string warning;
  EXPECT_EQ(lorc::parseBf16GemmMode(nullptr, warning), lorc::Bf16GemmMode::Auto);
  EXPECT_EQ(lorc::parseBf16GemmMode("", warning), lorc::Bf16GemmMode::Auto);
  EXPECT_EQ(lorc::parseBf16GemmMode("auto", warning), lorc::Bf16GemmMode::Auto);
  EXPECT_EQ(lorc::parseBf16GemmMode("on", warning), lorc::Bf16GemmMode::On);
  EXPECT_EQ(lorc::parseBf16GemmMode("off", warning), lorc::Bf16GemmMode::Off);
  EXPECT_TRUE(warning.empty()) << warning;
  EXPECT_EQ(lorc::parseBf16GemmMode("ON", warning), lorc::Bf16GemmMode::Auto);
  EXPECT_EQ(warning, "lorc: LORC_CPU_BF16_GEMM=ON: expected auto, on or off; using auto");
}

// The choice on the rates measured on the project's machines (per thread, GFLOP/s): Zen 4
// VDPBF16PS 228 vs FMA 124 (bf16 GEMMs pay), the Intel Xeon of 2026-12-06 82 vs 175 (they do
// not), and the CPUs without VDPBF16PS, where on cannot help.
TEST(CpuGemm, Bf16GemmsRunInBf16OnlyWhereTheDotProductPays) {
  using lorc::Bf16GemmMode;
  lorc::Bf16GemmChoice zen4 = lorc::chooseBf16Gemm(Bf16GemmMode::Auto, true, 228, 124);
  EXPECT_TRUE(zen4.bf16);
  EXPECT_EQ(zen4.message, "");
  lorc::Bf16GemmChoice xeon = lorc::chooseBf16Gemm(Bf16GemmMode::Auto, true, 82, 175);
  EXPECT_FALSE(xeon.bf16);
  EXPECT_EQ(xeon.message, "lorc: VDPBF16PS runs at 82 GFLOP/s per thread on this CPU against "
                          "175 for f32 FMA (bf16 GEMMs need 1.2x to pay): the artifact's bf16 "
                          "GEMMs run in f32 (LORC_CPU_BF16_GEMM=on forces bf16)");
  // The margin: equal rates do not pay for converting A on every call.
  EXPECT_FALSE(lorc::chooseBf16Gemm(Bf16GemmMode::Auto, true, 175, 175).bf16);
  EXPECT_TRUE(lorc::chooseBf16Gemm(Bf16GemmMode::Auto, true, 211, 175).bf16);
  EXPECT_TRUE(lorc::chooseBf16Gemm(Bf16GemmMode::On, true, 82, 175).bf16);
  lorc::Bf16GemmChoice off = lorc::chooseBf16Gemm(Bf16GemmMode::Off, true, 228, 124);
  EXPECT_FALSE(off.bf16);
  EXPECT_EQ(off.message, "") << "asked for, so nothing to explain";
  for (Bf16GemmMode mode : {Bf16GemmMode::Auto, Bf16GemmMode::On}) {
    lorc::Bf16GemmChoice none = lorc::chooseBf16Gemm(mode, false, 0, 0);
    EXPECT_FALSE(none.bf16);
    EXPECT_EQ(none.message,
              "lorc: this CPU has no AVX512_BF16: the artifact's bf16 GEMMs run in f32");
  }
}

// OpenBLAS' generic kernels on a CPU that has AVX2 are worth a line; any other kernel set, a CPU
// without AVX2 (where Prescott is right) or another BLAS (no core name) is not.
TEST(CpuGemm, OpenBlasGenericKernelsAreNoted) {
  EXPECT_EQ(lorc::openBlasCoreNote("Prescott", true),
            "lorc: OpenBLAS runs its generic Prescott kernels on this CPU, which it does not "
            "recognise; OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) selects faster "
            "ones");
  EXPECT_EQ(lorc::openBlasCoreNote("Prescott", false), "");
  EXPECT_EQ(lorc::openBlasCoreNote("SkylakeX", true), "");
  EXPECT_EQ(lorc::openBlasCoreNote("Cooperlake", true), "");
  EXPECT_EQ(lorc::openBlasCoreNote(nullptr, true), "");
}

// The chains measure a plausible rate for every instruction this CPU has (1 to 1000 GFLOP/s on
// one thread: a 5 GHz core issuing two 512-bit bf16 dot products per cycle makes 640).
TEST(CpuPeak, MeasuresEverySupportedInstruction) {
  int measured = 0;
  for (lorc::VectorOp op :
       {lorc::VectorOp::FmaF32Avx512, lorc::VectorOp::FmaF32Avx2, lorc::VectorOp::DotBf16}) {
    if (!lorc::cpuSupports(op))
      continue;
    double best = 0;
    for (int run = 0; run < 3; ++run)
      best = std::max(best, lorc::measureVectorOpGflops(op, 100'000));
    EXPECT_GT(best, 1.0) << "op " << static_cast<int>(op);
    EXPECT_LT(best, 1000.0) << "op " << static_cast<int>(op);
    ++measured;
  }
  EXPECT_GE(measured, 1) << "every x86-64 CPU lorc runs on has AVX2 + FMA";
}

TEST(CpuKernels, MemrefCopyHandlesStrides) {
  std::vector<float> src(2 * 3 * 4);
  for (size_t i = 0; i < src.size(); ++i)
    src[i] = static_cast<float>(i);
  std::vector<float> dst(2 * 3 * 6, -1.0f);
  // src [2, 3, 4] contiguous → dst[:, :, 2:6] of a [2, 3, 6] buffer.
  MemRef<3> s{src.data(), src.data(), 0, {2, 3, 4}, {12, 4, 1}};
  MemRef<3> d{dst.data(), dst.data(), 2, {2, 3, 4}, {18, 6, 1}};
  Unranked us{3, &s}, ud{3, &d};
  memrefCopy(sizeof(float), &us, &ud);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 6; ++k)
        EXPECT_EQ(dst[i * 18 + j * 6 + k], k < 2 ? -1.0f : src[i * 12 + j * 4 + (k - 2)]);
  // A transposed [4, 3] view of a [3, 4] matrix (no contiguous rows) into a contiguous buffer.
  std::vector<float> t(12, 0.0f);
  MemRef<2> ts{src.data(), src.data(), 0, {4, 3}, {1, 4}};
  MemRef<2> td{t.data(), t.data(), 0, {4, 3}, {3, 1}};
  Unranked uts{2, &ts}, utd{2, &td};
  memrefCopy(sizeof(float), &uts, &utd);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_EQ(t[i * 3 + j], src[j * 4 + i]);
}

} // namespace
