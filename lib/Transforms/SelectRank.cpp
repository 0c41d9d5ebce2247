//===- SelectRank.cpp - truncated SVDs of dense layers under a budget -----===//

#include "lorc/CostModel/CostModel.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <lapacke.h>

#define DEBUG_TYPE "lorc-select-rank"

namespace lorc {
#define GEN_PASS_DEF_LORCSELECTRANKPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// A dense layer and its SVD W [N, K] = U [N, m] · diag(σ) [m] · Vᵀ [m, K], m = min(N, K).
struct Layer {
  LinearOp op;
  std::string name;
  int64_t n = 0, k = 0, m = 0;
  double rows = 0; // M, the rows the layer sees at the assumed sizes
  std::vector<float> sigma, u, vt;
  /// tail[r] = Σ_{i ≥ r} σᵢ², so the spectral loss of rank r is tail[r] / tail[0].
  std::vector<double> tail;
  int64_t rank = 0; // m means dense
  double denseMj = 0;
  bool hasBias = false;

  bool lowRankPays(int64_t r) const { return r * (k + n) < n * k; }
  double loss(int64_t r) const { return tail[0] > 0 ? tail[r] / tail[0] : 0; }
};

struct LorcSelectRankPass : lorc::impl::LorcSelectRankPassBase<LorcSelectRankPass> {
  using LorcSelectRankPassBase::LorcSelectRankPassBase;

  double energyAt(const Layer &l, int64_t r, const HardwareProfile &hw) const {
    if (r >= l.m || !l.lowRankPays(r))
      return l.denseMj;
    return hw
        .estimate(lowRankLinearWork(l.rows, l.n, l.k, static_cast<double>(r), l.hasBias, 4))
        .energyMj();
  }

