//===- BlasLayout.h - strided matrices as BLAS operands (runtime-internal) -===//
//
// Shared by the CPU (OpenBLAS) and CUDA (cuBLAS) GEMM entry points that compiled code calls.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_BLASLAYOUT_H
#define LORC_RUNTIME_BLASLAYOUT_H

#include "lorc/Runtime/MemRef.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace lorc {

/// A matrix operand as a row-major BLAS call takes it: transposed or not, leading dimension.
struct BlasView {
  bool trans;
  int64_t ld;
};

/// How the logical matrix op(X) (rows × cols), stored with strides (s0, s1) and `trans` saying
/// whether X is stored transposed, reads as a row-major BLAS operand; nullopt when neither
/// stride is 1 (the CPU path then copies, the CUDA path reports an error).
inline std::optional<BlasView> blasView(int64_t rows, int64_t cols, int64_t s0, int64_t s1,
                                        bool trans) {
  // Stored shape is (r, c) = trans ? (cols, rows) : (rows, cols).
  int64_t r = trans ? cols : rows, c = trans ? rows : cols;
  if (s1 == 1 && (r <= 1 || s0 >= c))
    return BlasView{trans, r <= 1 ? std::max<int64_t>(c, 1) : s0};
  if (s0 == 1 && (c <= 1 || s1 >= r))
    return BlasView{!trans, c <= 1 ? std::max<int64_t>(r, 1) : s1};
  return std::nullopt;
}

} // namespace lorc

#endif // LORC_RUNTIME_BLASLAYOUT_H
