//===- Pipelines.cpp - named lorc pass pipelines --------------------------===//

#include "lorc/Pipelines/Pipelines.h"
#include "lorc/Conversion/Passes.h"
#include "lorc/Support/NvptxTarget.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// Appends an upstream textual pipeline; the strings are fixed, so a parse failure is a bug.
static void addUpstream(OpPassManager &pm, StringRef pipeline) {
  // The textual form needs the upstream passes registered (lorc-opt does it too; idempotent).
  static bool registered = (registerAllPasses(), true);
  (void)registered;
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    llvm::report_fatal_error(llvm::Twine("lorc: invalid built-in pipeline: ") + error);
}

void lorc::buildLorcToLinalgPipeline(OpPassManager &pm, bool nvvmFp8Cast, bool fp8Gemm) {
  ConvertLorcToLinalgPassOptions toLinalg;
  toLinalg.fp8Cast = nvvmFp8Cast ? "nvvm" : "software";
  toLinalg.fp8Gemm = fp8Gemm;
  pm.addPass(createConvertLorcToLinalgPass(toLinalg));
  addUpstream(pm, "func.func(convert-elementwise-to-linalg),canonicalize,cse");
  pm.addPass(lorc::createLorcFuseElementwisePass());
  addUpstream(pm, "canonicalize,cse");
}

/// Bufferizes the whole module; results leave `forward` as identity-layout buffers the caller
/// owns and frees, intermediates are freed where they die.
static void addBufferization(OpPassManager &pm) {
  // The tiled attention's key loop yields fresh tiles (allow-return-allocs-from-loops), and
  // its scf.forall becomes scf.parallel before deallocation, which handles the latter.
  addUpstream(pm, "one-shot-bufferize{bufferize-function-boundaries allow-return-allocs-from-loops "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,func.func(scf-forall-to-parallel),"
                  "buffer-deallocation-pipeline,canonicalize");
}

/// erf and exp as inline polynomials (vectorisable on the CPU; no libdevice on the GPU).
static void addApproximateMath(OpPassManager &pm) {
  lorc::LorcApproximateMathPassOptions approx;
  approx.ops = {"erf", "exp"};
  pm.addPass(lorc::createLorcApproximateMathPass(approx));
}

/// What is left of host code (loops, memref, math, func, omp) to the LLVM dialect.
static void addHostToLLVM(OpPassManager &pm) {
  // bf16 casts (bf16 layers of --lorc-assign-precision) as integer code: no AVX512_BF16 needed.
  pm.addPass(lorc::createLorcExpandBf16CastsPass());
  // Vector ops of --lorc-vectorize: masks and row reductions to 1-D vector code first.
  addUpstream(pm, "func.func(convert-linalg-to-loops,lower-vector-mask,"
                  "lower-vector-multi-reduction,convert-vector-to-scf{full-unroll}),"
                  "expand-strided-metadata,lower-affine,"
                  "convert-scf-to-cf,convert-openmp-to-llvm,convert-vector-to-llvm,"
                  "convert-math-to-llvm,"
                  "convert-math-to-libm,"
                  "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
                  "convert-cf-to-llvm,convert-func-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts");
}

void lorc::buildLinalgToLLVMPipeline(OpPassManager &pm, const CpuPipelineOptions &options) {
  addBufferization(pm);
  if (options.dispatchBlas) {
    lorc::LorcDispatchBlasPassOptions blas;
    blas.precision = options.gemmPrecision;
    pm.addPass(lorc::createLorcDispatchBlasPass(blas));
  }
  if (options.approximateMath)
    addApproximateMath(pm);
  pm.addPass(lorc::createLorcLowerExpandShapePass());
  if (options.vectorize)
    pm.addNestedPass<func::FuncOp>(lorc::createLorcVectorizePass());
  if (options.parallelLoops) {
    // Rows of every non-GEMM linalg op split across the threads (docs/CpuPipeline.md).
    addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
    pm.addPass(lorc::createLorcOutermostParallelLoopsPass());
    addUpstream(pm, "convert-scf-to-openmp,canonicalize,cse");
    pm.addPass(lorc::createLorcOmpParallelIfPass());
  }
  addHostToLLVM(pm);
}

