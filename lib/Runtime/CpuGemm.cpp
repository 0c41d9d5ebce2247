//===- CpuGemm.cpp - oneDNN matmul with packed parameters, OpenBLAS fallback ===//
//
// See CpuGemm.h for the contract and the library choice.
//
//===----------------------------------------------------------------------===//

#include "CpuGemm.h"
#include "BlasLayout.h"
#include "CpuPeak.h"
#include "lorc/Support/Fp8.h"

#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

using dt = dnnl::memory::data_type;
using lorc::Bf16GemmChoice;
using lorc::Bf16GemmMode;
using lorc::VectorOp;

//===----------------------------------------------------------------------===//
// OpenBLAS: the fallback
//===----------------------------------------------------------------------===//

} // namespace

// OpenBLAS' kernel choice (openblas_config.h; weak, so other BLAS builds link).
extern "C" char *openblas_get_corename(void) __attribute__((weak));

namespace {

/// Says once when OpenBLAS runs its generic kernels on a CPU with AVX2 (openBlasCoreNote).
void noteOpenBlasCore() {
  static bool once = [] {
    std::string note = lorc::openBlasCoreNote(
        openblas_get_corename ? openblas_get_corename() : nullptr,
        lorc::cpuSupports(VectorOp::FmaF32Avx2));
    if (!note.empty())
      llvm::errs() << note << "\n";
    return true;
  }();
  (void)once;
}

/// C[m×n] += X·Y with X, Y, C given by logical (row, column) strides; C's column stride must
/// be 1 or its row stride 1 (anything else goes through a contiguous copy).
void blasGemm(int64_t m, int64_t n, int64_t k, const float *a, const int64_t *as,
              const float *b, const int64_t *bs, float *c, const int64_t *cs) {
  if (cs[1] != 1) {
    std::vector<float> tmp(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        tmp[i * n + j] = c[i * cs[0] + j * cs[1]];
    const int64_t ts[2] = {n, 1};
    blasGemm(m, n, k, a, as, b, bs, tmp.data(), ts);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * cs[0] + j * cs[1]] = tmp[i * n + j];
    return;
  }
  // An operand whose strides fit neither BLAS layout is copied row-major first.
  auto operand = [](const float *x, int64_t rows, int64_t cols, const int64_t *s,
                    std::vector<float> &copy) -> std::pair<const float *, lorc::BlasView> {
    if (std::optional<lorc::BlasView> v = lorc::blasView(rows, cols, s[0], s[1], false))
      return {x, *v};
    copy.resize(static_cast<size_t>(rows * cols));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        copy[i * cols + j] = x[i * s[0] + j * s[1]];
    return {copy.data(), lorc::BlasView{false, std::max<int64_t>(cols, 1)}};
  };
  noteOpenBlasCore();
  std::vector<float> aCopy, bCopy;
  auto [ap, av] = operand(a, m, k, as, aCopy);
  auto [bp, bv] = operand(b, k, n, bs, bCopy);
  cblas_sgemm(CblasRowMajor, av.trans ? CblasTrans : CblasNoTrans,
              bv.trans ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, ap, static_cast<int>(av.ld), bp,
              static_cast<int>(bv.ld), 1.0f, c,
              static_cast<int>(m <= 1 ? std::max<int64_t>(n, 1) : cs[0]));
}

/// The scalar epilogue activations, as PyTorch computes them (torch.nn.GELU).
float activate(float v, lorc::GemmActivation act) {
  switch (act) {
  case lorc::GemmActivation::GeluErf:
    return 0.5f * v * (1.0f + std::erf(v * static_cast<float>(M_SQRT1_2)));
  case lorc::GemmActivation::GeluTanh: {
    const float c = static_cast<float>(std::sqrt(2.0 / M_PI));
    return 0.5f * v * (1.0f + std::tanh(c * (v + 0.044715f * v * v * v)));
  }
  case lorc::GemmActivation::None:
    break;
  }
  return v;
}

/// The epilogue around blasGemm (C += A·B): C's initial bias or zeros, then the activation and
/// the residual.
void blasGemmWithEpilogue(int64_t m, int64_t n, int64_t k, const float *a, const int64_t *as,
                          const float *b, const int64_t *bs, float *c, const int64_t *cs,
                          const lorc::GemmEpilogue &e) {
  if (!e.accumulate)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * cs[0] + j * cs[1]] = 0.0f;
  if (e.bias)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * cs[0] + j * cs[1]] += e.bias[j * e.biasStride];
  if (k > 0)
    blasGemm(m, n, k, a, as, b, bs, c, cs);
  if (e.activation == lorc::GemmActivation::None && !e.residual)
    return;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float &v = c[i * cs[0] + j * cs[1]];
      v = activate(v, e.activation);
      if (e.residual)
        v += e.residual[i * e.residualStrides[0] + j * e.residualStrides[1]];
    }
}

