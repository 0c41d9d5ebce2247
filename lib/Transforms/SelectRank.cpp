//===- SelectRank.cpp - truncated SVDs of layers and adapters under a budget ===//
//
// Candidates are dense `lorc.linear` weights W (targets=dense) and the ΔW of unmerged adapters
// (targets=adapters). Each is decomposed once, by LAPACKE dgesdd, either as is (data-free) or in
// the whitened space of its layer's inputs (SVD-LLM, Wang et al. 2024, arXiv:2403.07378): with
// G = XᵀX the Gram of the layer's calibration inputs (rows of X are tokens) and G = L·Lᵀ its
// Cholesky factor, ‖(D − D_r)·Xᵀ‖²_F = ‖(D − D_r)·L‖²_F, so truncating the SVD of D·L at rank r
// drops exactly Σ_{i≥r} σᵢ² of output error, and D_r = U_r·Σ_r·V_rᵀ·L⁻¹ is the best rank-r
// choice for these inputs (SVD-LLM's Theorem 3.2). The loss of a candidate at rank r is that
// dropped energy relative to its layer's whole output energy ‖W_eff·L‖²_F (L = I data-free), so
// losses of different layers are comparable and a budget is met greedily by the smallest loss
// added per mJ saved.
//
//===----------------------------------------------------------------------===//

#include "lorc/CostModel/CostModel.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cblas.h>
#include <lapacke.h>

#include <cmath>

#define DEBUG_TYPE "lorc-select-rank"

namespace lorc {
#define GEN_PASS_DEF_LORCSELECTRANKPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// A preset of LoRAven (KIOSHIROI/LoRAven, loraven/loraven_simple.py `LoRAven.PRESETS`): the
/// rank ratio sets the budget (every candidate at ⌈ratio · full rank⌉), the min ratio the floor
/// of each candidate's rank.
struct Preset {
  StringRef name;
  double rankRatio, minRankRatio;
};
constexpr Preset kPresets[] = {
    {"high_performance", 0.8, 0.3}, {"balanced", 0.5, 0.2}, {"low_power", 0.3, 0.1}};

/// One thing whose rank is chosen: a dense layer's weight, or one adapter's ΔW on a layer.
struct Candidate {
  bool isAdapter = false;
  LinearOp op;
  unsigned adapterIndex = 0;
  Operation *adapterOp = nullptr;
  std::string layer; // the layer's weight name
  std::string name;  // layer, or "<layer>:adapter<i>"
  std::string kind;  // "dense", "lora", "loha", "lokr"
  int64_t n = 0, k = 0, m = 0;
  double rows = 0;
  bool hasBias = false;
  /// The rank of the current form (min(N, K) for dense, r for LoRA, numerical rank for LoHa and
  /// LoKr); choosing it keeps the candidate as it is.
  int64_t fullRank = 0;
  int64_t rMin = 1;
  /// SVD of D·L: D = W (dense) or ΔW (adapter, scale included, multiplier not), L the whitening
  /// factor (identity without calibration). u [N, m], vt [m, K], row-major.
  std::vector<double> sigma, u, vt;
  std::vector<double> whitening; // L [K, K] lower, empty = identity
  std::vector<double> tail;      // tail[r] = Σ_{i ≥ r} σᵢ²
  double lossScale = 1;          // multiplier² / ‖W_eff·L‖²_F
  double originalMj = 0;
  int64_t rank = 0;

  double newMj(int64_t r, const HardwareProfile &hw) const {
    OpWork w = isAdapter ? loraSideWork(rows, n, k, r)
                         : lowRankLinearWork(rows, n, k, r, hasBias, 4);
    return hw.estimate(w).energyMj();
  }
  bool pays(int64_t r, const HardwareProfile &hw) const {
    return r < fullRank && newMj(r, hw) < originalMj;
  }
  double energyAt(int64_t r, const HardwareProfile &hw) const {
    return pays(r, hw) ? newMj(r, hw) : originalMj;
  }
  double loss(int64_t r, const HardwareProfile &hw) const {
    return pays(r, hw) ? tail[r] * lossScale : 0;
  }
  /// The fraction of D·L's own spectral energy kept at rank r.
  double retained(int64_t r) const { return tail[0] > 0 ? 1 - tail[std::min(r, m)] / tail[0] : 1; }
};

/// `x` as printf's %g writes it.
std::string fmtG(double x) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%g", x);
  return s;
}

