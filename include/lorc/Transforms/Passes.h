//===- Passes.h - lorc-level passes -----------------------------*- C++ -*-===//

#ifndef LORC_TRANSFORMS_PASSES_H
#define LORC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "lorc/Support/Safetensors.h"

namespace lorc {

#define GEN_PASS_DECL
#include "lorc/Transforms/Passes.h.inc"

/// Replaces the large f32 constants of `entry` by slices of a new leading argument
/// `%params: tensor<Nxf32>` (see the pass `--lorc-externalize-weights`) and adds each tensor's
/// bytes to `writer` in buffer order. Fails, with a diagnostic on the offending op, on constants of
/// an element type the parameter buffer cannot hold yet.
mlir::LogicalResult externalizeWeights(mlir::func::FuncOp entry, int64_t minElements,
                                       SafetensorsWriter &writer);

#define GEN_PASS_REGISTRATION
#include "lorc/Transforms/Passes.h.inc"

} // namespace lorc

#endif // LORC_TRANSFORMS_PASSES_H