//===----------------------------------------------------------------------===//
// oneDNN
//===----------------------------------------------------------------------===//

/// Everything a matmul primitive depends on: shapes, strides, precision, whether B is packed,
/// and the epilogue's form (accumulation, bias and residual presence and strides, activation).
struct Key {
  std::array<int64_t, 18> v;
  bool operator<(const Key &o) const { return v < o.v; }
};

/// A ready primitive, with the reorders that feed it (bf16 conversions, B packing).
struct Plan {
  bool ok = false; // false: oneDNN has only a reference kernel or rejected the shape
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul matmul;
  dnnl::memory::desc aUser, bUser, cUser, biasUser, residualUser;
  int residualPostOp = -1; // index of the residual's binary-add post-op
  dnnl::reorder aReorder, bReorder; // set for bf16 (A) and for packed/bf16 B
  dnnl::reorder::primitive_desc aReorderPd, bReorderPd;
};

struct PackedWeight {
  dnnl::memory::desc source; // the user's layout (strides, type): one buffer may be read two ways
  dnnl::memory::desc desc;
  dnnl::memory mem;
  const void *scales; // GemmOperand::packKeyScales and packKeyFormat: the rest of the key
  int32_t format;
};

class OneDnn {
public:
  static OneDnn &get() {
    static OneDnn instance;
    return instance;
  }

