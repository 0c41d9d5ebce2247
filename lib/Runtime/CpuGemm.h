//===- CpuGemm.h - the CPU GEMM behind compiled code's matmul calls -------===//
//
// C[b] += op(A)[b] · op(B)[b] for b < batch, f32 in and out, on strided operands: the contract of
// the `lorc_cpu_(batch_)matmul_{f32,bf16}` entry points that `--lorc-dispatch-blas` emits.
//
// Library choice (measured by bench/gemm_libraries.sh, table in docs/GemmLibraries.md): oneDNN's
// matmul (brgemm, AVX-512) beats OpenBLAS 0.3.21 and BLIS 0.9.0 on every MiniLM shape on the
// 2-core AVX-512 machine, by 1.3–2× at M = 1024 and 2–4× at M = 16 and on attention's per-head
// products, so oneDNN runs every GEMM it has a non-reference kernel for; OpenBLAS' cblas_sgemm
// runs the rest (and everything with LORC_GEMM_LIBRARY=openblas, for comparisons).
//
// Parameters (B read from the artifact's weight buffer, constant between runs) are reordered
// once into the primitive's blocked layout, in bf16 for bf16 GEMMs, and cached by address:
// the packing ORT/MLAS does for constant weights, which OpenBLAS cannot (47% of the time at
// batch 1 × seq 16 went to its per-call packing). clearPackedWeights() drops the cache; the
// artifact calls it when it rewrites parameters (adapter swap) or unloads.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_LIB_RUNTIME_CPUGEMM_H
#define LORC_LIB_RUNTIME_CPUGEMM_H

#include "lorc/Support/Fp8.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lorc {

/// One operand of a (batched) GEMM: its data and the element strides of the *logical* matrix
/// op(X) along (batch, row, column); transposes are folded into the strides. Elements are f32,
/// or bf16 (raw bits) with `bf16` set: only B may be stored bf16 (an artifact's weights under
/// --precision=bf16, docs/Artifact.md).
struct GemmOperand {
  const void *data;
  int64_t strides[3];
  bool bf16 = false;
  /// A parameter B made on demand (a weight stored FP8, whose f32 values are its decode):
  /// `data` is null, `materialize` writes the values (f32, laid out as `strides` say) and
  /// returns them, valid until the call returns, and the packed copy is cached under
  /// (`packKey`, `packKeyScales`, `packKeyFormat`) instead of the values' address (an FP8
  /// weight: its codes, its row scales and its format), so that the values need not outlive
  /// the call.
  const void *packKey = nullptr;
  const void *packKeyScales = nullptr;
  int32_t packKeyFormat = 0;
  llvm::function_ref<const void *()> materialize;
};

enum class GemmPrecision {
  F32,  ///< f32 products, f32 accumulation
  BF16, ///< A and B rounded to bf16 (nearest even), f32 accumulation and output
};

/// The activation of a GEMM epilogue (lorc/Dialect/Lorc/IR/Activation.h has the formulas).
enum class GemmActivation : int32_t { None = 0, GeluErf = 1, GeluTanh = 2 };

/// What the GEMM does around the product, in this order (a lorc.linear's epilogue, folded by
/// `--lorc-dispatch-blas`; oneDNN runs it as the matmul's bias and post-ops):
///   C = act((accumulate ? C : 0) + op(A)·op(B) + bias) + residual
/// `bias` is [n] with element stride `biasStride` (added to every row); `residual` is [m, n] with
/// element strides `residualStrides` (row, column) and must not overlap C. The default is
/// linalg's plain C += op(A)·op(B).
struct GemmEpilogue {
  bool accumulate = true;
  const float *bias = nullptr;
  int64_t biasStride = 1;
  GemmActivation activation = GemmActivation::None;
  const float *residual = nullptr;
  int64_t residualStrides[2] = {0, 0};
};

/// C[b] (m × n) += op(A)[b] (m × k) · op(B)[b] (k × n), then `epilogue` (which needs batch = 1
/// unless it is the default). `bIsParameter`: B is read-only for the artifact's lifetime, so its
/// packed form may be cached. Never throws; falls back to OpenBLAS (in f32, the epilogue in
/// plain loops) where oneDNN has no kernel.
void cpuGemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b,
             bool bIsParameter, float *c, const int64_t cStrides[3], GemmPrecision precision,
             const GemmEpilogue &epilogue = {});