/// Row-major [rows, cols] f64 copy of f32 data.
std::vector<double> toDouble(ArrayRef<float> v) { return std::vector<double>(v.begin(), v.end()); }

struct LorcSelectRankPass : lorc::impl::LorcSelectRankPassBase<LorcSelectRankPass> {
  using LorcSelectRankPassBase::LorcSelectRankPassBase;

  std::shared_ptr<SafetensorsFile> grams;
  double dynamicMinRatio = 0.5;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &msg) {
      module.emitError() << "--lorc-select-rank: " << msg;
      signalPassFailure();
    };
    if (minCosine > 0)
      return fail("min-cosine= needs runs of the model on calibration inputs: use lorc-compile "
                  "--select-rank=min-cosine=C,calibration=<inputs.safetensors>");
    int criteria = (fixedRank > 0) + (retainedEnergy > 0) + (energyRatio > 0) + (budgetMj > 0) +
                   !preset.empty() + (threshold > 0) + (svRatio > 0) + (quantile > 0);
    if (criteria != 1)
      return fail("give exactly one of rank=, retained-energy=, energy-ratio=, budget-mj=, "
                  "preset=, threshold=, sv-ratio= or quantile= (got " +
                  Twine(criteria) + ")");
    if (retainedEnergy > 1 || energyRatio > 1 || svRatio > 1 || quantile > 1 || step <= 0 ||
        dynamicSize <= 0)
      return fail("retained-energy, energy-ratio, sv-ratio and quantile are fractions in (0, 1], "
                  "step and dynamic-size positive");
    if (dynamicRank < 0 || dynamicRank > 1)
      return fail("dynamic-rank is an energy fraction in (0, 1] (0: off), got " +
                  fmtG(dynamicRank));
    const Preset *chosenPreset = nullptr;
    for (const Preset &p : kPresets)
      if (preset == p.name)
        chosenPreset = &p;
    dynamicMinRatio = chosenPreset ? chosenPreset->minRankRatio : 0.5;
    if (!preset.empty() && !chosenPreset)
      return fail("unknown preset '" + preset +
                  "' (expected high_performance, balanced or low_power)");
    bool wantDense = targets == "dense" || targets == "all";
    bool wantAdapters = targets == "adapters" || targets == "all";
    if (!wantDense && !wantAdapters)
      return fail("unknown targets '" + targets + "' (expected dense, adapters or all)");
    llvm::Expected<HardwareProfile> hw = HardwareProfile::get(profile);
    if (!hw)
      return fail(llvm::toString(hw.takeError()));
    if (!calibrationGram.empty()) {
      auto file = SafetensorsFile::open(calibrationGram);
      if (!file)
        return fail("calibration-gram: " + llvm::toString(file.takeError()));
      grams = std::move(*file);
    }
    auto dimSize = [&](Value v, unsigned i) -> int64_t {
      int64_t d = cast<ShapedType>(v.getType()).getDimSize(i);
      return ShapedType::isDynamic(d) ? int64_t(dynamicSize) : d;
    };

    std::vector<Candidate> cands;
    unsigned layerIndex = 0; // names inline weights "layer<i>", counting every linear layer
    WalkResult walk = module.walk([&](LinearOp op) -> WalkResult {
      std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
      if (!w || w->shape.size() != 2)
        return WalkResult::advance();
      std::string layer = w->name.empty() ? "layer" + std::to_string(layerIndex) : w->name;
      ++layerIndex;
      // A fused epilogue has no low-rank form (lorc-compile selects ranks before --lorc-fuse).
      if (op.hasEpilogue())
        return WalkResult::advance();
      if (op.getAdapters().empty() ? wantDense : wantAdapters)
        if (failed(addCandidates(op, *w, layer, *hw, dimSize, cands)))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    double before = 0;
    for (const Candidate &c : cands)
      before += c.originalMj;
    double budget = 0;
    std::string budgetName;
    if (chosenPreset) {
      for (Candidate &c : cands) {
        c.rMin = std::max<int64_t>(1, std::ceil(chosenPreset->minRankRatio * c.fullRank));
        budget += c.energyAt(std::max<int64_t>(1, std::ceil(chosenPreset->rankRatio * c.fullRank)),
                             *hw);
      }
      budgetName = "preset=" + preset;
    } else if (energyRatio > 0) {
      budget = energyRatio * before;
      budgetName = "energy-ratio=" + llvm::formatv("{0}", fmtG(energyRatio)).str();
    } else if (budgetMj > 0) {
      // Whole model, per sample: the rest of the model is fixed, the candidates get the remainder.
      double total = 0;
      module.walk([&](CostOpInterface op) { total += hw->estimate(op.getWork(dimSize)).energyMj(); });
      double samples = batchSize(module, dimSize);
      budget = budgetMj * samples - (total - before);
      budgetName = "budget-mj=" + llvm::formatv("{0}", fmtG(budgetMj)).str();
      double minimum = 0;
      for (const Candidate &c : cands)
        minimum += c.energyAt(c.rMin, *hw);
      if (budget < minimum)
        return fail(budgetName + " per sample is unattainable: the smallest estimated energy is " +
                    llvm::formatv("{0:F5}", (total - before + minimum) / samples).str() +
                    " mJ per sample (the " + Twine(cands.size()) +
                    " selectable layers at rank 1, the rest of the model " +
                    llvm::formatv("{0:F5}", (total - before) / samples).str() +
                    " mJ; profile " + hw->name + ", batch " + Twine(int64_t(samples)) + ")");
    }

    for (Candidate &c : cands) {
      auto clampRank = [&](int64_t r) { return std::clamp<int64_t>(r, c.rMin, c.fullRank); };
      auto count = [&](auto pred) {
        int64_t r = 0;
        for (int64_t i = 0; i < c.m; ++i)
          r += pred(i);
        return std::max<int64_t>(1, r);
      };
      if (fixedRank > 0)
        c.rank = clampRank(fixedRank);
      else if (retainedEnergy > 0) {
        int64_t r = 1;
        while (r < c.m && c.retained(r) < retainedEnergy)
          ++r;
        c.rank = clampRank(r);
      } else if (threshold > 0) // LyCORIS extract_linear mode "threshold": σ > T
        c.rank = clampRank(count([&](int64_t i) { return c.sigma[i] > threshold; }));
      else if (svRatio > 0) // mode "ratio": σ > R·σ_max
        c.rank = clampRank(count([&](int64_t i) { return c.sigma[i] > svRatio * c.sigma[0]; }));
      else if (quantile > 0) { // mode "quantile": cumsum(σ) < Q·Σσ (σ, not σ²)
        double total = 0, cum = 0;
        for (double s : c.sigma)
          total += s;
        c.rank = clampRank(count([&](int64_t i) { return (cum += c.sigma[i]) < quantile * total; }));
      } else
        c.rank = c.fullRank;
    }
    if (budget > 0 && failed(selectUnderBudget(cands, *hw, before, budget, budgetName)))
      return signalPassFailure();

    // Report and rewrite.
    double after = 0;
    llvm::raw_ostream &os = printTable ? llvm::errs() : llvm::nulls();
    os << llvm::format("%-56s %6s %6s %12s %12s %9s %10s\n", "layer", "rank", "of", "before mJ",
                       "after mJ", "retained", "loss");
    for (Candidate &c : cands) {
      bool reduce = c.pays(c.rank, *hw);
      double mj = c.energyAt(c.rank, *hw);
      after += mj;
      os << llvm::format("%-56s %6lld %6lld %12.5f %12.5f %9.5f %10.3g\n", c.name.c_str(),
                         static_cast<long long>(reduce ? c.rank : c.fullRank),
                         static_cast<long long>(c.fullRank), c.originalMj, mj,
                         reduce ? c.retained(c.rank) : 1.0, c.loss(c.rank, *hw));
      rewrite(c, reduce, mj, *hw);
    }
    os << llvm::format("selected layers: %.5f mJ -> %.5f mJ (ratio %.4f) on %s, dynamic "
                       "dimensions taken as %lld%s\n",
                       before, after, before > 0 ? after / before : 1.0, hw->name.c_str(),
                       static_cast<long long>(dynamicSize),
                       grams ? ", whitened by the calibration Grams" : "");
    Builder b(&getContext());
    module->setAttr("lorc.rank_selection",
                    b.getDictionaryAttr(
                        {b.getNamedAttr("targets", b.getStringAttr(targets)),
                         b.getNamedAttr("profile", b.getStringAttr(hw->name)),
                         b.getNamedAttr("dynamic_size", b.getI64IntegerAttr(dynamicSize)),
                         b.getNamedAttr("whitened", b.getBoolAttr(static_cast<bool>(grams))),
                         b.getNamedAttr("energy_before_mj", b.getF64FloatAttr(before)),
                         b.getNamedAttr("energy_after_mj", b.getF64FloatAttr(after))}));
  }

  /// The batch size the estimates assume: dimension 0 of the entry's first argument.
  static double batchSize(ModuleOp module, function_ref<int64_t(Value, unsigned)> dimSize) {
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isDeclaration() && fn.getNumArguments() > 0)
        if (auto t = dyn_cast<ShapedType>(fn.getArgument(0).getType()); t && t.getRank() > 0)
          return static_cast<double>(dimSize(fn.getArgument(0), 0));
    return 1;
  }

  /// The whitening factor L (G + δ·I = L·Lᵀ) of the layer's inputs, or empty without
  /// calibration. δ = max(whitening-damping, 1e-6) · mean(diag G), raised tenfold until the
  /// Cholesky factorisation succeeds (SVD-LLM shifts by the smallest eigenvalue instead). The
  /// damping is a ridge toward the data-free criterion: with fewer calibration tokens than
  /// input features G is singular, and directions the calibration never excited would
  /// otherwise be truncated for free.
  FailureOr<std::vector<double>> whiteningFor(LinearOp op, StringRef layer, int64_t k) {
    if (!grams)
      return std::vector<double>();
    const TensorInfo *info = grams->find(layer);
    if (!info || info->dtype != DType::F32 || ArrayRef<int64_t>(info->shape) != ArrayRef<int64_t>{k, k}) {
      op.emitOpError() << "--lorc-select-rank: calibration-gram " << grams->path()
                       << " has no f32 [" << k << ", " << k << "] Gram named '" << layer << "'";
      return failure();
    }
    ArrayRef<uint8_t> raw = grams->data(*info);
    ArrayRef<float> g(reinterpret_cast<const float *>(raw.data()), k * k);
    double meanDiag = 0;
    for (int64_t i = 0; i < k; ++i)
      meanDiag += g[i * k + i] / k;
    for (double delta = std::max<double>(whiteningDamping, 1e-6) * std::max(meanDiag, 1e-30);
         delta < 1e3 * meanDiag + 1;
         delta *= 10) {
      std::vector<double> l = toDouble(g);
      for (int64_t i = 0; i < k; ++i)
        l[i * k + i] += delta;
      if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', k, l.data(), k) == 0) {
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = i + 1; j < k; ++j)
            l[i * k + j] = 0;
        return l;
      }
    }
    op.emitOpError() << "--lorc-select-rank: the calibration Gram of '" << layer
                     << "' is not positive semi-definite";
    return failure();
  }

  /// SVD of d·L (d [n, k] row-major; L empty = identity) into c.sigma/u/vt and c.tail.
  LogicalResult decompose(Candidate &c, std::vector<double> d) {
    if (!c.whitening.empty()) {
      std::vector<double> dl(c.n * c.k);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.n, c.k, c.k, 1.0, d.data(), c.k,
                  c.whitening.data(), c.k, 0.0, dl.data(), c.k);
      d = std::move(dl);
    }
    c.m = std::min(c.n, c.k);
    c.sigma.resize(c.m);
    c.u.resize(c.n * c.m);
    c.vt.resize(c.m * c.k);
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', c.n, c.k, d.data(), c.k,
                                     c.sigma.data(), c.u.data(), c.m, c.vt.data(), c.k);
    if (info != 0)
      return c.op.emitOpError() << "SVD of " << c.name << " failed (LAPACKE_dgesdd info " << info
                                << ")";
    c.tail.assign(c.m + 1, 0.0);
    for (int64_t i = c.m - 1; i >= 0; --i)
      c.tail[i] = c.tail[i + 1] + c.sigma[i] * c.sigma[i];
    return success();
  }

  /// ‖a·L‖²_F for a [n, k] row-major.
  static double whitenedEnergy(const Candidate &c, const std::vector<double> &a) {
    if (c.whitening.empty()) {
      double s = 0;
      for (double v : a)
        s += v * v;
      return s;
    }
    std::vector<double> al(c.n * c.k);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.n, c.k, c.k, 1.0, a.data(), c.k,
                c.whitening.data(), c.k, 0.0, al.data(), c.k);
    return cblas_ddot(al.size(), al.data(), 1, al.data(), 1);
  }

  LogicalResult addCandidates(LinearOp op, const F32ConstantData &w, const std::string &layer,
                              const HardwareProfile &hw,
                              function_ref<int64_t(Value, unsigned)> dimSize,
                              std::vector<Candidate> &cands) {
    Candidate base;
    base.op = op;
    base.layer = layer;
    base.n = w.shape[0];
    base.k = w.shape[1];
    base.hasBias = static_cast<bool>(op.getBias());
    base.rows = numRows(op, dimSize);
    FailureOr<std::vector<double>> white = whiteningFor(op, layer, base.k);
    if (failed(white))
      return failure();
    base.whitening = std::move(*white);
    std::vector<double> weight = toDouble(w.values);

    if (op.getAdapters().empty()) {
      Candidate c = base;
      c.name = layer;
      c.kind = "dense";
      c.originalMj = hw.estimate(op.getWork(dimSize)).energyMj();
      if (failed(decompose(c, weight)))
        return failure();
      c.fullRank = c.m;
      c.lossScale = c.tail[0] > 0 ? 1 / c.tail[0] : 0;
      cands.push_back(std::move(c));
      return success();
    }

    // Adapters: each ΔW separately; losses relative to the adapted layer's W + Σ mᵢ·ΔWᵢ.
    SmallVector<int64_t> shape{base.n, base.k};
    std::vector<double> effective = weight;
    SmallVector<std::optional<std::vector<double>>> deltas;
    for (auto [i, a] : llvm::enumerate(op.getAdapters())) {
      Operation *def = a.getDefiningOp();
      std::optional<ModuleAdapter> desc = def ? describeAdapterOp(def) : std::nullopt;
      bool dora = desc && (desc->factors.count("magnitude") || desc->factors.count("dora_scale") ||
                           desc->factors.count("mid"));
      if (!desc || dora) {
        // DoRA rescales the whole row and a Tucker core belongs to a convolution: not a ΔW that
        // can be truncated on its own.
        op.emitRemark() << "--lorc-select-rank: adapter #" << i << " of " << layer
                        << (dora ? " is DoRA or Tucker" : " has non-constant factors")
                        << "; left as it is";
        deltas.push_back(std::nullopt);
        continue;
      }
      llvm::Expected<std::vector<float>> delta = computeDeltaWeight(*desc, shape);
      if (!delta)
        return op.emitOpError() << "adapter #" << i << ": " << llvm::toString(delta.takeError());
      std::vector<double> d = toDouble(*delta);
      double mult = op.getMultiplier(i);
      for (size_t j = 0; j < d.size(); ++j)
        effective[j] += mult * d[j];
      deltas.push_back(std::move(d));
    }
    double norm = whitenedEnergy(base, effective);
    for (auto [i, a] : llvm::enumerate(op.getAdapters())) {
      if (!deltas[i])
        continue;
      Candidate c = base;
      c.isAdapter = true;
      c.adapterIndex = i;
      c.adapterOp = a.getDefiningOp();
      c.name = layer + ":adapter" + std::to_string(i);
      c.kind = c.adapterOp->getName().stripDialect().str();
      c.originalMj = hw.estimate(adapterWork(c.adapterOp, c.rows, c.n, c.k, dimSize)).energyMj();
      if (failed(decompose(c, std::move(*deltas[i]))))
        return failure();
      if (auto lora = dyn_cast<LoraOp>(c.adapterOp)) {
        c.fullRank = cast<ShapedType>(lora.getDown().getType()).getDimSize(0);
      } else {
        c.fullRank = 0; // numerical rank
        for (double s : c.sigma)
          c.fullRank += s > 1e-6 * c.sigma[0];
        c.fullRank = std::max<int64_t>(c.fullRank, 1);
        // Kept as it is unless a LoRA at some rank below the numerical rank is cheaper.
        c.fullRank = std::min(c.fullRank + 1, c.m);
      }
      double mult = op.getMultiplier(i);
      c.lossScale = norm > 0 ? mult * mult / norm : 0;
      cands.push_back(std::move(c));
    }
    return success();
  }

  static double numRows(LinearOp op, function_ref<int64_t(Value, unsigned)> dimSize) {
    auto x = cast<ShapedType>(op.getInput().getType());
    double rows = 1;
    for (int64_t i = 0; i + 1 < x.getRank(); ++i)
      rows *= dimSize(op.getInput(), i);
    return rows;
  }

  LogicalResult selectUnderBudget(std::vector<Candidate> &cands, const HardwareProfile &hw,
                                  double before, double budget, StringRef budgetName) {
    double current = 0;
    for (const Candidate &c : cands)
      current += c.energyAt(c.rank, hw);
    // The next rank of a candidate: the first step jumps to the largest multiple of `step` at
    // which the reduced form pays, later steps go down by `step`, never below r_min.
    auto next = [&](const Candidate &c) -> int64_t {
      if (!c.pays(c.rank, hw)) {
        int64_t r = c.fullRank - 1;
        while (r > c.rMin && !c.pays(r, hw))
          --r;
        int64_t rounded = r / step * step;
        return rounded >= c.rMin && rounded > 0 ? rounded : r;
      }
      return std::max<int64_t>(c.rMin, c.rank - step);
    };
    while (current > budget * (1 + 1e-12)) {
      Candidate *best = nullptr;
      int64_t bestRank = 0;
      double bestScore = 0, bestSaving = 0;
      for (Candidate &c : cands) {
        int64_t r = next(c);
        double saving = c.energyAt(c.rank, hw) - c.energyAt(r, hw);
        if (r >= c.rank && c.pays(c.rank, hw))
          continue; // at r_min already
        if (saving <= 0)
          continue;
        double score = (c.loss(r, hw) - c.loss(c.rank, hw)) / saving;
        if (!best || score < bestScore) {
          best = &c;
          bestRank = r;
          bestScore = score;
          bestSaving = saving;
        }
      }
      if (!best) {
        double minimum = 0;
        bool floors = false;
        for (const Candidate &c : cands) {
          minimum += c.energyAt(c.rMin, hw);
          floors |= c.rMin > 1;
        }
        std::string msg;
        llvm::raw_string_ostream os(msg);
        os << "--lorc-select-rank: " << budgetName << " is unattainable: the smallest estimated "
           << "energy of the " << cands.size() << " selectable layers is "
           << llvm::format("%.5f", minimum) << " mJ, ratio "
           << llvm::format("%.4f", before > 0 ? minimum / before : 1.0) << " of the unreduced "
           << llvm::format("%.5f", before) << " mJ ("
           << (floors ? "every layer at its preset's minimum rank" : "every layer at rank 1")
           << ")";
        getOperation().emitError() << msg;
        return failure();
      }
      best->rank = bestRank;
      current -= bestSaving;
    }
    return success();
  }

  /// The first r components as factors: left [N, r] = U_r·diag(σ_r^a), right [r, K] =
  /// diag(σ_r^(1−a))·V_rᵀ·L⁻¹ (a = 1 puts σ on the left).
  void factors(const Candidate &c, int64_t r, double leftPower, std::vector<float> &left,
               std::vector<float> &right) {
    std::vector<double> vr(c.k * r); // V_r [K, r]
    for (int64_t i = 0; i < c.k; ++i)
      for (int64_t j = 0; j < r; ++j)
        vr[i * r + j] = c.vt[j * c.k + i];
    if (!c.whitening.empty()) // L⁻ᵀ·V_r: solve Lᵀ·Y = V_r
      LAPACKE_dtrtrs(LAPACK_ROW_MAJOR, 'L', 'T', 'N', c.k, r, c.whitening.data(), c.k, vr.data(),
                     r);
    left.assign(c.n * r, 0);
    right.assign(r * c.k, 0);
    for (int64_t j = 0; j < r; ++j) {
      double sl = std::pow(c.sigma[j], leftPower), sr = std::pow(c.sigma[j], 1 - leftPower);
      for (int64_t i = 0; i < c.n; ++i)
        left[i * r + j] = static_cast<float>(c.u[i * c.m + j] * sl);
      for (int64_t i = 0; i < c.k; ++i)
        right[j * c.k + i] = static_cast<float>(vr[i * r + j] * sr);
    }
  }

  void rewrite(Candidate &c, bool reduce, double afterMj, const HardwareProfile &hw) {
    OpBuilder b(c.op);
    Location loc = c.op.getLoc();
    int64_t r = reduce ? c.rank : c.fullRank;
    auto record = b.getDictionaryAttr(
        {b.getNamedAttr("name", b.getStringAttr(c.name)),
         b.getNamedAttr("kind", b.getStringAttr(c.kind)),
         b.getNamedAttr("rank_before", b.getI64IntegerAttr(c.fullRank)),
         b.getNamedAttr("rank_after", b.getI64IntegerAttr(r)),
         b.getNamedAttr("retained", b.getF64FloatAttr(reduce ? c.retained(r) : 1.0)),
         b.getNamedAttr("loss", b.getF64FloatAttr(c.loss(r, hw))),
         b.getNamedAttr("energy_before_mj", b.getF64FloatAttr(c.originalMj)),
         b.getNamedAttr("energy_after_mj", b.getF64FloatAttr(afterMj))});
    if (!reduce) {
      (c.isAdapter ? c.adapterOp : c.op.getOperation())->setAttr("lorc.rank_selection", record);
      return;
    }
    auto constant = [&](ArrayRef<int64_t> shape, const std::vector<float> &data,
                        StringRef suffix) -> Value {
      auto type = RankedTensorType::get(shape, b.getF32Type());
      auto attr = DenseResourceElementsAttr::get(
          type, c.name + "." + suffix.str(),
          HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(data)));
      return arith::ConstantOp::create(b, loc, type, attr);
    };
    std::vector<float> left, right;
    if (c.isAdapter) {
      // kohya's resize_lora and LyCORIS' extraction put σ into `up`; σ is split evenly here so
      // that neither factor's range grows with the spectrum (alpha = rank: scale 1).
      factors(c, r, 0.5, left, right);
      b.setInsertionPoint(c.adapterOp);
      Value down = constant({r, c.k}, right, "resized_down");
      Value up = constant({c.n, r}, left, "resized_up");
      auto lora = LoraOp::create(b, c.adapterOp->getLoc(), c.adapterOp->getResult(0).getType(),
                                 down, up, Value(), Value(), b.getF64FloatAttr(1.0), UnitAttr());
      lora->setAttr("lorc.rank_selection", record);
      c.op->setOperand(c.op.getAdapters().getBeginOperandIndex() + c.adapterIndex, lora);
      if (c.adapterOp->use_empty())
        c.adapterOp->erase();
      ++numReduced;
      return;
    }
    factors(c, r, 1.0, left, right);
    std::vector<float> v(c.k * r), s(r);
    for (int64_t i = 0; i < c.k; ++i)
      for (int64_t j = 0; j < r; ++j)
        v[i * r + j] = right[j * c.k + i];
    for (int64_t j = 0; j < r; ++j) {
      s[j] = static_cast<float>(c.sigma[j]);
      for (int64_t i = 0; i < c.n; ++i) // left holds U·σ; u is U alone
        left[i * r + j] = static_cast<float>(c.u[i * c.m + j]);
    }
    Value vc = constant({c.k, r}, v, "svd_v"), sc = constant({r}, s, "svd_s"),
          uc = constant({c.n, r}, left, "svd_u");
    // With dynamic-rank=τ the selected rank becomes r_max of a run-time scheduler, r_min the
    // preset's min ratio of it (0.5 without a preset).
    int64_t rMin = 1;
    FloatAttr schedule;
    if (dynamicRank > 0) {
      rMin = std::max<int64_t>(1, std::ceil(dynamicMinRatio * r));
      schedule = b.getF64FloatAttr(dynamicRank);
    }
    auto lowRank = LowRankLinearOp::create(b, loc, c.op.getType(), c.op.getInput(), vc, sc, uc,
                                           c.op.getBias(), Value(), b.getI64IntegerAttr(r),
                                           b.getI64IntegerAttr(rMin), b.getI64IntegerAttr(r),
                                           schedule);
    lowRank->setAttr("lorc.rank_selection", record);
    Operation *weight = c.op.getWeight().getDefiningOp();
    c.op.replaceAllUsesWith(lowRank.getResult());
    c.op.erase();
    if (weight && weight->use_empty())
      weight->erase();
    ++numReduced;
  }
};

} // namespace
