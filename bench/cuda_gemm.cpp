//===- cuda_gemm.cpp - a linear's GEMM through lorc's CUDA runtime -----------------===//
//
// Times the GEMM a compiled lorc.linear calls on the CUDA target, through the same runtime entry
// points (`_mlir_ciface_lorc_cuda_matmul_{f32,bf16}`, lib/Runtime/Cuda.cpp) and the same
// layout: y[M, N] += x[M, K] · W[N, K]ᵀ, row-major device buffers, W transposed as a linear's
// weight; x and W f32, or bf16 for the bf16 entry point (rounded to nearest even here, as the
// compiled code's conversion kernels do before each call: their time is not included), y f32,
// written with beta = 0 (a linear whose C starts as zeros: accumulate 0), and for "bf16+=" also
// with beta = 1 (C += x·Wᵀ, a linear whose bias was broadcast into C first: C read and written),
// and "fp8": `_mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3` (an FP8 layer's GEMM: cuBLASLt on
// E4M3 codes of x·224 and W·224, f32 y unscaled, beta 0; issue 10). bench/cuda_gemm.sh runs it
// beside torch.matmul (and torch._scaled_mm for fp8) in the same process tree and prints the
// ratio (issue 6's goal for 4096³ bf16: ≥ 0.95 of torch).
//
//   lorc-bench-cuda-gemm M N K [ITERS]
//
// Prints one JSON object per precision: {"precision", "m", "n", "k", "ms", "tflops",
// "max_rel_err"} where ms is the mean over ITERS back-to-back calls (after 5 warm-ups) of
// wall time to stream completion, and max_rel_err compares 64 sampled outputs of one call
// against a double-precision host product of the same (for bf16: bf16-rounded) inputs.
// Needs a CUDA device; without one it prints the runtime's error and exits 2.
//
//===----------------------------------------------------------------------------===//

#include "lorc/Runtime/Cuda.h"
#include "lorc/Runtime/MemRef.h"
#include "lorc/Support/Fp8.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

using MemRef2 = lorc::StridedMemRef<float, 2>;
using MemRef2Bf16 = lorc::StridedMemRef<uint16_t, 2>;
extern "C" void _mlir_ciface_lorc_cuda_matmul_f32(MemRef2 *, MemRef2 *, MemRef2 *, int32_t,
                                                  int32_t, int32_t);
extern "C" void _mlir_ciface_lorc_cuda_matmul_bf16(MemRef2Bf16 *, MemRef2Bf16 *, MemRef2 *,
                                                   int32_t, int32_t, int32_t);
using MemRef2Fp8 = lorc::StridedMemRef<uint8_t, 2>;
extern "C" void _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(MemRef2Fp8 *, MemRef2Fp8 *,
                                                            MemRef2 *, int32_t, int32_t, int32_t);
/// The FP8 operands' scale: x and W in [-1, 1] become E4M3 codes of values in [-224, 224].
constexpr float kFp8Scale = 224.0f;

template <typename T> static lorc::StridedMemRef<T, 2> view(void *p, int64_t rows, int64_t cols) {
  T *f = static_cast<T *>(p);
  return lorc::StridedMemRef<T, 2>{f, f, 0, {rows, cols}, {cols, 1}};
}


