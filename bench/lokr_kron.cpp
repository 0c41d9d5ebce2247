// LoKr side path on the CPU: y = x·ΔWᵀ with ΔW = kron(w1, w2), in = out = 4096, w1 [a, c] =
// [64, 64], w2 [b, d] = [64, 64] (LyCORIS factorization(4096, -1) = (64, 64)), for M tokens.
//   (a)  lorc's two-GEMM form, step for step as LorcToLinalg.cpp addSidePath lowers LoKr:
//        X [M, c·d] → [M·c, d]·w2ᵀ → [M, c, b] → transpose → [M·b, c]·w1ᵀ → [M, b, a] → transpose
//        → [M, a·b]; GEMMs with cblas_sgemm, transposes as plain loops.
//   (a') the same with w2 decomposed rank 8 (w2 = w2a [b, 8] · w2b [8, d]); lorc forms w2 with a
//        matmul first, then the same two GEMMs, so that is what is timed.
//   (b)  kron(w1, w2) materialised as a [4096, 4096] matrix (plain loops), then one cblas_sgemm;
//        the materialisation and the GEMM are timed apart and together.
// Both forms are checked to agree (max |Δy| / max |y| ≤ 1e-4). Scale/accumulate into the base
// GEMM's output (one elementwise pass over [M, 4096], the same for both) is left out.
// Build and run: bench/lokr_kron.sh. Usage: lokr_kron [REPS] [THREADS] [M...]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

extern "C" void openblas_set_num_threads(int num_threads);

namespace {

constexpr int A = 64, B = 64, C = 64, D = 64, R = 8; // w1 [A, C], w2 [B, D], w2 rank R
constexpr int N = A * B, K = C * D;                    // out, in

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// out[rows, cols] = lhs[rows, inner] · rhs[cols, inner]ᵀ (row-major, like linalg matmul_transpose_b).
void gemmTB(const float *lhs, const float *rhs, float *out, int rows, int cols, int inner) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, inner, 1.0f, lhs, inner, rhs,
              inner, 0.0f, out, cols);
}

/// dst[m, j, k] = src[m, k, j] for src [M, P, Q].
void swapLast(const float *src, float *dst, int m, int p, int q) {
  for (int i = 0; i < m; ++i) {
    const float *s = src + (size_t)i * p * q;
    float *d = dst + (size_t)i * p * q;
    for (int j = 0; j < q; ++j)
      for (int k = 0; k < p; ++k)
        d[(size_t)j * p + k] = s[(size_t)k * q + j];
  }
}

struct Buffers {
  std::vector<float> t, tT, u; // [M·c, b], [M·b, c], [M·b, a]
  explicit Buffers(int m) : t((size_t)m * C * B), tT(t.size()), u((size_t)m * B * A) {}
};

/// (a): y [M, a·b] = X·kron(w1, w2)ᵀ in lorc's two-GEMM form.
void lokrTwoGemm(const float *x, const float *w1, const float *w2, float *y, int m, Buffers &buf) {
  gemmTB(x, w2, buf.t.data(), m * C, B, D);           // [M·c, d]·w2ᵀ → [M·c, b]
  swapLast(buf.t.data(), buf.tT.data(), m, C, B);     // [M, c, b] → [M, b, c]
  gemmTB(buf.tT.data(), w1, buf.u.data(), m * B, A, C); // [M·b, c]·w1ᵀ → [M·b, a]
  swapLast(buf.u.data(), y, m, B, A);                 // [M, b, a] → [M, a, b] = [M, a·b]
}

/// kron(w1, w2) [a·b, c·d]: K[i·b + j, k·d + l] = w1[i, k]·w2[j, l].
void materializeKron(const float *w1, const float *w2, float *kr) {
  for (int i = 0; i < A; ++i)
    for (int j = 0; j < B; ++j) {
      float *row = kr + ((size_t)i * B + j) * K;
      for (int k = 0; k < C; ++k) {
        float s = w1[i * C + k];
        const float *w2r = w2 + (size_t)j * D;
        for (int l = 0; l < D; ++l)
          row[k * D + l] = s * w2r[l];
      }
    }
}

/// Display width of a UTF-8 string: the bytes that are not continuation bytes.
int utf8Width(const char *s) {
  int n = 0;
  for (; *s; ++s)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

double maxRelDiff(const std::vector<float> &got, const std::vector<float> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num = std::max(num, (double)std::fabs(got[i] - ref[i]));
    den = std::max(den, (double)std::fabs(ref[i]));
  }
  return num / den;
}

/// Median ms of `reps` calls after one warm-up call.
double timeIt(int reps, const std::function<void()> &f) {
  f();
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    f();
    ms.push_back(msSince(t0));
  }
  return median(ms);
}

} // namespace

