//===- StreamingMatmulTest.cpp - file-to-file chunked matmul --------------===//

#include "lorc/Runtime/StreamingMatmul.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace lorc;

namespace {

/// A temporary file holding `header` junk bytes then `values`.
struct TempMatrix {
  std::string path;
  FileMatrix m;
  TempMatrix(int64_t rows, int64_t cols, const std::vector<float> &values, uint64_t header) {
    char name[] = "/tmp/lorc-streaming-XXXXXX";
    m.fd = mkstemp(name);
    path = name;
    m.offset = header;
    m.rows = rows;
    m.cols = cols;
    std::vector<char> junk(header, 'x');
    EXPECT_EQ(::pwrite(m.fd, junk.data(), junk.size(), 0), ssize_t(header));
    size_t bytes = values.size() * sizeof(float);
    if (bytes)
      EXPECT_EQ(::pwrite(m.fd, values.data(), bytes, off_t(header)), ssize_t(bytes));
    else
      EXPECT_EQ(::ftruncate(m.fd, off_t(header + sizeof(float) * rows * cols)), 0);
  }
  ~TempMatrix() {
    ::close(m.fd);
    ::unlink(path.c_str());
  }
  std::vector<float> read() const {
    std::vector<float> out(size_t(m.rows * m.cols));
    EXPECT_EQ(::pread(m.fd, out.data(), out.size() * sizeof(float), off_t(m.offset)),
              ssize_t(out.size() * sizeof(float)));
    return out;
  }
};

std::vector<float> random(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

void expectProduct(int64_t m, int64_t n, int64_t k, ChunkStrategy strategy, uint64_t budget) {
  std::vector<float> a = random(size_t(m * k), 1), b = random(size_t(k * n), 2);
  TempMatrix ta(m, k, a, 24), tb(k, n, b, 8), tc(m, n, {}, 40);
  std::optional<ChunkPlan> plan = planChunkedMatmul(m, n, k, 4, budget, strategy);
  ASSERT_TRUE(plan.has_value());
  llvm::Expected<StreamingStats> stats = streamingMatmul(ta.m, tb.m, tc.m, *plan);
  ASSERT_TRUE(bool(stats)) << llvm::toString(stats.takeError());
  EXPECT_EQ(stats->bufferBytes, plan->workingSetBytes);
  EXPECT_EQ(stats->steps, plan->numChunks);
  std::vector<float> c = tc.read();
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double ref = 0;
      for (int64_t p = 0; p < k; ++p)
        ref += double(a[size_t(i * k + p)]) * double(b[size_t(p * n + j)]);
      worst = std::max(worst, std::abs(ref - double(c[size_t(i * n + j)])));
      scale = std::max(scale, std::abs(ref));
    }
  EXPECT_LT(worst / scale, 1e-5) << "tiles " << plan->tileM << "x" << plan->tileN << "x"
                                 << plan->tileK;
}

TEST(StreamingMatmul, TilesWithEdgesMatchAnF64Reference) {
  // 100 KiB: 64x64x32-ish tiles that divide none of 300, 200, 500.
  expectProduct(300, 200, 500, ChunkStrategy::Tile, 100 * 1024);
}

TEST(StreamingMatmul, RowBlocksKeepBWhole) {
  // B is 400 KB; 600 KB leaves room for blocks of rows.
  expectProduct(300, 200, 500, ChunkStrategy::Row, 600 * 1024);
}

TEST(StreamingMatmul, WholeProblemInOneChunk) {
  expectProduct(33, 17, 65, ChunkStrategy::Adaptive, 64 << 20);
}

TEST(StreamingMatmul, ShortFileIsAnErrorNamingTheOperand) {
  std::vector<float> a = random(64 * 64, 1), b = random(64 * 10, 2); // B should be 64 x 64
  TempMatrix ta(64, 64, a, 0), tb(64, 64, b, 0), tc(64, 64, {}, 0);
  auto plan = planChunkedMatmul(64, 64, 64, 4, 64 << 20, ChunkStrategy::Adaptive);
  ASSERT_TRUE(plan.has_value());
  llvm::Expected<StreamingStats> stats = streamingMatmul(ta.m, tb.m, tc.m, *plan);
  ASSERT_FALSE(bool(stats));
  EXPECT_EQ(llvm::toString(stats.takeError()),
            "streaming matmul: B: read of row 10 failed: unexpected end of file");
}

TEST(StreamingMatmul, ShapesMustChain) {
  FileMatrix a{-1, 0, 4, 5}, b{-1, 0, 6, 3}, c{-1, 0, 4, 3};
  llvm::Expected<StreamingStats> stats = streamingMatmul(a, b, c, ChunkPlan{ChunkStrategy::Tile, 1, 1, 1});
  ASSERT_FALSE(bool(stats));
  EXPECT_EQ(llvm::toString(stats.takeError()),
            "streaming matmul: shapes do not chain: A [4, 5], B [6, 3], C [4, 3]");
}

} // namespace
