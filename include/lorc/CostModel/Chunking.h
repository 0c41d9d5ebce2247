//===- Chunking.h - chunk shapes for matmuls under a memory budget -*- C++ -*-===//
//
// C[M, N] = A[M, K] · B[K, N] split into chunks (tiles) of tileM × tileN × tileK so that the
// bytes held at once stay under a budget, after Accelera's chunking of matrices larger than
// device memory (row, tile and adaptive strategies). Shared by `--lorc-chunk-matmul` (which
// picks the chunk shape of each `lorc.chunked_matmul`) and the runtime's streaming matmul
// (lib/Runtime/StreamingMatmul.cpp), so both hold the same working set.
//
// Working set (bytes), e = element bytes:
//
//   ws = e · ( bufA·tileM·tileK + bufB·tileK·tileN + tileM·tileN )
//
// where an operand chunk is double-buffered (buf = 2: chunk i+1 is loaded while chunk i is
// multiplied) unless it is the whole operand (buf = 1: loaded once and kept), and the C tile is
// accumulated in place over the K chunks and written once.
//
// Traffic (bytes moved from where the operands live, the quantity the strategies trade):
//
//   traffic = e · ( M·K·(tileN < N ? ⌈N/tileN⌉ : 1) + K·N·(tileM < M ? ⌈M/tileM⌉ : 1) + M·N )
//
// Strategies:
//   row      B kept whole (tileN = N, tileK = K), A and C in blocks of tileM rows, tileM as large
//            as the budget allows. Smallest budget: e·(K·N + 2·K + N) (tileM = 1).
//   tile     every edge a power of two ≥ min(dim, 32) or the whole dimension; the candidate of
//            least traffic, then fewest chunks. Edges under 32 are not offered: a GEMM that
//            small is dominated by its call overhead. Smallest budget: e·(2·32·32·2 + 32·32)
//            for large dimensions.
//   adaptive the plan of least traffic among row's and tile's (row when B fits, since row reads
//            every operand once).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_COSTMODEL_CHUNKING_H
#define LORC_COSTMODEL_CHUNKING_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace lorc {

enum class ChunkStrategy { Row, Tile, Adaptive };

/// "row", "tile", "adaptive"; nullopt otherwise.
std::optional<ChunkStrategy> parseChunkStrategy(llvm::StringRef name);
llvm::StringRef chunkStrategyName(ChunkStrategy strategy);

/// A chunked matmul's shape. M may be unknown at compile time (< 0): the plan then holds for
/// every M (traffic is computed at `assumedM`).
struct ChunkPlan {
  ChunkStrategy strategy = ChunkStrategy::Row; // Row or Tile (Adaptive resolves to one)
  int64_t tileM = 0, tileN = 0, tileK = 0;
  /// The working set above, bytes.
  uint64_t workingSetBytes = 0;
  /// The traffic above, bytes (at the assumed M when M is dynamic).
  double trafficBytes = 0;
  /// ⌈M/tileM⌉·⌈N/tileN⌉·⌈K/tileK⌉ GEMM calls.
  int64_t numChunks = 0;
};

/// The working set of C[M,N] += A[M,K]·B[K,N] held whole (no chunking): e·(M·K + K·N + M·N).
uint64_t unchunkedWorkingSet(int64_t m, int64_t n, int64_t k, int64_t elementBytes);

/// The best plan of `strategy` whose working set is at most `budgetBytes`, or nullopt when none
/// fits. `m` < 0 means unknown (then `assumedM` prices traffic).
std::optional<ChunkPlan> planChunkedMatmul(int64_t m, int64_t n, int64_t k, int64_t elementBytes,
                                           uint64_t budgetBytes, ChunkStrategy strategy,
                                           int64_t assumedM = 1024);

/// The smallest budget for which `planChunkedMatmul` finds a plan of `strategy`, bytes.
uint64_t smallestChunkBudget(int64_t m, int64_t n, int64_t k, int64_t elementBytes,
                             ChunkStrategy strategy);

} // namespace lorc

#endif // LORC_COSTMODEL_CHUNKING_H
