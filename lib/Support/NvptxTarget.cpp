//===- NvptxTarget.cpp - (chip, PTX version) checks -----------------------===//

#include "lorc/Support/NvptxTarget.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace lorc;

namespace {
constexpr int kNewestPtx = 90; // LLVM 22 knows ptx90; CUDA 13.0's ptxas accepts up to 9.0

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The numeric part of "sm_90a" (90), or 0.
int smNumber(llvm::StringRef chip) {
  if (!chip.consume_front("sm_"))
    return 0;
  chip = chip.rtrim("af");
  int sm = 0;
  return chip.getAsInteger(10, sm) ? 0 : sm;
}
} // namespace

int lorc::minimumPtxVersion(llvm::StringRef chip) {
  // PTX ISA, "Release notes" / "Target ISA notes": the version that introduced each target.
  return llvm::StringSwitch<int>(chip)
      .Case("sm_75", 63)
      .Case("sm_80", 70)
      .Case("sm_86", 71)
      .Case("sm_87", 74)
      .Case("sm_89", 78)
      .Case("sm_90", 78)
      .Case("sm_90a", 80)
      .Case("sm_100", 86)
      .Case("sm_100a", 86)
      .Case("sm_120", 87)
      .Case("sm_120a", 87)
      .Default(0);
}

bool lorc::hasFp8Conversions(const NvptxTarget &target) {
  int sm = smNumber(target.chip);
  return (sm >= 89 && target.ptxVersion >= 81) || (sm >= 90 && target.ptxVersion >= 78);
}

llvm::Expected<NvptxTarget> lorc::parseNvptxTarget(llvm::StringRef spec, llvm::StringRef flag) {
  NvptxTarget target;
  auto [chip, ptx] = spec.split('+');
  if (!chip.empty())
    target.chip = chip.str();
  int minimum = minimumPtxVersion(target.chip);
  if (!minimum)
    return makeError(llvm::formatv("{0}: unknown CUDA chip '{1}' (supported: sm_75, sm_80, "
                                   "sm_86, sm_87, sm_89, sm_90, sm_90a, sm_100, sm_100a, sm_120, "
                                   "sm_120a)",
                                   flag, target.chip));
  if (!ptx.empty()) {
    if (!ptx.consume_front("ptx") || ptx.getAsInteger(10, target.ptxVersion))
      return makeError(llvm::formatv("{0}: expected '+ptxNN' after the chip (e.g. sm_90+ptx81), "
                                     "got '+{1}'",
                                     flag, spec.split('+').second));
  } else {
    target.ptxVersion = std::max(80, minimum);
  }
  if (target.ptxVersion < minimum || target.ptxVersion > kNewestPtx)
    return makeError(llvm::formatv("{0}: PTX {1}.{2} cannot target {3}: it needs PTX {4}.{5} to "
                                   "{6}.{7}",
                                   flag, target.ptxVersion / 10, target.ptxVersion % 10,
                                   target.chip, minimum / 10, minimum % 10, kNewestPtx / 10,
                                   kNewestPtx % 10));
  return target;
}
