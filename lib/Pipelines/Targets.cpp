//===- Targets.cpp - lorc-compile's --target values and the CUDA lowering -===//

#include "lorc/Pipelines/Targets.h"
#include "lorc/Pipelines/Pipelines.h"

#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>
#include <map>

using namespace mlir;
using namespace lorc;

namespace {
llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// The CUDA toolkit directory holding bin/ptxas, or "".
std::string findCudaToolkit() {
  for (const char *env : {"LORC_CUDA_TOOLKIT", "CUDA_HOME"})
    if (const char *dir = std::getenv(env); dir && *dir) {
      llvm::SmallString<256> ptxas(dir);
      llvm::sys::path::append(ptxas, "bin", "ptxas");
      if (llvm::sys::fs::can_execute(ptxas))
        return dir;
    }
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda";
  return "";
}
} // namespace

llvm::StringRef CompileTarget::name() const {
  switch (kind) {
  case Cpu:
    return "cpu";
  case Cuda:
    return "cuda";
  case CudaLoopsCpu:
    return "cuda-loops-cpu";
  }
  return "cpu";
}

llvm::Expected<std::vector<CompileTarget>> lorc::parseCompileTargets(llvm::StringRef spec) {
  std::vector<CompileTarget> targets;
  llvm::SmallVector<llvm::StringRef> entries;
  spec.split(entries, ',');
  for (llvm::StringRef entry : entries) {
    entry = entry.trim();
    CompileTarget t;
    auto [head, chip] = entry.split(':');
    if (head == "cpu" && chip.empty() && !entry.contains(':')) {
      t.kind = CompileTarget::Cpu;
    } else if (head == "cuda-loops-cpu" && !entry.contains(':')) {
      t.kind = CompileTarget::CudaLoopsCpu;
    } else if (head == "cuda") {
      t.kind = CompileTarget::Cuda;
      llvm::Expected<NvptxTarget> nvptx = parseNvptxTarget(chip, "--target=" + entry.str());
      if (!nvptx)
        return nvptx.takeError();
      t.nvptx = *nvptx;
    } else {
      return makeError("--target=" + spec + ": unknown target '" + entry +
                       "' (expected cpu, cuda[:sm_XX[+ptxNN]] or cuda-loops-cpu)");
    }
    for (const CompileTarget &other : targets)
      if (other.library() == t.library())
        return makeError("--target=" + spec + ": '" + other.name() + "' and '" + t.name() +
                         "' would both write " + t.library() + "; give one of them");
    targets.push_back(t);
  }
  return targets;
}

llvm::Expected<CudaLowering> lorc::lowerForCuda(ModuleOp module, const NvptxTarget &target,
                                                StringRef gemmPrecision) {
  // ptxas assembles the cubins and libdevice provides the __nv_* math the kernels call.
  std::string toolkit = findCudaToolkit();
  if (toolkit.empty())
    return makeError("--target=cuda needs the CUDA toolkit (ptxas, nvvm/libdevice): none found "
                     "in $LORC_CUDA_TOOLKIT, $CUDA_HOME or /usr/local/cuda");
  CudaPipelineOptions options;
  options.toolkit = toolkit;
  options.chip = target.chip;
  options.ptxVersion = target.ptxVersion;
  options.gemmPrecision = gemmPrecision.str();
  PassManager kernels(module.getContext());
  buildCudaKernelPipeline(kernels, options);
  if (failed(kernels.run(module)))
    return makeError("the CUDA pipeline (to NVVM)");

  CudaLowering result;
  // The PTX text, from a copy serialised as ISA (the fat binary below keeps it unreadable).
  {
    OwningOpRef<ModuleOp> copy(module.clone());
    PassManager isa(module.getContext());
    options.format = "isa";
    buildCudaSerializePipeline(isa, options, /*lowerHost=*/false);
    if (failed(isa.run(*copy)))
      return makeError("serialising the kernels to PTX");
    copy->walk([&](gpu::BinaryOp binary) {
      for (Attribute a : binary.getObjects())
        if (auto object = dyn_cast<gpu::ObjectAttr>(a)) {
          // split-file's marker: `split-file kernels.ptx DIR` gives one .ptx per module.
          result.ptx += "//--- " + binary.getName().str() + ".ptx\n";
          result.ptx += object.getObject().getValue().str();
          ++result.numKernels;
        }
    });
  }

  options.format = "fatbin";
  result.binaryFormat = "fatbin";
  PassManager serialize(module.getContext());
  buildCudaSerializePipeline(serialize, options, /*lowerHost=*/true);
  if (failed(serialize.run(module)))
    return makeError("assembling the kernels with " + toolkit + "/bin/ptxas");
  return result;
}