  void runOnOperation() override {
    int criteria = (fixedRank > 0) + (retainedEnergy > 0) + (energyRatio > 0);
    if (criteria != 1) {
      getOperation().emitError() << "--lorc-select-rank: give exactly one of rank=, "
                                    "retained-energy= or energy-ratio= (got "
                                 << criteria << ")";
      return signalPassFailure();
    }
    if (retainedEnergy > 1 || energyRatio > 1 || step <= 0 || dynamicSize <= 0) {
      getOperation().emitError() << "--lorc-select-rank: retained-energy and energy-ratio are "
                                    "fractions in (0, 1], step and dynamic-size positive";
      return signalPassFailure();
    }
    llvm::Expected<HardwareProfile> hw = HardwareProfile::get(profile);
    if (!hw) {
      getOperation().emitError() << "--lorc-select-rank: " << llvm::toString(hw.takeError());
      return signalPassFailure();
    }
    auto dimSize = [&](Value v, unsigned i) -> int64_t {
      int64_t d = cast<ShapedType>(v.getType()).getDimSize(i);
      return ShapedType::isDynamic(d) ? int64_t(dynamicSize) : d;
    };

    std::vector<Layer> layers;
    WalkResult walk = getOperation().walk([&](LinearOp op) -> WalkResult {
      if (!op.getAdapters().empty())
        return WalkResult::advance();
      std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
      if (!w)
        return WalkResult::advance();
      Layer l;
      l.op = op;
      l.name = w->name.empty() ? "layer" + std::to_string(layers.size()) : w->name;
      l.n = w->shape[0];
      l.k = w->shape[1];
      l.m = std::min(l.n, l.k);
      l.hasBias = static_cast<bool>(op.getBias());
      OpWork dense = op.getWork(dimSize);
      l.rows = dense.bytesWritten / 4 / static_cast<double>(l.n);
      l.denseMj = hw->estimate(dense).energyMj();
      std::vector<float> a(w->values.begin(), w->values.end());
      l.sigma.resize(l.m);
      l.u.resize(l.n * l.m);
      l.vt.resize(l.m * l.k);
      lapack_int info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', l.n, l.k, a.data(), l.k,
                                       l.sigma.data(), l.u.data(), l.m, l.vt.data(), l.k);
      if (info != 0) {
        op.emitOpError() << "SVD of its weight failed (LAPACKE_sgesdd info " << info << ")";
        return WalkResult::interrupt();
      }
      l.tail.assign(l.m + 1, 0.0);
      for (int64_t i = l.m - 1; i >= 0; --i)
        l.tail[i] = l.tail[i + 1] + double(l.sigma[i]) * l.sigma[i];
      l.rank = l.m;
      layers.push_back(std::move(l));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    double before = 0;
    for (const Layer &l : layers)
      before += l.denseMj;
    if (fixedRank > 0) {
      for (Layer &l : layers)
        l.rank = std::min<int64_t>(fixedRank, l.m);
    } else if (retainedEnergy > 0) {
      for (Layer &l : layers) {
        int64_t r = 1;
        while (r < l.m && 1.0 - l.loss(r) < retainedEnergy)
          ++r;
        l.rank = r;
      }
    } else if (failed(selectUnderBudget(layers, *hw, before)))
      return signalPassFailure();

    // Report and rewrite.
    double after = 0;
    llvm::raw_ostream &os = llvm::errs();
    os << llvm::format("%-48s %6s %6s %12s %12s %9s\n", "layer", "rank", "of", "dense mJ",
                       "after mJ", "retained");
    for (Layer &l : layers) {
      bool reduce = l.rank < l.m && l.lowRankPays(l.rank);
      double mj = energyAt(l, reduce ? l.rank : l.m, *hw);
      after += mj;
      os << llvm::format("%-48s %6lld %6lld %12.5f %12.5f %9.5f\n", l.name.c_str(),
                         static_cast<long long>(reduce ? l.rank : l.m),
                         static_cast<long long>(l.m), l.denseMj, mj,
                         reduce ? 1.0 - l.loss(l.rank) : 1.0);
      if (reduce)
        rewrite(l);
    }
    os << llvm::format("selected layers: %.5f mJ -> %.5f mJ (ratio %.4f) on %s, dynamic "
                       "dimensions taken as %lld\n",
                       before, after, before > 0 ? after / before : 1.0, hw->name.c_str(),
                       static_cast<long long>(dynamicSize));
  }

  LogicalResult selectUnderBudget(std::vector<Layer> &layers, const HardwareProfile &hw,
                                  double before) {
    double budget = energyRatio * before;
    double current = before;
    // The next rank of a layer: the first step jumps to the largest multiple of `step` at which
    // low rank pays, later steps go down by `step` (at least to rank 1).
    auto next = [&](const Layer &l) -> int64_t {
      if (l.rank >= l.m || !l.lowRankPays(l.rank)) {
        int64_t breakEven = (l.n * l.k - 1) / (l.n + l.k); // largest r with r(K+N) < NK
        return std::max<int64_t>(1, breakEven / step * step);
      }
      return std::max<int64_t>(1, l.rank - step);
    };
    while (current > budget * (1 + 1e-12)) {
      Layer *best = nullptr;
      int64_t bestRank = 0;
      double bestScore = 0, bestSaving = 0;
      for (Layer &l : layers) {
        int64_t r = next(l);
        if (r >= l.rank && l.rank < l.m && l.lowRankPays(l.rank))
          continue; // already at rank 1
        double saving = energyAt(l, l.rank, hw) - energyAt(l, r, hw);
        if (saving <= 0)
          continue;
        double lossBefore = l.rank < l.m && l.lowRankPays(l.rank) ? l.loss(l.rank) : 0;
        double score = (l.loss(r) - lossBefore) / saving;
        if (!best || score < bestScore) {
          best = &l;
          bestRank = r;
          bestScore = score;
          bestSaving = saving;
        }
      }
      if (!best) {
        double minimum = 0;
        for (const Layer &l : layers)
          minimum += energyAt(l, 1, hw);
        std::string msg;
        llvm::raw_string_ostream os(msg);
        os << "--lorc-select-rank: energy-ratio=" << llvm::format("%g", double(energyRatio))
           << " is unattainable: the smallest estimated energy of the " << layers.size()
           << " selectable layers is " << llvm::format("%.5f", minimum) << " mJ, ratio "
           << llvm::format("%.4f", before > 0 ? minimum / before : 1.0) << " of the dense "
           << llvm::format("%.5f", before) << " mJ (every layer at rank 1)";
        getOperation().emitError() << msg;
        return failure();
      }
      best->rank = bestRank;
      current -= bestSaving;
    }
    return success();
  }

  /// Replaces the layer by lorc.lowrank_linear with the first `rank` SVD components.
  void rewrite(Layer &l) {
    int64_t r = l.rank;
    std::vector<float> v(l.k * r), s(l.sigma.begin(), l.sigma.begin() + r), u(l.n * r);
    for (int64_t i = 0; i < l.k; ++i)
      for (int64_t j = 0; j < r; ++j)
        v[i * r + j] = l.vt[j * l.k + i];
    for (int64_t i = 0; i < l.n; ++i)
      for (int64_t j = 0; j < r; ++j)
        u[i * r + j] = l.u[i * l.m + j];
    OpBuilder b(l.op);
    Location loc = l.op.getLoc();
    auto constant = [&](ArrayRef<int64_t> shape, const std::vector<float> &data,
                        StringRef suffix) -> Value {
      auto type = RankedTensorType::get(shape, b.getF32Type());
      auto attr = DenseResourceElementsAttr::get(
          type, l.name + "." + suffix.str(),
          HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(data)));
      return arith::ConstantOp::create(b, loc, type, attr);
    };
    Value vc = constant({l.k, r}, v, "svd_v"), sc = constant({r}, s, "svd_s"),
          uc = constant({l.n, r}, u, "svd_u");
    auto lowRank = LowRankLinearOp::create(b, loc, l.op.getType(), l.op.getInput(), vc, sc, uc,
                                           l.op.getBias(), Value(), b.getI64IntegerAttr(r),
                                           b.getI64IntegerAttr(1), b.getI64IntegerAttr(r));
    lowRank->setAttr("lorc.rank_selection",
                     b.getDictionaryAttr({b.getNamedAttr("rank_before", b.getI64IntegerAttr(l.m)),
                                          b.getNamedAttr("retained",
                                                         b.getF64FloatAttr(1.0 - l.loss(r)))}));
    Operation *weight = l.op.getWeight().getDefiningOp();
    l.op.replaceAllUsesWith(lowRank.getResult());
    l.op.erase();
    if (weight && weight->use_empty())
      weight->erase();
    ++numReduced;
  }
};

} // namespace
