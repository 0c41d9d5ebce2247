//===- DispatchBlas.cpp - hand f32 matmuls on buffers to BLAS -------------===//

#include "lorc/Dialect/Lorc/IR/Activation.h"
#include "lorc/Conversion/LorcToLinalg/LorcToLinalg.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
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

/// The fully dynamic strided memref type of rank `rank` the runtime entry points take (f32
/// elements unless `element` is given).
MemRefType dynamicStrided(MLIRContext *ctx, unsigned rank, Type element = {}) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  return MemRefType::get(shape, element ? element : Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides));
}

/// A new identity-layout bf16 buffer holding `v` (an f32 memref) rounded to nearest even: a
/// linalg.generic with arith.truncf, which the CUDA pipeline turns into a generated kernel
/// (PTX cvt.rn.bf16.f32). The caller deallocates it after its last use.
Value convertToBf16(OpBuilder &b, Location loc, Value v) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<Value> dynamicSizes;
  for (auto [d, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamicSizes.push_back(memref::DimOp::create(b, loc, v, d));
  Value out = memref::AllocOp::create(b, loc, MemRefType::get(type.getShape(), b.getBF16Type()),
                                      dynamicSizes);
  unsigned rank = type.getRank();
  AffineMap id = b.getMultiDimIdentityMap(rank);
  linalg::GenericOp::create(
      b, loc, TypeRange{}, ValueRange{v}, ValueRange{out}, ArrayRef<AffineMap>{id, id},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value r = arith::TruncFOp::create(nb, l, nb.getBF16Type(), args[0]);
        linalg::YieldOp::create(nb, l, r);
      });
  return out;
}

