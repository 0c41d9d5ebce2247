//===- LorcInterfaces.td - lorc op interfaces --------------*- tablegen -*-===//

#ifndef LORC_DIALECT_LORC_IR_LORCINTERFACES_TD
#define LORC_DIALECT_LORC_IR_LORCINTERFACES_TD

include "mlir/IR/OpBase.td"

def LorcCostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::lorc";
  let description = [{
    An op that can say how much work it is: FLOPs, bytes read and written (each operand and
    result once), parameters, and the arithmetic's dtype (lib/CostModel). The cost model, rank
    selection, precision assignment, chunking and fusion all read this one description.
    `dimSize(value, i)` gives the size of dimension `i` of `value`, resolving dynamic sizes (the
    caller decides how: an assumed batch and sequence, or the sizes of a real run).
  }];
  let methods = [
    InterfaceMethod<"The op's work at the sizes `dimSize` gives.", "::lorc::OpWork", "getWork",
                    (ins "::llvm::function_ref<int64_t(::mlir::Value, unsigned)>":$dimSize)>
  ];
}

#endif // LORC_DIALECT_LORC_IR_LORCINTERFACES_TD
