//===- Report.cpp - lorc-compile --report: JSON and SVG --------------------===//

#include "lorc/Pipelines/Report.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>

using namespace mlir;
using namespace lorc;

std::vector<LayerCost> lorc::collectLayerCosts(ModuleOp module, const HardwareProfile &profile,
                                               int64_t dynamicSize) {
  auto dimSize = [&](Value v, unsigned i) -> int64_t {
    int64_t d = cast<ShapedType>(v.getType()).getDimSize(i);
    return ShapedType::isDynamic(d) ? dynamicSize : d;
  };
  std::vector<LayerCost> costs;
  llvm::StringMap<unsigned> counts;
  module.walk([&](CostOpInterface op) {
    LayerCost c;
    c.op = op->getName().getStringRef().str();
    if (auto linear = dyn_cast<LinearOp>(op.getOperation())) {
      auto w = cast<ShapedType>(linear.getWeight().getType());
      c.rank = std::min(w.getDimSize(0), w.getDimSize(1));
      c.name = linearLayerName(linear);
      for (Value a : linear.getAdapters()) {
        auto lora = a.getDefiningOp<LoraOp>();
        c.adapterRanks.push_back(lora ? cast<ShapedType>(lora.getDown().getType()).getDimSize(0)
                                      : -1);
      }
    } else if (auto chunked = dyn_cast<ChunkedMatmulOp>(op.getOperation())) {
      c.rank = std::min(chunked.getN(), chunked.getK());
      if (auto record = chunked->getAttrOfType<DictionaryAttr>("lorc.chunk"))
        if (auto layer = record.getAs<StringAttr>("layer"))
          c.name = layer.str();
    } else if (auto lowRank = dyn_cast<LowRankLinearOp>(op.getOperation())) {
      c.rank = lowRank.getRank();
      if (auto sel = lowRank->getAttrOfType<DictionaryAttr>("lorc.rank_selection"))
        if (auto name = sel.getAs<StringAttr>("name"))
          c.name = name.str();
    }
    unsigned index = counts[c.op]++;
    if (c.name.empty())
      c.name = c.op + "#" + std::to_string(index);
    OpWork w = op.getWork(dimSize);
    CostEstimate e = profile.estimate(w);
    c.energyMj = e.energyMj();
    c.latencyMs = e.latencyMs;
    c.flops = w.flops;
    c.params = w.params;
    costs.push_back(std::move(c));
  });
  return costs;
}

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::json::Object totalsOf(const std::vector<LayerCost> &costs) {
  double e = 0, l = 0, f = 0, p = 0;
  for (const LayerCost &c : costs) {
    e += c.energyMj;
    l += c.latencyMs;
    f += c.flops;
    p += c.params;
  }
  return llvm::json::Object{{"energy_mj", e}, {"latency_ms", l}, {"flops", f}, {"params", p}};
}

/// Escapes text for SVG.
std::string xml(llvm::StringRef s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    default: out += ch;
    }
  }
  return out;
}

/// Horizontal bars of energy per linear-like layer (before grey, after blue), then, when a
/// min-cosine search ran, its points (selected energy ratio → min and mean cosine).
std::string renderSvg(const CompileReport &r) {
  std::vector<std::pair<const LayerCost *, const LayerCost *>> rows;
  llvm::StringMap<const LayerCost *> before;
  for (const LayerCost &c : r.before)
    before[c.name] = &c;
  double maxMj = 0;
  for (const LayerCost &c : r.after) {
    if (c.rank < 0)
      continue; // attention, layer norm: not rank-selectable
    auto it = before.find(c.name);
    const LayerCost *b = it == before.end() ? &c : it->second;
    rows.push_back({b, &c});
    maxMj = std::max({maxMj, b->energyMj, c.energyMj});
  }
  const int labelW = 380, barW = 420, rowH = 14, top = 50;
  int height = top + rowH * static_cast<int>(rows.size()) + 40;
  bool plot = !r.tradeoff.empty();
  int plotTop = height, plotH = 260;
  if (plot)
    height += plotH + 70;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << labelW + barW + 120
     << "\" height=\"" << height << "\" font-family=\"sans-serif\" font-size=\"10\">\n";
  os << "<text x=\"10\" y=\"20\" font-size=\"14\">Estimated energy per layer, mJ (" << xml(r.profile)
     << ", dynamic dimensions = " << r.dynamicSize << "): before (grey) and after (blue) rank "
     << "selection</text>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    auto [b, a] = rows[i];
    int y = top + rowH * static_cast<int>(i);
    double wb = maxMj > 0 ? barW * b->energyMj / maxMj : 0, wa = maxMj > 0 ? barW * a->energyMj / maxMj : 0;
    os << "<text x=\"" << labelW - 4 << "\" y=\"" << y + 10 << "\" text-anchor=\"end\">"
       << xml(a->name) << (a->rank != b->rank ? llvm::formatv(" (rank {0} → {1})", b->rank, a->rank).str() : "")
       << "</text>\n";
    os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2:F1}\" height=\"5\" fill=\"#999\"/>\n",
                        labelW, y + 1, wb);
    os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2:F1}\" height=\"5\" fill=\"#1f77b4\"/>\n",
                        labelW, y + 6, wa);
    os << llvm::formatv("<text x=\"{0:F1}\" y=\"{1}\">{2:F4}</text>\n", labelW + std::max(wb, wa) + 4,
                        y + 10, a->energyMj);
  }
  if (plot) {
    int x0 = 80, y0 = plotTop + 30, w = 500;
    double cmin = 1;
    for (const TradeoffPoint &p : r.tradeoff)
      if (p.attainable)
        cmin = std::min(cmin, p.cosineMin);
    cmin = std::max(0.0, std::min(cmin, 0.99));
    auto px = [&](double ratio) { return x0 + w * ratio; };
    auto py = [&](double c) { return y0 + plotH * (1 - (c - cmin) / (1 - cmin)); };
    os << "<text x=\"10\" y=\"" << plotTop + 15 << "\" font-size=\"14\">min-cosine search: "
       << "selected energy ratio vs cosine to the unreduced model on the calibration inputs "
       << "(min: red, mean: black)</text>\n";
    os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" "
                        "stroke=\"#000\"/>\n",
                        x0, y0, w, plotH);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2:F4}</text>\n", x0 - 4,
                        y0 + plotH, cmin);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">1</text>\n", x0 - 4, y0 + 8);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">0</text><text x=\"{2}\" y=\"{1}\" "
                        "text-anchor=\"end\">energy ratio 1</text>\n",
                        x0, y0 + plotH + 14, x0 + w);
    for (const TradeoffPoint &p : r.tradeoff) {
      if (!p.attainable)
        continue;
      os << llvm::formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"3\" fill=\"#d62728\"/>\n",
                          px(p.energyRatio), py(p.cosineMin));
      os << llvm::formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"2\" fill=\"#000\"/>\n",
                          px(p.energyRatio), py(p.cosineMean));
    }
  }
  os << "</svg>\n";
  return s;
}

} // namespace

