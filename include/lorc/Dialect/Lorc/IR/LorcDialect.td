//===- LorcDialect.td - lorc dialect definition ------------*- tablegen -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCDIALECT_TD
#define LORC_DIALECT_LORC_IR_LORCDIALECT_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def Lorc_Dialect : Dialect {
  let name = "lorc";
  let cppNamespace = "::lorc";
  let summary = "Low-rank, adapted and attention layers for ahead-of-time compilation";
  let description = [{
    The `lorc` dialect holds what is lorc's alone: dense and low-rank linear layers, LoRA-family
    adapters, scaled dot-product attention and normalisation, at the level of whole layers on
    tensors. Each op has value semantics, carries the shapes and layouts of the PyTorch modules it
    stands for (nn.Linear weights are `[out, in]`), and lowers to upstream `linalg`, `tensor`,
    `arith` and `math` (`--convert-lorc-to-linalg`), from where upstream bufferization, BLAS
    dispatch and the CPU/NVPTX pipelines take over. Everything that is not lorc's own (reshapes,
    transposes, element-wise arithmetic, gathers) is expressed with upstream dialects.
  }];
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

/// Base class of lorc types.
class Lorc_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Lorc_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

/// Base class of every lorc op.
class Lorc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lorc_Dialect, mnemonic, traits>;

#endif // LORC_DIALECT_LORC_IR_LORCDIALECT_TD