/// The buffer `v` is a view of: `v` followed through view-like ops to their source.
Value viewRoot(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Whether `v` is a view of a parameter buffer (argument 0 of a function carrying
/// `lorc.parameters`, then one argument per other layout attribute it carries,
/// lorc::kParameterLayoutAttrs: lorc-externalize-weights' convention): read-only for the
/// artifact's lifetime, so the runtime may pack it once.
bool isParameterView(Value v) {
  auto arg = dyn_cast<BlockArgument>(viewRoot(v));
  if (!arg)
    return false;
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!func || !arg.getOwner()->isEntryBlock())
    return false;
  unsigned buffers = llvm::count_if(kParameterLayoutAttrs,
                                    [&](StringRef name) { return func->hasAttr(name); });
  return func->hasAttr(kParameterLayoutAttrs[0]) && arg.getArgNumber() < buffers;
}

/// Whether the runtime may keep a packed copy of `matmul`'s B: a parameter view, except in
/// the GEMM of one chunk of a layer under a memory budget (kChunkGemmAttr), where every
/// chunk's packed copy would stay resident whatever the budget.
bool isCachedParameter(Operation *matmul) {
  return isParameterView(matmul->getOperand(1)) && !matmul->hasAttr(kChunkGemmAttr);
}

/// Whether `v` is constant for the artifact's lifetime: a parameter view or a global.
bool isConstantBuffer(Value v) {
  return viewRoot(v).getDefiningOp<memref::GetGlobalOp>() || isParameterView(v);
}

/// An FP8 layer's weight stored FP8 (--lorc-narrow-weights) that a matmul reads as B: the
/// buffer last written, before the matmul, by a `lorc.fp8_row_decode` generic
/// (convert-lorc-to-linalg's lowering of lorc.dequantize {axis = 0}) from constant FP8 codes
/// (E4M3FN or E5M2)
/// and row scales. Bufferization may give several decodes one buffer (their tensor.empty
/// inits were CSE'd), each followed by the GEMMs that read it, so the decode is the nearest
/// writer walking back from the matmul; anything else that may write the buffer in between
/// (or a decode nested in a loop) and the matmul keeps its f32 B.
struct Fp8Weight {
  Value buffer;
  Value codes, scales;
};

/// Whether `op` (or an op nested in it) has one of `aliases` as an operand other than as a
/// linalg input or a dealloc/cast/view, i.e. may write it.
bool mayWrite(Operation *op, const llvm::SmallPtrSetImpl<Value> &aliases) {
  WalkResult r = op->walk([&](Operation *o) {
    for (OpOperand &use : o->getOpOperands()) {
      if (!aliases.contains(use.get()))
        continue;
      if (isa<memref::CastOp, memref::DeallocOp, ViewLikeOpInterface>(o))
        continue;
      if (auto l = dyn_cast<linalg::LinalgOp>(o); l && l.isDpsInput(&use))
        continue;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

std::optional<Fp8Weight> fp8WeightOf(Operation *matmul) {
  Value b = matmul->getOperand(1);
  while (auto cast = b.getDefiningOp<memref::CastOp>())
    b = cast.getSource();
  if (!b.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  llvm::SmallPtrSet<Value, 4> aliases{b};
  for (Operation *user : b.getUsers())
    if (isa<memref::CastOp>(user))
      aliases.insert(user->getResult(0));
  // Walk back from the matmul, out through enclosing regions, to the nearest writer. An
  // enclosing op (a loop) must not write the buffer anywhere in its body: a later iteration's
  // matmul would read that instead.
  for (Operation *at = matmul; at && !isa<func::FuncOp>(at); at = at->getParentOp()) {
    if (at != matmul && mayWrite(at, aliases))
      return std::nullopt;
    for (Operation *o = at->getPrevNode(); o; o = o->getPrevNode()) {
      auto gen = dyn_cast<linalg::GenericOp>(o);
      if (gen && gen->hasAttr(kFp8RowDecodeAttr) && gen.hasPureBufferSemantics() &&
          gen.getNumDpsInputs() == 2 && gen.getNumDpsInits() == 1 &&
          aliases.contains(gen.getDpsInits()[0])) {
        Value codes = gen.getDpsInputs()[0], scales = gen.getDpsInputs()[1];
        auto ct = dyn_cast<MemRefType>(codes.getType());
        auto st = dyn_cast<MemRefType>(scales.getType());
        if (!ct || !st || ct.getRank() != 2 ||
            !isa<Float8E4M3FNType, Float8E5M2Type>(ct.getElementType()) ||
            st.getRank() != 1 || !st.getElementType().isF32() || ct.getMemorySpace() ||
            st.getMemorySpace() || !isConstantBuffer(codes) || !isConstantBuffer(scales))
          return std::nullopt;
        return Fp8Weight{b, codes, scales};
      }
      if (mayWrite(o, aliases))
        return std::nullopt;
    }
  }
  return std::nullopt;
}

/// Erases `buffer`, and the decodes that write it, when nothing else uses it any more (every
/// matmul that read it now reads the codes).
void eraseIfUnread(Value buffer) {
  SmallVector<Operation *> users(buffer.getUsers().begin(), buffer.getUsers().end());
  if (!llvm::all_of(users, [&](Operation *u) {
        auto gen = dyn_cast<linalg::GenericOp>(u);
        return (gen && gen->hasAttr(kFp8RowDecodeAttr) && gen.getNumDpsInits() == 1 &&
                gen.getDpsInits()[0] == buffer) ||
               isa<memref::DeallocOp>(u) || (isa<memref::CastOp>(u) && u->use_empty());
      }))
    return;
  for (Operation *u : users)
    u->erase();
  buffer.getDefiningOp()->erase();
}

/// Declares (once) the runtime function `name(args...)` with the C interface.
func::FuncOp getOrDeclare(ModuleOp module, StringRef name, ArrayRef<Type> args) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name, FunctionType::get(ctx, args, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  return f;
}

/// `name(memref, memref, memref, i32, i32[, i32])`: A, B, C of `rank` and the flags; A has
/// `aElement` elements and B `bElement` (f32 unless given), C f32.
func::FuncOp getOrDeclare(ModuleOp module, StringRef name, unsigned rank, unsigned numFlags,
                          Type aElement = {}, Type bElement = {}) {
  MLIRContext *ctx = module.getContext();
  Type m = dynamicStrided(ctx, rank);
  SmallVector<Type> args = {dynamicStrided(ctx, rank, aElement),
                            dynamicStrided(ctx, rank, bElement), m};
  args.append(numFlags, IntegerType::get(ctx, 32));
  return getOrDeclare(module, name, args);
}

/// The nearest op before (or after) `op` in its block that may read or write memory: pure ops
/// (casts, views, constants) and allocations of other buffers are skipped.
Operation *memoryNeighbour(Operation *op, bool before) {
  for (Operation *o = before ? op->getPrevNode() : op->getNextNode(); o;
       o = before ? o->getPrevNode() : o->getNextNode())
    if (!isMemoryEffectFree(o) && !isa<memref::AllocOp, memref::AllocaOp>(o))
      return o;
  return nullptr;
}

/// What a 2-D matmul's call absorbs from its neighbours (lorc.linear's lowering emits them
/// next to each other): the op that initialises C (a bias broadcast over rows, or zeros), and
/// the element-wise epilogue tagged `lorc.epilogue` written in place on C.
struct Folded {
  Operation *init = nullptr;
  Value bias;
  Operation *epilogue = nullptr;
  Value residual;
  int32_t activation = 0; // lorc::GemmActivation: 0 none, 1 GELU erf, 2 GELU tanh
};

/// The `linalg.fill` of +0.0 into `c` that `prev` is, or null.
linalg::FillOp zeroFillOf(Operation *prev, Value c) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(prev);
  FloatAttr zero;
  if (fill && fill.getOutputs()[0] == c && matchPattern(fill.getInputs()[0], m_Constant(&zero)) &&
      zero.getValue().isPosZero())
    return fill;
  return nullptr;
}

Folded foldNeighbours(linalg::MatmulOp op) {
  Folded f;
  Value c = op.getDpsInits()[0];
  Operation *prev = memoryNeighbour(op, /*before=*/true);
  if (auto bc = dyn_cast_or_null<linalg::BroadcastOp>(prev)) {
    auto in = dyn_cast<MemRefType>(bc.getInput().getType());
    if (bc.getInit() == c && in && in.getRank() == 1 && in.getElementType().isF32() &&
        bc.getDimensions() == ArrayRef<int64_t>{0}) {
      f.init = bc;
      f.bias = bc.getInput();
    }
  } else if (linalg::FillOp fill = zeroFillOf(prev, c)) {
    f.init = fill;
  }
  auto gen = dyn_cast_or_null<linalg::GenericOp>(memoryNeighbour(op, /*before=*/false));
  auto tag = gen ? gen->getAttrOfType<DictionaryAttr>("lorc.epilogue") : DictionaryAttr();
  if (!tag || !gen.hasPureBufferSemantics() || gen.getNumDpsInits() != 1 ||
      gen.getDpsInits()[0] != c ||
      !llvm::all_of(gen.getIndexingMapsArray(), [](AffineMap m) { return m.isIdentity(); }))
    return f;
  bool residual = tag.contains("residual");
  if (gen.getNumDpsInputs() != (residual ? 1u : 0u) ||
      (residual && gen.getDpsInputs()[0] == c))
    return f;
  int32_t activation = 0; // the runtime's GemmActivation codes (lib/Runtime/CpuGemm.h)
  if (auto name = tag.getAs<StringAttr>("activation")) {
    std::optional<Activation> act = parseActivation(name.getValue());
    if (!act)
      return f;
    activation = *act == Activation::GeluErf ? 1 : 2;
  }
  f.epilogue = gen;
  f.activation = activation;
  if (residual)
    f.residual = gen.getDpsInputs()[0];
  return f;
}

/// The epilogue entry point: (A, B..., C, bias [n], residual [m, n], transA, transB,
/// bIsParameter, accumulate, activation); B is the operands `b` (one 2-D memref, or an FP8
/// weight's codes and row scales).
func::FuncOp getOrDeclareEpilogue(ModuleOp module, StringRef name, ArrayRef<Type> b) {
  MLIRContext *ctx = module.getContext();
  Type m2 = dynamicStrided(ctx, 2), m1 = dynamicStrided(ctx, 1);
  Type i32 = IntegerType::get(ctx, 32);
  SmallVector<Type> args{m2};
  args.append(b.begin(), b.end());
  args.append({m2, m1, m2, i32, i32, i32, i32, i32});
  return getOrDeclare(module, name, args);
}

/// Before the GEMM of one chunk of a layer under a memory budget (kChunkGemmAttr) whose B is
/// a view of the parameters (the mapped weights file) that changes with the enclosing scf.for:
/// `lorc_cpu_prefetch(B of the next iteration)`, an asynchronous read-ahead of those pages
/// (madvise MADV_WILLNEED), so that loading chunk i+1 overlaps chunk i's GEMM. The next view
/// is the current one's computation cloned with the induction variable advanced one step,
/// under `iv + step < ub`. Returns whether it emitted one.
bool prefetchNextChunk(ModuleOp module, Operation *matmul) {
  Value view = matmul->getOperand(1);
  auto type = dyn_cast<MemRefType>(view.getType());
  auto loop = matmul->getParentOfType<scf::ForOp>();
  if (!matmul->hasAttr(kChunkGemmAttr) || !loop || !type || type.getRank() != 2 ||
      !type.getElementType().isF32() || !isParameterView(view))
    return false;
  // What computes the view inside the loop body (views, index arithmetic): all pure.
  SetVector<Operation *> slice;
  BackwardSliceOptions options;
  options.filter = [&](Operation *o) { return loop->isProperAncestor(o); };
  options.inclusive = true;
  if (failed(getBackwardSlice(view, &slice, options)))
    return false;
  Value iv = loop.getInductionVar();
  bool dependsOnIv = false;
  for (Operation *o : slice) {
    if (!isMemoryEffectFree(o) || o->getNumRegions() != 0)
      return false;
    dependsOnIv |= llvm::is_contained(o->getOperands(), iv);
  }
  if (!dependsOnIv || slice.empty())
    return false;
  MLIRContext *ctx = module.getContext();
  func::FuncOp decl = getOrDeclare(module, "lorc_cpu_prefetch", {dynamicStrided(ctx, 2)});
  OpBuilder b(matmul);
  Location loc = matmul->getLoc();
  Value next = arith::AddIOp::create(b, loc, iv, loop.getStep());
  Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, next,
                                     loop.getUpperBound());
  auto guard = scf::IfOp::create(b, loc, more, /*withElseRegion=*/false);
  OpBuilder inner = guard.getThenBodyBuilder();
  IRMapping map;
  map.map(iv, next);
  for (Operation *o : slice) // topologically ordered
    inner.clone(*o, map);
  Value nextView = map.lookup(view);
  Value cast = memref::CastOp::create(inner, loc, dynamicStrided(ctx, 2), nextView);
  func::CallOp::create(inner, loc, decl, ValueRange{cast});
  return true;
}

/// Whether B (operand 1) is stored bf16: weights narrowed by --lorc-narrow-weights.
bool hasBf16B(Operation *op) {
  return cast<MemRefType>(op->getOperand(1).getType()).getElementType().isBF16();
}

struct LorcDispatchBlasPass : lorc::impl::LorcDispatchBlasPassBase<LorcDispatchBlasPass> {
  using LorcDispatchBlasPassBase::LorcDispatchBlasPassBase;
  /// The GEMM's input precision: bf16 for a matmul tagged `lorc.gemm_precision = "bf16"` (a
  /// bf16 layer of --lorc-assign-precision, whose operands are bf16 values), else the pass
  /// option. Both libraries have bf16 entry points.
  std::string precisionOf(Operation *op) {
    if (auto tag = op->getAttrOfType<StringAttr>("lorc.gemm_precision");
        tag && tag.getValue() == "bf16")
      return "bf16";
    return precision;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (library != "cpu" && library != "cuda") {
      module.emitError() << "lorc-dispatch-blas: library=" << library
                         << ": expected cpu or cuda";
      return signalPassFailure();
    }
    if (precision != "f32" && precision != "bf16") {
      module.emitError() << "lorc-dispatch-blas: precision=" << precision
                         << ": expected f32 or bf16";
      return signalPassFailure();
    }
    bool cpu = library == "cpu";
    llvm::SetVector<Value> fp8Buffers;
    SmallVector<linalg::LinalgOp> candidates;
    module.walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) && op.hasPureBufferSemantics())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      if (cpu && prefetchNextChunk(module, op))
        ++numPrefetches;
      if (std::optional<StringRef> formats = fp8GemmFormats(op)) {
        if (failed(callFp8(module, op, *formats)))
          return signalPassFailure();
        continue;
      }
      bool batched = isa<linalg::BatchMatmulOp>(op);
      unsigned rank = batched ? 3 : 2;
      // f32 operands, except that a bf16 GEMM's B may be stored bf16 (a narrowed weight; a
      // bf16 B in an f32 GEMM is left to the loops, which widen it exactly).
      std::string gemmPrecision = precisionOf(op);
      if (!llvm::all_of(llvm::enumerate(op->getOperands()), [&](auto iv) {
            auto t = cast<MemRefType>(iv.value().getType());
            bool bf16B = iv.index() == 1 && gemmPrecision == "bf16" &&
                         t.getElementType().isBF16();
            return (t.getElementType().isF32() || bf16B) && !t.getMemorySpace();
          }))
        continue;
      std::optional<std::pair<bool, bool>> trans = getTransposes(op, batched ? 1 : 0);
      if (!trans)
        continue;
      // An FP8-stored weight: the f32 GEMM's `_fp8w` form reads its codes and row scales (not
      // in the CUDA twin, which checks the decode kernel as it checks the epilogue kernels).
      std::optional<Fp8Weight> fp8 = cpu && !batched && foldEpilogues && gemmPrecision == "f32"
                                         ? fp8WeightOf(op)
                                         : std::nullopt;
      if (fp8)
        fp8Buffers.insert(fp8->buffer);
      if (cpu && !batched && foldEpilogues) {
        Folded folded = foldNeighbours(cast<linalg::MatmulOp>(op.getOperation()));
        if (folded.init || folded.epilogue || fp8) {
          callWithEpilogue(module, op, *trans, folded, fp8);
          continue;
        }
      }
      bool bf16B = hasBf16B(op);
      std::string callee =
          "lorc_" + library + (batched ? "_batch_matmul_" : "_matmul_") + gemmPrecision;
      // On the device, bf16 GEMMs take bf16 A and B, converted here unless stored bf16
      // (cuBLAS's COMPUTE_32F_FAST_16BF on f32 matrices may pick TF32 instead:
      // docs/CudaPipeline.md); the CPU entry points round f32 operands themselves, and take
      // a bf16-stored B through their `_bf16w` forms.
      bool convert = !cpu && gemmPrecision == "bf16";
      if (cpu && bf16B)
        callee += "w";
      OpBuilder b(op);
      Type aElement = convert ? b.getBF16Type() : b.getF32Type();
      Type bElement = convert || bf16B ? b.getBF16Type() : b.getF32Type();
      func::FuncOp decl = getOrDeclare(module, callee, rank, 3, aElement, bElement);
      Location loc = op.getLoc();
      SmallVector<Value> args, temporaries;
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        Value operand = v;
        bool isBf16 = cast<MemRefType>(v.getType()).getElementType().isBF16();
        if (convert && i < 2 && !isBf16)
          temporaries.push_back(operand = convertToBf16(b, loc, v));
        Type element = i == 0 ? aElement : i == 1 ? bElement : Type();
        args.push_back(
            memref::CastOp::create(b, loc, dynamicStrided(&getContext(), rank, element), operand));
      }
      appendFlags(b, loc, op, *trans, args);
      func::CallOp::create(b, loc, decl, args);
      for (Value t : temporaries)
        memref::DeallocOp::create(b, loc, t);
      numConverted += temporaries.size();
      op->erase();
      ++numDispatched;
    }
    for (Value buffer : fp8Buffers)
      eraseIfUnread(buffer);
  }

  /// The flags after a plain GEMM call's A, B and C: transA, transB, then on the CPU
  /// bIsParameter, on cuda `accumulate` (C's zero fill just before the matmul is erased and
  /// becomes beta = 0: C is then only written, never read).
  void appendFlags(OpBuilder &b, Location loc, linalg::LinalgOp op, std::pair<bool, bool> trans,
                   SmallVectorImpl<Value> &args) {
    auto i32 = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32).getResult(); };
    args.append({i32(trans.first), i32(trans.second)});
    if (library == "cpu") {
      bool parameter = isCachedParameter(op);
      args.push_back(i32(parameter));
      numParameterOperands += parameter;
      return;
    }
    linalg::FillOp fill = zeroFillOf(memoryNeighbour(op, /*before=*/true), op.getDpsInits()[0]);
    args.push_back(i32(fill ? 0 : 1));
    if (fill) {
      fill->erase();
      ++numZeroFillsFolded;
    }
  }

  /// An FP8 GEMM (convert-lorc-to-linalg's fp8-gemm): a 2-D linalg.matmul with FP8 A and B
  /// (E4M3FN or E5M2, not both E5M2) and f32 C on host-space buffers. Returns the entry
  /// point's suffix, `<A format>_<B format>` (e4m3_e4m3, e4m3_e5m2, e5m2_e4m3).
  static std::optional<StringRef> fp8GemmFormats(linalg::LinalgOp op) {
    if (!isa<linalg::MatmulOp>(op))
      return std::nullopt;
    auto types = llvm::map_to_vector(op->getOperands(), [](Value v) {
      return cast<MemRefType>(v.getType());
    });
    if (llvm::any_of(types, [](MemRefType t) { return t.getMemorySpace() != nullptr; }) ||
        !types[2].getElementType().isF32())
      return std::nullopt;
    Type a = types[0].getElementType(), b = types[1].getElementType();
    bool a4 = isa<Float8E4M3FNType>(a), b4 = isa<Float8E4M3FNType>(b);
    bool a5 = isa<Float8E5M2Type>(a), b5 = isa<Float8E5M2Type>(b);
    if (a4 && b4)
      return StringRef("e4m3_e4m3");
    if (a4 && b5)
      return StringRef("e4m3_e5m2");
    if (a5 && b4)
      return StringRef("e5m2_e4m3");
    return std::nullopt;
  }

  /// `lorc_<library>_matmul_fp8_<formats>(A, B, C, transA, transB, flag)`: on cuda cuBLASLt's
  /// FP8 GEMM, which takes only A [M, K] row-major and B [N, K] (transB), the form the
  /// lowering makes; the flag is `accumulate` (C's zero fill folded as beta = 0). On the CPU
  /// (the CUDA twin) the decode-and-f32-GEMM form of any layout; the flag is bIsParameter.
  LogicalResult callFp8(ModuleOp module, linalg::LinalgOp op, StringRef formats) {
    std::optional<std::pair<bool, bool>> trans = getTransposes(op, 0);
    bool cpu = library == "cpu";
    if (!trans || (!cpu && (trans->first || !trans->second)))
      return op->emitOpError()
             << "lorc-dispatch-blas: an FP8 GEMM (FP8 A and B, f32 C) on " << library
             << " needs A [M, K] row-major and B [N, K] (C += A·Bᵀ, cuBLASLt's only FP8 layout)";
    MLIRContext *ctx = &getContext();
    auto elementOf = [](Value v) { return cast<MemRefType>(v.getType()).getElementType(); };
    Value a = op->getOperand(0), bOperand = op->getOperand(1), c = op->getOperand(2);
    func::FuncOp decl = getOrDeclare(module, ("lorc_" + library + "_matmul_fp8_" + formats).str(),
                                     2, 3, elementOf(a), elementOf(bOperand));
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> args;
    for (Value v : {a, bOperand, c})
      args.push_back(
          memref::CastOp::create(b, loc, dynamicStrided(ctx, 2, elementOf(v)), v).getResult());
    appendFlags(b, loc, op, *trans, args);
    func::CallOp::create(b, loc, decl, args);
    op->erase();
    ++numDispatched;
    ++numFp8Gemms;
    return success();
  }

  /// One call of lorc_cpu_matmul_epilogue_* for the matmul and what it absorbs; with `fp8`, of
  /// lorc_cpu_matmul_epilogue_fp8w (E4M3FN) or lorc_cpu_matmul_epilogue_fp8w_e5m2, which take
  /// B's FP8 codes and row scales in B's place (with nothing folded: no bias or residual,
  /// accumulate = 1, no activation).
  void callWithEpilogue(ModuleOp module, linalg::LinalgOp op, std::pair<bool, bool> trans,
                        const Folded &folded, std::optional<Fp8Weight> fp8 = std::nullopt) {
    bool bf16B = hasBf16B(op);
    MLIRContext *ctx = &getContext();
    func::FuncOp decl;
    if (fp8) {
      Type codes = cast<MemRefType>(fp8->codes.getType()).getElementType();
      decl = getOrDeclareEpilogue(module,
                                  isa<Float8E5M2Type>(codes) ? "lorc_cpu_matmul_epilogue_fp8w_e5m2"
                                                             : "lorc_cpu_matmul_epilogue_fp8w",
                                  {dynamicStrided(ctx, 2, codes), dynamicStrided(ctx, 1)});
      ++numFp8Weights;
    } else {
      decl = getOrDeclareEpilogue(
          module, "lorc_cpu_matmul_epilogue_" + precisionOf(op) + (bf16B ? "w" : ""),
          {dynamicStrided(ctx, 2, bf16B ? Type(BFloat16Type::get(ctx)) : Type())});
    }
    // At the epilogue when there is one: the residual may be defined (a view) after the matmul;
    // nothing in between touches memory, and A, B and C are defined before the matmul.
    OpBuilder b(folded.epilogue ? folded.epilogue : op.getOperation());
    Location loc = op.getLoc();
    auto cast = [&](Value v, unsigned rank) {
      Type element = llvm::cast<MemRefType>(v.getType()).getElementType();
      return memref::CastOp::create(b, loc, dynamicStrided(ctx, rank, element), v).getResult();
    };
    // An absent bias or residual is an empty buffer.
    auto empty = [&](unsigned rank) {
      SmallVector<int64_t> shape(rank, 0);
      return cast(memref::AllocaOp::create(b, loc, MemRefType::get(shape, b.getF32Type())),
                  rank);
    };
    auto i32 = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32).getResult(); };
    bool parameter = fp8 ? true : isCachedParameter(op);
    SmallVector<Value> args{cast(op->getOperand(0), 2)};
    if (fp8)
      args.append({cast(fp8->codes, 2), cast(fp8->scales, 1)});
    else
      args.push_back(cast(op->getOperand(1), 2));
    args.append({cast(op->getOperand(2), 2), folded.bias ? cast(folded.bias, 1) : empty(1),
                 folded.residual ? cast(folded.residual, 2) : empty(2), i32(trans.first),
                 i32(trans.second), i32(parameter), i32(folded.init ? 0 : 1),
                 i32(folded.activation)});
    func::CallOp::create(b, loc, decl, args);
    numParameterOperands += parameter;
    numBiasFolded += folded.bias ? 1 : 0;
    numEpiloguesFolded += folded.epilogue ? 1 : 0;
    for (Operation *dead : {folded.init, folded.epilogue})
      if (dead)
        dead->erase();
    op->erase();
    ++numDispatched;
  }
};

} // namespace