llvm::Error lorc::writeReport(const CompileReport &r, llvm::StringRef jsonPath) {
  llvm::StringMap<const LayerCost *> before;
  for (const LayerCost &c : r.before)
    before[c.name] = &c;
  llvm::json::Array layers;
  for (const LayerCost &a : r.after) {
    auto it = before.find(a.name);
    const LayerCost &b = it == before.end() ? a : *it->second;
    llvm::json::Object o{{"name", a.name},
                         {"op", a.op},
                         {"op_before", b.op},
                         {"energy_before_mj", b.energyMj},
                         {"energy_after_mj", a.energyMj},
                         {"latency_before_ms", b.latencyMs},
                         {"latency_ms", a.latencyMs},
                         {"flops_before", b.flops},
                         {"flops", a.flops},
                         {"params_before", b.params},
                         {"params", a.params}};
    if (a.rank >= 0) {
      o["rank_before"] = b.rank;
      o["rank_after"] = a.rank;
    }
    if (a.rank >= 0)
      o["precision"] = "f32";
    if (auto it = r.layerExtras.find(a.name); it != r.layerExtras.end())
      for (const auto &[key, value] : it->second)
        o[key] = value;
    if (!a.adapterRanks.empty()) {
      o["adapter_ranks_before"] = llvm::json::Array(b.adapterRanks);
      o["adapter_ranks_after"] = llvm::json::Array(a.adapterRanks);
    }
    layers.push_back(std::move(o));
  }
  llvm::json::Object totals = totalsOf(r.after), totalsBefore = totalsOf(r.before);
  llvm::json::Object doc{
      {"model", r.model},
      {"profile", r.profile},
      {"dynamic_size", r.dynamicSize},
      {"layers", std::move(layers)},
      {"totals",
       llvm::json::Object{{"energy_before_mj", *totalsBefore.getNumber("energy_mj")},
                          {"energy_after_mj", *totals.getNumber("energy_mj")},
                          {"latency_before_ms", *totalsBefore.getNumber("latency_ms")},
                          {"latency_after_ms", *totals.getNumber("latency_ms")},
                          {"flops_before", *totalsBefore.getNumber("flops")},
                          {"flops_after", *totals.getNumber("flops")},
                          {"params_before", *totalsBefore.getNumber("params")},
                          {"params_after", *totals.getNumber("params")}}}};
  if (r.selected)
    doc["selected"] = llvm::json::Object(*r.selected);
  if (r.calibration)
    doc["calibration"] = llvm::json::Object(*r.calibration);
  if (r.precision)
    doc["precision"] = llvm::json::Object(*r.precision);
  if (r.chunking)
    doc["chunking"] = llvm::json::Object(*r.chunking);
  if (!r.tradeoff.empty()) {
    llvm::json::Array points;
    for (const TradeoffPoint &p : r.tradeoff) {
      llvm::json::Object o{{"energy_ratio", p.energyRatio}, {"attainable", p.attainable}};
      if (p.attainable) {
        o["selected_energy_mj"] = p.selectedMj;
        o["cosine_mean"] = p.cosineMean;
        o["cosine_min"] = p.cosineMin;
      }
      points.push_back(std::move(o));
    }
    doc["tradeoff"] = std::move(points);
  }

  llvm::SmallString<256> svgPath(jsonPath);
  llvm::sys::path::replace_extension(svgPath, "svg");
  std::error_code ec;
  llvm::ToolOutputFile json(jsonPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return makeError(jsonPath + ": cannot write the report: " + ec.message());
  llvm::ToolOutputFile svg(svgPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return makeError(svgPath + ": cannot write the report chart: " + ec.message());
  json.os() << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc))) << "\n";
  svg.os() << renderSvg(r);
  json.os().flush();
  svg.os().flush();
  if (json.os().has_error() || svg.os().has_error())
    return makeError(jsonPath + ": writing the report failed");
  json.keep();
  svg.keep();
  return llvm::Error::success();
}
