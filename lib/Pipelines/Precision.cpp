//===- Precision.cpp - lorc-compile --assign-precision ---------------------===//
//
// Precision assignment among f32, bf16 and FP8 (issue 10; docs/CostModel.md): calibration,
// per-layer sensitivity through one probe build, the energy-per-cosine ordering of moves, the
// bisection against the calibration cosine's lower confidence bound, recalibration in the FP8
// model, and the report.
//
//===----------------------------------------------------------------------===//

#include "CompileInternal.h"

#include "lorc/CostModel/CostModel.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Support/Fp8.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>

using namespace mlir;
using namespace lorc;

namespace lorc::compile_detail {

namespace {

/// One move of precision assignment: `layer` from its current precision down to `to`, gaining
/// `gainMj` of estimated energy for `drop` of measured embedding cosine (each alone).
struct PrecisionMove {
  std::string layer;
  LayerPrecision to;
  double gainMj, drop, slope;
};

/// A layer's measured and estimated figures per candidate precision.
struct LayerPrecisionStats {
  std::vector<float> amaxHistory;
  float amax = 0;
  double energyF32 = 0;
  /// Per candidate: estimated energy (mJ), relative squared error of the layer's output and the
  /// mean cosine drop of the final embedding when only this layer runs in it.
  std::map<LayerPrecision, double> energy, errNum, errDen, drop;
};

/// The moves of one layer, most energy per cosine first: the upper convex hull of its options
/// (drop, gain), from f32 (0, 0); an option that a cheaper-to-reach one dominates is skipped.
std::vector<PrecisionMove> layerMoves(const std::string &name, const LayerPrecisionStats &st,
                                      ArrayRef<LayerPrecision> candidates) {
  std::vector<PrecisionMove> moves;
  double d0 = 0, g0 = 0;
  size_t from = 0;
  while (true) {
    std::optional<PrecisionMove> best;
    for (size_t i = from; i < candidates.size(); ++i) {
      LayerPrecision p = candidates[i];
      double g = st.energyF32 - st.energy.at(p) - g0, d = std::max(0.0, st.drop.at(p)) - d0;
      if (g <= 0)
        continue;
      double slope = d > 1e-12 ? g / d : std::numeric_limits<double>::infinity();
      if (!best || slope > best->slope || (slope == best->slope && g > best->gainMj)) {
        best = PrecisionMove{name, p, g, d, slope};
        from = i + 1;
      }
    }
    if (!best)
      return moves;
    g0 += best->gainMj;
    d0 += best->drop;
    moves.push_back(*best);
  }
}

/// Adds an i64 [L] input `lorc.precision_probe` to `clone`'s entry and puts each of the named
/// layers (`order`, L of them) behind a run-time choice: code 0 runs it in f32, code c ≥ 1 in
/// `candidates[c - 1]` (emulated as --lorc-assign-precision does). One build then measures every
/// layer at every candidate precision.
llvm::Error addPrecisionProbe(ModuleOp clone, ArrayRef<std::string> order,
                              ArrayRef<LayerPrecision> candidates,
                              const std::map<std::string, LayerPrecisionStats> &stats,
                              int64_t margin) {
  MLIRContext *ctx = clone.getContext();
  auto entry = clone.lookupSymbol<func::FuncOp>("forward");
  auto probeType = RankedTensorType::get({static_cast<int64_t>(order.size())},
                                         IntegerType::get(ctx, 64));
  unsigned argIndex = entry.getNumArguments();
  if (failed(entry.insertArgument(
          argIndex, probeType,
          DictionaryAttr::get(ctx, {NamedAttribute(StringAttr::get(ctx, "lorc.name"),
                                                   StringAttr::get(ctx, "lorc.precision_probe"))}),
          entry.getLoc())))
    return makeError("precision: cannot add the probe input");
  Value probe = entry.getArgument(argIndex);
  llvm::StringMap<int64_t> slot;
  for (auto [i, name] : llvm::enumerate(order))
    slot[name] = static_cast<int64_t>(i);
  SmallVector<LinearOp> layers;
  clone.walk([&](LinearOp op) { layers.push_back(op); });
  for (LinearOp op : layers) {
    std::optional<F32ConstantData> w = precisionEligibleWeight(op);
    if (!w || !slot.count(w->name))
      continue;
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value index = arith::ConstantIndexOp::create(b, loc, slot[w->name]);
    Value code = tensor::ExtractOp::create(b, loc, probe, ValueRange{index});
    Value x = op.getInput(), weight = op.getWeight();
    float amax = stats.at(w->name).amax;
    // if code == 1 {candidate 0} else if code == 2 {candidate 1} ... else {f32}
    std::function<std::pair<Value, Value>(size_t)> choose = [&](size_t c) -> std::pair<Value, Value> {
      if (c == candidates.size())
        return {x, weight};
      Value cst = arith::ConstantIntOp::create(b, loc, static_cast<int64_t>(c + 1), 64);
      Value cond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, code, cst);
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{x.getType(), weight.getType()}, cond,
                                    /*addThenBlock=*/true, /*addElseBlock=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      EmulatedLinearOperands e =
          emulateLinearPrecision(b, loc, x, *w, candidates[c], amax, margin);
      scf::YieldOp::create(b, loc, ValueRange{e.input, e.weight});
      b.setInsertionPointToStart(ifOp.elseBlock());
      auto [xe, we] = choose(c + 1);
      scf::YieldOp::create(b, loc, ValueRange{xe, we});
      return {ifOp.getResult(0), ifOp.getResult(1)};
    };
    auto [xe, we] = choose(0);
    if (op.getAdapters().empty())
      op.getInputMutable().assign(xe);
    else
      op.getBaseInputMutable().assign(xe);
    op.getWeightMutable().assign(we);
  }
  return llvm::Error::success();
}

/// `--assign-precision=key=value[,...]` with `--calibration`: per eligible layer (adapter-free,
/// constant weight) records the activation amax history and, for each candidate precision (bf16
/// and the FP8 format, or one of them), the layer's output error and the final embedding's
/// cosine drop with only that layer lowered, and the cost model's energy; orders the moves
/// f32 → bf16 → FP8 of all layers by energy gained per cosine lost (the knapsack greedy), takes
/// the longest prefix whose model keeps the cosine drop within `max-cosine-drop` (its mean's lower
/// confidence bound, mean − confidence-z · standard error over the sentences; bisected on
/// the calibration run) or the shortest reaching `energy-ratio`, or puts every layer in
/// `precision` (`layers=all`); runs --lorc-assign-precision and fills the report.
} // namespace

llvm::Error assignPrecision(ModuleOp module, Backend &be, CompileReport *report,
                            llvm::raw_ostream &log) {
  const CompileOptions &options = be.options;
  std::string spec = options.assignPrecision;
  auto bad = [&](const Twine &msg) { return makeError("--assign-precision=" + spec + ": " + msg); };
  std::string precision = "fp8-e4m3", algo = "max", profileName = "h100-sxm";
  double maxDrop = -1, energyRatio = -1, confidenceZ = 2;
  bool all = false, useBf16 = true, recalibrate = true;
  int64_t historyLen = 1024, margin = 0, batch = 16, samples = 32,
          dynamicSize = report ? report->dynamicSize : 128;
  SmallVector<StringRef> items;
  StringRef(spec).split(items, ',', -1, false);
  for (StringRef item : items) {
    auto [key, value] = item.split('=');
    key = key.trim();
    value = value.trim();
    if (key == "precision")
      precision = value.str();
    else if (key == "max-cosine-drop") {
      if (value.getAsDouble(maxDrop) || !(maxDrop >= 0 && maxDrop < 1))
        return bad("max-cosine-drop must be a number in [0, 1), got '" + value + "'");
    } else if (key == "energy-ratio") {
      if (value.getAsDouble(energyRatio) || !(energyRatio > 0 && energyRatio <= 1))
        return bad("energy-ratio must be a number in (0, 1], got '" + value + "'");
    } else if (key == "confidence-z") {
      if (value.getAsDouble(confidenceZ) || !(confidenceZ >= 0))
        return bad("confidence-z must be a non-negative number, got '" + value + "'");
    } else if (key == "layers") {
      if (value != "all")
        return bad("layers takes 'all' (per-layer choice is max-cosine-drop's or "
                   "energy-ratio's job)");
      all = true;
    } else if (key == "bf16" || key == "recalibrate") {
      if (value != "true" && value != "false")
        return bad(key + " must be true or false, got '" + value + "'");
      (key == "bf16" ? useBf16 : recalibrate) = value == "true";
    } else if (key == "profile") {
      profileName = value.str();
    } else if (key == "amax-compute-algo") {
      if (value != "max" && value != "most_recent")
        return bad("amax-compute-algo must be max or most_recent, got '" + value + "'");
      algo = value.str();
    } else if (key == "amax-history-len" || key == "margin" || key == "batch" ||
               key == "samples" || key == "dynamic-size") {
      int64_t &dst = key == "margin"         ? margin
                     : key == "batch"        ? batch
                     : key == "samples"      ? samples
                     : key == "dynamic-size" ? dynamicSize
                                             : historyLen;
      if (value.getAsInteger(10, dst) || dst < (key == "margin" ? 0 : 1))
        return bad(key + " must be a " + (key == "margin" ? "non-negative" : "positive") +
                   " integer, got '" + value + "'");
    } else {
      return bad("unknown key '" + key +
                 "' (expected precision, max-cosine-drop, confidence-z, energy-ratio, layers, bf16, "
                 "recalibrate, profile, dynamic-size, samples, amax-history-len, "
                 "amax-compute-algo, margin, batch)");
    }
  }
  std::optional<LayerPrecision> lowest = parseLayerPrecision(precision);
  if (!lowest || *lowest == LayerPrecision::F32)
    return bad("precision must be fp8-e4m3, fp8-e5m2 or bf16, got '" + precision + "'");
  if ((maxDrop >= 0) + (energyRatio > 0) + all != 1)
    return bad("give exactly one of max-cosine-drop=D, energy-ratio=R or layers=all");
  if (options.calibration.empty())
    return bad("needs --calibration=<inputs.safetensors> (input_ids and attention_mask)");
  llvm::Expected<HardwareProfile> hw = HardwareProfile::get(profileName);
  if (!hw)
    return bad(llvm::toString(hw.takeError()));
  // Candidates, most precise first: bf16 (unless bf16=false or it is the only one) and `lowest`.
  SmallVector<LayerPrecision> candidates;
  if (useBf16 && *lowest != LayerPrecision::BF16)
    candidates.push_back(LayerPrecision::BF16);
  candidates.push_back(*lowest);

  Stage s(log, "precision: calibration");
  auto entry = module.lookupSymbol<func::FuncOp>("forward");
  llvm::Expected<Calibration> calib = readCalibration(options.calibration, entry);
  if (!calib)
    return calib.takeError();
  OwningOpRef<ModuleOp> clone = module.clone();
  llvm::Expected<std::vector<std::pair<std::string, unsigned>>> layers =
      exposeLayerInputs(*clone);
  if (!layers)
    return layers.takeError();
  llvm::Expected<std::unique_ptr<VariantArtifact>> probe = buildVariant(*clone, be);
  if (!probe)
    return makeError("calibration run: " + llvm::toString(probe.takeError()));
  // The eligible layers (adapter-free, constant weight), their weights and energy per precision.
  llvm::StringMap<std::vector<float>> weights;
  std::map<std::string, LayerPrecisionStats> stats;
  auto dimSize = [&](Value v, unsigned i) -> int64_t {
    int64_t d = cast<ShapedType>(v.getType()).getDimSize(i);
    return ShapedType::isDynamic(d) ? dynamicSize : d;
  };
  module.walk([&](LinearOp op) {
    std::optional<F32ConstantData> w = precisionEligibleWeight(op);
    if (!w)
      return;
    weights[w->name].assign(w->values.begin(), w->values.end());
    LayerPrecisionStats &st = stats[w->name];
    st.energyF32 = hw->estimate(op.getWork(dimSize)).energyMj();
    for (LayerPrecision p : candidates) {
      // What the cost model says of the layer once --lorc-assign-precision has marked it.
      op->setAttr("lorc.precision",
                  DictionaryAttr::get(op.getContext(),
                                      {NamedAttribute(StringAttr::get(op.getContext(), "precision"),
                                                      StringAttr::get(op.getContext(),
                                                                      layerPrecisionName(p)))}));
      st.energy[p] = hw->estimate(op.getWork(dimSize)).energyMj();
      op->removeAttr("lorc.precision");
    }
  });
  std::vector<float> reference;
  int64_t dim = 0;
  for (int64_t b0 = 0; b0 < calib->batch; b0 += batch) {
    int64_t b1 = std::min(calib->batch, b0 + batch);
    std::vector<Tensor> in = sliceBatch(calib->inputs, b0, b1);
    llvm::Expected<std::vector<Tensor>> outs = (*probe)->artifact->run(in);
    if (!outs)
      return makeError("calibration run: " + llvm::toString(outs.takeError()));
    const Tensor *emb = findTensor(*outs, "sentence_embedding");
    if (!emb)
      return makeError("calibration: the model has no sentence_embedding output");
    dim = emb->shape[1];
    reference.insert(reference.end(), emb->data<float>(), emb->data<float>() + emb->numElements());
    ArrayRef<int64_t> mask(calib->mask.data() + b0 * calib->seq, (b1 - b0) * calib->seq);
    for (auto [name, i] : *layers) {
      auto wIt = weights.find(name);
      if (wIt == weights.end())
        continue;
      const Tensor *x = findTensor(*outs, "calibration." + std::to_string(i));
      int64_t k = x->shape.back();
      std::vector<float> xs = realRows(*x, mask, (b1 - b0) * calib->seq);
      int64_t t = static_cast<int64_t>(xs.size()) / k, n = wIt->second.size() / k;
      float amax = 0;
      for (float v : xs)
        amax = std::max(amax, std::fabs(v));
      LayerPrecisionStats &st = stats[name];
      st.amaxHistory.push_back(amax);
      if (t == 0 || amax == 0)
        continue;
      // This layer's output error when only it is lowered (this batch's FP8 scale).
      std::vector<float> y(t * n), yq(t * n);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, n, k, 1.0f, xs.data(), k,
                  wIt->second.data(), k, 0.0f, y.data(), n);
      for (LayerPrecision p : candidates) {
        std::vector<float> wq = lowerWeightValues(wIt->second, n, k, p, margin), xq = xs;
        if (p == LayerPrecision::BF16) {
          for (float &v : xq)
            v = bf16Round(v);
        } else {
          Fp8Kind kind = fp8KindOf(p);
          float sx = static_cast<float>(fp8Scale(fp8Max(kind), amax, margin));
          for (float &v : xq)
            v = fp8FakeQuant(v, sx, kind);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, n, k, 1.0f, xq.data(), k,
                    wq.data(), k, 0.0f, yq.data(), n);
        for (int64_t j = 0; j < t * n; ++j) {
          st.errNum[p] += double(y[j] - yq[j]) * (y[j] - yq[j]);
          st.errDen[p] += double(y[j]) * y[j];
        }
      }
    }
  }
  probe->reset();
  // Delayed scaling: amax from the last `amax-history-len` batches, by `amax-compute-algo`.
  llvm::SmallString<256> amaxDir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("lorc-amax", amaxDir))
    return makeError("cannot create a temporary directory: " + ec.message());
  TempDirGuard amaxGuard{amaxDir.str().str()};
  // The amax file --lorc-assign-precision reads: one f32 scalar per layer, by weight name.
  auto writeAmax = [&](StringRef file, const std::map<std::string, float> &amaxOf)
      -> llvm::Expected<std::string> {
    llvm::SmallString<256> path(amaxDir);
    llvm::sys::path::append(path, file);
    SafetensorsWriter writer;
    for (auto &[name, amax] : amaxOf) {
      std::vector<uint8_t> bytes(4);
      std::memcpy(bytes.data(), &amax, 4);
      writer.addOwned(name, DType::F32, {}, std::move(bytes));
    }
    if (llvm::Error e = writer.write(path))
      return std::move(e);
    return path.str().str();
  };
  std::map<std::string, float> calibratedAmax;
  std::vector<std::string> eligible; // layers with a positive amax, in name order
  for (auto &[name, st] : stats) {
    st.amax = delayedScalingAmax(st.amaxHistory, historyLen, algo == "most_recent");
    calibratedAmax[name] = st.amax;
    if (st.amax > 0)
      eligible.push_back(name);
  }
  llvm::Expected<std::string> amaxPath = writeAmax("amax.safetensors", calibratedAmax);
  if (!amaxPath)
    return amaxPath.takeError();
  s.finish();
  std::string amaxFile = *amaxPath; // the amax the pass reads

  // An assignment: the precision of each lowered layer.
  using Assignment = std::map<std::string, LayerPrecision>;
  auto runPass = [&](ModuleOp m, const Assignment &a, bool record = false) -> llvm::Error {
    if (a.empty())
      return llvm::Error::success();
    static bool registered = (registerLorcPasses(), true);
    (void)registered;
    std::string o = "precision=" + precision + " amax=" + amaxFile +
                    " margin=" + std::to_string(margin) +
                    " record-amax=" + (record ? "true" : "false") + " layers=";
    bool first = true;
    for (auto &[name, p] : a) {
      o += (first ? "" : ",") + name + ":" + layerPrecisionName(p).str();
      first = false;
    }
    PassManager pm(m.getContext());
    std::string err;
    llvm::raw_string_ostream es(err);
    if (failed(parsePassPipeline("lorc-assign-precision{" + o + "}", pm, es)) ||
        failed(pm.run(m)))
      return bad(err + be.diags.takeMessages());
    return llvm::Error::success();
  };
  double stdErr = 0; // of the last measurement's mean cosine
  auto measure = [&](const Assignment &a, TradeoffPoint &pt) -> llvm::Error {
    OwningOpRef<ModuleOp> variant = module.clone();
    if (llvm::Error e = runPass(*variant, a))
      return e;
    llvm::Expected<std::vector<Tensor>> outs = runVariant(*variant, be, calib->inputs);
    if (!outs)
      return makeError("measuring a precision assignment: " + llvm::toString(outs.takeError()));
    const Tensor *emb = findTensor(*outs, "sentence_embedding");
    std::tie(pt.cosineMean, pt.cosineMin) = rowCosines(
        ArrayRef<float>(emb->data<float>(), emb->numElements()), reference, dim, &stdErr);
    return llvm::Error::success();
  };
  auto energyOf = [&](const Assignment &a) {
    double e = 0;
    for (const std::string &name : eligible) {
      auto it = a.find(name);
      e += it == a.end() ? stats[name].energyF32 : stats[name].energy[it->second];
    }
    return e;
  };

  // Each layer at each candidate alone: the final embedding's cosine drop (one probe build).
  std::vector<PrecisionMove> moves;
  if (!all && !eligible.empty()) {
    Stage m(log, "precision: sensitivity");
    OwningOpRef<ModuleOp> probeModule = module.clone();
    if (llvm::Error e = addPrecisionProbe(*probeModule, eligible, candidates, stats, margin))
      return e;
    llvm::Expected<std::unique_ptr<VariantArtifact>> v = buildVariant(*probeModule, be);
    if (!v)
      return makeError("precision probe: " + llvm::toString(v.takeError()));
    std::vector<Tensor> in = sliceBatch(calib->inputs, 0, std::min(calib->batch, samples));
    Tensor codes = Tensor::zeros("lorc.precision_probe", DType::I64,
                                 {static_cast<int64_t>(eligible.size())});
    in.push_back(codes);
    auto run = [&](int64_t layer, int64_t code) -> llvm::Expected<std::vector<float>> {
      int64_t *c = in.back().data<int64_t>();
      std::fill(c, c + eligible.size(), 0);
      if (layer >= 0)
        c[layer] = code;
      llvm::Expected<std::vector<Tensor>> outs = (*v)->artifact->run(in);
      if (!outs)
        return outs.takeError();
      const Tensor *emb = findTensor(*outs, "sentence_embedding");
      return std::vector<float>(emb->data<float>(), emb->data<float>() + emb->numElements());
    };
    llvm::Expected<std::vector<float>> base = run(-1, 0);
    if (!base)
      return makeError("precision probe: " + llvm::toString(base.takeError()));
    for (auto [i, name] : llvm::enumerate(eligible)) {
      for (auto [c, p] : llvm::enumerate(candidates)) {
        llvm::Expected<std::vector<float>> e = run(i, c + 1);
        if (!e)
          return makeError("precision probe: " + llvm::toString(e.takeError()));
        stats[name].drop[p] = 1 - rowCosines(*e, *base, dim).first;
      }
      std::vector<PrecisionMove> mv = layerMoves(name, stats[name], candidates);
      moves.insert(moves.end(), mv.begin(), mv.end());
    }
    // Most energy per cosine first; a layer's own moves keep their order (their slopes fall).
    // (A plain sort with the original position as tie-break: std::stable_sort's temporary
    // buffer is deprecated in this libstdc++.)
    std::vector<size_t> order(moves.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    llvm::sort(order, [&](size_t a, size_t b) {
      return moves[a].slope != moves[b].slope ? moves[a].slope > moves[b].slope : a < b;
    });
    std::vector<PrecisionMove> sorted;
    for (size_t i : order)
      sorted.push_back(moves[i]);
    moves = std::move(sorted);
    m.finish();
  }
  auto prefix = [&](size_t count) {
    Assignment a;
    for (size_t i = 0; i < count; ++i)
      a[moves[i].layer] = moves[i].to;
    return a;
  };

  Assignment chosen;
  TradeoffPoint finalPoint;
  llvm::json::Array tried;
  size_t chosenMoves = 0;
  if (all) {
    for (const std::string &name : eligible)
      chosen[name] = *lowest;
    Stage m(log, "precision: measure");
    if (llvm::Error e = measure(chosen, finalPoint))
      return e;
    m.finish();
  } else if (energyRatio > 0) {
    // The fewest moves whose estimated energy reaches the ratio (all of them if none does).
    double target = energyRatio * energyOf({});
    while (chosenMoves < moves.size() && energyOf(prefix(chosenMoves)) > target)
      ++chosenMoves;
    chosen = prefix(chosenMoves);
    Stage m(log, "precision: measure");
    if (llvm::Error e = measure(chosen, finalPoint))
      return e;
    m.finish();
  } else {
    // The longest prefix of moves whose model keeps the mean cosine drop within the bound.
    Stage m(log, "precision: choose layers");
    size_t lo = 0, hi = moves.size() + 1;
    while (hi - lo > 1) {
      size_t mid = (lo + hi) / 2;
      TradeoffPoint pt;
      Assignment a = prefix(mid);
      if (llvm::Error e = measure(a, pt))
        return e;
      // The bound must hold for the mean over sentences like the calibration ones, not just
      // these: the mean's lower confidence bound (mean − z·standard error) is what is checked.
      double lowerBound = pt.cosineMean - confidenceZ * stdErr;
      bool ok = 1 - lowerBound <= maxDrop;
      size_t lowered = llvm::count_if(a, [&](auto &kv) { return kv.second == *lowest; });
      log << llvm::format("    %zu moves (%zu %s, %zu bf16 layers): cosine mean %.6f (lower "
                          "bound %.6f) min %.6f%s\n",
                          mid, lowered, precision.c_str(),
                          *lowest == LayerPrecision::BF16 ? 0 : a.size() - lowered,
                          pt.cosineMean, lowerBound, pt.cosineMin, ok ? "" : " (over the bound)");
      tried.push_back(llvm::json::Object{{"moves", static_cast<int64_t>(mid)},
                                         {"estimated_energy_mj", energyOf(a)},
                                         {"cosine_mean", pt.cosineMean},
                                         {"cosine_mean_lower_bound", lowerBound},
                                         {"cosine_min", pt.cosineMin}});
      if (ok) {
        lo = mid;
        finalPoint = pt;
      } else {
        hi = mid;
      }
    }
    chosenMoves = lo;
    chosen = prefix(lo);
    m.finish();
  }
  // Transformer Engine records amax in the FP8 forward pass, where a layer's input comes from
  // lowered layers before it; the calibration above saw the f32 model's activations. Record it
  // again on the chosen assignment (its fp8_amax output) and keep those scales when the
  // calibration cosine does not fall.
  std::map<std::string, float> f32ModelAmax;
  if (recalibrate &&
      llvm::any_of(chosen, [](auto &kv) { return kv.second != LayerPrecision::BF16; })) {
    Stage r(log, "precision: recalibrate");
    OwningOpRef<ModuleOp> variant = module.clone();
    if (llvm::Error e = runPass(*variant, chosen, /*record=*/true))
      return e;
    auto fwd = variant->lookupSymbol<func::FuncOp>("forward");
    auto names = fwd ? fwd->getAttrOfType<ArrayAttr>("lorc.fp8_amax_layers") : ArrayAttr();
    if (!names)
      return makeError("precision: the recalibration build records no amax");
    std::vector<std::string> order;
    for (auto n : names.getAsRange<StringAttr>())
      order.push_back(n.str());
    llvm::Expected<std::unique_ptr<VariantArtifact>> v = buildVariant(*variant, be);
    if (!v)
      return makeError("precision: recalibration: " + llvm::toString(v.takeError()));
    std::map<std::string, std::vector<float>> history;
    for (int64_t b0 = 0; b0 < calib->batch; b0 += batch) {
      llvm::Expected<std::vector<Tensor>> outs =
          (*v)->artifact->run(sliceBatch(calib->inputs, b0, std::min(calib->batch, b0 + batch)));
      if (!outs)
        return makeError("precision: recalibration: " + llvm::toString(outs.takeError()));
      const Tensor *a = findTensor(*outs, "fp8_amax");
      for (auto [i, name] : llvm::enumerate(order))
        history[name].push_back(a->data<float>()[i]);
    }
    v->reset();
    std::map<std::string, float> recalibrated = calibratedAmax;
    for (auto &[name, h] : history)
      recalibrated[name] = delayedScalingAmax(h, historyLen, algo == "most_recent");
    llvm::Expected<std::string> path = writeAmax("amax-fp8-model.safetensors", recalibrated);
    if (!path)
      return path.takeError();
    std::string before = amaxFile;
    amaxFile = *path;
    TradeoffPoint pt;
    if (llvm::Error e = measure(chosen, pt))
      return e;
    bool keep = pt.cosineMean >= finalPoint.cosineMean;
    log << llvm::format("    amax from the FP8 model: cosine mean %.6f min %.6f (%s)\n",
                        pt.cosineMean, pt.cosineMin,
                        keep ? "kept" : "the f32 model's amax kept instead");
    if (keep) {
      finalPoint = pt;
      for (auto &[name, amax] : recalibrated) {
        f32ModelAmax[name] = stats[name].amax;
        stats[name].amax = amax;
      }
    } else {
      amaxFile = before;
    }
    r.finish();
  }

