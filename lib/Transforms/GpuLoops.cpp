//===- GpuLoops.cpp - device buffers and block/thread mapping for the CUDA path ===//
//
// `--lorc-prepare-gpu-buffers` and `--lorc-map-parallel-loops`: the two lorc steps of the CUDA
// pipeline between bufferization and upstream's convert-parallel-loops-to-gpu
// (docs/CudaPipeline.md). Both also run in the CPU twin pipeline, which executes the mapped
// loops on the host so that CI checks their tiling against the goldens.
//
//===----------------------------------------------------------------------===//

#include "lorc/Transforms/Passes.h"
#include "lorc/Support/NvptxTarget.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace lorc {
#define GEN_PASS_DEF_LORCPREPAREGPUBUFFERSPASS
#define GEN_PASS_DEF_LORCMAPPARALLELLOOPSPASS
#define GEN_PASS_DEF_LORCCHECKNVPTXTARGETPASS
#define GEN_PASS_DEF_LORCNAMEKERNELSPASS
#define GEN_PASS_DEF_LORCCONVERTFP8TRUNCFTONVVMPASS
#include "lorc/Transforms/Passes.h.inc"
} // namespace lorc

using namespace mlir;
using namespace lorc;

namespace {

/// True for ops in host code: not inside a kernel (gpu.launch or gpu.module).
bool isHostOp(Operation *op) {
  return !op->getParentOfType<gpu::LaunchOp>() && !op->getParentOfType<gpu::GPUModuleOp>();
}

struct LorcPrepareGpuBuffersPass
    : lorc::impl::LorcPrepareGpuBuffersPassBase<LorcPrepareGpuBuffersPass> {
  using LorcPrepareGpuBuffersPassBase::LorcPrepareGpuBuffersPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());

    // Copies become linalg.copy, which the pipeline turns into (mapped) parallel loops.
    SmallVector<memref::CopyOp> copies;
    module.walk([&](memref::CopyOp op) {
      if (isHostOp(op))
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(), op.getTarget());
    }
    if (!deviceAllocations)
      return;

    SmallVector<Operation *> hostOps;
    module.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp>(op) && isHostOp(op))
        hostOps.push_back(op);
    });
    for (Operation *op : hostOps) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto device = gpu::AllocOp::create(rewriter, loc, alloc.getType(), /*asyncToken=*/Type(),
                                           ValueRange(), alloc.getDynamicSizes(),
                                           alloc.getSymbolOperands(), /*hostShared=*/false);
        rewriter.replaceOp(alloc, device.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, loc, /*asyncToken=*/Type(), ValueRange(),
                               dealloc.getMemref());
        rewriter.eraseOp(dealloc);
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        // A device copy of the host constant, made where it was read and freed on return.
        auto func = global->getParentOfType<func::FuncOp>();
        if (!func) {
          global.emitOpError("is outside a function: cannot place its device copy");
          return signalPassFailure();
        }
        auto device = gpu::AllocOp::create(rewriter, loc, global.getType(), Type(), ValueRange(),
                                           ValueRange(), ValueRange(), false);
        rewriter.setInsertionPointAfter(device);
        auto hostValue = memref::GetGlobalOp::create(rewriter, loc, global.getType(),
                                                     global.getName());
        gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange(), device.getMemref(),
                              hostValue);
        rewriter.replaceAllUsesExcept(global, device.getMemref(), hostValue);
        rewriter.eraseOp(global);
        func.walk([&](func::ReturnOp ret) {
          rewriter.setInsertionPoint(ret);
          gpu::DeallocOp::create(rewriter, loc, Type(), ValueRange(), device.getMemref());
        });
      }
    }
  }
};

/// Threads per block for `op`'s innermost dimension: `blockSize`, unless a static extent is
/// better served by fewer: the extent rounded up to a warp when it fits in one block, else the
/// largest multiple of 32 (at least 128) that divides it, so no block is partly idle
/// (MiniLM's hidden size 384 = 2 × 192).
int64_t threadsFor(scf::ParallelOp op, int64_t blockSize) {
  std::optional<int64_t> lb = getConstantIntValue(op.getLowerBound().back());
  std::optional<int64_t> ub = getConstantIntValue(op.getUpperBound().back());
  std::optional<int64_t> step = getConstantIntValue(op.getStep().back());
  if (!lb || !ub || !step || *step != 1)
    return blockSize;
  int64_t extent = *ub - *lb;
  if (extent <= blockSize)
    return std::max<int64_t>(32, (extent + 31) / 32 * 32);
  for (int64_t t = blockSize; t >= 128; t -= 32)
    if (extent % t == 0)
      return t;
  return blockSize;
}

