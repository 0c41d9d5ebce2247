//===- Activation.h - the activations a lorc.linear epilogue applies ------===//
//
// GELU in its two forms, as transformers and PyTorch define them:
//   gelu_erf:  0.5·v·(1 + erf(v/√2))                         torch.nn.GELU(), transformers "gelu"
//   gelu_tanh: 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³)))   GELU(approximate="tanh"),
//                                                           transformers "gelu_new"/"gelu_pytorch_tanh"
// (Hendrycks and Gimpel 2016, "Gaussian Error Linear Units"; transformers/activations.py).
//
// One builder writes the scalar form (the importer's GELU generics and the lowering of a fused
// epilogue use it), and one matcher recognises it in an element-wise linalg.generic, up to the
// order and association of the commutative products and sums, so that `--lorc-fuse` can fold
// the generic into the GEMM that produces its input.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_DIALECT_LORC_IR_ACTIVATION_H
#define LORC_DIALECT_LORC_IR_ACTIVATION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace lorc {

enum class Activation { GeluErf, GeluTanh };

/// "gelu_erf" → GeluErf, "gelu_tanh" → GeluTanh; nullopt otherwise (the spelling of
/// `lorc.linear`'s `activation` attribute).
std::optional<Activation> parseActivation(llvm::StringRef name);
llvm::StringRef activationName(Activation act);

/// The activation of the float scalar `v`, written with arith and math ops (math.erf / math.tanh,
/// which --lorc-approximate-math later turns into polynomials on the CPU).
mlir::Value buildActivation(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                            Activation act);

/// Which activation `op` computes, when it is an all-parallel linalg.generic with one input and
/// one output, identity indexing maps, and a body that yields GELU of the input (the output's
/// block argument unused); nullopt otherwise.
std::optional<Activation> matchActivation(mlir::linalg::GenericOp op);

} // namespace lorc

#endif // LORC_DIALECT_LORC_IR_ACTIVATION_H
