//===- CudaRuntimeTest.cpp - the lorc CUDA runtime without a GPU ----------===//
//
// The no-driver paths (a missing libcuda, the toolkit's stub) run in forked death-test
// processes, since the runtime initialises once per process. The rest loads FakeCuda.cpp's
// host-memory driver and cuBLAS, and checks the runtime's logic: sticky errors naming the call,
// out-of-memory messages, copies, and the mapping of row-major strided GEMMs (transposed
// operands, column-major C, batches) onto column-major cublasSgemm and, for the bf16 entry
// points, cublasGemmEx (CUBLAS_COMPUTE_32F_FAST_16BF) against plain loops.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Cuda.h"
#include "lorc/Support/NvptxTarget.h"

#include "lorc/Runtime/MemRef.h"
#include "lorc/Support/Fp8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

namespace {
template <int N> using MemRef = lorc::StridedMemRef<float, N>;
template <int N> using MemRefBf16 = lorc::StridedMemRef<uint16_t, N>;

/// The bf16 bit patterns of `v` rounded to nearest even (what the compiled code's conversion
/// kernel hands the _bf16 entry points).
std::vector<uint16_t> bf16Bits(const std::vector<float> &v) {
  std::vector<uint16_t> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), lorc::toBf16Bits);
  return out;
}
} // namespace

