//===- ParameterBuffers.h - an artifact's parameter buffers -----*- C++ -*-===//
//
// The parameter buffers an artifact's entry point may take, shared by the compiler
// (`--lorc-externalize-weights`, which lays them out in the weights file) and the runtime
// (lorc::Artifact, which maps them): one table, so the two cannot disagree. docs/Artifact.md
// has the format.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_SUPPORT_PARAMETERBUFFERS_H
#define LORC_SUPPORT_PARAMETERBUFFERS_H

#include "lorc/Support/Safetensors.h"

namespace lorc {

/// The parameter buffers in the order the entry point takes them and the order they lie in the
/// weights file's data section: f32 weights (always), bf16 weights (--precision=bf16 or bf16
/// layers), then the FP8 codes of FP8 layers' weights stored FP8, E4M3FN and E5M2 each in a
/// buffer of their own (one byte per element).
enum class ParameterBuffer : unsigned { F32, BF16, F8E4M3, F8E5M2 };
inline constexpr unsigned kNumParameterBuffers = 4;
/// The manifest's "dtype" of each buffer, in ParameterBuffer order.
inline constexpr const char *kParameterBufferDTypes[kNumParameterBuffers] = {"f32", "bf16",
                                                                           "f8e4m3", "f8e5m2"};
/// The safetensors dtype of each buffer's tensors, in ParameterBuffer order.
inline constexpr DType kParameterBufferTensorDTypes[kNumParameterBuffers] = {
    DType::F32, DType::BF16, DType::F8_E4M3, DType::F8_E5M2};
/// Bytes per element of each buffer, in ParameterBuffer order.
inline constexpr unsigned kParameterBufferWidths[kNumParameterBuffers] = {4, 2, 1, 1};

} // namespace lorc

#endif // LORC_SUPPORT_PARAMETERBUFFERS_H
