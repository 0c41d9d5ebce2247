//===- StreamingMatmul.cpp - file-to-file chunked matmul ------------------===//
//
// See include/lorc/Runtime/StreamingMatmul.h.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/StreamingMatmul.h"
#include "CpuGemm.h"

#include "llvm/ADT/Twine.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace lorc;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One step of the loop nest: the C block (i, j) and the K chunk k, with their extents.
struct Step {
  int64_t i, j, k, mi, nj, kk;
  bool loadA, loadB;
  unsigned slotA, slotB;
};

/// Moves rows [r0, r0 + rows) × columns [c0, c0 + cols) of `m` between the file and `buf`
/// (packed, ld = cols): pread when `write` is false, pwrite otherwise. Returns "" or the error,
/// naming `name`.
std::string transferTile(const FileMatrix &m, const char *name, bool write, int64_t r0,
                         int64_t c0, int64_t rows, int64_t cols, float *buf, uint64_t &bytes) {
  for (int64_t r = 0; r < rows; ++r) {
    auto *p = reinterpret_cast<char *>(buf + r * cols);
    size_t want = static_cast<size_t>(cols) * sizeof(float);
    uint64_t at = m.offset + (static_cast<uint64_t>(r0 + r) * m.cols + c0) * sizeof(float);
    while (want > 0) {
      ssize_t done = write ? ::pwrite(m.fd, p, want, static_cast<off_t>(at))
                           : ::pread(m.fd, p, want, static_cast<off_t>(at));
      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        return (llvm::Twine(name) + (write ? ": write" : ": read") + " of row " +
                llvm::Twine(r0 + r) + " failed: " +
                (done < 0 ? std::strerror(errno)
                          : (write ? "no progress" : "unexpected end of file")))
            .str();
      p += done;
      at += static_cast<uint64_t>(done);
      want -= static_cast<size_t>(done);
      bytes += static_cast<uint64_t>(done);
    }
  }
  return "";
}

/// The steps of the plan, each operand chunk loaded only when it differs from the previous
/// step's, alternating between two buffers when it changes at all.
std::vector<Step> schedule(int64_t m, int64_t n, int64_t k, const ChunkPlan &p, unsigned &slotsA,
                           unsigned &slotsB) {
  std::vector<Step> steps;
  for (int64_t i = 0; i < m; i += p.tileM)
    for (int64_t j = 0; j < n; j += p.tileN)
      for (int64_t kk = 0; kk < k; kk += p.tileK) {
        Step s{i, j, kk, std::min(p.tileM, m - i), std::min(p.tileN, n - j),
               std::min(p.tileK, k - kk), true, true, 0, 0};
        if (!steps.empty()) {
          const Step &prev = steps.back();
          s.loadA = prev.i != s.i || prev.k != s.k;
          s.loadB = prev.k != s.k || prev.j != s.j;
          s.slotA = s.loadA ? 1 - prev.slotA : prev.slotA;
          s.slotB = s.loadB ? 1 - prev.slotB : prev.slotB;
        }
        steps.push_back(s);
      }
  slotsA = slotsB = 1;
  for (const Step &s : steps) {
    slotsA = std::max(slotsA, s.slotA + 1);
    slotsB = std::max(slotsB, s.slotB + 1);
  }
  return steps;
}

} // namespace