extern "C" void _mlir_ciface_lorc_cuda_matmul_f32(MemRef<2> *, MemRef<2> *, MemRef<2> *, int32_t,
                                                  int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cuda_batch_matmul_f32(MemRef<3> *, MemRef<3> *, MemRef<3> *,
                                                        int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cuda_matmul_bf16(MemRefBf16<2> *, MemRefBf16<2> *,
                                                   MemRef<2> *, int32_t, int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cuda_batch_matmul_bf16(MemRefBf16<3> *, MemRefBf16<3> *,
                                                         MemRef<3> *, int32_t, int32_t, int32_t);
template <int N> using MemRefFp8 = lorc::StridedMemRef<uint8_t, N>;
extern "C" void _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(MemRefFp8<2> *, MemRefFp8<2> *,
                                                            MemRef<2> *, int32_t, int32_t,
                                                            int32_t);
extern "C" void _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e5m2(MemRefFp8<2> *, MemRefFp8<2> *,
                                                            MemRef<2> *, int32_t, int32_t,
                                                            int32_t);
extern "C" void _mlir_ciface_lorc_cuda_matmul_fp8_e5m2_e4m3(MemRefFp8<2> *, MemRefFp8<2> *,
                                                            MemRef<2> *, int32_t, int32_t,
                                                            int32_t);
extern "C" void *mgpuModuleLoad(void *, size_t);
extern "C" void *mgpuMemAlloc(uint64_t, void *, bool);
extern "C" void *mgpuModuleGetFunction(void *, const char *);
extern "C" void mgpuLaunchKernel(void *, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t,
                                 intptr_t, int32_t, void *, void **, void **, size_t);

namespace {

std::string errorOf(llvm::Error e) { return e ? llvm::toString(std::move(e)) : std::string(); }

TEST(CudaRuntimeDeathTest, NoDriverIsACleanError) {
  EXPECT_EXIT(
      {
        setenv("LORC_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
        std::string e = errorOf(lorc::cuda::initialize());
        // Entry points called anyway do nothing and return null; the first use is recorded.
        bool inert = !mgpuModuleLoad(nullptr, 0) && !mgpuMemAlloc(64, nullptr, false);
        std::string sync = errorOf(lorc::cuda::synchronize());
        std::string alloc;
        if (auto p = lorc::cuda::allocate(16, "x"); !p)
          alloc = llvm::toString(p.takeError());
        fprintf(stderr, "[%s][%d][%s][%s]\n", e.c_str(), inert, sync.c_str(), alloc.c_str());
        std::exit(0);
      },
      testing::ExitedWithCode(0),
      "\\[no CUDA driver: cannot load /nonexistent/libcuda.so.1: .*\\]\\[1\\]\\[no CUDA "
      "driver: .*\\]\\[no CUDA driver: .*\\]");
}

/// An FP8 GEMM where cuBLASLt cannot be used (a driver and cuBLAS, $LORC_CUBLASLT missing): one
/// error naming the entry point and the library, no crash. Run in a forked process (the runtime
/// loads cuBLASLt once); prints "[init error][first error]" and exits 0.
[[noreturn]] void fp8GemmWithoutCublasLt() {
  setenv("LORC_CUDA_DRIVER", LORC_FAKE_CUDA, 1);
  setenv("LORC_CUBLAS", LORC_FAKE_CUDA, 1);
  setenv("LORC_CUBLASLT", "/nonexistent/libcublasLt.so.13", 1);
  std::string init = errorOf(lorc::cuda::initialize());
  std::vector<uint8_t> a(16 * 32, 0x38), b(8 * 32, 0x38);
  std::vector<float> c(16 * 8, 0.0f);
  MemRefFp8<2> A{a.data(), a.data(), 0, {16, 32}, {32, 1}};
  MemRefFp8<2> B{b.data(), b.data(), 0, {8, 32}, {32, 1}};
  MemRef<2> C{c.data(), c.data(), 0, {16, 8}, {8, 1}};
  _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(&A, &B, &C, 0, 1, 0);
  fprintf(stderr, "[%s][%s]\n", init.c_str(), errorOf(lorc::cuda::synchronize()).c_str());
  std::exit(0);
}

TEST(CudaRuntimeDeathTest, MissingCublasLtIsACleanError) {
  EXPECT_EXIT(fp8GemmWithoutCublasLt(), testing::ExitedWithCode(0),
              // Without the named file the runtime tries libcublasLt.so.13/.12: absent, or
              // (a toolkit on the loader path, no GPU) present but unable to initialise.
              "\\[\\]\\[CUDA: lorc_cuda_matmul_fp8_e4m3_e4m3: (cannot load cuBLASLt "
              "\\(libcublasLt.so.13/.12\\): .*|cublasLtCreate failed with status [0-9]+)\\]");
}

TEST(CudaRuntimeDeathTest, StubDriverIsNotADevice) {
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (access(stub, R_OK) != 0)
    GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  EXPECT_EXIT(
      {
        setenv("LORC_CUDA_DRIVER", stub, 1);
        fprintf(stderr, "[%s]\n", errorOf(lorc::cuda::initialize()).c_str());
        std::exit(0);
      },
      testing::ExitedWithCode(0),
      "\\[no CUDA driver/device: cuInit failed: CUDA_ERROR_STUB_LIBRARY.*\\]");
}

/// The fake driver and cuBLAS of FakeCuda.cpp, for the rest of this process.
class FakeCuda : public testing::Test {
protected:
  static void SetUpTestSuite() {
    setenv("LORC_CUDA_DRIVER", LORC_FAKE_CUDA, 1);
    setenv("LORC_CUBLAS", LORC_FAKE_CUDA, 1);
    setenv("LORC_CUBLASLT", LORC_FAKE_CUDA, 1);
    ASSERT_EQ(errorOf(lorc::cuda::initialize()), "");
  }
};

TEST_F(FakeCuda, DeviceNameAndCopies) {
  EXPECT_EQ(lorc::cuda::deviceName(), "lorc fake device");
  std::vector<float> host{1, 2, 3, 4}, back(4, 0);
  auto d = lorc::cuda::allocate(16, "buffer");
  ASSERT_TRUE(static_cast<bool>(d));
  ASSERT_EQ(errorOf(lorc::cuda::copyToDevice(*d, host.data(), 16, "up")), "");
  ASSERT_EQ(errorOf(lorc::cuda::copyToHost(back.data(), *d, 16, "down")), "");
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()), "");
  EXPECT_EQ(back, host);
  lorc::cuda::release(*d);
}

TEST_F(FakeCuda, OutOfMemoryNamesTheSizes) {
  auto d = lorc::cuda::allocate(size_t(1) << 41, "activations");
  ASSERT_FALSE(static_cast<bool>(d));
  EXPECT_EQ(llvm::toString(d.takeError()),
            "activations: cannot allocate 2199023255552 bytes of device memory "
            "(CUDA_ERROR_OUT_OF_MEMORY); 1073741824 of 2147483648 bytes are free");
}

/// Released blocks are handed out again for the same size (the runtime's caching allocator), and
/// an allocation the driver refuses is still an error naming the sizes after the cache is given
/// back.
TEST_F(FakeCuda, ReleasedBlocksAreReusedBySize) {
  auto a = lorc::cuda::allocate(1000, "a");
  ASSERT_TRUE(static_cast<bool>(a));
  lorc::cuda::release(*a);
  uint64_t driverAllocations = lorc::cuda::callCounts().driverAllocations;
  auto b = lorc::cuda::allocate(1000, "b");
  ASSERT_TRUE(static_cast<bool>(b));
  EXPECT_EQ(*b, *a);
  EXPECT_EQ(lorc::cuda::callCounts().driverAllocations, driverAllocations); // not the driver's
  auto c = lorc::cuda::allocate(1000, "c"); // none cached now: a new block
  auto d = lorc::cuda::allocate(2000, "d"); // another size: a new block
  ASSERT_TRUE(c && d);
  EXPECT_NE(*c, *b);
  EXPECT_NE(*d, *b);
  EXPECT_EQ(lorc::cuda::callCounts().driverAllocations, driverAllocations + 2);
  lorc::cuda::release(*b);
  lorc::cuda::release(*c);
  lorc::cuda::release(*d);
  auto huge = lorc::cuda::allocate(size_t(1) << 41, "huge");
  ASSERT_FALSE(static_cast<bool>(huge));
  EXPECT_NE(llvm::toString(huge.takeError()).find("huge: cannot allocate 2199023255552 bytes"),
            std::string::npos);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()), "");
}

TEST_F(FakeCuda, LaunchErrorsAreStickyAndNameTheKernel) {
  void *module = mgpuModuleLoad(reinterpret_cast<void *>(1), 0);
  void *fn = mgpuModuleGetFunction(module, "forward_kernel_7");
  mgpuLaunchKernel(fn, 2, 1, 1, 256, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  mgpuLaunchKernel(fn, 3, 1, 1, 256, 1, 1, 0, nullptr, nullptr, nullptr, 0); // ignored
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()),
            "CUDA: cuLaunchKernel(kernel forward_kernel_7, grid [2, 1, 1], block [256, 1, 1]): "
            "CUDA_ERROR_FAKE");
  // An empty grid launches nothing; y or z beyond the hardware limit is reported.
  mgpuLaunchKernel(fn, 0, 1, 1, 256, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()), "");
  mgpuLaunchKernel(fn, 1, 70000, 1, 256, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(errorOf(lorc::cuda::synchronize()).find("exceeds 65535 blocks"), std::string::npos);
}