static int fail(llvm::Error e) {
  std::fprintf(stderr, "lorc-bench-cuda-gemm: %s\n", llvm::toString(std::move(e)).c_str());
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: lorc-bench-cuda-gemm M N K [ITERS]\n");
    return 1;
  }
  int64_t m = std::atoll(argv[1]), n = std::atoll(argv[2]), k = std::atoll(argv[3]);
  int iters = argc > 4 ? std::atoi(argv[4]) : 50;
  if (m <= 0 || n <= 0 || k <= 0 || iters <= 0) {
    std::fprintf(stderr, "lorc-bench-cuda-gemm: M, N, K and ITERS must be positive\n");
    return 1;
  }
  if (llvm::Error e = lorc::cuda::initialize())
    return fail(std::move(e));
  std::fprintf(stderr, "device: %s\n", lorc::cuda::deviceName().c_str());
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> x(m * k), w(n * k), zero(m * n, 0.f), y(m * n);
  for (float &v : x)
    v = dist(rng);
  for (float &v : w)
    v = dist(rng);
  std::vector<uint16_t> x16(x.size()), w16(w.size());
  std::transform(x.begin(), x.end(), x16.begin(), lorc::toBf16Bits);
  std::transform(w.begin(), w.end(), w16.begin(), lorc::toBf16Bits);
  auto e4m3 = [](float v) { return lorc::fp8Encode(v * kFp8Scale, lorc::Fp8Kind::E4M3FN); };
  std::vector<uint8_t> x8(x.size()), w8(w.size());
  std::transform(x.begin(), x.end(), x8.begin(), e4m3);
  std::transform(w.begin(), w.end(), w8.begin(), e4m3);
  void *dx = nullptr, *dw = nullptr, *dx16 = nullptr, *dw16 = nullptr, *dx8 = nullptr,
       *dw8 = nullptr, *dy = nullptr;
  struct Buffer {
    void **ptr;
    const void *host;
    size_t bytes;
    const char *name;
  };
  for (Buffer buf : {Buffer{&dx, x.data(), x.size() * 4, "x"}, Buffer{&dw, w.data(), w.size() * 4, "W"},
                     Buffer{&dx16, x16.data(), x16.size() * 2, "x (bf16)"},
                     Buffer{&dw16, w16.data(), w16.size() * 2, "W (bf16)"},
                     Buffer{&dx8, x8.data(), x8.size(), "x (E4M3)"},
                     Buffer{&dw8, w8.data(), w8.size(), "W (E4M3)"},
                     Buffer{&dy, nullptr, zero.size() * 4, "y"}}) {
    auto d = lorc::cuda::allocate(buf.bytes, buf.name);
    if (!d)
      return fail(d.takeError());
    *buf.ptr = *d;
    if (buf.host)
      if (auto e = lorc::cuda::copyToDevice(*d, buf.host, buf.bytes, buf.name))
        return fail(std::move(e));
  }
  MemRef2 a = view<float>(dx, m, k), b = view<float>(dw, n, k), c = view<float>(dy, m, n);
  MemRef2Bf16 a16 = view<uint16_t>(dx16, m, k), b16 = view<uint16_t>(dw16, n, k);
  MemRef2Fp8 a8 = view<uint8_t>(dx8, m, k), b8 = view<uint8_t>(dw8, n, k);

  struct Variant {
    const char *name;
    std::function<void()> call;
    bool bf16, fp8 = false;
  };
  for (Variant v :
       {Variant{"f32", [&] { _mlir_ciface_lorc_cuda_matmul_f32(&a, &b, &c, 0, 1, 0); }, false},
        Variant{"bf16", [&] { _mlir_ciface_lorc_cuda_matmul_bf16(&a16, &b16, &c, 0, 1, 0); }, true},
        Variant{"bf16+=", [&] { _mlir_ciface_lorc_cuda_matmul_bf16(&a16, &b16, &c, 0, 1, 1); },
                true},
        Variant{"fp8",
                [&] { _mlir_ciface_lorc_cuda_matmul_fp8_e4m3_e4m3(&a8, &b8, &c, 0, 1, 0); },
                false, true}}) {
    // One checked call on a zeroed y.
    if (auto e = lorc::cuda::copyToDevice(dy, zero.data(), zero.size() * 4, "y"))
      return fail(std::move(e));
    v.call(); // y = x·Wᵀ (transA 0, transB 1; y += for "bf16+=", on zeros)
    if (auto e = lorc::cuda::copyToHost(y.data(), dy, y.size() * 4, "y"))
      return fail(std::move(e));
    if (auto e = lorc::cuda::synchronize())
      return fail(std::move(e));
    double maxRel = 0;
    std::mt19937 pick(7);
    for (int s = 0; s < 64; ++s) {
      int64_t i = pick() % m, j = pick() % n;
      double ref = 0, mag = 0;
      for (int64_t l = 0; l < k; ++l) {
        auto fp8 = [](uint8_t q) { return double(lorc::fp8Decode(q, lorc::Fp8Kind::E4M3FN)); };
        double p = v.fp8    ? fp8(x8[i * k + l]) * fp8(w8[j * k + l])
                   : v.bf16 ? double(lorc::bf16Round(x[i * k + l])) * lorc::bf16Round(w[j * k + l])
                            : double(x[i * k + l]) * w[j * k + l];
        ref += p;
        mag += std::fabs(p);
      }
      maxRel = std::max(maxRel, std::fabs(y[i * n + j] - ref) / std::max(mag, 1e-30));
    }
    for (int i = 0; i < 5; ++i)
      v.call();
    if (auto e = lorc::cuda::synchronize())
      return fail(std::move(e));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i)
      v.call();
    if (auto e = lorc::cuda::synchronize())
      return fail(std::move(e));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          start)
                    .count() /
                iters;
    std::printf("{\"precision\": \"%s\", \"m\": %lld, \"n\": %lld, \"k\": %lld, \"ms\": %.5f, "
                "\"tflops\": %.2f, \"max_rel_err\": %.3g}\n",
                v.name, (long long)m, (long long)n, (long long)k, ms,
                2.0 * m * n * k / (ms * 1e-3) / 1e12, maxRel);
  }
  for (void *p : {dx, dw, dx16, dw16, dx8, dw8, dy})
    lorc::cuda::release(p);
  return 0;
}