  /// Runs the GEMM; false when the caller must use the fallback.
  bool run(int64_t batch, int64_t m, int64_t n, int64_t k, lorc::GemmOperand a,
           lorc::GemmOperand b, bool bIsParameter, float *c, const int64_t *cs, bool bf16,
           const lorc::GemmEpilogue &e) {
    Key key{{batch, m, n, k, a.strides[0], a.strides[1], a.strides[2], b.strides[0],
             b.strides[1], b.strides[2], cs[0], cs[1], cs[2],
             b.bf16 * 4 + bf16 * 2 + bIsParameter,
             e.accumulate, e.bias != nullptr, static_cast<int64_t>(e.activation),
             e.residual != nullptr}};
    try {
      std::shared_ptr<Plan> plan =
          getPlan(key, batch, m, n, k, a, b, bIsParameter, cs, bf16, e);
      if (!plan->ok)
        return false;
      dnnl::stream &strm = stream();
      // The calling thread's memory objects and argument map for this plan, made once and
      // pointed at this call's buffers: creating them per call (five dnnl_memory_create and a
      // hash map, ~25 allocations) was half the cost of a small GEMM's call (16×16×32: 3.2 µs).
      Bound &bound = bind(plan);
      bound.a.set_data_handle(const_cast<void *>(a.data));
      bound.c.set_data_handle(c);
      if (plan->aReorder) {
        bound.aConverted.set_data_handle(
            threadBuffer(Buffer::Bf16Activations, plan->pd.src_desc().get_size()));
        bound.aReorderPad.set_data_handle(threadBuffer(
            Buffer::Scratchpad, plan->aReorderPd.scratchpad_desc().get_size()));
        plan->aReorder.execute(strm, bound.aReorderArgs);
      }
      dnnl::memory &weights = bound.args[DNNL_ARG_WEIGHTS];
      // No weight outlives the call in the map, also when a call throws (clearPackedWeights
      // must be able to free a packed one).
      struct DropWeights {
        dnnl::memory &w;
        ~DropWeights() { w = dnnl::memory(); }
      } dropWeights{weights};
      if (bIsParameter) {
        weights = packed(b, *plan, strm);
      } else {
        bound.b.set_data_handle(const_cast<void *>(b.data ? b.data : b.materialize()));
        weights = bound.b;
        if (plan->bReorder) { // B converted to bf16 on every call (it is not a parameter)
          bound.bConverted.set_data_handle(
              threadBuffer(Buffer::Bf16Weights, plan->pd.weights_desc().get_size()));
          bound.bReorderPad.set_data_handle(threadBuffer(
              Buffer::Scratchpad, plan->bReorderPd.scratchpad_desc().get_size()));
          plan->bReorder.execute(strm, bound.bReorderArgs);
          weights = bound.bConverted;
        }
      }
      // The scratchpad is the calling thread's: threads (the tiled attention's loop over
      // heads) may run one primitive concurrently, which oneDNN's own per-primitive
      // scratchpad does not allow.
      bound.pad.set_data_handle(
          threadBuffer(Buffer::Scratchpad, plan->pd.scratchpad_desc().get_size()));
      if (e.bias) {
        // oneDNN's matmul reads its bias densely: a strided one is gathered first.
        const float *bias = e.bias;
        if (e.biasStride != 1) {
          auto *dense = static_cast<float *>(threadBuffer(Buffer::Bias, n * sizeof(float)));
          for (int64_t j = 0; j < n; ++j)
            dense[j] = e.bias[j * e.biasStride];
          bias = dense;
        }
        bound.bias.set_data_handle(const_cast<float *>(bias));
      }
      if (e.residual) {
        // Dense as well: oneDNN 2.6.3's bf16 matmul misreads a strided binary post-op operand
        // (CpuKernels.EpilogueMatchesReference caught it), so a strided residual is gathered.
        const float *residual = e.residual;
        if (e.residualStrides[0] != n || e.residualStrides[1] != 1) {
          auto *dense =
              static_cast<float *>(threadBuffer(Buffer::Residual, m * n * sizeof(float)));
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j)
              dense[i * n + j] = e.residual[i * e.residualStrides[0] + j * e.residualStrides[1]];
          residual = dense;
        }
        bound.residual.set_data_handle(const_cast<float *>(residual));
      }
      plan->matmul.execute(strm, bound.args);
      strm.wait();
      return true;
    } catch (const dnnl::error &e) {
      return false;
    } catch (const std::bad_alloc &) {
      return false;
    }
  }

  void clearPacked() {
    std::lock_guard<std::mutex> lock(mutex);
    packedWeights.clear();
  }