llvm::Error lorc::annotateCudaDispatch(ModuleOp module, StringRef gemmPrecision,
                                       ArrayRef<std::string> keepF32) {
  MLIRContext *ctx = module.getContext();
  constexpr llvm::StringLiteral kTag = "lorc.dispatch.";
  // Tag every lorc op of a copy with its index, lower the copy, count what carries each tag.
  OwningOpRef<ModuleOp> copy(module.clone());
  SmallVector<Operation *> originals;
  module.walk([&](Operation *op) {
    if (isa<LorcDialect>(op->getDialect()))
      originals.push_back(op);
  });
  unsigned next = 0;
  copy->walk([&](Operation *op) {
    if (isa<LorcDialect>(op->getDialect()))
      op->setLoc(NameLoc::get(StringAttr::get(ctx, kTag + std::to_string(next++)), op->getLoc()));
  });
  PassManager pm(ctx);
  // As lorc-compile lowers it: the weights of bf16 GEMMs and FP8 layers stored narrow first
  // (an FP8 layer's GEMM reads its weight's codes).
  LorcNarrowWeightsPassOptions narrow;
  narrow.precision = gemmPrecision.str();
  narrow.keepF32.assign(keepF32.begin(), keepF32.end());
  pm.addPass(createLorcNarrowWeightsPass(narrow));
  buildGpuMappedLoopsPipeline(pm, /*deviceAllocations=*/true, /*blockSize=*/256,
                              /*nvvmFp8Cast=*/false, gemmPrecision);
  if (failed(pm.run(*copy)))
    return makeError("the CUDA pipeline (to its loop-mapped form)");

  struct Counts {
    int64_t cublas = 0, bf16 = 0, fp8 = 0, kernels = 0;
  };
  std::vector<Counts> counts(originals.size());
  std::map<Operation *, Counts> totals; // per function
  auto record = [&](Operation *op, bool gemm, bool bf16 = false, bool fp8 = false) {
    llvm::SmallDenseSet<unsigned> tags;
    op->getLoc()->walk([&](Location l) {
      if (auto name = dyn_cast<NameLoc>(l))
        if (name.getName().getValue().starts_with(kTag)) {
          unsigned i = 0;
          if (!name.getName().getValue().drop_front(kTag.size()).getAsInteger(10, i))
            tags.insert(i);
        }
      return WalkResult::advance();
    });
    auto add = [&](Counts &c) {
      (gemm ? c.cublas : c.kernels) += 1;
      c.bf16 += bf16;
      c.fp8 += fp8;
    };
    for (unsigned i : tags)
      if (i < counts.size())
        add(counts[i]);
    add(totals[op->getParentOfType<func::FuncOp>()]);
  };
  copy->walk([&](Operation *op) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (call.getCallee().starts_with("lorc_cuda_"))
        record(op, /*gemm=*/true, call.getCallee().ends_with("_bf16"),
               call.getCallee().starts_with("lorc_cuda_matmul_fp8_"));
    } else if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      if (loop->hasAttr(gpu::getMappingAttrName()) && !loop->getParentOfType<scf::ParallelOp>())
        record(op, /*gemm=*/false);
    }
  });
  auto dict = [&](const Counts &c) {
    Builder b(ctx);
    SmallVector<NamedAttribute> entries{
        b.getNamedAttr("cublas_gemms", b.getI64IntegerAttr(c.cublas)),
        b.getNamedAttr("kernels", b.getI64IntegerAttr(c.kernels))};
    if (c.bf16)
      entries.push_back(b.getNamedAttr("bf16_gemms", b.getI64IntegerAttr(c.bf16)));
    if (c.fp8) // cuBLASLt FP8 GEMMs, among cublas_gemms
      entries.push_back(b.getNamedAttr("fp8_gemms", b.getI64IntegerAttr(c.fp8)));
    return b.getDictionaryAttr(entries);
  };
  for (auto [op, c] : llvm::zip(originals, counts))
    op->setAttr("lorc.cuda_dispatch", dict(c));
  for (auto [copyFunc, c] : totals)
    if (auto f = module.lookupSymbol<func::FuncOp>(cast<func::FuncOp>(copyFunc).getSymName()))
      f->setAttr("lorc.cuda_dispatch", dict(c));
  return llvm::Error::success();
}
