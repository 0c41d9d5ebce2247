//===- ChunkingTest.cpp - chunk plans under a memory budget ---------------===//

#include "lorc/CostModel/Chunking.h"

#include <gtest/gtest.h>

using namespace lorc;

namespace {

struct Shape {
  int64_t m, n, k;
};

const Shape kShapes[] = {{2048, 2048, 2048}, {-1, 1536, 384}, {300, 700, 500}, {1, 4096, 4096},
                         {16384, 16384, 16384}, {-1, 8, 8}, {64, 48, 40}};
const ChunkStrategy kStrategies[] = {ChunkStrategy::Row, ChunkStrategy::Tile,
                                     ChunkStrategy::Adaptive};

TEST(Chunking, PlansFitTheirBudgetAndTheSmallestBudgetIsExact) {
  for (const Shape &s : kShapes)
    for (ChunkStrategy strategy : kStrategies) {
      SCOPED_TRACE(std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                   " " + chunkStrategyName(strategy).str());
      uint64_t smallest = smallestChunkBudget(s.m, s.n, s.k, 4, strategy);
      std::optional<ChunkPlan> at = planChunkedMatmul(s.m, s.n, s.k, 4, smallest, strategy);
      ASSERT_TRUE(at.has_value());
      EXPECT_LE(at->workingSetBytes, smallest);
      EXPECT_FALSE(planChunkedMatmul(s.m, s.n, s.k, 4, smallest - 1, strategy).has_value());
      for (uint64_t budget : {smallest * 3, uint64_t(4) << 20, uint64_t(256) << 20}) {
        if (budget < smallest)
          continue;
        std::optional<ChunkPlan> p = planChunkedMatmul(s.m, s.n, s.k, 4, budget, strategy);
        ASSERT_TRUE(p.has_value());
        EXPECT_LE(p->workingSetBytes, budget);
        EXPECT_GT(p->tileM, 0);
        EXPECT_GT(p->tileN, 0);
        EXPECT_GT(p->tileK, 0);
        if (s.m > 0)
          EXPECT_LE(p->tileM, s.m);
        EXPECT_LE(p->tileN, s.n);
        EXPECT_LE(p->tileK, s.k);
        if (strategy == ChunkStrategy::Row) {
          EXPECT_EQ(p->tileN, s.n); // B whole
          EXPECT_EQ(p->tileK, s.k);
        }
      }
    }
}

TEST(Chunking, AdaptiveMovesNoMoreBytesThanRowOrTile) {
  for (const Shape &s : kShapes)
    for (uint64_t budget : {uint64_t(1) << 20, uint64_t(32) << 20, uint64_t(256) << 20}) {
      auto adaptive = planChunkedMatmul(s.m, s.n, s.k, 4, budget, ChunkStrategy::Adaptive);
      for (ChunkStrategy other : {ChunkStrategy::Row, ChunkStrategy::Tile})
        if (auto p = planChunkedMatmul(s.m, s.n, s.k, 4, budget, other)) {
          ASSERT_TRUE(adaptive.has_value());
          EXPECT_LE(adaptive->trafficBytes, p->trafficBytes);
        }
    }
}

TEST(Chunking, WorkingSetFormula) {
  // Row keeps B whole (counted once) and double-buffers A rows: 4·(2·170·2048 + 2048² + 170·2048).
  auto row = planChunkedMatmul(2048, 2048, 2048, 4, 20971520, ChunkStrategy::Row);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->tileM, 170);
  EXPECT_EQ(row->workingSetBytes, 4u * (2 * 170 * 2048 + 2048 * 2048 + 170 * 2048));
  EXPECT_EQ(row->numChunks, 13);
  // Everything fits: one chunk, nothing double-buffered.
  auto whole = planChunkedMatmul(64, 48, 40, 4, 1 << 20, ChunkStrategy::Adaptive);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->numChunks, 1);
  EXPECT_EQ(whole->workingSetBytes, unchunkedWorkingSet(64, 48, 40, 4));
  // 16384³ f32 under 256 MiB: the C block and two buffers of each operand chunk fit.
  auto big = planChunkedMatmul(16384, 16384, 16384, 4, uint64_t(256) << 20,
                               ChunkStrategy::Adaptive);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->strategy, ChunkStrategy::Tile);
  EXPECT_EQ(big->workingSetBytes,
            4u * (2 * uint64_t(big->tileM) * big->tileK + 2 * uint64_t(big->tileK) * big->tileN +
                  uint64_t(big->tileM) * big->tileN));
}

TEST(Chunking, StrategyNames) {
  for (ChunkStrategy s : kStrategies)
    EXPECT_EQ(parseChunkStrategy(chunkStrategyName(s)), s);
  EXPECT_FALSE(parseChunkStrategy("columns").has_value());
}

} // namespace
