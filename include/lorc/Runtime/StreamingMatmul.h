//===- StreamingMatmul.h - file-to-file chunked matmul ----------*- C++ -*-===//
//
// C = A·B for f32 matrices that live in files (safetensors data sections) and may be larger than
// memory, computed chunk by chunk with the plan of lib/CostModel/Chunking.h (the plan
// `--lorc-chunk-matmul` puts on lorc.chunked_matmul):
//
//   * a loader thread reads the operand chunks of step s+1 with pread while the calling thread
//     multiplies step s (the runtime's f32 GEMM, lorc::cpuGemm: oneDNN): double buffering, so the working set is
//     the plan's (an operand held whole is read once and kept);
//   * each finished [tileM, tileN] block of C is written with pwrite;
//   * nothing is mapped, so resident memory is the buffers: the page cache holds the file data,
//     not this process.
//
// Shapes: A [M, K], B [K, N] (numpy's A @ B), C [M, N], row-major, at byte offsets of open file
// descriptors (C's file must be large enough).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_STREAMINGMATMUL_H
#define LORC_RUNTIME_STREAMINGMATMUL_H

#include "lorc/CostModel/Chunking.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace lorc {

/// A row-major f32 matrix `rows` × `cols` stored at byte `offset` of file descriptor `fd`.
struct FileMatrix {
  int fd = -1;
  uint64_t offset = 0;
  int64_t rows = 0, cols = 0;
};

/// What a run did and where its time went (seconds, wall clock).
struct StreamingStats {
  double seconds = 0;
  /// Loader thread: reading operand chunks.
  double loadSeconds = 0;
  /// Calling thread: sgemm on chunks.
  double computeSeconds = 0;
  /// Calling thread: waiting for the loader (the load time not hidden behind compute).
  double stallSeconds = 0;
  /// Calling thread: writing C blocks.
  double storeSeconds = 0;
  uint64_t bytesRead = 0, bytesWritten = 0;
  /// Bytes of chunk buffers allocated (the plan's working set).
  uint64_t bufferBytes = 0;
  int64_t steps = 0;
  /// Fraction of the load time hidden behind compute: 1 − stall / load (1 when nothing waited).
  double overlap() const { return loadSeconds > 0 ? 1.0 - stallSeconds / loadSeconds : 1.0; }
};

/// Computes C = A·B with `plan`'s chunks. Errors name the operand and the failing call (short
/// read: the file is smaller than the shape says).
llvm::Expected<StreamingStats> streamingMatmul(const FileMatrix &a, const FileMatrix &b,
                                               const FileMatrix &c, const ChunkPlan &plan);

} // namespace lorc

#endif // LORC_RUNTIME_STREAMINGMATMUL_H