void lorc::buildGpuMappedLoopsPipeline(OpPassManager &pm, bool deviceAllocations,
                                      int64_t blockSize, bool nvvmFp8Cast,
                                      StringRef gemmPrecision) {
  // FP8 layers as FP8 GEMMs (cuBLASLt on the device, lorc_cpu_matmul_fp8_* in the CPU twin).
  buildLorcToLinalgPipeline(pm, nvvmFp8Cast, /*fp8Gemm=*/true);
  addBufferization(pm);
  lorc::LorcDispatchBlasPassOptions blas;
  blas.library = deviceAllocations ? "cuda" : "cpu";
  blas.precision = gemmPrecision.str();
  // The CPU twin runs the kernels the GPU would (bias broadcast, epilogues), not oneDNN's.
  blas.foldEpilogues = false;
  pm.addPass(lorc::createLorcDispatchBlasPass(blas));
  lorc::LorcPrepareGpuBuffersPassOptions buffers;
  buffers.deviceAllocations = deviceAllocations;
  pm.addPass(lorc::createLorcPrepareGpuBuffersPass(buffers));
  addApproximateMath(pm);
  pm.addPass(lorc::createLorcLowerExpandShapePass());
  addUpstream(pm, "func.func(convert-linalg-to-parallel-loops),canonicalize,cse");
  lorc::LorcMapParallelLoopsPassOptions map;
  map.blockSize = blockSize;
  pm.addPass(lorc::createLorcMapParallelLoopsPass(map));
}

void lorc::buildCudaLoopsCpuPipeline(OpPassManager &pm, const CudaPipelineOptions &options) {
  buildGpuMappedLoopsPipeline(pm, /*deviceAllocations=*/false, options.blockSize,
                              /*nvvmFp8Cast=*/false, options.gemmPrecision);
  addHostToLLVM(pm);
}

void lorc::buildCudaKernelPipeline(OpPassManager &pm, const CudaPipelineOptions &options) {
  lorc::LorcCheckNvptxTargetPassOptions check;
  check.chip = options.chip;
  check.ptxVersion = options.ptxVersion;
  pm.addPass(lorc::createLorcCheckNvptxTargetPass(check));
  // FP8 casts as PTX cvt.rn.satfinite where the (chip, PTX) pair has it, else in software.
  bool nvvmFp8 = hasFp8Conversions({options.chip, static_cast<int>(options.ptxVersion)});
  buildGpuMappedLoopsPipeline(pm, /*deviceAllocations=*/true, options.blockSize, nvvmFp8,
                              options.gemmPrecision);
  // One stream for the whole function (gpu-async-region): the runtime orders launches, cuBLAS
  // calls, copies and stream-ordered allocations on it.
  addUpstream(pm, "func.func(convert-parallel-loops-to-gpu),gpu-kernel-outlining");
  pm.addPass(lorc::createLorcNameKernelsPass());
  addUpstream(pm, "func.func(gpu-async-region),"
                  "expand-strided-metadata,lower-affine,convert-scf-to-cf,canonicalize,cse");
  std::string attach = "nvvm-attach-target{chip=" + options.chip.getValue() +
                       " features=+ptx" + std::to_string(options.ptxVersion.getValue()) +
                       " O=3}";
  addUpstream(pm, attach);
  if (nvvmFp8)
    pm.addNestedPass<gpu::GPUModuleOp>(lorc::createLorcConvertFp8TruncfToNvvmPass());
  addUpstream(pm, "gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},canonicalize,cse,"
                  "reconcile-unrealized-casts),gpu-to-llvm");
}

void lorc::buildCudaSerializePipeline(OpPassManager &pm, const CudaPipelineOptions &options,
                                      bool lowerHost) {
  if (!options.format.getValue().empty()) {
    std::string toBinary = "gpu-module-to-binary{format=" + options.format.getValue();
    if (!options.toolkit.getValue().empty())
      toBinary += " toolkit=" + options.toolkit.getValue();
    addUpstream(pm, toBinary + "}");
  }
  if (lowerHost)
    addHostToLLVM(pm);
}

void lorc::buildCudaPipeline(OpPassManager &pm, const CudaPipelineOptions &options) {
  buildCudaKernelPipeline(pm, options);
  buildCudaSerializePipeline(pm, options, /*lowerHost=*/!options.format.getValue().empty());
}

void lorc::buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options) {
  if (options.tileRows)
    pm.addPass(lorc::createLorcTileRowsPass());
  if (options.tileAttention)
    pm.addPass(lorc::createLorcTileAttentionPass());
  buildLorcToLinalgPipeline(pm);
  buildLinalgToLLVMPipeline(pm, options);
}

void lorc::registerLorcPipelines() {
  PassPipelineRegistration<CudaPipelineOptions>(
      "lorc-cuda-pipeline",
      "Lower lorc + upstream ops on tensors to host LLVM code launching NVPTX kernels, GEMMs "
      "through cuBLAS (docs/CudaPipeline.md)",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaPipeline(pm, options);
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "lorc-cuda-loops-cpu-pipeline",
      "The CUDA pipeline up to its block/thread-mapped loops, then lowered for the CPU (GEMMs "
      "through BLAS): runs the GPU tiling on the host to check it against the goldens",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaLoopsCpuPipeline(pm, options);
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "lorc-cpu-pipeline",
      "Lower lorc + upstream ops on tensors to the LLVM dialect for the CPU (run "
      "--lorc-externalize-weights first for real models)",
      buildCpuPipeline);
}
