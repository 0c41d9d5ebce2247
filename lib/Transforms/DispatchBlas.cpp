//===- DispatchBlas.cpp - hand f32 matmuls on buffers to BLAS -------------===//

#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "lorc-dispatch-blas"

namespace lorc {
#define GEN_PASS_DEF_LORCDISPATCHBLASPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// Which operands of C += op(A)·op(B) are transposed, read off the indexing maps over
/// (batch..., m, n, k). Returns nullopt for maps BLAS cannot express (broadcasts, permuted C).
std::optional<std::pair<bool, bool>> getTransposes(linalg::LinalgOp op, unsigned batchDims) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MLIRContext *ctx = op->getContext();
  unsigned n = batchDims + 3;
  auto mapOf = [&](unsigned r0, unsigned r1) {
    SmallVector<AffineExpr> exprs;
    for (unsigned i = 0; i < batchDims; ++i)
      exprs.push_back(getAffineDimExpr(i, ctx));
    exprs.push_back(getAffineDimExpr(batchDims + r0, ctx));
    exprs.push_back(getAffineDimExpr(batchDims + r1, ctx));
    return AffineMap::get(n, 0, exprs, ctx);
  };
  enum { M = 0, N = 1, K = 2 };
  if (maps.size() != 3 || maps[2] != mapOf(M, N))
    return std::nullopt;
  bool transA, transB;
  if (maps[0] == mapOf(M, K))
    transA = false;
  else if (maps[0] == mapOf(K, M))
    transA = true;
  else
    return std::nullopt;
  if (maps[1] == mapOf(K, N))
    transB = false;
  else if (maps[1] == mapOf(N, K))
    transB = true;
  else
    return std::nullopt;
  return std::make_pair(transA, transB);
}

/// The fully dynamic strided memref type of rank `rank` the runtime entry points take.
MemRefType dynamicStrided(MLIRContext *ctx, unsigned rank) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  return MemRefType::get(shape, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides));
}

/// Whether `v` is a view of the parameter buffer (argument 0 of a function carrying
/// `lorc.parameters`, lorc-externalize-weights' convention): read-only for the artifact's
/// lifetime, so the runtime may pack it once.
bool isParameterView(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return false;
    v = view.getViewSource();
  }
  auto arg = cast<BlockArgument>(v);
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  return func && arg.getArgNumber() == 0 && arg.getOwner()->isEntryBlock() &&
         func->hasAttr("lorc.parameters");
}

/// Declares (once) `name(memref, memref, memref, i32, i32[, i32])` with the C interface.
func::FuncOp getOrDeclare(ModuleOp module, StringRef name, unsigned rank, unsigned numFlags) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type m = dynamicStrided(ctx, rank);
  Type i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> args = {m, m, m};
  args.append(numFlags, i32);
  auto f = func::FuncOp::create(b, module.getLoc(), name, FunctionType::get(ctx, args, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  return f;
}

struct LorcDispatchBlasPass : lorc::impl::LorcDispatchBlasPassBase<LorcDispatchBlasPass> {
  using LorcDispatchBlasPassBase::LorcDispatchBlasPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (library != "cpu" && library != "cuda") {
      module.emitError() << "lorc-dispatch-blas: library=" << library
                         << ": expected cpu or cuda";
      return signalPassFailure();
    }
    if (precision != "f32" && !(precision == "bf16" && library == "cpu")) {
      module.emitError() << "lorc-dispatch-blas: precision=" << precision
                         << (precision == "bf16" ? ": bf16 GEMMs exist on the cpu library only"
                                                 : ": expected f32 or bf16");
      return signalPassFailure();
    }
    bool cpu = library == "cpu";
    SmallVector<linalg::LinalgOp> candidates;
    module.walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) && op.hasPureBufferSemantics())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      bool batched = isa<linalg::BatchMatmulOp>(op);
      unsigned rank = batched ? 3 : 2;
      if (!llvm::all_of(op->getOperands(), [](Value v) {
            auto t = cast<MemRefType>(v.getType());
            return t.getElementType().isF32() && !t.getMemorySpace();
          }))
        continue;
      std::optional<std::pair<bool, bool>> trans = getTransposes(op, batched ? 1 : 0);
      if (!trans)
        continue;
      std::string callee =
          "lorc_" + library + (batched ? "_batch_matmul_" : "_matmul_") + precision;
      func::FuncOp decl = getOrDeclare(module, callee, rank, cpu ? 3 : 2);
      OpBuilder b(op);
      Location loc = op.getLoc();
      SmallVector<Value> args;
      for (Value v : op->getOperands())
        args.push_back(memref::CastOp::create(b, loc, dynamicStrided(&getContext(), rank), v));
      args.push_back(arith::ConstantIntOp::create(b, loc, trans->first ? 1 : 0, 32));
      args.push_back(arith::ConstantIntOp::create(b, loc, trans->second ? 1 : 0, 32));
      if (cpu) {
        bool parameter = isParameterView(op->getOperand(1));
        args.push_back(arith::ConstantIntOp::create(b, loc, parameter ? 1 : 0, 32));
        numParameterOperands += parameter;
      }
      func::CallOp::create(b, loc, decl, args);
      op->erase();
      ++numDispatched;
    }
  }
};

} // namespace