/// C[m×n] (strides cs0, cs1) += op(A)·op(B), the reference; `bf16` rounds A and B to bf16
/// first (what the _bf16 entry points receive; f32 accumulation).
void reference(const std::vector<float> &a, int64_t as0, int64_t as1, bool ta,
               const std::vector<float> &b, int64_t bs0, int64_t bs1, bool tb,
               std::vector<float> &c, int64_t cs0, int64_t cs1, int64_t m, int64_t n,
               int64_t k, bool bf16 = false) {
  auto in = [bf16](float v) { return bf16 ? lorc::bf16Round(v) : v; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = 0;
      for (int64_t l = 0; l < k; ++l)
        s += in(ta ? a[l * as0 + i * as1] : a[i * as0 + l * as1]) *
             in(tb ? b[j * bs0 + l * bs1] : b[l * bs0 + j * bs1]);
      c[i * cs0 + j * cs1] += s;
    }
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>((i * 7) % 13) - 3.0f;
  return v;
}

/// Values that bf16 cannot hold exactly (8 significant bits), so that a bf16 GEMM that did not
/// round its inputs, or rounded C too, differs from the reference.
std::vector<float> fine(size_t n, float scale) {
  std::vector<float> v = ramp(n, scale);
  for (size_t i = 0; i < n; ++i)
    v[i] += 1.0f / 1024 + static_cast<float>(i % 5) / 4096;
  return v;
}