  // The artifact returns each FP8 layer's input amax per run (fp8_amax), and the manifest
  // carries the delayed-scaling settings the runtime's AmaxHistory applies to it.
  if (llvm::Error e = runPass(module, chosen, /*recordAmax=*/true))
    return e;
  if (auto fwd = module.lookupSymbol<func::FuncOp>("forward");
      fwd && fwd->hasAttr("lorc.fp8_amax_layers")) {
    Builder b(module.getContext());
    fwd->setAttr("lorc.fp8_scaling",
                 b.getDictionaryAttr({b.getNamedAttr("amax_history_len",
                                                     b.getI64IntegerAttr(historyLen)),
                                      b.getNamedAttr("amax_compute_algo", b.getStringAttr(algo)),
                                      b.getNamedAttr("margin", b.getI64IntegerAttr(margin))}));
  }
  std::map<LayerPrecision, int64_t> count;
  for (auto &[name, p] : chosen)
    ++count[p];
  int64_t numF32 = static_cast<int64_t>(eligible.size()) - static_cast<int64_t>(chosen.size());
  double energyBefore = energyOf({}), energyAfter = energyOf(chosen);
  log << llvm::format("  precision: %lld of %zu layers in %s", (long long)count[*lowest],
                      eligible.size(), precision.c_str());
  if (*lowest != LayerPrecision::BF16)
    log << llvm::format(", %lld in bf16", (long long)count[LayerPrecision::BF16]);
  log << llvm::format(", %lld in f32; calibration cosine to f32: mean %.6f, min %.6f; "
                      "estimated energy %.4g of f32's (%s)\n",
                      (long long)numF32, finalPoint.cosineMean, finalPoint.cosineMin,
                      energyBefore > 0 ? energyAfter / energyBefore : 1.0, hw->name.c_str());
  if (!report)
    return llvm::Error::success();
  std::map<std::string, size_t> moveIndex;
  for (size_t i = 0; i < chosenMoves; ++i)
    moveIndex[moves[i].layer] = i;
  for (const std::string &name : eligible) {
    LayerPrecisionStats &st = stats[name];
    auto it = chosen.find(name);
    LayerPrecision p = it == chosen.end() ? LayerPrecision::F32 : it->second;
    llvm::json::Object sensitivity, energy{{"f32", st.energyF32}};
    for (LayerPrecision c : candidates) {
      llvm::json::Object o{{"layer_output_rel_err",
                            st.errDen[c] > 0 ? st.errNum[c] / st.errDen[c] : 0.0}};
      if (!all)
        o["embedding_cosine_drop"] = st.drop[c];
      sensitivity[layerPrecisionName(c)] = std::move(o);
      energy[layerPrecisionName(c)] = st.energy[c];
    }
    std::string reason;
    if (all)
      reason = "layers=all";
    else if (p != LayerPrecision::F32)
      reason = llvm::formatv("move {0} of {1} by energy gained per cosine lost; the first {2} {3}",
                             moveIndex[name] + 1, moves.size(), chosenMoves,
                             energyRatio > 0
                                 ? llvm::formatv("reach energy-ratio={0}", energyRatio).str()
                                 : std::string("keep the model within the bound"))
                   .str();
    else
      reason = "its moves gain less energy per cosine lost than the ones taken";
    report->layerExtras[name] = llvm::json::Object{
        {"precision", layerPrecisionName(p)},
        {"sensitivity", std::move(sensitivity)},
        {"estimated_energy_mj", std::move(energy)},
        {"activation_amax", st.amax},
        {"activation_amax_f32_model",
         f32ModelAmax.count(name) ? llvm::json::Value(f32ModelAmax[name]) : llvm::json::Value(nullptr)},
        {"reason", reason}};
  }
  llvm::json::Object layerCounts{{"f32", numF32}};
  for (LayerPrecision c : candidates)
    layerCounts[layerPrecisionName(c)] = count[c];
  report->precision = llvm::json::Object{
      {"precision", precision},
      {"candidates", [&] {
         llvm::json::Array a{"f32"};
         for (LayerPrecision c : candidates)
           a.push_back(layerPrecisionName(c));
         return a;
       }()},
      {"layers", std::move(layerCounts)},
      {"fp8_layers", *lowest == LayerPrecision::BF16 ? 0 : count[*lowest]},
      {"eligible_layers", static_cast<int64_t>(eligible.size())},
      {"max_cosine_drop", maxDrop >= 0 ? llvm::json::Value(maxDrop) : llvm::json::Value(nullptr)},
      {"confidence_z", confidenceZ},
      {"energy_ratio", energyRatio > 0 ? llvm::json::Value(energyRatio) : llvm::json::Value(nullptr)},
      {"estimated_energy_mj", llvm::json::Object{{"f32", energyBefore}, {"assigned", energyAfter}}},
      {"profile", hw->name},
      {"dynamic_size", dynamicSize},
      {"calibration", options.calibration},
      {"sensitivity_samples", std::min(calib->batch, samples)},
      {"cosine_mean", finalPoint.cosineMean},
      {"cosine_min", finalPoint.cosineMin},
      {"amax_history_len", historyLen},
      {"amax_compute_algo", algo},
      {"margin", margin},
      {"sensitivity",
       "per candidate precision: layer_output_rel_err, the relative squared error of the layer's "
       "output, and embedding_cosine_drop, 1 - the mean cosine of the final embedding to f32's, "
       "each with only that layer lowered, on the calibration inputs"},
      {"tried", std::move(tried)}};
  return llvm::Error::success();
}

} // namespace lorc::compile_detail