private:
  OneDnn() : engine(dnnl::engine::kind::cpu, 0) {}

  dnnl::stream &stream() {
    thread_local dnnl::stream s(engine);
    return s;
  }

  /// What a per-thread buffer holds during one call (each kind its own buffer, all alive at
  /// once): bf16 activations, a non-parameter B converted to bf16, the primitive's scratchpad
  /// (primitives and reorders are created with a user scratchpad), and a strided bias or
  /// residual gathered densely.
  enum class Buffer { Bf16Activations, Bf16Weights, Scratchpad, Bias, Residual, Count };

  /// The calling thread's buffer of `kind`, at least `bytes` long (reused across calls).
  static void *threadBuffer(Buffer kind, size_t bytes) {
    thread_local std::vector<uint8_t> bufs[static_cast<int>(Buffer::Count)];
    std::vector<uint8_t> &buf = bufs[static_cast<int>(kind)];
    if (buf.size() < bytes)
      buf.resize(bytes);
    return buf.data();
  }

  /// One thread's memory objects for one plan (user layouts; data handles set per call) and
  /// the argument map that names them. Plans live as long as the process, so a Bound's plan
  /// pointer stays valid.
  struct Bound {
    dnnl::memory a, aConverted, b, c, pad, bias, residual;
    std::unordered_map<int, dnnl::memory> args;
    // The conversions of A and B (plan->aReorder, plan->bReorder) when the plan has them.
    dnnl::memory aReorderPad, bConverted, bReorderPad;
    std::unordered_map<int, dnnl::memory> aReorderArgs, bReorderArgs;
  };

  /// The calling thread's Bound for `plan`, made at its first call on this thread.
  Bound &bind(const std::shared_ptr<Plan> &plan) {
    thread_local std::unordered_map<const Plan *, Bound> bounds;
    auto [it, fresh] = bounds.try_emplace(plan.get());
    Bound &bound = it->second;
    if (!fresh)
      return bound;
    bound.a = dnnl::memory(plan->aUser, engine, DNNL_MEMORY_NONE);
    bound.c = dnnl::memory(plan->cUser, engine, DNNL_MEMORY_NONE);
    bound.args[DNNL_ARG_SRC] = bound.a;
    if (plan->aReorder) {
      bound.aConverted = dnnl::memory(plan->pd.src_desc(), engine, DNNL_MEMORY_NONE);
      bound.args[DNNL_ARG_SRC] = bound.aConverted;
      bound.aReorderPad =
          dnnl::memory(plan->aReorderPd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
      bound.aReorderArgs = {{DNNL_ARG_FROM, bound.a},
                            {DNNL_ARG_TO, bound.aConverted},
                            {DNNL_ARG_SCRATCHPAD, bound.aReorderPad}};
    }
    bound.b = dnnl::memory(plan->bUser, engine, DNNL_MEMORY_NONE);
    if (plan->bReorder) {
      bound.bConverted = dnnl::memory(plan->pd.weights_desc(), engine, DNNL_MEMORY_NONE);
      bound.bReorderPad =
          dnnl::memory(plan->bReorderPd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
      bound.bReorderArgs = {{DNNL_ARG_FROM, bound.b},
                            {DNNL_ARG_TO, bound.bConverted},
                            {DNNL_ARG_SCRATCHPAD, bound.bReorderPad}};
    }
    bound.args[DNNL_ARG_WEIGHTS] = dnnl::memory();
    bound.args[DNNL_ARG_DST] = bound.c;
    bound.pad = dnnl::memory(plan->pd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
    bound.args[DNNL_ARG_SCRATCHPAD] = bound.pad;
    if (!plan->biasUser.is_zero()) {
      bound.bias = dnnl::memory(plan->biasUser, engine, DNNL_MEMORY_NONE);
      bound.args[DNNL_ARG_BIAS] = bound.bias;
    }
    if (plan->residualPostOp >= 0) {
      bound.residual = dnnl::memory(plan->residualUser, engine, DNNL_MEMORY_NONE);
      bound.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(plan->residualPostOp) | DNNL_ARG_SRC_1] =
          bound.residual;
    }
    return bound;
  }

  /// Runs a reorder with the calling thread's scratchpad.
  void reorder(const dnnl::reorder &r, const dnnl::reorder::primitive_desc &pd,
               dnnl::stream &strm, dnnl::memory &from, dnnl::memory &to) {
    dnnl::memory::desc padDesc = pd.scratchpad_desc();
    dnnl::memory pad(padDesc, engine, threadBuffer(Buffer::Scratchpad, padDesc.get_size()));
    r.execute(strm, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, pad}});
  }

  static dnnl::memory::desc describe(int64_t batch, int64_t rows, int64_t cols,
                                     const int64_t *strides, dt type) {
    if (batch == 1)
      return dnnl::memory::desc({rows, cols}, type, {strides[1], strides[2]});
    return dnnl::memory::desc({batch, rows, cols}, type, {strides[0], strides[1], strides[2]});
  }

  static dnnl::memory::desc plain(int64_t batch, int64_t rows, int64_t cols, dt type) {
    using tag = dnnl::memory::format_tag;
    if (batch == 1)
      return dnnl::memory::desc({rows, cols}, type, tag::ab);
    return dnnl::memory::desc({batch, rows, cols}, type, tag::abc);
  }

  static dnnl::memory::desc any(int64_t batch, int64_t rows, int64_t cols, dt type) {
    using tag = dnnl::memory::format_tag;
    if (batch == 1)
      return dnnl::memory::desc({rows, cols}, type, tag::any);
    return dnnl::memory::desc({batch, rows, cols}, type, tag::any);
  }

  std::shared_ptr<Plan> getPlan(const Key &key, int64_t batch, int64_t m, int64_t n, int64_t k,
                                lorc::GemmOperand a, lorc::GemmOperand b, bool bIsParameter,
                                const int64_t *cs, bool bf16, const lorc::GemmEpilogue &e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = plans.find(key);
      if (it != plans.end())
        return it->second;
    }
    auto plan = std::make_shared<Plan>();
    dt in = bf16 ? dt::bf16 : dt::f32;
    plan->aUser = describe(batch, m, k, a.strides, dt::f32);
    plan->bUser = describe(batch, k, n, b.strides, b.bf16 ? dt::bf16 : dt::f32);
    plan->cUser = describe(batch, m, n, cs, dt::f32);
    dnnl::memory::desc aMd = bf16 ? plain(batch, m, k, in) : plan->aUser;
    // B is reordered (packed, or converted to the product's type) unless it is used in place.
    bool reorderB = bIsParameter || bf16 || b.bf16;
    dnnl::memory::desc bMd = reorderB ? any(batch, k, n, in) : plan->bUser;
    // The epilogue, in lorc::GemmEpilogue's order: sum (linalg's C += A·B), then the
    // activation, then the residual (a binary add of an [m, n] operand).
    dnnl::post_ops ops;
    if (e.accumulate)
      ops.append_sum(1.0f);
    if (e.activation != lorc::GemmActivation::None)
      ops.append_eltwise(1.0f,
                         e.activation == lorc::GemmActivation::GeluErf
                             ? dnnl::algorithm::eltwise_gelu_erf
                             : dnnl::algorithm::eltwise_gelu_tanh,
                         0.0f, 0.0f);
    if (e.residual) {
      plan->residualUser = plain(batch, m, n, dt::f32); // gathered densely when strided
      plan->residualPostOp = ops.len();
      ops.append_binary(dnnl::algorithm::binary_add, plan->residualUser);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    try {
      if (e.bias) {
        plan->biasUser = plain(batch, 1, n, dt::f32); // gathered densely when strided
        plan->pd = dnnl::matmul::primitive_desc(
            dnnl::matmul::desc(aMd, bMd, plan->biasUser, plan->cUser), attr, engine);
      } else {
        plan->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(aMd, bMd, plan->cUser),
                                                attr, engine);
      }
      // The reference kernels are slower than OpenBLAS by orders of magnitude.
      plan->ok = std::strncmp(plan->pd.impl_info_str(), "ref", 3) != 0;
      if (plan->ok) {
        plan->matmul = dnnl::matmul(plan->pd);
        dnnl::primitive_attr userScratchpad;
        userScratchpad.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        if (bf16) {
          plan->aReorderPd = dnnl::reorder::primitive_desc(engine, plan->aUser, engine,
                                                           plan->pd.src_desc(), userScratchpad);
          plan->aReorder = dnnl::reorder(plan->aReorderPd);
        }
        if (reorderB) {
          plan->bReorderPd = dnnl::reorder::primitive_desc(
              engine, plan->bUser, engine, plan->pd.weights_desc(), userScratchpad);
          plan->bReorder = dnnl::reorder(plan->bReorderPd);
        }
      }
    } catch (const dnnl::error &) {
      plan->ok = false;
    }
    std::lock_guard<std::mutex> lock(mutex);
    return plans.emplace(key, plan).first->second;
  }

  /// B in the primitive's layout, packed on first use and cached by address (or `packKey`),
  /// source layout and packed layout.
  dnnl::memory packed(lorc::GemmOperand b, Plan &plan, dnnl::stream &strm) {
    dnnl::memory::desc want = plan.pd.weights_desc();
    const void *key = b.packKey ? b.packKey : b.data;
    std::lock_guard<std::mutex> lock(mutex);
    auto range = packedWeights.equal_range(key);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second.desc == want && it->second.source == plan.bUser &&
          it->second.scales == b.packKeyScales && it->second.format == b.packKeyFormat)
        return it->second.mem;
    const void *values = b.data ? b.data : b.materialize();
    dnnl::memory src(plan.bUser, engine, const_cast<void *>(values));
    dnnl::memory dst(want, engine);
    reorder(plan.bReorder, plan.bReorderPd, strm, src, dst);
    strm.wait();
    packedWeights.emplace(key,
                          PackedWeight{plan.bUser, want, dst, b.packKeyScales, b.packKeyFormat});
    return dst;
  }

  dnnl::engine engine;
  std::mutex mutex;
  std::map<Key, std::shared_ptr<Plan>> plans;
  std::multimap<const void *, PackedWeight> packedWeights;
};