struct LorcMapParallelLoopsPass
    : lorc::impl::LorcMapParallelLoopsPassBase<LorcMapParallelLoopsPass> {
  using LorcMapParallelLoopsPassBase::LorcMapParallelLoopsPassBase;

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32 != 0) {
      getOperation()->emitError() << "lorc-map-parallel-loops: block-size=" << static_cast<int64_t>(blockSize)
                                  << ": expected a multiple of 32 in [32, 1024]";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    wrapSerialWork();
    SmallVector<scf::ParallelOp> roots;
    getOperation()->walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() && isHostOp(op))
        roots.push_back(op);
    });

    OpBuilder b(ctx);
    AffineMap id = b.getDimIdentityMap();
    auto dim = [&](gpu::Processor p) {
      return b.getAttr<gpu::ParallelLoopDimMappingAttr>(p, id, id);
    };
    IRRewriter rewriter(ctx);
    for (scf::ParallelOp op : roots) {
      // All dimensions but the innermost become one (a linearised index, upstream's
      // collapseParallelLoops), which indexes the blocks along x (up to 2^31 - 1 blocks); the
      // innermost is tiled into blocks of threads along y. Before, the three innermost
      // dimensions went to x, y, z and any further ones ran sequentially inside each thread:
      // attention's [batch, heads, query, key] loops ran their batch loop in every thread.
      // Threads from the original innermost bounds (collapsing rewrites them as arithmetic).
      int64_t threads = threadsFor(op, blockSize);
      if (unsigned n = op.getNumLoops(); n > 2) {
        std::vector<unsigned> outerDims(n - 1);
        for (unsigned i = 0; i + 1 < n; ++i)
          outerDims[i] = i;
        Operation *next = op->getNextNode();
        Block *block = op->getBlock();
        rewriter.setInsertionPoint(op);
        collapseParallelLoops(rewriter, op, {outerDims, {n - 1}});
        op = cast<scf::ParallelOp>(next ? next->getPrevNode() : &block->back());
      }
      unsigned n = op.getNumLoops();
      SmallVector<int64_t> tiles(n, 1);
      tiles.back() = threads;
      auto [outer, inner] = scf::tileParallelLoop(op, tiles, /*noMinMaxBounds=*/true);
      SmallVector<gpu::ParallelLoopDimMappingAttr> outerMap, innerMap;
      for (unsigned i = 0; i < n; ++i) {
        bool innermost = i + 1 == n;
        outerMap.push_back(dim(innermost && n == 2 ? gpu::Processor::BlockY
                                                   : gpu::Processor::BlockX));
        innerMap.push_back(dim(innermost ? gpu::Processor::ThreadX : gpu::Processor::Sequential));
      }
      if (failed(gpu::setMappingAttr(outer, outerMap)) ||
          failed(gpu::setMappingAttr(inner, innerMap))) {
        outer.emitOpError("cannot be mapped to GPU blocks and threads");
        return signalPassFailure();
      }
    }

    // Whatever still reads or writes memory on the host, outside the mapped loops, would touch
    // device buffers from the CPU: serial work whose values the host uses (wrapSerialWork
    // leaves it).
    WalkResult unmapped = getOperation()->walk([&](Operation *op) {
      if (!isa<memref::LoadOp, memref::StoreOp>(op) || !isHostOp(op) ||
          op->getParentOfType<scf::ParallelOp>())
        return WalkResult::advance();
      op->emitOpError("accesses memory outside any parallel loop: it cannot be mapped to the "
                      "GPU (a loop nest without a parallel dimension)");
      return WalkResult::interrupt();
    });
    if (unmapped.wasInterrupted())
      signalPassFailure();
  }

  /// Serial work on memory outside any parallel loop (the last step of a reduction to one
  /// element, or a one-element fill: canonicalize folds their one-iteration parallel loops
  /// away) is put back under a one-iteration scf.parallel, so it runs in one GPU thread:
  /// each outermost op of a function body that loads or stores and whose results, if any, are
  /// unused. One whose values the host reads stays, and is reported after mapping.
  void wrapSerialWork() {
    llvm::SetVector<Operation *> serial;
    getOperation()->walk([&](Operation *op) {
      if (!isa<memref::LoadOp, memref::StoreOp>(op) || !isHostOp(op) ||
          op->getParentOfType<scf::ParallelOp>())
        return;
      Operation *top = op;
      while (top->getParentOp() && !isa<FunctionOpInterface>(top->getParentOp()))
        top = top->getParentOp();
      if (top->getParentOp() && top->use_empty())
        serial.insert(top);
    });
    for (Operation *op : serial) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero}, ValueRange{one},
                                          ValueRange{one});
      op->moveBefore(loop.getBody()->getTerminator());
    }
  }
};