/// C [m, n] = A [m, k] · B [k, n] (or C += with `accumulate`), f32, row-major with leading
/// dimensions `lda`, `ldb`, `ldc` (elements), B not a parameter: cpuGemm on plain matrices, as
/// the streaming matmul multiplies its chunks.
void rowMajorGemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                  int64_t ldb, float *c, int64_t ldc, bool accumulate);

/// Forgets every packed parameter (their source bytes changed or are about to be unmapped).
void clearPackedWeights();

/// An FP8 weight stored as codes [rows, cols] of format `kind` (element strides
/// `codeStrides`) and one f32 scale per row (element stride `scaleStride`):
/// lorc.dequantize {axis = 0}'s operands.
struct Fp8RowsOperand {
  const uint8_t *codes;
  int64_t rows, cols;
  int64_t codeStrides[2];
  const float *scales;
  int64_t scaleStride;
  Fp8Kind kind = Fp8Kind::E4M3FN;
};

/// W[r, c] = value(codes[r, c]) / scales[r] in f32 (lib/Support/Fp8.cpp fp8Decode; the same
/// division the compiled lorc.dequantize performs, so the values are bit-identical), dense
/// row-major [rows, cols], into `out` (resized).
void decodeFp8Rows(const Fp8RowsOperand &w, std::vector<float> &out);

/// How GemmPrecision::BF16 GEMMs run on this CPU: `LORC_CPU_BF16_GEMM` = auto (the default), on
/// (bf16 whenever the CPU has VDPBF16PS) or off (always f32: A in f32, a bf16-stored B widened
/// exactly, so only the weights' rounding remains).
enum class Bf16GemmMode { Auto, On, Off };

/// LORC_CPU_BF16_GEMM's value; null or empty is Auto. Anything else unknown is Auto too, with
/// `warning` set to one line naming the variable, the value and the values allowed.
Bf16GemmMode parseBf16GemmMode(const char *value, std::string &warning);

/// auto runs bf16 GEMMs only where VDPBF16PS measures at least this many times the f32 FMA
/// rate (CpuPeak.h), the margin covering oneDNN's per-call conversion of A to bf16. Measured:
/// Zen 4 1.84× (bf16 GEMMs 1.7–1.8× faster than f32: docs/GemmLibraries.md); the Intel Xeon of
/// 2026-12-06 (no AMX exposed) 0.47× (MiniLM 8 × 128 168 ms with bf16 GEMMs, 97 ms in f32).
constexpr double kBf16GemmMinSpeedup = 1.2;

struct Bf16GemmChoice {
  bool bf16;           ///< run them on bf16 operands (else f32)
  std::string message; ///< one line for stderr, saying why they run in f32; empty otherwise
};

/// The choice for `mode` on a CPU with (`hasDot`) or without VDPBF16PS, from the per-thread
/// rates `bf16Gflops` and `f32Gflops` that measureVectorOpGflops measured (read by Auto only).
Bf16GemmChoice chooseBf16Gemm(Bf16GemmMode mode, bool hasDot, double bf16Gflops,
                              double f32Gflops);

/// The line to print when OpenBLAS' dynamic-architecture build runs its generic x86-64 kernels
/// (`core`, openblas_get_corename(), is "Prescott") on a CPU with AVX2 + FMA (`hasAvx2`): it
/// does that on CPUs newer than itself (0.3.21 on the Intel Xeon, family 6 model 207, of
/// 2026-12-06: 37–40 GFLOP/s against oneDNN's 235–266). Empty otherwise, or for a null `core`
/// (another BLAS). Only the OpenBLAS fallback and LORC_GEMM_LIBRARY=openblas are affected.
std::string openBlasCoreNote(const char *core, bool hasAvx2);

/// Sets the threads of the GEMM libraries (oneDNN's OpenMP pool and OpenBLAS' pool).
void setGemmThreads(int threads);

} // namespace lorc

#endif // LORC_LIB_RUNTIME_CPUGEMM_H