enum class Library { OneDnn, OpenBlas };

Library library() {
  static Library lib = [] {
    const char *env = std::getenv("LORC_GEMM_LIBRARY");
    if (env && std::strcmp(env, "openblas") == 0)
      return Library::OpenBlas;
    if (env && *env && std::strcmp(env, "onednn") != 0)
      llvm::errs() << "lorc: LORC_GEMM_LIBRARY=" << env
                   << ": expected onednn or openblas; using onednn\n";
    return Library::OneDnn;
  }();
  return lib;
}

/// Whether GemmPrecision::BF16 GEMMs run on bf16 operands here (chooseBf16Gemm, decided once
/// per process; auto measures both rates, best of three interleaved runs of ~0.2–1 ms each).
bool bf16GemmsInBf16() {
  static bool bf16 = [] {
    std::string warning;
    Bf16GemmMode mode = lorc::parseBf16GemmMode(std::getenv("LORC_CPU_BF16_GEMM"), warning);
    if (!warning.empty())
      llvm::errs() << warning << "\n";
    bool hasDot = lorc::cpuSupports(VectorOp::DotBf16);
    double bf16Rate = 0, f32Rate = 0;
    if (mode == Bf16GemmMode::Auto && hasDot) {
      constexpr int64_t kIterations = 100'000;
      lorc::measureVectorOpGflops(VectorOp::FmaF32Avx512, kIterations); // clocks up
      for (int run = 0; run < 3; ++run) {
        f32Rate = std::max(f32Rate,
                           lorc::measureVectorOpGflops(VectorOp::FmaF32Avx512, kIterations));
        bf16Rate =
            std::max(bf16Rate, lorc::measureVectorOpGflops(VectorOp::DotBf16, kIterations));
      }
    }
    Bf16GemmChoice choice = lorc::chooseBf16Gemm(mode, hasDot, bf16Rate, f32Rate);
    if (!choice.message.empty())
      llvm::errs() << choice.message << "\n";
    return choice.bf16;
  }();
  return bf16;
}

} // namespace