TEST_F(FakeCuda, GemmLayoutsMatchLoops) {
  const int64_t m = 5, n = 7, k = 3;
  for (int bf16 = 0; bf16 < 2; ++bf16)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int colMajorC = 0; colMajorC < 2; ++colMajorC)
          for (int colMajorB = 0; colMajorB < 2; ++colMajorB) {
            // A stored [m, k] (or [k, m] when transposed), row-major with a padded row stride.
            int64_t ar = ta ? k : m, ac = ta ? m : k, ald = ac + 2;
            std::vector<float> a = fine(ar * ald, 0.5f);
            // B stored [k, n] (or [n, k]), row- or column-major.
            int64_t br = tb ? n : k, bc = tb ? k : n;
            int64_t bs0 = colMajorB ? 1 : bc, bs1 = colMajorB ? br : 1;
            std::vector<float> b = fine(br * bc, 0.25f);
            int64_t cs0 = colMajorC ? 1 : n, cs1 = colMajorC ? m : 1;
            std::vector<float> c = fine(m * n, 1.0f), want = c;
            // accumulate 0 (beta 0: C's prior values are ignored) on half the combinations.
            int accumulate = (ta + tb + colMajorC + colMajorB) % 2;
            if (!accumulate)
              std::fill(want.begin(), want.end(), 0.0f);
            MemRef<2> A{a.data(), a.data(), 0, {ar, ac}, {ald, 1}};
            MemRef<2> B{b.data(), b.data(), 0, {br, bc}, {bs0, bs1}};
            MemRef<2> C{c.data(), c.data(), 0, {m, n}, {cs0, cs1}};
            std::vector<uint16_t> a16 = bf16Bits(a), b16 = bf16Bits(b);
            MemRefBf16<2> A16{a16.data(), a16.data(), 0, {ar, ac}, {ald, 1}};
            MemRefBf16<2> B16{b16.data(), b16.data(), 0, {br, bc}, {bs0, bs1}};
            if (bf16)
              _mlir_ciface_lorc_cuda_matmul_bf16(&A16, &B16, &C, ta, tb, accumulate);
            else
              _mlir_ciface_lorc_cuda_matmul_f32(&A, &B, &C, ta, tb, accumulate);
            ASSERT_EQ(errorOf(lorc::cuda::synchronize()), "");
            reference(a, ald, 1, ta, b, bs0, bs1, tb, want, cs0, cs1, m, n, k, bf16);
            for (size_t i = 0; i < c.size(); ++i)
              EXPECT_FLOAT_EQ(c[i], want[i])
                  << (bf16 ? "bf16" : "f32") << " transA " << ta << " transB " << tb
                  << " colMajorC " << colMajorC << " colMajorB " << colMajorB << " accumulate "
                  << accumulate << " at " << i;
          }
}

/// The bf16 entry points read A and B as bf16 (cuBLAS CUDA_R_16BF) and accumulate into f32 C.
TEST_F(FakeCuda, Bf16GemmReadsBf16Operands) {
  // 0x3F81 = 1 + 2^-7, 0x4040 = 3: read as f32 pairs they would be neither.
  std::vector<uint16_t> a{0x3F81}, b{0x4040};
  std::vector<float> c{0.5f};
  MemRefBf16<2> A{a.data(), a.data(), 0, {1, 1}, {1, 1}};
  MemRefBf16<2> B{b.data(), b.data(), 0, {1, 1}, {1, 1}};
  MemRef<2> C{c.data(), c.data(), 0, {1, 1}, {1, 1}};
  _mlir_ciface_lorc_cuda_matmul_bf16(&A, &B, &C, 0, 0, 1);
  ASSERT_EQ(errorOf(lorc::cuda::synchronize()), "");
  EXPECT_EQ(c[0], 0.5f + 3.0f * (1.0f + 1.0f / 128));
  EXPECT_EQ(lorc::cuda::callCounts().gemms > 0, true);
}

