//===- Passes.h - lorc-level passes -----------------------------*- C++ -*-===//

#ifndef LORC_TRANSFORMS_PASSES_H
#define LORC_TRANSFORMS_PASSES_H

#include "lorc/Support/ParameterBuffers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <iterator>

#include "lorc/Support/Adapters.h"
#include "lorc/Support/Fp8.h"
#include "lorc/Support/Safetensors.h"

#include <optional>
#include <string>
#include <vector>

namespace lorc {

#define GEN_PASS_DECL
#include "lorc/Transforms/Passes.h.inc"

/// The entry function attributes that `--lorc-externalize-weights` lays its parameter buffers
/// out in, one per buffer, in the order of the buffers (the entry's leading arguments, each
/// present only when its buffer holds a tensor; lorc::ParameterBuffer, lorc/Support/ParameterBuffers.h): f32,
/// bf16, FP8 E4M3FN codes, FP8 E5M2 codes. Each is an array of `{name, offset, shape}`, the
/// offset in elements of that buffer.
inline constexpr llvm::StringLiteral kParameterLayoutAttrs[] = {
    "lorc.parameters", "lorc.parameters_bf16", "lorc.parameters_fp8", "lorc.parameters_e5m2"};
static_assert(std::size(kParameterLayoutAttrs) == kNumParameterBuffers,
              "one layout attribute per parameter buffer, in lorc::ParameterBuffer order");

/// Replaces the large f32 constants of `entry` by slices of a new leading argument
/// `%params: tensor<Nxf32>`, and bf16, f8E4M3FN and f8E5M2 ones by slices of one argument per
/// element type after it (only for element types that occur; see the pass
/// `--lorc-externalize-weights`), and adds each tensor's bytes to `writer` in buffer order:
/// f32 tensors, then bf16, E4M3 and E5M2 ones. Fails, with a diagnostic on the offending op,
/// on constants of an element type the parameter buffers cannot hold.
mlir::LogicalResult externalizeWeights(mlir::func::FuncOp entry, int64_t minElements,
                                       SafetensorsWriter &writer);

/// The f32 values of a constant weight: a view of the attribute's storage (dense or
/// dense_resource), or an owned copy for splats and inline dense attributes that store no
/// contiguous f32 buffer. `name` is the resource key ("" for inline constants).
struct F32ConstantData {
  std::string name;
  llvm::SmallVector<int64_t, 4> shape;
  llvm::ArrayRef<float> values;
  std::vector<float> owned;
};

/// Reads `v` if it is an `arith.constant` of a statically shaped f32 tensor with available
/// data; nullopt otherwise (not a constant, other element type, elided blob).
std::optional<F32ConstantData> readF32Constant(mlir::Value v);

/// The values of an f32 constant as an owned adapter factor; nullopt as readF32Constant.
std::optional<AdapterTensor> constantAdapterTensor(mlir::Value v);

/// Reads an adapter op (`lorc.lora`, `lorc.loha`, `lorc.lokr`) whose factors are all constants
/// into the MLIR-free description lib/Support/Adapters.h computes with (ΔW, DoRA); nullopt for
/// other ops or non-constant factors. LyCORIS' DoRA magnitude becomes `dora_scale` [out, 1].
std::optional<ModuleAdapter> describeAdapterOp(mlir::Operation *op);

/// The name of a `lorc.linear` layer: the name `--lorc-assign-precision` recorded (its weight was
/// replaced by an FP8-rounded copy), else its weight's resource key; "" for inline weights.
std::string linearLayerName(mlir::Operation *linear);

/// The precisions `--lorc-assign-precision` gives a linear layer (issue 10), most precise first.
enum class LayerPrecision { F32, BF16, FP8E4M3, FP8E5M2 };
/// "f32", "bf16", "fp8-e4m3", "fp8-e5m2" (the report's and the pass options' spelling).
llvm::StringRef layerPrecisionName(LayerPrecision p);
std::optional<LayerPrecision> parseLayerPrecision(llvm::StringRef name);
/// The FP8 format of an FP8 precision (`p` must be FP8E4M3 or FP8E5M2).
Fp8Kind fp8KindOf(LayerPrecision p);
/// An [n, k] weight's values rounded as a layer in `p` stores them: to bf16, or to FP8 per
/// output channel (fp8FakeQuantRows). `p` must not be F32.
std::vector<float> lowerWeightValues(llvm::ArrayRef<float> w, int64_t n, int64_t k,
                                     LayerPrecision p, int64_t marginBits);

/// The weight of a `lorc.linear` that `--lorc-assign-precision` may lower (a named, constant,
/// 2-D f32 weight; adapters allowed, their path stays f32, but no DoRA adapter, which rescales
/// the weight itself); nullopt otherwise.
std::optional<F32ConstantData> precisionEligibleWeight(mlir::Operation *linear);

/// The operands through which a `lorc.linear`'s f32 GEMM computes what a GEMM in `p` with f32
/// accumulation computes (the CPU emulation; `--lorc-assign-precision`):
///   * bf16: the weight rounded to bf16 (a new constant `<name>.bf16`), the input through
///     arith.truncf to bf16 and arith.extf back;
///   * FP8: the weight quantised per output channel (`<name>.fp8`, scale fp8_max / amax(row) /
///     2^margin) and the input through lorc.quantize / lorc.dequantize with the per-tensor scale
///     fp8_max / `activationAmax` / 2^margin (Transformer Engine's delayed scaling), a
///     run-time parameter named `<weight>.input_scale` (kRuntimeParameterAttr).
/// Creates the ops at `b`'s insertion point; the caller swaps them in. `p` must not be F32.
/// Marks a constant that `--lorc-externalize-weights` must externalize whatever its size or
/// rank and never share with an equal constant: a value the runtime overwrites between runs
/// (an FP8 layer's activation scale, `<weight>.input_scale`).
inline constexpr llvm::StringLiteral kRuntimeParameterAttr = "lorc.runtime_parameter";
/// On an FP8 layer's dequantised f32 weight constant [N, K] (`<name>.fp8`):
/// `{format = "fp8-e4m3" | "fp8-e5m2", row_scales = dense<...> : tensor<Nxf32>}`, the
/// per-output-channel scales it was quantised with (lorc::fp8QuantizeRows), from which
/// `--lorc-narrow-weights` recovers the codes to store the weight FP8.
inline constexpr llvm::StringLiteral kFp8WeightAttr = "lorc.fp8_weight";
/// On an `scf.parallel` that `--lorc-vectorize` built around rows vectorised whole: every
/// dimension of the loop runs over rows, so `--lorc-outermost-parallel-loops` keeps all of them
/// parallel (its rule for scalar nests makes the innermost one serial).
inline constexpr llvm::StringLiteral kVectorRowsAttr = "lorc.vector_rows";

struct EmulatedLinearOperands {
  mlir::Value input, weight;
  /// FP8: the activation's scale; 0 for bf16.
  float activationScale = 0;
};
EmulatedLinearOperands emulateLinearPrecision(mlir::OpBuilder &b, mlir::Location loc,
                                              mlir::Value input, const F32ConstantData &weight,
                                              LayerPrecision p, float activationAmax,
                                              int64_t marginBits);

#define GEN_PASS_REGISTRATION
#include "lorc/Transforms/Passes.h.inc"

} // namespace lorc

#endif // LORC_TRANSFORMS_PASSES_H