std::string lorc::openBlasCoreNote(const char *core, bool hasAvx2) {
  if (!core || !hasAvx2 || llvm::StringRef(core) != "Prescott")
    return "";
  return "lorc: OpenBLAS runs its generic Prescott kernels on this CPU, which it does not "
         "recognise; OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) selects faster ones";
}

Bf16GemmMode lorc::parseBf16GemmMode(const char *value, std::string &warning) {
  warning.clear();
  llvm::StringRef v = value ? value : "";
  if (v.empty() || v == "auto")
    return Bf16GemmMode::Auto;
  if (v == "on")
    return Bf16GemmMode::On;
  if (v == "off")
    return Bf16GemmMode::Off;
  warning = (llvm::Twine("lorc: LORC_CPU_BF16_GEMM=") + v +
             ": expected auto, on or off; using auto")
                .str();
  return Bf16GemmMode::Auto;
}

Bf16GemmChoice lorc::chooseBf16Gemm(Bf16GemmMode mode, bool hasDot, double bf16Gflops,
                                    double f32Gflops) {
  if (mode == Bf16GemmMode::Off)
    return {false, ""};
  if (!hasDot)
    return {false, "lorc: this CPU has no AVX512_BF16: the artifact's bf16 GEMMs run in f32"};
  if (mode == Bf16GemmMode::On || bf16Gflops >= kBf16GemmMinSpeedup * f32Gflops)
    return {true, ""};
  std::string message;
  llvm::raw_string_ostream os(message);
  os << "lorc: VDPBF16PS runs at " << llvm::format("%.0f", bf16Gflops)
     << " GFLOP/s per thread on this CPU against " << llvm::format("%.0f", f32Gflops)
     << " for f32 FMA (bf16 GEMMs need " << llvm::format("%.1f", kBf16GemmMinSpeedup)
     << "x to pay): the artifact's bf16 GEMMs run in f32 (LORC_CPU_BF16_GEMM=on forces bf16)";
  return {false, message};
}

