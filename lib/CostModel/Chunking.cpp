//===- Chunking.cpp - chunk shapes for matmuls under a memory budget ------===//
//
// The formulas are in include/lorc/CostModel/Chunking.h.
//
//===----------------------------------------------------------------------===//

#include "lorc/CostModel/Chunking.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <limits>

using namespace lorc;

std::optional<ChunkStrategy> lorc::parseChunkStrategy(llvm::StringRef name) {
  if (name == "row")
    return ChunkStrategy::Row;
  if (name == "tile")
    return ChunkStrategy::Tile;
  if (name == "adaptive")
    return ChunkStrategy::Adaptive;
  return std::nullopt;
}

llvm::StringRef lorc::chunkStrategyName(ChunkStrategy strategy) {
  switch (strategy) {
  case ChunkStrategy::Row:
    return "row";
  case ChunkStrategy::Tile:
    return "tile";
  case ChunkStrategy::Adaptive:
    return "adaptive";
  }
  return "";
}

uint64_t lorc::unchunkedWorkingSet(int64_t m, int64_t n, int64_t k, int64_t elementBytes) {
  auto e = static_cast<uint64_t>(elementBytes);
  auto um = static_cast<uint64_t>(m), un = static_cast<uint64_t>(n), uk = static_cast<uint64_t>(k);
  return e * (um * uk + uk * un + um * un);
}

namespace {

constexpr int64_t kMinTileEdge = 32;
/// Row blocks of a dynamic M are offered up to this many rows.
constexpr int64_t kMaxDynamicEdge = int64_t(1) << 20;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Evaluates one chunk shape; `m` < 0 is a dynamic M priced at `assumedM`.
ChunkPlan evaluate(ChunkStrategy strategy, int64_t m, int64_t n, int64_t k, int64_t e,
                   int64_t tm, int64_t tn, int64_t tk, int64_t assumedM) {
  bool wholeA = m >= 0 && tm >= m && tk >= k;
  bool wholeB = tk >= k && tn >= n;
  double de = static_cast<double>(e);
  ChunkPlan p;
  p.strategy = strategy;
  p.tileM = tm;
  p.tileN = tn;
  p.tileK = tk;
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  p.workingSetBytes = u(e) * ((wholeA ? 1 : 2) * u(tm) * u(tk) + (wholeB ? 1 : 2) * u(tk) * u(tn) +
                              u(tm) * u(tn));
  int64_t me = m >= 0 ? m : assumedM;
  double a = double(me) * double(k), b = double(k) * double(n), c = double(me) * double(n);
  p.trafficBytes = de * (a * (tn < n ? double(ceilDiv(n, tn)) : 1.0) +
                         b * (m < 0 || tm < m ? double(ceilDiv(me, tm)) : 1.0) + c);
  p.numChunks = ceilDiv(me, tm) * ceilDiv(n, tn) * ceilDiv(k, tk);
  return p;
}

/// Row strategy: the largest block of rows that fits (all of M when it does).
std::optional<ChunkPlan> planRow(int64_t m, int64_t n, int64_t k, int64_t e, uint64_t budget,
                                 int64_t assumedM) {
  if (m >= 0) {
    ChunkPlan whole = evaluate(ChunkStrategy::Row, m, n, k, e, std::max<int64_t>(m, 1), n, k,
                               assumedM);
    if (whole.workingSetBytes <= budget)
      return whole;
  }
  // e·(2·t·K + K·N + t·N) ≤ budget.
  double perRow = double(e) * double(2 * k + n);
  double fixed = double(e) * double(k) * double(n);
  double rows = (double(budget) - fixed) / perRow;
  if (rows < 1)
    return std::nullopt;
  int64_t tm = static_cast<int64_t>(std::min(rows, double(kMaxDynamicEdge)));
  if (m >= 0)
    tm = std::min(tm, std::max<int64_t>(m - 1, 1));
  return evaluate(ChunkStrategy::Row, m, n, k, e, tm, n, k, assumedM);
}

/// The tile edges offered for a dimension of size `d` (< 0: dynamic).
llvm::SmallVector<int64_t> edges(int64_t d) {
  llvm::SmallVector<int64_t> out;
  int64_t limit = d >= 0 ? d : kMaxDynamicEdge + 1;
  for (int64_t p = kMinTileEdge; p < limit; p *= 2)
    out.push_back(p);
  if (d >= 0)
    out.push_back(std::max<int64_t>(d, 1));
  return out;
}

/// Better: less traffic, then fewer chunks.
bool better(const ChunkPlan &a, const ChunkPlan &b) {
  if (a.trafficBytes != b.trafficBytes)
    return a.trafficBytes < b.trafficBytes;
  return a.numChunks < b.numChunks;
}

std::optional<ChunkPlan> planTile(int64_t m, int64_t n, int64_t k, int64_t e, uint64_t budget,
                                  int64_t assumedM, uint64_t *smallest = nullptr) {
  std::optional<ChunkPlan> best;
  uint64_t least = std::numeric_limits<uint64_t>::max();
  for (int64_t tm : edges(m))
    for (int64_t tn : edges(n))
      for (int64_t tk : edges(k)) {
        ChunkPlan p = evaluate(ChunkStrategy::Tile, m, n, k, e, tm, tn, tk, assumedM);
        least = std::min(least, p.workingSetBytes);
        if (p.workingSetBytes <= budget && (!best || better(p, *best)))
          best = p;
      }
  if (smallest)
    *smallest = least;
  return best;
}

} // namespace

std::optional<ChunkPlan> lorc::planChunkedMatmul(int64_t m, int64_t n, int64_t k,
                                                 int64_t elementBytes, uint64_t budgetBytes,
                                                 ChunkStrategy strategy, int64_t assumedM) {
  if (n <= 0 || k <= 0 || elementBytes <= 0 || m == 0)
    return std::nullopt;
  switch (strategy) {
  case ChunkStrategy::Row:
    return planRow(m, n, k, elementBytes, budgetBytes, assumedM);
  case ChunkStrategy::Tile:
    return planTile(m, n, k, elementBytes, budgetBytes, assumedM);
  case ChunkStrategy::Adaptive: {
    std::optional<ChunkPlan> row = planRow(m, n, k, elementBytes, budgetBytes, assumedM);
    std::optional<ChunkPlan> tile = planTile(m, n, k, elementBytes, budgetBytes, assumedM);
    if (!row || !tile)
      return row ? row : tile;
    // Ties go to row: one B, the simplest streaming order.
    return better(*tile, *row) ? tile : row;
  }
  }
  return std::nullopt;
}

uint64_t lorc::smallestChunkBudget(int64_t m, int64_t n, int64_t k, int64_t elementBytes,
                                   ChunkStrategy strategy) {
  auto e = static_cast<uint64_t>(elementBytes);
  auto un = static_cast<uint64_t>(n), uk = static_cast<uint64_t>(k);
  // Row with one row (all of M when M is a single row, then A is not double-buffered).
  uint64_t row = e * (uk * un + (m == 1 ? 1 : 2) * uk + un);
  uint64_t tile = 0;
  planTile(m, n, k, elementBytes, 0, 1, &tile);
  switch (strategy) {
  case ChunkStrategy::Row:
    return row;
  case ChunkStrategy::Tile:
    return tile;
  case ChunkStrategy::Adaptive:
    return std::min(row, tile);
  }
  return row;
}