TEST_F(FakeCuda, BatchedGemmAndUnsupportedStrides) {
  const int64_t batch = 3, m = 4, n = 2, k = 5;
  std::vector<float> a = fine(batch * m * k, 0.5f), b = fine(batch * n * k, 0.25f);
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    std::vector<float> c(batch * m * n, 1.0f), want = c;
    MemRef<3> A{a.data(), a.data(), 0, {batch, m, k}, {m * k, k, 1}};
    MemRef<3> B{b.data(), b.data(), 0, {batch, n, k}, {n * k, k, 1}}; // C += A·Bᵀ (attention)
    MemRef<3> C{c.data(), c.data(), 0, {batch, m, n}, {m * n, n, 1}};
    std::vector<uint16_t> a16 = bf16Bits(a), b16 = bf16Bits(b);
    MemRefBf16<3> A16{a16.data(), a16.data(), 0, {batch, m, k}, {m * k, k, 1}};
    MemRefBf16<3> B16{b16.data(), b16.data(), 0, {batch, n, k}, {n * k, k, 1}};
    if (bf16)
      _mlir_ciface_lorc_cuda_batch_matmul_bf16(&A16, &B16, &C, 0, 1, 1);
    else
      _mlir_ciface_lorc_cuda_batch_matmul_f32(&A, &B, &C, 0, 1, 1);
    ASSERT_EQ(errorOf(lorc::cuda::synchronize()), "");
    for (int64_t i = 0; i < batch; ++i) {
      std::vector<float> ai(a.begin() + i * m * k, a.begin() + (i + 1) * m * k);
      std::vector<float> bi(b.begin() + i * n * k, b.begin() + (i + 1) * n * k);
      std::vector<float> ci(want.begin() + i * m * n, want.begin() + (i + 1) * m * n);
      reference(ai, k, 1, false, bi, k, 1, true, ci, n, 1, m, n, k, bf16);
      for (int64_t j = 0; j < m * n; ++j)
        EXPECT_FLOAT_EQ(c[i * m * n + j], ci[j]) << (bf16 ? "bf16" : "f32") << " batch " << i;
    }
  }
  std::vector<float> c(batch * m * n, 1.0f);
  // Neither stride of A is 1: cuBLAS cannot read it in place; an error, not a wrong result.
  MemRef<2> A2{a.data(), a.data(), 0, {m, k}, {2 * k, 2}};
  MemRef<2> B2{b.data(), b.data(), 0, {k, n}, {n, 1}};
  MemRef<2> C2{c.data(), c.data(), 0, {m, n}, {n, 1}};
  _mlir_ciface_lorc_cuda_matmul_f32(&A2, &B2, &C2, 0, 0, 1);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()),
            "CUDA: lorc_cuda_matmul_f32: operand strides A(10,2) B(2,1) C(2,1) fit no cuBLAS "
            "layout");
  std::vector<uint16_t> a16 = bf16Bits(a), b16 = bf16Bits(b);
  MemRefBf16<2> A16{a16.data(), a16.data(), 0, {m, k}, {2 * k, 2}};
  MemRefBf16<2> B16{b16.data(), b16.data(), 0, {k, n}, {n, 1}};
  _mlir_ciface_lorc_cuda_matmul_bf16(&A16, &B16, &C2, 0, 0, 1);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()),
            "CUDA: lorc_cuda_matmul_bf16: operand strides A(10,2) B(2,1) C(2,1) fit no cuBLAS "
            "layout");
}