int main(int argc, char **argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::vector<int> ms;
  for (int i = 3; i < argc; ++i)
    ms.push_back(std::atoi(argv[i]));
  if (ms.empty())
    ms = {128, 1024};
  if (reps < 1 || threads < 1) {
    std::fprintf(stderr, "usage: lokr_kron [REPS>=1] [THREADS>=1] [M...]\n");
    return 2;
  }
  openblas_set_num_threads(threads);

  std::mt19937 gen(0);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto randn = [&](size_t n, float sd) {
    std::vector<float> v(n);
    for (float &e : v)
      e = sd * nd(gen);
    return v;
  };
  std::vector<float> w1 = randn((size_t)A * C, 0.1f), w2 = randn((size_t)B * D, 0.2f);
  std::vector<float> w2a = randn((size_t)B * R, 0.2f), w2b = randn((size_t)R * D, 0.2f);
  std::vector<float> w2r((size_t)B * D); // w2a·w2b, formed in the timed loop of (a')
  std::vector<float> kr((size_t)N * K), krR((size_t)N * K);
  materializeKron(w1.data(), w2.data(), kr.data());
  {
    std::vector<float> tmp((size_t)B * D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, R, 1.0f, w2a.data(), R,
                w2b.data(), D, 0.0f, tmp.data(), D);
    materializeKron(w1.data(), tmp.data(), krR.data());
  }

  std::printf("LoKr y = x·kron(w1, w2)ᵀ, in = out = %d, w1 [%d, %d], w2 [%d, %d] (and w2 = "
              "[%d, %d]·[%d, %d]), %d BLAS threads, median of %d reps (+1 warm-up)\n",
              K, A, C, B, D, B, R, R, D, threads, reps);
  bool ok = true;
  for (int m : ms) {
    std::vector<float> x = randn((size_t)m * K, 1.0f);
    std::vector<float> ya((size_t)m * N), yaR((size_t)m * N), yb((size_t)m * N),
        ybR((size_t)m * N);
    Buffers buf(m);

    auto runA = [&] { lokrTwoGemm(x.data(), w1.data(), w2.data(), ya.data(), m, buf); };
    auto runAR = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, D, R, 1.0f, w2a.data(), R,
                  w2b.data(), D, 0.0f, w2r.data(), D);
      lokrTwoGemm(x.data(), w1.data(), w2r.data(), yaR.data(), m, buf);
    };
    auto runKron = [&] { materializeKron(w1.data(), w2.data(), kr.data()); };
    auto runGemm = [&] { gemmTB(x.data(), kr.data(), yb.data(), m, N, K); };
    auto runB = [&] { runKron(); runGemm(); };

    double tA = timeIt(reps, runA), tAR = timeIt(reps, runAR);
    double tKron = timeIt(reps, runKron), tGemm = timeIt(reps, runGemm), tB = timeIt(reps, runB);
    // Stage split of (a): the two GEMMs alone vs the two transposes alone.
    double tAGemms = timeIt(reps, [&] {
      gemmTB(x.data(), w2.data(), buf.t.data(), m * C, B, D);
      gemmTB(buf.tT.data(), w1.data(), buf.u.data(), m * B, A, C);
    });
    double tATrans = timeIt(reps, [&] {
      swapLast(buf.t.data(), buf.tT.data(), m, C, B);
      swapLast(buf.u.data(), ya.data(), m, B, A);
    });

    runA();
    runAR();
    gemmTB(x.data(), kr.data(), yb.data(), m, N, K);
    gemmTB(x.data(), krR.data(), ybR.data(), m, N, K);
    double dA = maxRelDiff(ya, yb), dAR = maxRelDiff(yaR, ybR);
    ok = ok && dA <= 1e-4 && dAR <= 1e-4;

    double fA = 2.0 * m * ((double)C * D * B + (double)B * C * A);
    double fAR = fA + 2.0 * B * R * D;
    double fKron = (double)N * K; // multiplies
    double fGemm = 2.0 * m * (double)N * K;
    auto row = [](const char *name, double flop, double ms, double vsA) {
      std::printf("  %s%*s %12.4f %11.3f %10.1f %10.2f\n", name, 46 - utf8Width(name), "",
                  flop / 1e9, ms, flop / ms / 1e6, vsA);
    };
    std::printf("\nM = %d tokens   check: max|Δy|/max|y| = %.2e (full w2), %.2e (rank-%d w2)  %s\n",
                m, dA, dAR, R, dA <= 1e-4 && dAR <= 1e-4 ? "OK" : "MISMATCH");
    std::printf("  %46s %12s %11s %10s %11s\n", "", "GFLOP", "median ms", "GFLOP/s", "× (a)");
    row("(a)  lorc two-GEMM (2 sgemm + 2 transposes)", fA, tA, 1.0);
    row("     of which 2 sgemm alone", fA, tAGemms, tAGemms / tA);
    row("     of which 2 transposes alone", 0, tATrans, tATrans / tA);
    row("(a') lorc two-GEMM, w2 rank 8 (w2a·w2b first)", fAR, tAR, tAR / tA);
    row("(b1) kron(w1, w2) materialisation [4096²]", fKron, tKron, tKron / tA);
    row("(b2) one sgemm x·ΔWᵀ, ΔW given", fGemm, tGemm, tGemm / tA);
    row("(b)  materialise + sgemm", fKron + fGemm, tB, tB / tA);
    std::printf("  FLOP ratio (b2)/(a) = %.0f×, (b)/(a) = %.0f×;  time ratio (b2)/(a) = %.1f×, "
                "(b)/(a) = %.1f×\n",
                fGemm / fA, (fGemm + fKron) / fA, tGemm / tA, tB / tA);
  }
  return ok ? 0 : 1;
}
