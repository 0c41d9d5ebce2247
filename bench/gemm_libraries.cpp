//===- gemm_libraries.cpp - GEMM libraries on MiniLM's shapes (issue 9) ---===//
//
// Measures C[M×N] = A[M×K] · W[N×K]ᵀ, the form of every lorc.linear (PyTorch's weight layout), on
// all-MiniLM-L6-v2's shapes at batch 8 × seq 128 (M = 1024) and batch 1 × seq 16 (M = 16), plus
// attention's per-head batched products, with:
//   openblas      cblas_sgemm (Debian's libopenblas 0.3.21, pthreads)
//   blis          bli_sgemm (Debian's libblis 0.9.0; loaded with dlopen so that its own
//                 cblas_sgemm does not collide with OpenBLAS')
//   onednn        dnnl::matmul f32, weights reordered once into the primitive's preferred
//                 (blocked) layout, as lorc's runtime does at load
//   onednn-bf16   the same with bf16 weights (packed once) and bf16 activations converted on every
//                 call, f32 accumulation and output (avx512_bf16)
// Prints GFLOP/s (2·M·N·K / median time) per shape and library, the best library per shape, and
// the max relative error of each against OpenBLAS. Usage: lorc-bench-gemm-libraries [threads] [iters]
//
//===----------------------------------------------------------------------===//

#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

struct Shape {
  const char *name;
  int64_t batch, m, n, k;
  bool transB; // B stored [N, K] (a weight) rather than [K, N]
};

double medianMs(const std::function<void()> &fn, int iters) {
  fn(); // warm-up (and first-call packing)
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto s = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s)
                    .count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double maxRelErr(const std::vector<float> &x, const std::vector<float> &ref) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    scale = std::max(scale, std::fabs(double(ref[i])));
    err = std::max(err, std::fabs(double(x[i]) - ref[i]));
  }
  return err / std::max(scale, 1e-30);
}