struct LorcNameKernelsPass : lorc::impl::LorcNameKernelsPassBase<LorcNameKernelsPass> {
  using LorcNameKernelsPassBase::LorcNameKernelsPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Old launch target → new one, then a single walk over the launches.
    llvm::DenseMap<SymbolRefAttr, SymbolRefAttr> renamed;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      auto kernels = llvm::to_vector(llvm::make_filter_range(
          gpuModule.getOps<gpu::GPUFuncOp>(), [](gpu::GPUFuncOp f) { return f.isKernel(); }));
      if (kernels.size() != 1 || kernels[0].getName() == gpuModule.getName() ||
          SymbolTable::lookupSymbolIn(gpuModule, gpuModule.getName()))
        continue; // several kernels, already named, or the name is taken inside the module
      gpu::GPUFuncOp kernel = kernels[0];
      auto ref = [&](StringRef name) {
        return SymbolRefAttr::get(ctx, gpuModule.getName(), {FlatSymbolRefAttr::get(ctx, name)});
      };
      renamed[ref(kernel.getName())] = ref(gpuModule.getName());
      SymbolTable::setSymbolName(kernel, gpuModule.getName());
    }
    if (renamed.empty())
      return;
    module.walk([&](gpu::LaunchFuncOp launch) {
      if (SymbolRefAttr to = renamed.lookup(launch.getKernel()))
        launch.setKernelAttr(to);
    });
  }
};

struct LorcCheckNvptxTargetPass
    : lorc::impl::LorcCheckNvptxTargetPassBase<LorcCheckNvptxTargetPass> {
  using LorcCheckNvptxTargetPassBase::LorcCheckNvptxTargetPassBase;
  void runOnOperation() override {
    std::string spec = chip + "+ptx" + std::to_string(ptxVersion);
    llvm::Expected<NvptxTarget> target = parseNvptxTarget(spec, "lorc-check-nvptx-target");
    if (!target) {
      getOperation().emitError() << llvm::toString(target.takeError());
      signalPassFailure();
    }
  }
};

struct LorcConvertFp8TruncfToNvvmPass
    : lorc::impl::LorcConvertFp8TruncfToNvvmPassBase<LorcConvertFp8TruncfToNvvmPass> {
  using LorcConvertFp8TruncfToNvvmPassBase::LorcConvertFp8TruncfToNvvmPassBase;
  void runOnOperation() override {
    SmallVector<arith::TruncFOp> casts;
    getOperation().walk([&](arith::TruncFOp op) {
      if (op.getIn().getType().isF32() &&
          isa<Float8E4M3FNType, Float8E5M2Type>(op.getType()))
        casts.push_back(op);
    });
    for (arith::TruncFOp op : casts) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
      Value pair = NVVM::ConvertF32x2ToF8x2Op::create(
          b, loc, b.getI16Type(), zero, op.getIn(), NVVM::FPRoundingMode::RN,
          NVVM::SaturationMode::SATFINITE, /*relu=*/false, op.getType());
      Value byte = arith::TruncIOp::create(b, loc, b.getI8Type(), pair);
      op.replaceAllUsesWith(arith::BitcastOp::create(b, loc, op.getType(), byte).getResult());
      op.erase();
    }
  }
};

} // namespace
