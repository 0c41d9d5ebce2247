//===- Report.h - lorc-compile --report: per-layer cost and selection --*- C++ -*-===//
//
// The JSON report `lorc-compile --report=r.json` writes, and the SVG chart beside it (r.svg):
// per layer (every op with a cost interface) name, op, rank and adapter ranks, energy (mJ),
// latency (ms), FLOPs and parameters before and after rank selection; whole-model totals; the
// selected candidates' energy; with calibration inputs, the measured cosine of the reduced model
// against the unreduced one, and the energy/fidelity points a min-cosine search visited.
// Schema: docs/CostModel.md.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_PIPELINES_REPORT_H
#define LORC_PIPELINES_REPORT_H

#include "lorc/CostModel/CostModel.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lorc {

/// The estimated cost of one op at the report's sizes.
struct LayerCost {
  /// The weight's name for linear layers ("encoder.layer.0.attention.self.query.weight"),
  /// "<op>#<i>" (i counting ops of that kind) otherwise.
  std::string name;
  std::string op;
  /// min(N, K) for lorc.linear, the rank for lorc.lowrank_linear, -1 for other ops.
  int64_t rank = -1;
  /// The rank of each attached adapter (LoRA: r; LoHa, LoKr: -1).
  std::vector<int64_t> adapterRanks;
  double energyMj = 0, latencyMs = 0, flops = 0, params = 0;
};

/// Costs of every op implementing LorcCostOpInterface in `module`, in walk order; dynamic
/// dimensions are taken as `dynamicSize`.
std::vector<LayerCost> collectLayerCosts(mlir::ModuleOp module, const HardwareProfile &profile,
                                         int64_t dynamicSize);

/// One rank selection tried by a min-cosine search.
struct TradeoffPoint {
  double energyRatio = 1;
  bool attainable = true;
  double selectedMj = 0;
  double cosineMean = 1, cosineMin = 1;
};

struct CompileReport {
  std::string model;
  std::string profile;
  int64_t dynamicSize = 128;
  std::vector<LayerCost> before, after;
  /// The module's `lorc.rank_selection` summary, when ranks were selected.
  std::optional<llvm::json::Object> selected;
  /// Calibration file, sentences, tokens, measured cosine (mean/min) against the unreduced model.
  std::optional<llvm::json::Object> calibration;
  std::vector<TradeoffPoint> tradeoff;
  /// Per-layer fields added by precision assignment (precision, sensitivity, activation_amax,
  /// reason), by layer name; and its summary.
  std::map<std::string, llvm::json::Object> layerExtras;
  std::optional<llvm::json::Object> precision;
  /// `--memory-budget`: budget, strategy, chunked layers, peak working set (bytes).
  std::optional<llvm::json::Object> chunking;
};

/// Writes `report` as JSON to `jsonPath` and an SVG chart (energy per layer before/after, and the
/// energy/fidelity trade-off when there is one) beside it, with the extension replaced by ".svg".
/// Both files are complete or absent.
llvm::Error writeReport(const CompileReport &report, llvm::StringRef jsonPath);

} // namespace lorc

#endif // LORC_PIPELINES_REPORT_H