/// FP8 codes spread over the format's range (every sign, subnormals, both ends), no NaN.
std::vector<uint8_t> fp8Codes(size_t n, lorc::Fp8Kind kind, unsigned seed) {
  std::vector<uint8_t> v(n);
  uint8_t nanLow = kind == lorc::Fp8Kind::E4M3FN ? 0x7F : 0x7C; // E5M2: 0x7C+ inf/NaN
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = static_cast<uint8_t>((i * 37 + seed * 11) % 256);
    if ((c & 0x7F) >= nanLow)
      c = static_cast<uint8_t>(c & 0x87); // a small value of the same sign instead
    v[i] = c;
  }
  return v;
}

/// The FP8 GEMM entry points (FP8 layers on the device: cuBLASLt): C [m, n] = (accumulate ? C
/// : 0) + A·Bᵀ on the exact values of A's and B's codes, A [m, k] and B [n, k] row-major,
/// for each format pair cuBLASLt has, with M padded to a multiple of 16 inside the runtime
/// when it is not one (m = 5) and a padded C row stride.
TEST_F(FakeCuda, Fp8GemmMatchesDecodedLoops) {
  using lorc::Fp8Kind;
  struct Pair {
    void (*fn)(MemRefFp8<2> *, MemRefFp8<2> *, MemRef<2> *, int32_t, int32_t, int32_t);
    Fp8Kind a, b;
    const char *name;
  } pairs[] = {
      {_mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3, Fp8Kind::E4M3FN, Fp8Kind::E4M3FN, "e4m3_e4m3"},
      {_mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e5m2, Fp8Kind::E4M3FN, Fp8Kind::E5M2, "e4m3_e5m2"},
      {_mlir_ciface_lorc_cuda_matmul_fp8_e5m2_e4m3, Fp8Kind::E5M2, Fp8Kind::E4M3FN, "e5m2_e4m3"}};
  const int64_t n = 8, k = 32;
  for (const Pair &p : pairs)
    for (int64_t m : {5, 16})
      for (int64_t ldc : {n, n + 4})
        for (int accumulate = 0; accumulate < 2; ++accumulate) {
          std::vector<uint8_t> a = fp8Codes(m * k, p.a, 1), b = fp8Codes(n * k, p.b, 2);
          std::vector<float> c(m * ldc, 0.75f), want = c;
          MemRefFp8<2> A{a.data(), a.data(), 0, {m, k}, {k, 1}};
          MemRefFp8<2> B{b.data(), b.data(), 0, {n, k}, {k, 1}};
          MemRef<2> C{c.data(), c.data(), 0, {m, n}, {ldc, 1}};
          if (m % 16 != 0 && ldc != n)
            continue; // padding M needs dense rows: an error, checked below
          p.fn(&A, &B, &C, 0, 1, accumulate);
          ASSERT_EQ(errorOf(lorc::cuda::synchronize()), "") << p.name << " m " << m;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double s = 0;
              for (int64_t l = 0; l < k; ++l)
                s += double(lorc::fp8Decode(a[i * k + l], p.a)) *
                     double(lorc::fp8Decode(b[j * k + l], p.b));
              double expect = (accumulate ? want[i * ldc + j] : 0.0) + s;
              EXPECT_NEAR(c[i * ldc + j], expect, 1e-5 * (1 + std::abs(expect)))
                  << p.name << " m " << m << " ldc " << ldc << " accumulate " << accumulate
                  << " at " << i << "," << j;
            }
          for (int64_t i = 0; i < m; ++i) // C's padding columns are not written
            for (int64_t j = n; j < ldc; ++j)
              EXPECT_EQ(c[i * ldc + j], 0.75f);
        }
}

