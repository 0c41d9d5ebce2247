//===- Targets.cpp - lorc-compile's --target values and the CUDA lowering -===//

#include "lorc/Pipelines/Targets.h"
#include "lorc/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

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

llvm::Expected<CudaLowering> lorc::lowerForCuda(ModuleOp module, const NvptxTarget &target) {
  // ptxas assembles the cubins and libdevice provides the __nv_* math the kernels call.
  std::string toolkit = findCudaToolkit();
  if (toolkit.empty())
    return makeError("--target=cuda needs the CUDA toolkit (ptxas, nvvm/libdevice): none found "
                     "in $LORC_CUDA_TOOLKIT, $CUDA_HOME or /usr/local/cuda");
  CudaPipelineOptions options;
  options.toolkit = toolkit;
  options.chip = target.chip;
  options.ptxVersion = target.ptxVersion;
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
