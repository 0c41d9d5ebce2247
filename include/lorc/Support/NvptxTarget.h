//===- NvptxTarget.h - (chip, PTX version) pairs lorc can lower to ----*- C++ -*-===//
//
// LLVM 22's NVPTX backend aborts (report_fatal_error) on some invalid (chip, PTX) pairs instead
// of returning a diagnostic (e.g. sm_90 with PTX 6.0, the default of
// --gpu-lower-to-nvvm-pipeline; FP8 conversions on sm_89 with PTX 8.0). lorc checks the pair
// before lowering so that a bad `--target=cuda:...` is one clear error.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_SUPPORT_NVPTXTARGET_H
#define LORC_SUPPORT_NVPTXTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace lorc {

/// A CUDA code-generation target: chip ("sm_90") and PTX ISA version times ten (80 = PTX 8.0).
struct NvptxTarget {
  std::string chip = "sm_90";
  int ptxVersion = 80;
};

/// The smallest PTX ISA version (times ten) that supports `chip`, from the PTX ISA
/// release notes ("PTX ISA version 8.0 ... sm_90a"); 0 for a chip lorc does not know.
/// Chips below sm_75 are unknown: CUDA 13's ptxas no longer assembles for them.
int minimumPtxVersion(llvm::StringRef chip);

/// Whether the pair has the FP8 conversions (`cvt.rn.satfinite.e4m3x2.f32`):
/// (sm ≥ 89 and PTX ≥ 8.1) or (sm ≥ 90 and PTX ≥ 7.8), as LLVM's NVPTXSubtarget.h
/// `hasFP8ConversionSupport`.
bool hasFp8Conversions(const NvptxTarget &target);

/// Parses the chip part of `--target=cuda[:CHIP[+ptxNN]]` ("sm_90", "sm_80+ptx81"; empty: sm_90
/// with PTX 8.0) and checks the pair: chip known, PTX version between the chip's minimum and
/// 9.0 (the newest that LLVM 22 and CUDA 13's ptxas both accept). Errors name the flag.
llvm::Expected<NvptxTarget> parseNvptxTarget(llvm::StringRef spec, llvm::StringRef flag);

} // namespace lorc

#endif // LORC_SUPPORT_NVPTXTARGET_H