// BLIS' typed API (blis.h: trans_t, 64-bit dim_t/inc_t), declared here because blis.h needs the
// OpenMP headers the clang build does not have.
enum BlisTrans : int { BLIS_NO_TRANSPOSE = 0 };
using BliSgemm = void (*)(BlisTrans, BlisTrans, int64_t m, int64_t n, int64_t k, const float *alpha,
                          const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                          int64_t csb, const float *beta, float *c, int64_t rsc, int64_t csc);

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  int iters = argc > 2 ? std::atoi(argv[2]) : 20;
  openblas_set_num_threads(threads);
  // oneDNN's threads are libgomp's (a dependency of libdnnl, so already loaded).
  if (auto ompSetNumThreads =
          reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads")))
    ompSetNumThreads(threads);

  // lorc's generated micro-kernels (bench/gemm_generated.sh), when built: C += A·B, B [K, N].
  const char *generatedPath = std::getenv("LORC_GENERATED_GEMM");
  void *generated = generatedPath ? dlopen(generatedPath, RTLD_NOW | RTLD_LOCAL) : nullptr;
  if (generatedPath && !generated)
    std::fprintf(stderr, "lorc-bench-gemm-libraries: %s: %s\n", generatedPath, dlerror());
  using GeneratedGemm = void *(*)(const float *, const float *, float *);

  void *blis = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
  auto bliSgemm = blis ? reinterpret_cast<BliSgemm>(dlsym(blis, "bli_sgemm")) : nullptr;
  if (auto setThreads = blis ? reinterpret_cast<void (*)(int64_t)>(
                                   dlsym(blis, "bli_thread_set_num_threads"))
                             : nullptr)
    setThreads(threads);

  const Shape shapes[] = {
      {"qkv (fused)   8x128", 1, 1024, 1152, 384, true},
      {"query/out     8x128", 1, 1024, 384, 384, true},
      {"ffn up        8x128", 1, 1024, 1536, 384, true},
      {"ffn down      8x128", 1, 1024, 384, 1536, true},
      {"attn q.k^T    8x128", 96, 128, 128, 32, true},
      {"attn p.v      8x128", 96, 128, 32, 128, false},
      {"qkv (fused)   1x16", 1, 16, 1152, 384, true},
      {"query/out     1x16", 1, 16, 384, 384, true},
      {"ffn up        1x16", 1, 16, 1536, 384, true},
      {"ffn down      1x16", 1, 16, 384, 1536, true},
  };
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;

  std::printf("threads %d, iterations %d, GFLOP/s (max rel. error vs openblas)\n", threads, iters);
  std::printf("%-22s%16s%16s%16s%16s%16s   best\n", "shape", "openblas", "blis", "onednn",
              "onednn-bf16", "lorc-gen");
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (const Shape &s : shapes) {
    int64_t b = s.batch, m = s.m, n = s.n, k = s.k;
    std::vector<float> a(b * m * k), w(b * n * k), ref(b * m * n), c(b * m * n);
    for (float &x : a)
      x = dist(rng);
    for (float &x : w)
      x = dist(rng);
    double gflop = 2.0 * b * m * n * k * 1e-9;
    int64_t ldb = s.transB ? k : n;

    auto runOpenblas = [&](std::vector<float> &out) {
      for (int64_t i = 0; i < b; ++i)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans, m, n, k,
                    1.0f, a.data() + i * m * k, k, w.data() + i * n * k, ldb, 0.0f,
                    out.data() + i * m * n, n);
    };
    struct Result {
      double gflops = 0, err = 0;
      bool ok = false;
    } res[5];
    res[0] = {gflop / medianMs([&] { runOpenblas(ref); }, iters) * 1e3, 0, true};

    if (bliSgemm) {
      float one = 1, zero = 0;
      auto run = [&] {
        for (int64_t i = 0; i < b; ++i)
          bliSgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, a.data() + i * m * k, k,
                   1, w.data() + i * n * k, s.transB ? 1 : n, s.transB ? k : 1, &zero,
                   c.data() + i * m * n, n, 1);
      };
      double ms = medianMs(run, iters);
      res[1] = {gflop / ms * 1e3, maxRelErr(c, ref), true};
    }

    for (int bf16 = 0; bf16 < 2; ++bf16) {
      dnnl::memory::dims aDims = {b, m, k}, wDims = {b, k, n}, cDims = {b, m, n};
      dt in = bf16 ? dt::bf16 : dt::f32;
      dnnl::memory::desc aUser(aDims, dt::f32, tag::abc), cMd(cDims, dt::f32, tag::abc);
      dnnl::memory::desc wUser(wDims, dt::f32, s.transB ? tag::acb : tag::abc);
      dnnl::matmul::desc desc(dnnl::memory::desc(aDims, in, tag::abc),
                              dnnl::memory::desc(wDims, in, tag::any), cMd);
      dnnl::matmul::primitive_desc pd;
      try {
        pd = dnnl::matmul::primitive_desc(desc, eng);
      } catch (const dnnl::error &) {
        continue;
      }
      dnnl::matmul mm(pd);
      dnnl::memory aMem(aUser, eng, a.data()), wMem(wUser, eng, w.data()),
          cMem(cMd, eng, c.data());
      dnnl::memory wPacked(pd.weights_desc(), eng);
      dnnl::reorder(wMem, wPacked).execute(strm, wMem, wPacked); // once, as at artifact load
      dnnl::memory aIn = bf16 ? dnnl::memory(pd.src_desc(), eng) : aMem;
      auto run = [&] {
        if (bf16)
          dnnl::reorder(aMem, aIn).execute(strm, aMem, aIn);
        mm.execute(strm, {{DNNL_ARG_SRC, aIn}, {DNNL_ARG_WEIGHTS, wPacked}, {DNNL_ARG_DST, cMem}});
        strm.wait();
      };
      double ms = medianMs(run, iters);
      res[2 + bf16] = {gflop / ms * 1e3, maxRelErr(c, ref), true};
    }

    // lorc-gen: one call per batch entry (single-threaded), C zeroed first (the kernel
    // accumulates), B transposed once beforehand when it is a weight [N, K].
    char symbol[64];
    std::snprintf(symbol, sizeof symbol, "gemm_%lldx%lldx%lld", (long long)m, (long long)n,
                  (long long)k);
    // Single-threaded kernels: timed only in a single-threaded run, so that a row compares
    // like with like (n/a otherwise).
    if (auto gen = generated && threads == 1
                       ? reinterpret_cast<GeneratedGemm>(dlsym(generated, symbol))
                       : nullptr) {
      std::vector<float> bkn(b * k * n);
      for (int64_t i = 0; i < b; ++i)
        for (int64_t r = 0; r < k; ++r)
          for (int64_t j = 0; j < n; ++j)
            bkn[i * k * n + r * n + j] =
                s.transB ? w[i * n * k + j * k + r] : w[i * k * n + r * n + j];
      auto run = [&] {
        std::fill(c.begin(), c.end(), 0.0f);
        for (int64_t i = 0; i < b; ++i)
          gen(a.data() + i * m * k, bkn.data() + i * k * n, c.data() + i * m * n);
      };
      double ms = medianMs(run, iters);
      res[4] = {gflop / ms * 1e3, maxRelErr(c, ref), true};
    }

    const char *names[] = {"openblas", "blis", "onednn", "onednn-bf16", "lorc-gen"};
    int best = 0;
    std::printf("%-22s", s.name);
    for (int i = 0; i < 5; ++i) {
      char cell[32] = "n/a";
      if (res[i].ok)
        std::snprintf(cell, sizeof cell, "%6.0f (%.0e)", res[i].gflops, res[i].err);
      std::printf("%16s", cell);
      if (i != 3 && res[i].ok && res[i].gflops > res[best].gflops)
        best = i;
    }
    std::printf("   %s (f32)\n", names[best]);
  }
  return 0;
}
