//===- EstimateCost.cpp - latency and energy of lorc ops on a profile -----===//

#include "lorc/CostModel/CostModel.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Transforms/Passes.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "lorc-estimate-cost"

namespace lorc {
#define GEN_PASS_DEF_LORCESTIMATECOSTPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {
struct LorcEstimateCostPass : lorc::impl::LorcEstimateCostPassBase<LorcEstimateCostPass> {
  using LorcEstimateCostPassBase::LorcEstimateCostPassBase;
  void runOnOperation() override {
    if (dynamicSize <= 0) {
      getOperation().emitError() << "dynamic-size must be positive, got " << dynamicSize;
      return signalPassFailure();
    }
    llvm::Expected<HardwareProfile> hw = HardwareProfile::get(profile);
    if (!hw) {
      getOperation().emitError() << "--lorc-estimate-cost: " << llvm::toString(hw.takeError());
      return signalPassFailure();
    }
    auto dimSize = [&](Value v, unsigned i) -> int64_t {
      int64_t d = cast<ShapedType>(v.getType()).getDimSize(i);
      return ShapedType::isDynamic(d) ? int64_t(dynamicSize) : d;
    };
    Builder b(&getContext());
    std::string table;
    llvm::raw_string_ostream os(table);
    os << llvm::format("%-4s %-18s %12s %12s %12s %10s %12s\n", "#", "op", "energy mJ",
                       "latency ms", "memory MB", "GFLOPs", "params");
    OpWork total;
    CostEstimate sum;
    unsigned index = 0;
    getOperation().walk([&](CostOpInterface op) {
      OpWork w = op.getWork(dimSize);
      CostEstimate c = hw->estimate(w);
      op->setAttr("lorc.cost", b.getDictionaryAttr({
                                   b.getNamedAttr("flops", b.getF64FloatAttr(w.flops)),
                                   b.getNamedAttr("bytes", b.getF64FloatAttr(w.bytesRead +
                                                                             w.bytesWritten)),
                                   b.getNamedAttr("params", b.getF64FloatAttr(w.params)),
                                   b.getNamedAttr("latency_ms", b.getF64FloatAttr(c.latencyMs)),
                                   b.getNamedAttr("energy_mj", b.getF64FloatAttr(c.energyMj())),
                               }));
      os << llvm::format("%-4u %-18s %12.5f %12.5f %12.3f %10.4f %12.0f\n", index++,
                         op->getName().getStringRef().str().c_str(), c.energyMj(), c.latencyMs,
                         (w.bytesRead + w.bytesWritten) / 1e6, w.flops / 1e9, w.params);
      total += w;
      sum.latencyMs += c.latencyMs;
      sum.computeMj += c.computeMj;
      sum.memoryMj += c.memoryMj;
      sum.staticMj += c.staticMj;
    });
    os << llvm::format("%-4s %-18s %12.5f %12.5f %12.3f %10.4f %12.0f\n", "", "total",
                       sum.energyMj(), sum.latencyMs,
                       (total.bytesRead + total.bytesWritten) / 1e6, total.flops / 1e9,
                       total.params);
    os << "profile " << hw->name << "; dynamic dimensions taken as " << dynamicSize
       << "; energy = compute " << llvm::format("%.5f", sum.computeMj) << " + memory "
       << llvm::format("%.5f", sum.memoryMj) << " + static " << llvm::format("%.5f", sum.staticMj)
       << " mJ\n";
    if (printTable)
      llvm::errs() << table;
  }
};
} // namespace
