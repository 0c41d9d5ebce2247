//===- Passes.td - lorc-level passes -----------------------*- tablegen -*-===//

#ifndef LORC_TRANSFORMS_PASSES_TD
#define LORC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LorcDispatchBlasPass : Pass<"lorc-dispatch-blas", "mlir::ModuleOp"> {
  let summary = "Hand f32 matmuls on buffers to the GEMM library through the lorc runtime";
  let description = [{
    Rewrites `linalg.matmul` and `linalg.batch_matmul` on f32 memrefs (after bufferization) into
    calls of the lorc runtime: with `library=cpu`,
    `lorc_cpu_(batch_)matmul_{f32,bf16}(A, B, C, transA, transB, bIsParameter)`
    (lib/Runtime/CpuKernels.cpp → CpuGemm.cpp: oneDNN, OpenBLAS fallback); with `library=cuda`,
    `lorc_cuda_(batch_)matmul_{f32,bf16}(A, B, C, transA, transB, accumulate)` (cuBLAS on
    device buffers, lib/Runtime/Cuda.cpp). All keep linalg's accumulate semantics (C += A·B,
    BLAS beta = 1), except that on cuda a `linalg.fill` of +0.0 into C just before the matmul
    is folded into the call as accumulate = 0 (beta = 0: C is written, not read). Transposed operands are recognised from the
    op's indexing maps (`(d0, d2), (d1, d2), (d0, d1)` is C += A·Bᵀ) and passed as transpose
    flags, so no transposed copy is made. The callee declarations carry
    `llvm.emit_c_interface`, so the runtime receives strided memref descriptors.

    `bIsParameter` is 1 when B is a view of the parameter buffer (argument 0 of a function
    with `lorc.parameters`): the runtime then packs B once into the library's blocked layout
    and reuses it on every call. `precision=bf16` calls the `_bf16` forms, on either library:
    A and B rounded to bf16 (round to nearest even), f32 accumulation and output. On the cpu
    library the call passes the f32 buffers and oneDNN's bf16 GEMM rounds them (AVX512_BF16;
    f32 with a note on CPUs without it). On cuda the pass rounds them itself: each of A and B is
    converted into a new bf16 buffer (memref.alloc, a linalg.generic with arith.truncf, which
    the pipeline turns into a generated kernel, and a memref.dealloc after the call), and
    `lorc_cuda_(batch_)matmul_bf16(A_bf16, B_bf16, C_f32, ...)` runs cublasGemmEx /
    cublasGemmStridedBatchedEx with bf16 A and B and CUBLAS_COMPUTE_32F (tensor cores). Not
    COMPUTE_32F_FAST_16BF on the f32 buffers: it only allows down-converting, and cuBLAS 13.1 on
    an H200 chose TF32 (docs/CudaPipeline.md). A matmul tagged
    `lorc.gemm_precision = "bf16"` (the lowering of a layer that --lorc-assign-precision put in
    bf16, whose operands are bf16 values already) takes the `_bf16` form whatever `precision`
    says. A matmul whose B is already bf16 (a weight stored bf16 by --lorc-narrow-weights, a
    view of the `lorc.parameters_bf16` buffer, argument 1) calls the `_bf16w` CPU forms, which
    take B as a bf16 memref, and on cuda converts only A.

    Why: on the 2-core CPU this project targets, oneDNN reaches 210–230 GFLOP/s f32 and
    ~380 GFLOP/s bf16 on MiniLM's GEMM shapes, far above generated loops;
    docs/GemmLibraries.md has the measured table.

    Epilogues (`library=cpu`, 2-D matmuls): a 2-D matmul absorbs its neighbours, the ops next to
    it that touch memory (pure ops and allocations in between are skipped), as lorc.linear's
    lowering emits them:
    * before it, the initialisation of C: `linalg.broadcast` of a 1-D bias over rows (passed as
      the bias argument) or `linalg.fill` with +0.0 (dropped);
    * after it, a `linalg.generic` tagged `lorc.epilogue = {activation = "gelu_erf"|"gelu_tanh",
      residual}` with identity maps whose only output is C (in place) and whose input is the
      residual when tagged so.
    The three become one call of
    `lorc_cpu_matmul_epilogue_{f32,bf16}(A, B, C, bias, residual, transA, transB, bIsParameter,
    accumulate, activation)`, C = act((accumulate ? C : 0) + A·B + bias) + residual (an absent
    bias or residual is an empty memref; activation 0 none, 1 GELU erf, 2 GELU tanh), which
    oneDNN runs as one matmul with a bias and eltwise/binary post-ops
    (lib/Runtime/CpuGemm.h). A matmul with neither neighbour keeps the plain call.

    FP8 weights stored FP8 (`library=cpu`, 2-D f32 matmuls, with `fold-epilogues`): when B is
    the buffer that a `lorc.fp8_row_decode` generic (the lowering of `lorc.dequantize {axis =
    0}` of an E4M3 or E5M2 weight, --lorc-narrow-weights) writes from constant codes and row
    scales (parameter views or globals), the call takes the codes and scales in B's place:
    `lorc_cpu_matmul_epilogue_fp8w(A, Bq, Bscales, C, bias, residual, ...)` (E4M3;
    `lorc_cpu_matmul_epilogue_fp8w_e5m2` for E5M2 codes), also for a matmul
    with nothing to absorb (no bias or residual, accumulate = 1, no activation). The runtime
    decodes B (value(q) / s, bit-identical to the generic) only to pack it, once, and keeps
    just the packed copy; the generic
    and its buffer are erased when no other op reads them. On cuda the decode stays a generated
    kernel before the f32 GEMM of a layer that the FP8 GEMM form (below) does not cover.

    Chunks of a layer under a memory budget (`library=cpu`, matmuls tagged `lorc.chunk_gemm`
    by the lowering of `lorc.chunked_matmul`): B is passed as not a parameter (packed per call,
    not cached, so the chunks' packed copies do not stay resident), and when B is a view of the
    parameters that changes with the enclosing `scf.for`, the call is preceded by
    `lorc_cpu_prefetch(B')` under `iv + step < ub`, B' being the view the next iteration reads
    (its computation cloned with the induction variable advanced): the runtime asks the kernel
    to read those pages of the mapped weights file ahead (madvise MADV_WILLNEED, with
    LORC_PREFETCH=1), so loading chunk i+1 overlaps chunk i's GEMM: the double buffering of
    Accelera's chunking, with the page cache as the second buffer. The runtime leaves it off by
    default: on the development machine the fault read-around already hid a cold file and the
    advice cost 6% (docs/CostModel.md).

    FP8 GEMMs (2-D matmuls with FP8 A and B and f32 C, the lowering of an FP8 layer with
    convert-lorc-to-linalg's `fp8-gemm`): `lorc_cuda_matmul_fp8_<A>_<B>(A, B, C, transA,
    transB, accumulate)` (cuBLASLt's FP8 GEMM, formats e4m3_e4m3, e4m3_e5m2 or e5m2_e4m3; only
    A [M, K] row-major with B [N, K], else an error naming the op) or, on the CPU (the CUDA
    twin), `lorc_cpu_matmul_fp8_<A>_<B>(A, B, C, transA, transB, bIsParameter)`.

    Matmuls of other element types are left alone (they lower to loops).
  }];
  let options = [
    Option<"library", "library", "std::string", "\"cpu\"",
           "cpu: lorc_cpu_* (oneDNN/OpenBLAS on host buffers); cuda: lorc_cuda_* (cuBLAS on "
           "device buffers, the CUDA pipeline)">,
    Option<"precision", "precision", "std::string", "\"f32\"",
           "f32, or bf16: the GEMMs' input precision (A and B rounded to bf16); accumulation "
           "and output are f32">,
    Option<"foldEpilogues", "fold-epilogues", "bool", "true",
           "cpu: let 2-D matmul calls absorb C's initialisation and a lorc.epilogue generic "
           "(off in the CUDA pipeline's CPU twin, whose generated kernels are what it checks)">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numDispatched", "num-dispatched", "Number of matmuls dispatched to BLAS">,
    Statistic<"numParameterOperands", "num-parameter-operands",
              "Number of dispatched matmuls whose B operand is a parameter (packed once)">,
    Statistic<"numBiasFolded", "num-bias-folded",
              "Number of bias broadcasts passed to the GEMM as its bias argument">,
    Statistic<"numEpiloguesFolded", "num-epilogues-folded",
              "Number of lorc.epilogue generics run as the GEMM's post-ops">,
    Statistic<"numZeroFillsFolded", "num-zero-fills-folded",
              "Number of cuda GEMMs whose C zero fill became beta = 0 (accumulate = 0)">,
    Statistic<"numConverted", "num-converted-to-bf16",
              "Number of GEMM operands converted to bf16 buffers before a cuda bf16 call">,
    Statistic<"numFp8Gemms", "num-fp8-gemms",
              "Number of FP8 GEMMs (FP8 A and B) dispatched to lorc_*_matmul_fp8_*">,
    Statistic<"numFp8Weights", "num-fp8-weights",
              "Number of CPU GEMMs that read an FP8-stored weight's codes (`_fp8w`)">,
    Statistic<"numPrefetches", "num-prefetches",
              "Number of chunk GEMMs preceded by a read-ahead of the next chunk's weights">
  ];
}

def LorcPrepareGpuBuffersPass : Pass<"lorc-prepare-gpu-buffers", "mlir::ModuleOp"> {
  let summary = "Make the host code of a bufferized function safe for device memory";
  let description = [{
    Runs after bufferization (and `--lorc-dispatch-blas`), before linalg is lowered to loops,
    on the CUDA pipeline and on its CPU twin (`--lorc-cuda-loops-cpu-pipeline`):

    * `memref.copy` becomes `linalg.copy`, so that copies (strided ones included: the column
      blocks of the fused LoRA concatenation) become parallel loops and so generated kernels,
      instead of a host `memrefCopy` that cannot touch device memory.
    * With `device-allocations=true` (the CUDA pipeline), host `memref.alloc`/`memref.dealloc`
      become `gpu.alloc`/`gpu.dealloc` (the runtime's stream-ordered device pool), and
      `memref.get_global` of a constant becomes a device buffer filled from the host global
      by `gpu.memcpy`, since kernels cannot read host globals.

    The buffers the function returns are then device buffers: the lorc runtime copies them to
    the host and frees them (lib/Runtime/CudaRuntime.cpp).
  }];
  let options = [
    Option<"deviceAllocations", "device-allocations", "bool", "true",
           "Rewrite host allocations as gpu.alloc (false: keep host memory, CPU twin)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
}

def LorcNameKernelsPass : Pass<"lorc-name-kernels", "mlir::ModuleOp"> {
  let summary = "Give each outlined kernel its gpu.module's (unique) name";
  let description = [{
    gpu-kernel-outlining names every kernel after its function (`@forward_kernel`) and makes
    only the gpu.module names unique (`@forward_kernel_0`, `_1`, ...), so every PTX entry,
    profiler row (Nsight Compute) and driver error reads `forward_kernel`. This renames the
    kernel of each single-kernel gpu.module to the module's name and updates the
    `gpu.launch_func` references, so a kernel in a profile is the module of that name in
    kernels.ptx and in `--emit`ted IR.
  }];
}

def LorcCheckNvptxTargetPass : Pass<"lorc-check-nvptx-target", "mlir::ModuleOp"> {
  let summary = "Reject a (chip, PTX version) pair the NVPTX backend would abort on";
  let description = [{
    LLVM 22's NVPTX backend aborts the process on some invalid pairs (sm_90 with PTX 6.0;
    FP8 conversions on sm_89 with PTX 8.0) instead of reporting an error. The CUDA pipeline
    runs this check first (lorc/Support/NvptxTarget.h), so a bad pair is one error naming it.
  }];
  let options = [
    Option<"chip", "chip", "std::string", "\"sm_90\"", "NVIDIA chip">,
    Option<"ptxVersion", "ptx", "int64_t", "80", "PTX ISA version times ten">
  ];
}

def LorcConvertFp8TruncfToNvvmPass : Pass<"lorc-convert-fp8-truncf-to-nvvm", "mlir::gpu::GPUModuleOp"> {
  let summary = "FP8 truncf in kernels → nvvm.convert.f32x2.to.f8x2 (cvt.rn.satfinite)";
  let description = [{
    In a `gpu.module`, rewrites `arith.truncf %x : f32 to f8E4M3FN` (or `f8E5M2`), which LLVM 22
    cannot lower (REFERENCE §4.2), into
    ```
    %pair = nvvm.convert.f32x2.to.f8x2 %zero, %x {rnd = rn, sat = satfinite} : i16 (f8E4M3FN)
    %byte = arith.trunci %pair : i16 to i8      // the instruction puts its second operand low
    %y = arith.bitcast %byte : i8 to f8E4M3FN
    ```
    i.e. PTX `cvt.rn.satfinite.e4m3x2.f32` (round to nearest even, saturate to the finite
    range). convert-lorc-to-linalg's `fp8-cast=nvvm` clamps to ±max before the truncf, so the
    result is the software cast's except for the sign of NaN. The CUDA pipeline runs it only
    for (chip, PTX) pairs with FP8 conversions (lorc/Support/NvptxTarget.h).
  }];
  let dependentDialects = ["mlir::NVVM::NVVMDialect", "mlir::arith::ArithDialect"];
}

def LorcMapParallelLoopsPass : Pass<"lorc-map-parallel-loops"> {
  let summary = "Tile parallel loops into blocks of threads and map them to the GPU grid";
  let description = [{
    For every outermost `scf.parallel` (one per linalg op, from
    `convert-linalg-to-parallel-loops`), tiles the innermost dimension by `block-size` threads
    (fewer when its static extent is smaller, or has a divisor of at least 128 that is a
    multiple of 32, so that no block is partly idle)
    (`scf::tileParallelLoop` with an in-bounds guard instead of min/max bounds, so the thread
    loop has a constant trip count) and sets the `mapping` attribute that
    `convert-parallel-loops-to-gpu` reads:

    * the outer (tile) loop: with one dimension, it → block x; with more, every dimension but
      the innermost is first collapsed into one (upstream `collapseParallelLoops`, a
      linearised index: block x allows 2^31 - 1 blocks) → block x, the innermost → block y;
    * the inner loop: innermost dimension → thread x (consecutive threads touch consecutive
      elements: coalesced); its other dimensions have one iteration and stay sequential.

    Reductions are `scf.for` loops inside the parallel loop (each thread reduces its own row).
    This is the loop-mapped form that the CPU twin pipeline runs against the goldens: the tile
    sizes, the guard and the index arithmetic are all visible here, before outlining.

    Serial work on memory outside any parallel loop (the last step of a reduction to one
    element, a one-element fill: canonicalize folds their one-iteration parallel loops away) is
    first put back under a one-iteration `scf.parallel`, so it runs in one GPU thread: each
    outermost op of a function body that loads or stores and defines no value used after it.
    A host loop nest whose values the host uses cannot be mapped and is an error naming the op
    (the CUDA pipeline would otherwise read device memory on the host).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256", "Threads per block (a multiple of 32)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::gpu::GPUDialect",
                           "mlir::arith::ArithDialect"];
}

def LorcOutermostParallelLoopsPass : Pass<"lorc-outermost-parallel-loops"> {
  let summary = "Keep one level of parallelism per loop nest, for the CPU's threads";
  let description = [{
    Prepares the `scf.parallel` nests of `convert-linalg-to-parallel-loops` for
    `convert-scf-to-openmp` on the CPU:

    * every `scf.parallel` nested in another one becomes a nest of `scf.for` (threads are
      spawned once per op, never per row);
    * an outermost `scf.parallel` of rank >= 2 keeps its leading dimensions parallel and
      runs its innermost dimension as an `scf.for` inside: threads split rows, each row is a
      contiguous loop that LLVM vectorises (collapsing it too would put a division and a
      remainder on every element);
    * an outermost `scf.parallel` marked `lorc.vector_rows` (rows that `--lorc-vectorize`
      vectorised whole) stays parallel in every dimension;
    * an outermost `scf.parallel` of rank 1 whose body has no loop (one element per
      iteration, over short vectors such as biases and pooled rows) becomes an `scf.for`;
      rank 1 over rows with a loop inside (a row reduction) stays parallel.

    Loops with reductions (results) are left alone; linalg's parallel loops never have them.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect"];
}

def LorcOmpParallelIfPass : Pass<"lorc-omp-parallel-if"> {
  let summary = "Run small omp.parallel regions on the calling thread";
  let description = [{
    After `convert-scf-to-openmp`: sets the `if` clause of every top-level `omp.parallel`
    whose work-sharing loop bounds are known outside it to
    `trip-count product >= min-iterations`, so that loops too small to repay a fork
    (MiniLM's at batch 1 × seq 16: a few µs of compute each) stay serial. The translation
    then calls `__kmpc_fork_call_if`, which lorc's runtime implements on libgomp, the OpenMP
    runtime oneDNN's GEMMs already use, so the whole artifact has one thread pool
    (lib/Runtime/CpuParallel.cpp).
    Regions whose body calls a function (a library GEMM per iteration, as in the tiled
    attention's loop over heads and `--lorc-tile-rows`' row tiles) fork from two iterations
    on; with one, the call runs outside any parallel region, where the GEMM library uses all
    the threads itself.
  }];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", "256",
           "Fewest parallel iterations for which threads are used">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def LorcEstimateCostPass : Pass<"lorc-estimate-cost", "mlir::ModuleOp"> {
  let summary = "Estimate each lorc op's latency and energy on a hardware profile";
  let description = [{
    For every op implementing `LorcCostOpInterface` (lorc.linear with its adapters,
    lorc.attention, lorc.layer_norm), computes its work (FLOPs, bytes, parameters) and the
    profile's estimate (lib/CostModel: roofline latency, E = E_compute + E_memory + E_static),
    attaches it as the `lorc.cost` dictionary (`flops`, `bytes`, `params`, `latency_ms`,
    `energy_mj`), and prints a per-op table with totals to stderr (`table=false` to skip).

    Every dynamic dimension is taken to be `dynamic-size` (the table says so); shipped profiles
    are `h100-sxm` (default) and `cpu-2core`, or give a JSON file (profiles/README.md).
  }];
  let options = [
    Option<"profile", "profile", "std::string", "\"h100-sxm\"",
           "Hardware profile: a shipped name or a JSON file">,
    Option<"dynamicSize", "dynamic-size", "int64_t", "128",
           "Size assumed for every dynamic dimension">,
    Option<"printTable", "table", "bool", "true", "Print the per-op table to stderr">
  ];
}

def LorcSelectRankPass : Pass<"lorc-select-rank", "mlir::ModuleOp"> {
  let summary = "Replace dense layers and adapters by truncated SVDs, ranks chosen under a budget";
  let description = [{
    Candidates (`targets`): `dense` — every adapter-free `lorc.linear` whose weight W is an f32
    constant, replaced where it pays by `lorc.lowrank_linear` (y = ((x·V)·diag(σ))·Uᵀ + b);
    `adapters` — every unmerged adapter (LoRA, LoHa, LoKr; DoRA and Tucker left alone) of a
    `lorc.linear`, whose ΔW (scale included) is re-factorised as a `lorc.lora` of the chosen rank
    (kohya's resize_lora, LyCORIS' extract_linear); `all` — both. A candidate is changed only
    where its new form costs less energy than its current one (a dense [N, K] layer while
    r·(K + N + 1) < N·K, roughly).

    SVDs are LAPACKE `dgesdd`, of D (data-free) or, with `calibration-gram`, of D·L where
    L·Lᵀ = XᵀX is the Cholesky factor of the Gram of the layer's inputs on calibration data
    (SVD-LLM's truncation-aware whitening, Wang et al. 2024): then the dropped σᵢ² are exactly the
    output error ‖(D − D_r)·Xᵀ‖²_F on that data. The loss of a candidate at rank r is the dropped
    energy relative to its layer's output energy ‖W_eff·L‖²_F, so losses are comparable across
    layers.

    Exactly one criterion:

    * `rank=R`: every candidate at min(R, its rank) (LyCORIS' mode `fixed`).
    * `retained-energy=E`: per candidate, the smallest r keeping Σ_{i<r} σᵢ² ≥ E · Σ σᵢ².
    * `threshold=T`, `sv-ratio=R`, `quantile=Q`: LyCORIS' extraction modes (lycoris/utils
      extract_linear): r = #{σ > T}; r = #{σ > R·σ_max}; r = #{i : Σ_{j≤i} σⱼ < Q·Σ σ} (σ, not σ²).
    * `energy-ratio=F`: the targeted candidates' estimated energy (lib/CostModel, `profile`,
      `dynamic-size`) must fall to F of its current value. Ranks are lowered greedily, each step
      (`step` components) taken where the loss added per mJ saved is smallest.
    * `budget-mj=X`: the whole model's estimated energy per sample (batch = dimension 0 of the
      entry's first argument) must fall to X mJ; the candidates get what the rest leaves.
    * `preset=high_performance|balanced|low_power`: LoRAven's presets (rank ratio 0.8 / 0.5 / 0.3,
      min rank ratio 0.3 / 0.2 / 0.1): the budget is every candidate at ⌈rank ratio · its rank⌉,
      and no candidate goes below ⌈min ratio · its rank⌉.

    With `dynamic-rank=τ`, a reduced dense layer's chosen rank becomes the r_max of a run-time
    rank scheduler (`lorc.lowrank_linear`'s `schedule_energy`), r_min being the preset's min
    ratio of it (0.5 without a preset).

    Unattainable budgets are errors stating the attainable minimum. The per-candidate choice is
    printed as a table and recorded on the resulting op as `lorc.rank_selection` (name, kind,
    rank_before, rank_after, retained, loss, energy_before_mj, energy_after_mj); the module gets
    the totals. `min-cosine` needs runs of the model and is implemented by lorc-compile.
  }];
  let options = [
    Option<"fixedRank", "rank", "int64_t", "0", "Fixed rank for every candidate (0: unused)">,
    Option<"retainedEnergy", "retained-energy", "double", "0",
           "Per-candidate fraction of Σσ² to keep (0: unused)">,
    Option<"threshold", "threshold", "double", "0",
           "LyCORIS mode threshold: keep σ > T (0: unused)">,
    Option<"svRatio", "sv-ratio", "double", "0",
           "LyCORIS mode ratio: keep σ > R·σ_max (0: unused)">,
    Option<"quantile", "quantile", "double", "0",
           "LyCORIS mode quantile: keep the σ whose cumulative sum is below Q·Σσ (0: unused)">,
    Option<"energyRatio", "energy-ratio", "double", "0",
           "Budget: fraction of the targeted candidates' current energy (0: unused)">,
    Option<"budgetMj", "budget-mj", "double", "0",
           "Budget: the whole model's energy per sample, mJ (0: unused)">,
    Option<"preset", "preset", "std::string", "\"\"",
           "LoRAven preset: high_performance, balanced or low_power">,
    Option<"minCosine", "min-cosine", "double", "0",
           "Fidelity floor (lorc-compile only: needs calibration runs)">,
    Option<"targets", "targets", "std::string", "\"dense\"",
           "What to reduce: dense, adapters or all">,
    Option<"calibrationGram", "calibration-gram", "std::string", "\"\"",
           "safetensors file of f32 [K, K] input Grams named by layer weight (whitening)">,
    Option<"whiteningDamping", "whitening-damping", "double", "0.01",
           "Ridge added to each Gram's diagonal, as a fraction of its mean diagonal">,
    Option<"dynamicRank", "dynamic-rank", "double", "0",
           "Reduced dense layers get a run-time rank scheduler keeping this fraction of the "
           "input's spectral energy (lorc.lowrank_linear schedule_energy; 0: static rank)">,
    Option<"step", "step", "int64_t", "8", "Rank decrement of one greedy step">,
    Option<"profile", "profile", "std::string", "\"h100-sxm\"", "Hardware profile"> ,
    Option<"dynamicSize", "dynamic-size", "int64_t", "128",
           "Size assumed for every dynamic dimension in the estimates">,
    Option<"printTable", "table", "bool", "true", "Print the per-candidate table to stderr">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numReduced", "num-reduced", "Number of layers and adapters replaced by low rank">
  ];
}

def LorcAssignPrecisionPass : Pass<"lorc-assign-precision", "mlir::ModuleOp"> {
  let summary = "Run chosen linear layers in FP8 (E4M3FN or E5M2) or bf16, emulated on the CPU";
  let description = [{
    For each chosen adapter-free `lorc.linear` (`layers`: weight names, each optionally with
    `:precision`, or `all`) with a constant f32 weight, in the chosen precision (`precision`
    where the entry names none):

    * `fp8-e4m3` / `fp8-e5m2`: the weight is quantised per output channel at compile time,
      scale = fp8_max / amax(row) / 2^margin, and held dequantised (f32), so the f32 GEMM
      computes what an FP8 GEMM with f32 accumulation computes: the CPU emulation. The row
      scales ride along on the constant (`lorc.fp8_weight`), from which
      `--lorc-narrow-weights` stores an E4M3 weight as its codes and scales (the GPU path would
      read those with cuBLASLt: docs/Fp8Gemm.md); the input goes through `lorc.quantize` /
      `lorc.dequantize` with a per-tensor scale fp8_max / amax / 2^margin (Transformer Engine's
      delayed scaling), amax read from `amax` (a safetensors file of f32 scalars named by the
      layer's weight, recorded on calibration inputs by lorc-compile --assign-precision); the
      scale is a constant named `<weight>.input_scale` and marked `lorc.runtime_parameter`, so
      that --lorc-externalize-weights makes it a parameter the runtime can update;
    * `bf16`: the weight is rounded to bf16 (nearest even) and stored as f32, the input goes
      through `arith.truncf` to bf16 and `arith.extf` back: products of bf16 values are exact
      in f32, so the f32 GEMM computes a bf16 GEMM with f32 accumulation. No amax is needed.

    `record-amax` (lorc-compile sets it): the function holding FP8 layers gets one more result,
    `fp8_amax` (f32 [L], `lorc.name = "fp8_amax"`): max |x| of each FP8 layer's input over the
    whole tensor (padding rows included, as Transformer Engine's amax), in the order of the
    function attribute `lorc.fp8_amax_layers` (weight names). It is taken in two reductions,
    each under a parallel loop so that the CUDA pipeline can map it: per row (the last
    dimension, every other collapsed into the rows) where the layer reads its input, then over
    the rows into the layer's slot of `fp8_amax` before the return. The runtime keeps the delayed-
    scaling history from it (include/lorc/Runtime/Artifact.h, `AmaxHistory`). A function with
    callers cannot change its results: that is an error.

    On a layer with unmerged adapters only the base product is lowered: the lowered input
    becomes the op's `base_input` and the adapters' side paths keep reading the f32 input
    (issue 10: LoRA on an FP8 base, the adapter path stays f32); --lorc-fuse-lora-gemm then
    concatenates [base input, x·Aᵀ]. Layers with a DoRA adapter (it rescales the weight itself)
    stay f32. The choice is recorded as `lorc.precision` on the layer, which the cost model
    reads (FP8: 1 byte per weight and FP8 FLOPs; bf16: 2 bytes and bf16 FLOPs). Which layers to
    choose (sensitivity, energy gain, `max-cosine-drop`) is lorc-compile's job, which measures it.
  }];
  let options = [
    Option<"precision", "precision", "std::string", "\"fp8-e4m3\"",
           "Precision of layers named without one: fp8-e4m3, fp8-e5m2 or bf16">,
    ListOption<"layers", "layers", "std::string",
               "Layers (weight names, optionally name:precision) to lower, or all">,
    Option<"amaxFile", "amax", "std::string", "\"\"",
           "safetensors file of activation amax (f32 scalars) named by layer weight (FP8 layers)">,
    Option<"marginBits", "margin", "int64_t", "0", "Scaling margin: scale /= 2^margin">,
    Option<"recordAmax", "record-amax", "bool", "false",
           "Return each FP8 layer's input amax per run as the result fp8_amax">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect", "mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numAssigned", "num-assigned", "Number of layers assigned FP8">,
    Statistic<"numBf16", "num-bf16", "Number of layers assigned bf16">
  ];
}

def LorcExpandBf16CastsPass : Pass<"lorc-expand-bf16-casts"> {
  let summary = "arith.truncf/extf between f32 and bf16 as integer arithmetic (CPU)";
  let description = [{
    Rewrites `arith.truncf` f32 → bf16 (round to nearest even, NaN → 0x7FC0) and `arith.extf`
    bf16 → f32 into shifts and bitcasts with upstream's `populateExpandBFloat16Patterns` (what
    `arith-expand{include-bf16}` does, without its other expansions), so the CPU code needs
    neither AVX512_BF16 nor a `__truncsfbf2` runtime routine. The CPU pipelines run it; NVPTX
    has native conversions.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def LorcChunkMatmulPass : Pass<"lorc-chunk-matmul", "mlir::ModuleOp"> {
  let summary = "Split matmuls whose operands and result exceed a memory budget into chunks";
  let description = [{
    For every adapter-free `lorc.linear` whose working set (input, weight and result, bytes)
    exceeds `memory-budget-bytes`, or whose input rows are dynamic (the pass cannot prove it
    fits), picks a chunk shape with lib/CostModel/Chunking.h (`strategy`: `row` keeps the weight
    whole and streams blocks of rows, `tile` streams tiles of every operand, `adaptive` takes the
    one that moves fewer bytes; Accelera's three strategies) and replaces the layer by a
    `lorc.chunked_matmul` with that chunk. Operand chunks are counted twice (double buffering:
    chunk i+1 is loaded while chunk i is multiplied).

    The plan is recorded as `lorc.chunk = {layer, working_set, unchunked, num_chunks}` (bytes;
    the last two for static rows only) on the new op. A budget below the smallest feasible working set is an error on the
    op that names it, its weight and the smallest budget that would do.

    Layers with unmerged adapters are left whole (with a remark): their side path is not chunked.
  }];
  let options = [
    Option<"memoryBudgetBytes", "memory-budget-bytes", "uint64_t", "0",
           "Bytes a matmul may hold at once (required, > 0)">,
    Option<"strategy", "strategy", "std::string", "\"adaptive\"", "row, tile or adaptive">
  ];
  let statistics = [
    Statistic<"numChunked", "num-chunked", "Number of matmuls split into chunks">
  ];
}

def LorcExternalizeWeightsPass : Pass<"lorc-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Move large weight constants out of the module into a parameter buffer";
  let description = [{
    Replaces every `arith.constant` holding a ranked f32 tensor of at least `min-elements`
    elements (dense or `dense_resource`) in the entry function by a slice of a new leading
    function argument `%params: tensor<Nxf32>`, reshaped to the constant's shape, and records the
    layout in the function attribute `lorc.parameters` (one dictionary per tensor: `name`,
    `offset` in elements, `shape`). bf16 constants (weights narrowed by `--lorc-narrow-weights`)
    become slices of a second argument `%params_bf16: tensor<Mxbf16>` (argument 1), laid out in
    `lorc.parameters_bf16`; their bytes follow every f32 tensor's in the data section.
    f8E4M3FN constants (the codes of FP8 layers' weights stored FP8 by --lorc-narrow-weights)
    become slices of a third argument `%params_fp8: tensor<Lxf8E4M3FN>` (after the bf16 one, or
    argument 1 without it), laid out in `lorc.parameters_fp8` (offsets in bytes, one per
    element); their bytes follow every bf16 tensor's. f8E5M2 constants (the codes of weights of
    `fp8-e5m2` layers) become slices of a fourth argument `%params_e5m2: tensor<Jxf8E5M2>`,
    after all the others present, laid out in `lorc.parameters_e5m2`, their bytes last. A constant
    marked `lorc.runtime_parameter` (an FP8 layer's activation scale, which the runtime
    overwrites between runs) is externalized whatever its size or rank, into a slot of its own
    that no equal constant shares. With `weights-file`, the parameter buffers are written there
    as a safetensors file whose data section is exactly those buffers, f32, then bf16, then
    E4M3, then E5M2 (lorc-compile writes it into the artifact instead).

    Why: weights stay outside the compiled code, as IREE's parameters, so compiling a model does
    not push megabytes of constants through LLVM, the artifact's library stays small, and the
    runtime maps the weights file straight into the call (no copy).

    Equal constants are stored once. Must run before bufferization.
  }];
  let options = [
    Option<"entryFunction", "entry", "std::string", "\"forward\"",
           "Name of the function whose constants become parameters">,
    Option<"minElements", "min-elements", "int64_t", "16",
           "Constants with fewer elements stay in the code">,
    Option<"weightsFile", "weights-file", "std::string", "\"\"",
           "If set, write the parameter buffer to this safetensors file">
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def LorcNarrowWeightsPass : Pass<"lorc-narrow-weights", "mlir::ModuleOp"> {
  let summary = "Store the weights of bf16 GEMMs as bf16 constants";
  let description = [{
    For every `lorc.linear` whose GEMM runs in bf16 (every one with
    `precision=bf16`, as `lorc-compile --precision=bf16`; otherwise those that
    `--lorc-assign-precision` made bf16, tagged `lorc.precision = {precision = "bf16"}`), its
    constant f32 weight `W [N, K]` becomes a bf16 constant (each value rounded to nearest even,
    as PTX `cvt.rn.bf16.f32` and oneDNN's reorder round) read through `arith.extf`:

        %w = arith.constant dense_resource<name> : tensor<NxKxbf16>
        %wf = arith.extf %w : tensor<NxKxbf16> to tensor<NxKxf32>
        lorc.linear %x, %wf ...

    `--convert-lorc-to-linalg` then gives the matmul the bf16 weight itself (a mixed-precision
    `linalg.matmul`, B widened in its body), `--lorc-externalize-weights` stores it in the bf16
    parameter buffer and `--lorc-dispatch-blas` passes it to the `_bf16w` CPU entry points (or,
    on CUDA, to cuBLAS without a conversion kernel). The product is unchanged: the GEMM rounded
    B to bf16 anyway. Why: half the bytes on disk and in memory for the weights of bf16 models.

    Stays f32: a weight read by anything else; the weight of a linear with a DoRA adapter (its
    column norms are taken over W + ΔW in f32); a weight holding a swappable adapter's columns
    (`lorc.fused_lora`, from --lorc-fuse-lora-gemm) and any tensor named in `keep-f32`
    (lorc-compile passes its adapter slots' tensors). Unmerged side-path adapters (LoRA, LoHa,
    LoKr) read the layer's input, not W, so their layer's W is narrowed and their factors are not.

    A constant is narrowed only when every use is such a weight. Weights named in `keep-f32`
    stay f32 (lorc-compile names the unmerged adapters' tensors, which `lorc-run --adapter`
    rewrites in f32), as do constants of fewer than `min-elements` elements.

    With `fp8` (on by default), the weight of an FP8 layer (E4M3 or E5M2) of
    `--lorc-assign-precision` (its dequantised f32 constant carries the row scales,
    `lorc.fp8_weight`) is stored as its FP8 codes and per-row scales and read through
    `lorc.dequantize {axis = 0}` (E5M2: `name.e5m2`, `tensor<NxKxf8E5M2>`):

        %q = arith.constant dense_resource<name.e4m3> : tensor<NxKxf8E4M3FN>
        %s = arith.constant dense_resource<name.e4m3_scale> : tensor<Nxf32>
        %w = lorc.dequantize %q, %s {axis = 0 : i64} : ... -> tensor<NxKxf32>
        lorc.linear %x, %w ...

    The values are bit-identical (value(q) / s, which is how the f32 constant was computed), so
    results do not change; a weight whose codes do not reproduce it exactly stays f32.
    `--lorc-externalize-weights` stores the codes in the FP8 parameter buffer and
    `--lorc-dispatch-blas` hands them with the scales to the CPU's `_fp8w` entry points, which
    decode them only to pack them, once; on CUDA the decode is a generated kernel before the f32 GEMM. Why: a
    quarter of the bytes on disk and in memory for FP8 layers' weights. E4M3 and E5M2 codes go
    to parameter buffers of their own (`--lorc-externalize-weights`).
  }];
  let options = [
    Option<"precision", "precision", "std::string", "\"f32\"",
           "The GEMMs' input precision: bf16 narrows every eligible weight, f32 only those of "
           "layers tagged bf16 by --lorc-assign-precision">,
    ListOption<"keepF32", "keep-f32", "std::string",
               "Weight names (resource keys) that stay f32">,
    Option<"minElements", "min-elements", "int64_t", "16",
           "Constants with fewer elements stay f32">,
    Option<"fp8", "fp8", "bool", "true",
           "Store the weights of FP8 layers (E4M3 and E5M2) as FP8 codes and row scales">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numNarrowed", "num-narrowed", "Number of weights stored bf16">,
    Statistic<"numFp8", "num-fp8", "Number of weights stored FP8 (E4M3 or E5M2)">,
    Statistic<"numFp8Kept", "num-fp8-kept",
              "FP8 weights kept f32 because their codes did not reproduce them">
  ];
}

def LorcFuseElementwisePass : Pass<"lorc-fuse-elementwise"> {
  let summary = "Fuse chains of element-wise linalg.generic ops, keeping contractions named";
  let description = [{
    Upstream element-wise fusion (`linalg::populateElementwiseOpsFusionPatterns`) restricted to
    single-use producers (fusing a producer with several consumers duplicates its work; along a
    residual stream the duplication compounds layer after layer) and to producer/consumer pairs
    of `linalg.generic` ops: a bias broadcast, a fill or a reshape is
    never folded into a `linalg.matmul` / `linalg.batch_matmul`, which stay named so that
    `--lorc-dispatch-blas` (or a GPU library call) still recognises them.

    Why: upstream `--linalg-fuse-elementwise-ops` fuses a broadcast into the matmul that consumes
    it and propagates reshapes through it, turning the contraction into a 4-loop
    `linalg.generic` that only naive loops can run (measured on MiniLM: 2.2 s instead of
    ~0.1 s at batch 8 × seq 43).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def LorcMergeAdaptersPass : Pass<"lorc-merge-adapters"> {
  let summary = "Fold adapters into the weights of the layers they adapt, at compile time";
  let description = [{
    For every `lorc.linear` whose weight and adapter factors are constants, computes
    W' = W + Σᵢ mᵢ·ΔWᵢ in f32 (DoRA: W' = m ⊙ (W + ΔW)/‖W + ΔW‖ per output row), whatever the
    storage type of the base, as PEFT's `merge_and_unload` does, and replaces the layer by a plain
    `lorc.linear` on the new constant; adapter ops left without users are erased. ΔW follows
    peft `tuners/lora/layer.py` and LyCORIS `functional/{locon,loha,lokr}.py`
    (lib/Import/Adapters.cpp, `computeDeltaWeight`).

    Why: a merged model runs at exactly the base model's cost; the artifact's weights file then
    holds the merged weights.

    Layers whose weight or factors are not constants are left unmerged with a remark.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numMerged", "num-merged", "Number of adapters folded into weights">
  ];
}

def LorcFuseLoraGemmPass : Pass<"lorc-fuse-lora-gemm"> {
  let summary = "Fuse unmerged LoRA side paths into the base GEMM over a concatenated K";
  let description = [{
    For a `lorc.linear` whose adapters are all plain LoRA (no Tucker core, no DoRA) and whose
    weight and `up` factors are constants, rewrites

    ```
    y = x·Wᵀ + b + Σᵢ mᵢ·sᵢ·(x·Aᵢᵀ)·Bᵢᵀ
    ```
    as one GEMM over the concatenated K dimension:
    ```
    %xa_i = lorc.linear %x, %A_i                         // [..., r_i]
    %xcat = tensor.concat dim(last) %x, %xa_0, ...        // [..., K + Σ r_i]
    %y    = lorc.linear %xcat, %Wcat, %b                 // Wcat = [W | m_0·s_0·B_0 | ...]
    ```
    `Wcat` [N, K + Σ rᵢ] is formed at compile time (the scales folded into the B columns). The
    new weight constant records where each B went in its `lorc.fused_lora` attribute (the B
    constant's name, first column, rank, folded scale), which lorc-compile writes into the
    manifest so that `lorc-run --adapter` can swap the B columns in place.

    Why: the adapter then costs one BLAS call over K + r instead of two skinny GEMMs plus a pass
    over the output (peft's unmerged forward), and the base GEMM's bias epilogue is shared.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect", "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of layers whose LoRA side paths were fused">
  ];
}

def LorcFusePass : Pass<"lorc-fuse"> {
  let summary = "Graph-level fusion of lorc ops: GEMM epilogues, projections that share an "
                "input become one GEMM, layer norms in GEMM row tiles, scale and mask into "
                "attention";
  let description = [{
    `epilogues` (on by default, first): the element-wise ops that follow a `lorc.linear` become
    its epilogue (`activation`, `residual`; LorcOps.td), in this order:
    * a GELU (`linalg.generic` whose body is the erf or tanh form, lorc/Dialect/Lorc/IR/
      Activation.h) whose input is the linear's result → `activation = "gelu_erf"|"gelu_tanh"`;
    * then an `arith.addf` on tensors of the (activated) result and another value of its type
      (BERT's residual connection) → `residual(%h)`.
    The fused linear is created at the consumer's position. Not fused: a linear whose result has
    another user (the value before the epilogue is needed), an add of the result to itself, a
    linear that already has a residual, and GELU forms that do not match (other constants, a
    broadcast or transposed map). The epilogue saves one full write and read of the [M, N]
    result per fused op, so it is always taken; it runs before projection fusion, which then
    merges only linears with the same activation and no residual (linears sharing an input but
    feeding different consumers keep their own GEMMs and epilogues).

    `projections` (on by default): `lorc.linear` ops without adapters that read the same input
    value, in the same block, with constant f32 weights of the same K (and all with a constant
    bias, or none) become one `lorc.linear` whose weight is their weights stacked row-wise at
    compile time ([Σ Nᵢ, K]; BERT's query, key and value → [3·H, H]) and whose bias is their
    biases concatenated; each old result is a `tensor.extract_slice` of the new one along the
    last dimension:
    ```
    %qkv = lorc.linear %x, %Wqkv, %bqkv     // Wqkv = [Wq; Wk; Wv], name "….{query,key,value}.weight"
    %q = tensor.extract_slice %qkv[0, 0, 0] [%B, %S, 384] [1, 1, 1]
    %k = tensor.extract_slice %qkv[0, 0, 384] [%B, %S, 384] [1, 1, 1]
    ```
    The fused weight is named after its parts, brace-expanded where they differ, and the new
    linear lists the parts' weight names in `lorc.fused_from` (lorc-compile's report keeps
    listing layers by those names, with `fused_into`). Fusion is
    always a gain here (the input is read once, one larger GEMM runs nearer the BLAS library's
    peak: OpenBLAS ~128 GFLOP/s at 1024×384×384 vs ~250 at 1024×384×1536 on the 2-core CPU),
    so the cost model is not consulted for this case.

    Adapters' A matrices: the A projections `--lorc-fuse-lora-gemm` makes on a shared input
    (marked `lorc.adapter_factor`) stack the same way, with each other only (BERT's unmerged
    LoRA on query, key and value: three [r, H] GEMMs → one [3·r, H]). The fused linear keeps
    `lorc.adapter_factor` and lists each part's first row in `lorc.fused_rows`, from which
    lorc-compile tells the runtime where each A lives, so `lorc-run --adapter` still swaps it.

    Not fused: linears with adapters, and weights carrying `lorc.fused_lora` (their B columns
    are placed row by row for the runtime); also non-constant or non-f32 weights, mixed bias
    presence, different K, or linears in different blocks.

    `layer-norms` (on by default, last): a `lorc.layer_norm` whose input is the result of a
    `lorc.linear` with no other user (BERT's output projections, after their residual
    epilogue) is marked to run with that linear row tile by row tile, while the tile is in
    cache: `lorc.row_tile = T`, the rows per tile. A tile holds T rows of the GEMM's input,
    output and residual (4 B each: T·(K + N + N_residual)·4 bytes), which must fit half of
    `cache-bytes` (the per-core cache; the other half streams the weight):
    T = ⌊cache-bytes / (2·4·(K + N + N_residual)) / 16⌋·16, at most 256. The row does not fit
    when T < 16 (or K or N is not static): the layer norm is left alone. `--lorc-tile-rows`
    (the CPU pipeline) does the tiling; other targets ignore the mark.

    `attention` (on by default): scale and mask computed outside a `lorc.attention` move into
    it (lorc's importer already builds it so; this is for IR from other front ends):
    * a query multiplied by a splat constant c (`arith.mulf` on tensors, its only use) → the
      op's `scale` becomes c times its effective scale;
    * an additive float mask [B, 1, 1, Sk] that is a `tensor.expand_shape` of c·(1 − float(m))
      for an integer [B, Sk] mask m and c ≤ -1e4 (Hugging Face's extended attention mask,
      c = the lowest f32) → the integer key-padding mask m, which the tiled attention applies
      per key tile without reading a float tensor (for c = the lowest f32 the result is
      identical; for any c ≤ -1e4 the masked keys' weights are 0 in f32 either way). Other
      masks, e.g. one of shape [B, 1, Sq, Sk] or a soft bias (c > -1e4), stay additive.
  }];
  let options = [
    Option<"projections", "projections", "bool", "true",
           "Fuse linears that share an input into one GEMM">,
    Option<"epilogues", "epilogues", "bool", "true",
           "Fold a following GELU and residual add into the linear that produces their input">,
    Option<"layerNorms", "layer-norms", "bool", "true",
           "Mark a layer norm to run row tile by row tile with the linear producing its input">,
    Option<"cacheBytes", "cache-bytes", "int64_t", "1048576",
           "Per-core cache for the row tiles of fused layer norms (Zen 4: 1 MiB L2)">,
    Option<"attention", "attention", "bool", "true",
           "Fold a query scale and a key-padding additive mask into lorc.attention">
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect", "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numGroups", "num-groups", "Number of fused projection groups">,
    Statistic<"numLinears", "num-linears", "Number of linears fused into those groups">,
    Statistic<"numActivations", "num-activations", "Number of activations fused into linears">,
    Statistic<"numResiduals", "num-residuals", "Number of residual adds fused into linears">,
    Statistic<"numLayerNorms", "num-layer-norms",
              "Number of layer norms marked to run with their producing linear">,
    Statistic<"numAttentionScales", "num-attention-scales",
              "Number of query scales folded into attention">,
    Statistic<"numAttentionMasks", "num-attention-masks",
              "Number of additive masks replaced by key-padding masks">
  ];
}

def LorcTileRowsPass : Pass<"lorc-tile-rows"> {
  let summary = "Run each marked layer norm and the linear producing its input row tile by "
                "row tile (upstream tile-and-fuse)";
  let description = [{
    For every `lorc.layer_norm` carrying `lorc.row_tile = T` (set by `--lorc-fuse`): tiles it
    over rows with `scf::tileConsumerAndFuseProducersUsingSCF` (mlir/Dialect/SCF/Transforms/
    TileUsingInterface.h) into an `scf.forall`, tile sizes [1, …, 1, T, 0] (T rows of the
    second-last dimension, whole rows), and fuses the `lorc.linear` producing its input into
    the loop through the ops' TilingInterface (lib/Dialect/Lorc/IR/LorcTiling.cpp):
    ```
    %y = scf.forall (%b, %s) = (0, 0) to (%B, %S) step (1, T) shared_outs(%o = %init) {
      %x_t = tensor.extract_slice %x[%b, %s, 0] [1, %t, K] [1, 1, 1]
      %r_t = tensor.extract_slice %r[%b, %s, 0] [1, %t, N] [1, 1, 1]
      %h_t = lorc.linear %x_t, %W, %bias residual(%r_t)    // one GEMM call per tile
      %y_t = lorc.layer_norm %h_t, %gamma, %beta             // on the tile, still in cache
      scf.forall.in_parallel { tensor.parallel_insert_slice %y_t into %o[%b, %s, 0] … }
    }
    ```
    Only that linear is fused (not the ops producing its operands), and only while it has no
    other user. On the CPU each thread then runs whole tiles (its GEMM single-threaded, the
    norm on the tile it just wrote) instead of every op forking the threads over all rows.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
                           "mlir::affine::AffineDialect", "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numTiled", "num-tiled", "Number of layer norms tiled with their linear">
  ];
}

def LorcApproximateMathPass : Pass<"lorc-approximate-math"> {
  let summary = "Replace libm calls (erf, exp, tanh) by inline polynomial approximations";
  let description = [{
    Applies upstream's polynomial approximations (`math::populateMathPolynomialApproximation
    Patterns`, mlir/lib/Dialect/Math/Transforms/PolynomialApproximation.cpp) to the math ops
    named in `ops`, so that the loops computing GELU (erf) and softmax (exp) are plain arithmetic
    the LLVM vectoriser can widen, instead of one libm call per element.

    Why: on MiniLM (batch 8 × seq 128) libm's `erff` and `expf` took ~14% of the CPU time. The
    approximations' error is checked end to end against the goldens (docs/CpuPipeline.md).
  }];
  let options = [
    ListOption<"ops", "ops", "std::string", "Math ops to approximate (erf, exp, tanh, ...)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::vector::VectorDialect",
                           "mlir::math::MathDialect"];
}

def LorcVectorizePass : Pass<"lorc-vectorize", "mlir::func::FuncOp"> {
  let summary = "The CPU's non-GEMM linalg ops on buffers as vector code, one row per iteration";
  let description = [{
    Runs after bufferization and `--lorc-dispatch-blas` in the CPU pipeline, on what is left of
    linalg (layer norms, softmax and the attention's per-tile arithmetic, transposes, fills,
    casts). Each op whose innermost loop dimension every operand reads contiguously (as its
    innermost index with unit stride, or not at all: a broadcast) is vectorised; a
    `linalg.generic` whose contiguous dimension is another parallel one (mean pooling's sum over
    the sequence, features outside) has that dimension made innermost first
    (`linalg::interchangeGenericOp`; same summation order). Each such op is

    * tiled with upstream `linalg::tileLinalgOp` to one row per iteration: every other loop
      dimension in steps of one (`scf.parallel` for parallel dimensions, `scf.for` for
      reductions). The innermost dimension is taken whole when it is a reduction of static
      extent at most `max-row-elements` (one `vector.multi_reduction` per row) or parallel of
      static extent at most `parallel-tile`; a longer parallel one is stepped through in
      `parallel-tile` elements when that divides its static extent, else in `vector-width`
      (one register, masked). A long row as one vector would keep every intermediate of the
      body live across all of its registers, and LLVM spills them;
    * vectorised with upstream `linalg::vectorize` (`vector.transfer_read`/`write`, elementwise
      arithmetic on vectors, `vector.multi_reduction` for row reductions), masked where the
      extent is dynamic.

    Loops over rows vectorised whole are marked `lorc.vector_rows`, so that
    `--lorc-outermost-parallel-loops` splits all of their dimensions across the threads.

    Left to the scalar loops (which LLVM's loop vectoriser still vectorises): contractions
    (GEMMs not dispatched to a library), ops whose innermost dimension is strided, indexed or
    transposed in an operand, reductions over a dynamic innermost extent (reducing across lanes
    every `vector-width` elements is slower than LLVM's vector accumulator), and whatever
    `linalg::vectorizeOpPrecondition` refuses.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "Lanes of a dynamic-extent row per step (16 f32 = one AVX-512 register)">,
    Option<"parallelTile", "parallel-tile", "int64_t", "64",
           "Elements per step of a static elementwise row longer than this (4 AVX-512 "
           "registers of f32); shorter rows are one vector">,
    Option<"maxRowElements", "max-row-elements", "int64_t", "1024",
           "Largest static extent of a row reduction vectorised as one vector">,
  ];
  let dependentDialects = ["mlir::vector::VectorDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def LorcLowerExpandShapePass : Pass<"lorc-lower-expand-shape"> {
  let summary = "Rewrite memref.expand_shape of contiguous buffers as memref.reinterpret_cast";
  let description = [{
    For a `memref.expand_shape` whose source has the identity layout, the result is the same
    buffer viewed with the output sizes and their row-major strides, which
    `memref.reinterpret_cast` states directly (followed by a `memref.cast` to the op's result
    type).

    Why: in LLVM 22.1.8, `--expand-strided-metadata` aborts on `memref.expand_shape` with more
    than one dynamic size in the output (an assertion in its ReinterpretCastOp builder), which
    every `[B·S, N] -> [B, S, N]` reshape of a dynamically shaped batch hits. Run this pass
    before `--expand-strided-metadata`; expand_shapes of strided sources are left alone.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

#endif // LORC_TRANSFORMS_PASSES_TD