void lorc::cpuGemm(int64_t batch, int64_t m, int64_t n, int64_t k, GemmOperand a, GemmOperand b,
                   bool bIsParameter, float *c, const int64_t cStrides[3],
                   GemmPrecision precision, const GemmEpilogue &epilogue) {
  if (batch == 0 || m == 0 || n == 0)
    return;
  bool bf16 = precision == GemmPrecision::BF16 && bf16GemmsInBf16();
  // k = 0 leaves the product zero, which only the epilogue can change.
  if (k > 0 && library() == Library::OneDnn &&
      OneDnn::get().run(batch, m, n, k, a, b, bIsParameter, c, cStrides, bf16, epilogue))
    return;
  if (!b.data)
    b.data = b.materialize();
  const auto *af = static_cast<const float *>(a.data);
  for (int64_t i = 0; i < batch; ++i) {
    const float *bf = static_cast<const float *>(b.data) + i * b.strides[0];
    const int64_t *bs = b.strides + 1;
    std::vector<float> widened; // a bf16 B, as f32 [k, n] row-major (exact)
    const int64_t dense[2] = {n, 1};
    if (b.bf16) {
      const auto *bits = static_cast<const uint16_t *>(b.data) + i * b.strides[0];
      widened.resize(static_cast<size_t>(k * n));
      for (int64_t r = 0; r < k; ++r)
        for (int64_t col = 0; col < n; ++col)
          widened[r * n + col] = fromBf16Bits(bits[r * b.strides[1] + col * b.strides[2]]);
      bf = widened.data();
      bs = dense;
    }
    blasGemmWithEpilogue(m, n, k, af + i * a.strides[0], a.strides + 1, bf, bs,
                         c + i * cStrides[0], cStrides + 1, epilogue);
  }
}

void lorc::decodeFp8Rows(const Fp8RowsOperand &w, std::vector<float> &out) {
  float table[256];
  for (int code = 0; code < 256; ++code)
    table[code] = lorc::fp8Decode(static_cast<uint8_t>(code), w.kind);
  out.resize(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    float s = w.scales[r * w.scaleStride];
    const uint8_t *row = w.codes + r * w.codeStrides[0];
    for (int64_t c = 0; c < w.cols; ++c)
      out[r * w.cols + c] = table[row[c * w.codeStrides[1]]] / s;
  }
}

void lorc::rowMajorGemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  GemmOperand av{}, bv{};
  av.data = a;
  av.strides[1] = lda;
  av.strides[2] = 1;
  bv.data = b;
  bv.strides[1] = ldb;
  bv.strides[2] = 1;
  GemmEpilogue epilogue;
  epilogue.accumulate = accumulate;
  const int64_t cStrides[3] = {0, ldc, 1};
  cpuGemm(1, m, n, k, av, bv, /*bIsParameter=*/false, c, cStrides, GemmPrecision::F32, epilogue);
}

void lorc::clearPackedWeights() { OneDnn::get().clearPacked(); }

// OpenBLAS' thread control (declared in its cblas.h; declared here so other BLAS builds link).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

void lorc::setGemmThreads(int threads) {
  if (threads <= 0)
    return;
  if (openblas_set_num_threads)
    openblas_set_num_threads(threads);
  // oneDNN's threads are OpenMP's (libgomp, loaded with libdnnl).
  if (auto ompSetNumThreads =
          reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads")))
    ompSetNumThreads(threads);
}
