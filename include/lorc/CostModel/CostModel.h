//===- CostModel.h - work, hardware profiles, latency and energy -*- C++ -*-===//
//
// lorc's cost model: ops describe their work (`OpWork`, through LorcCostOpInterface), a
// `HardwareProfile` turns work into latency (roofline: max of compute and memory time, plus a
// launch overhead) and energy
//
//   E = E_compute + E_memory + E_static = flops·e_flop[dtype] + bytes·e_dram + P_static·latency
//
// (the structure of LoRAven's perf_estimator, with its unit errors fixed: pJ for per-op energies,
// W for power, mJ for results). Passes read the model; the model never reads passes.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_COSTMODEL_COSTMODEL_H
#define LORC_COSTMODEL_COSTMODEL_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace lorc {

/// The work of one op at concrete sizes.
struct OpWork {
  /// Floating-point operations (a multiply-add counts 2).
  double flops = 0;
  /// Bytes read from and written to memory, each operand and result once (no cache reuse).
  double bytesRead = 0;
  double bytesWritten = 0;
  /// Trainable parameters (weight elements) the op holds.
  double params = 0;
  /// Element type of the arithmetic: "f32", "tf32", "bf16", "f16", "fp8".
  std::string dtype = "f32";

  OpWork &operator+=(const OpWork &o) {
    flops += o.flops;
    bytesRead += o.bytesRead;
    bytesWritten += o.bytesWritten;
    params += o.params;
    return *this;
  }
};

/// Latency and energy of some work on a profile.
struct CostEstimate {
  double computeMs = 0;
  double memoryMs = 0;
  /// max(computeMs, memoryMs) + launch overhead.
  double latencyMs = 0;
  double computeMj = 0;
  double memoryMj = 0;
  double staticMj = 0;
  double energyMj() const { return computeMj + memoryMj + staticMj; }
};

/// A machine, with the unit of every number in its name and a source for each (the JSON's
/// "sources" object).
struct HardwareProfile {
  std::string name;
  /// Peak throughput per dtype, FLOP/s.
  llvm::StringMap<double> peakFlopsPerSecond;
  /// Energy per FLOP per dtype, pJ.
  llvm::StringMap<double> energyPerFlopPj;
  double dramBandwidthBytesPerSecond = 0;
  double energyPerDramBytePj = 0;
  double energyPerL2BytePj = 0;
  double l2Bytes = 0;
  double staticPowerW = 0;
  double tdpW = 0;
  double launchOverheadUs = 0;

  /// Parses a profile (JSON; schema in profiles/README.md). Errors name the file and the field.
  static llvm::Expected<HardwareProfile> parse(llvm::StringRef json, llvm::StringRef displayName);
  /// A shipped profile ("h100-sxm", "cpu-2core") or a path to a JSON file.
  static llvm::Expected<HardwareProfile> get(llvm::StringRef nameOrPath);

  /// Latency and energy of `work`; an unknown dtype falls back to f32's figures.
  CostEstimate estimate(const OpWork &work) const;
};

} // namespace lorc

#endif // LORC_COSTMODEL_COSTMODEL_H