llvm::Expected<StreamingStats> lorc::streamingMatmul(const FileMatrix &a, const FileMatrix &b,
                                                     const FileMatrix &c, const ChunkPlan &plan) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(std::make_error_code(std::errc::invalid_argument),
                                   "streaming matmul: " + msg);
  };
  int64_t m = a.rows, k = a.cols, n = b.cols;
  if (b.rows != k || c.rows != m || c.cols != n)
    return fail("shapes do not chain: A [" + llvm::Twine(a.rows) + ", " + llvm::Twine(a.cols) +
                "], B [" + llvm::Twine(b.rows) + ", " + llvm::Twine(b.cols) + "], C [" +
                llvm::Twine(c.rows) + ", " + llvm::Twine(c.cols) + "]");
  if (plan.tileM <= 0 || plan.tileN <= 0 || plan.tileK <= 0)
    return fail("chunk sizes must be positive");
  if (m <= 0 || n <= 0 || k <= 0)
    return StreamingStats{};

  unsigned slotsA, slotsB;
  std::vector<Step> steps = schedule(m, n, k, plan, slotsA, slotsB);
  size_t tileA = static_cast<size_t>(std::min(plan.tileM, m) * std::min(plan.tileK, k));
  size_t tileB = static_cast<size_t>(std::min(plan.tileK, k) * std::min(plan.tileN, n));
  size_t tileC = static_cast<size_t>(std::min(plan.tileM, m) * std::min(plan.tileN, n));
  std::vector<std::unique_ptr<float[]>> bufA, bufB;
  for (unsigned s = 0; s < slotsA; ++s)
    bufA.emplace_back(new float[tileA]);
  for (unsigned s = 0; s < slotsB; ++s)
    bufB.emplace_back(new float[tileB]);
  std::unique_ptr<float[]> bufC(new float[tileC]);

  StreamingStats stats;
  stats.bufferBytes = sizeof(float) * (slotsA * tileA + slotsB * tileB + tileC);
  stats.steps = static_cast<int64_t>(steps.size());
  auto start = Clock::now();

  std::mutex mu;
  std::condition_variable cv;
  size_t loaded = 0, computed = 0;
  bool stop = false;
  std::string error;

  std::thread loader([&] {
    for (size_t t = 0; t < steps.size(); ++t) {
      {
        std::unique_lock<std::mutex> lock(mu);
        // Step t overwrites buffers last read by step t - 2 at the latest.
        cv.wait(lock, [&] { return stop || computed + 1 >= t; });
        if (stop)
          return;
      }
      const Step &s = steps[t];
      auto t0 = Clock::now();
      uint64_t bytes = 0;
      std::string err;
      if (s.loadA)
        err = transferTile(a, "A", false, s.i, s.k, s.mi, s.kk, bufA[s.slotA].get(), bytes);
      if (err.empty() && s.loadB)
        err = transferTile(b, "B", false, s.k, s.j, s.kk, s.nj, bufB[s.slotB].get(), bytes);
      double dt = since(t0);
      std::lock_guard<std::mutex> lock(mu);
      stats.loadSeconds += dt;
      stats.bytesRead += bytes;
      if (!err.empty()) {
        error = err;
        stop = true;
      }
      loaded = t + 1;
      cv.notify_all();
      if (stop)
        return;
    }
  });

  std::string writeError;
  for (size_t t = 0; t < steps.size(); ++t) {
    const Step &s = steps[t];
    auto t0 = Clock::now();
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || loaded > t; });
      if (stop)
        break;
    }
    auto t1 = Clock::now();
    stats.stallSeconds += std::chrono::duration<double>(t1 - t0).count();
    // C block += A chunk · B chunk; the first K chunk overwrites (beta = 0). The runtime's GEMM
    // (oneDNN, as every compiled GEMM): OpenBLAS 0.3.21 runs its generic kernels on CPUs newer
    // than itself, 6× slower on the Intel Xeon of 2026-12-06 (docs/GemmLibraries.md).
    rowMajorGemm(s.mi, s.nj, s.kk, bufA[s.slotA].get(), s.kk, bufB[s.slotB].get(), s.nj,
                 bufC.get(), s.nj, /*accumulate=*/s.k != 0);
    stats.computeSeconds += since(t1);
    {
      std::lock_guard<std::mutex> lock(mu);
      computed = t + 1;
      cv.notify_all();
    }
    if (s.k + s.kk >= k) {
      auto t2 = Clock::now();
      writeError =
          transferTile(c, "C", true, s.i, s.j, s.mi, s.nj, bufC.get(), stats.bytesWritten);
      stats.storeSeconds += since(t2);
      if (!writeError.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        stop = true;
        cv.notify_all();
        break;
      }
    }
  }
  loader.join();
  stats.seconds = since(start);
  if (!error.empty())
    return fail(error);
  if (!writeError.empty())
    return fail(writeError);
  return stats;
}
