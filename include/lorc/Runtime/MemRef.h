//===- MemRef.h - MLIR's strided memref descriptor, as compiled code passes it -*- C++ -*-===//
//
// The C interface (`llvm.emit_c_interface`) passes a ranked memref by pointer to
// {allocated, aligned, offset, sizes[N], strides[N]} (mlir/ExecutionEngine/CRunnerUtils.h's
// StridedMemRefType, declared here so the runtime does not depend on MLIR's headers). The
// runtime's entry points (lorc_cpu_*, lorc_cuda_*) and their tests use it.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_MEMREF_H
#define LORC_RUNTIME_MEMREF_H

#include <cstdint>

namespace lorc {

template <typename T, int N> struct StridedMemRef {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

} // namespace lorc

#endif // LORC_RUNTIME_MEMREF_H