/// What cuBLASLt's FP8 GEMM cannot take is an error naming the entry point, the shape and the
/// strides, never a silent copy or a wrong result.
TEST_F(FakeCuda, Fp8GemmLayoutErrors) {
  const int64_t m = 16, n = 8, k = 32;
  std::vector<uint8_t> a(m * k, 0x38), b(n * k, 0x38);
  std::vector<float> c(m * (n + 4), 0.0f);
  MemRefFp8<2> A{a.data(), a.data(), 0, {m, k}, {k, 1}};
  MemRefFp8<2> B{b.data(), b.data(), 0, {k, n}, {n, 1}}; // B stored [k, n]: not TN
  MemRef<2> C{c.data(), c.data(), 0, {m, n}, {n, 1}};
  _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(&A, &B, &C, 0, 0, 0);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()),
            "CUDA: lorc_cuda_matmul_fp8_e4m3_e4m3: [M=16, N=8, K=32]: cuBLASLt's FP8 GEMM needs "
            "A [M, K] and B [N, K] row-major and C [M, N] row-major, with leading dimensions "
            "and pointers 16-byte aligned; got strides A(32,1) B(8,1) C(8,1) (transA 0, transB 0)");
  // K = 24: A's and B's rows are not multiples of 16 bytes.
  MemRefFp8<2> A24{a.data(), a.data(), 0, {m, 24}, {24, 1}};
  MemRefFp8<2> B24{b.data(), b.data(), 0, {n, 24}, {24, 1}};
  _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(&A24, &B24, &C, 0, 1, 0);
  EXPECT_NE(errorOf(lorc::cuda::synchronize()).find("got strides A(24,1) B(24,1) C(8,1)"),
            std::string::npos);
  // M = 5 with C rows padded: the runtime cannot pad M in place.
  MemRefFp8<2> A5{a.data(), a.data(), 0, {5, k}, {k, 1}};
  MemRefFp8<2> Bt{b.data(), b.data(), 0, {n, k}, {k, 1}};
  MemRef<2> C12{c.data(), c.data(), 0, {5, n}, {n + 4, 1}};
  _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(&A5, &Bt, &C12, 0, 1, 0);
  EXPECT_EQ(errorOf(lorc::cuda::synchronize()),
            "CUDA: lorc_cuda_matmul_fp8_e4m3_e4m3: [M=5, N=8, K=32]: M is not a multiple of 16 "
            "and A or C has padded rows (strides A(32,1) C(12,1)): cannot pad M for cuBLASLt's "
            "FP8 GEMM");
}

TEST(NvptxTarget, PairsAndFp8) {
  auto parse = [](const char *spec) -> std::string {
    auto t = lorc::parseNvptxTarget(spec, "--target");
    if (!t)
      return llvm::toString(t.takeError());
    return t->chip + " " + std::to_string(t->ptxVersion);
  };
  EXPECT_EQ(parse(""), "sm_90 80");
  EXPECT_EQ(parse("sm_80"), "sm_80 80");
  EXPECT_EQ(parse("sm_80+ptx70"), "sm_80 70");
  EXPECT_EQ(parse("sm_100"), "sm_100 86");
  EXPECT_EQ(parse("sm_90+ptx60"),
            "--target: PTX 6.0 cannot target sm_90: it needs PTX 7.8 to 9.0");
  EXPECT_EQ(parse("sm_80+ptx91"),
            "--target: PTX 9.1 cannot target sm_80: it needs PTX 7.0 to 9.0");
  EXPECT_NE(parse("sm_52").find("unknown CUDA chip 'sm_52'"), std::string::npos);
  EXPECT_NE(parse("sm_90+81").find("expected '+ptxNN'"), std::string::npos);
  // LLVM's hasFP8ConversionSupport: (sm >= 89 and PTX >= 8.1) or (sm >= 90 and PTX >= 7.8).
  EXPECT_FALSE(lorc::hasFp8Conversions({"sm_89", 80}));
  EXPECT_TRUE(lorc::hasFp8Conversions({"sm_89", 81}));
  EXPECT_TRUE(lorc::hasFp8Conversions({"sm_90", 78}));
  EXPECT_TRUE(lorc::hasFp8Conversions({"sm_90a", 80}));
  EXPECT_FALSE(lorc::hasFp8Conversions({"sm_80", 90}));
}

} // namespace
