//===- Compile.cpp - ahead-of-time compilation of a model -----------------===//

#include "lorc/Pipelines/Compile.h"
#include "CompileInternal.h"
#include "lorc/Conversion/Passes.h"
#include "lorc/CostModel/Chunking.h"
#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Dialect/Lorc/IR/LorcOps.h"
#include "lorc/Import/HuggingFace.h"
#include "lorc/Pipelines/Pipelines.h"
#include "lorc/Pipelines/Report.h"
#include "lorc/Pipelines/Targets.h"
#include "lorc/Runtime/Artifact.h"
#include "lorc/Support/ByteSize.h"
#include "lorc/Support/Fp8.h"
#include "lorc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <cblas.h>

#include <algorithm>
#include <iterator>
#include <cstring>
#include <map>
#include <chrono>
#include <cmath>

using namespace mlir;
using namespace lorc;
using llvm::Twine;

namespace lorc::compile_detail {




/// The MLIR element type of a tensor type as the manifest spells it.
std::string dtypeOf(Type t) {
  Type e = cast<ShapedType>(t).getElementType();
  if (e.isF32())
    return "f32";
  if (e.isInteger(64))
    return "i64";
  if (e.isInteger(32))
    return "i32";
  std::string s;
  llvm::raw_string_ostream(s) << e;
  return s;
}

llvm::json::Array shapeOf(Type t) {
  llvm::json::Array a;
  for (int64_t d : cast<ShapedType>(t).getShape())
    a.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return a;
}

/// The target machine for host code: `hostCpu` "host" is this machine's CPU with every feature
/// it reports (llvm::sys::getHostCPUName/Features), any other name an LLVM CPU of the default
/// triple (x86-64-v3, znver4, sapphirerapids, …) with that CPU's features only.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostTargetMachine(StringRef hostCpu,
                                                                       unsigned optLevel) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + triple.str() + ": " + error);
  std::string cpu = hostCpu.str();
  llvm::SubtargetFeatures features;
  if (hostCpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature, enabled);
  } else {
    // Asked of a generic subtarget: one made for an unknown CPU prints a warning of its own.
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        target->createMCSubtargetInfo(triple, /*CPU=*/"", /*Features=*/""));
    if (!sti || !sti->isCPUStringValid(cpu))
      return makeError("--host-cpu=" + cpu + ": not a CPU LLVM knows for " + triple.str() +
                       " (e.g. host, x86-64-v3, x86-64-v4, znver4, sapphirerapids)");
  }
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features.getString(), opts, llvm::Reloc::PIC_, std::nullopt,
      optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive : llvm::CodeGenOptLevel::Default));
  if (!tm)
    return makeError("cannot create a target machine for " + triple.str() + " (CPU " + cpu + ")");
  return tm;
}

/// Emits an object file for `hostCpu` (position independent, for a shared library); returns
/// the CPU's name in `cpuName` and the subtarget features the code may use in `cpuFeatures`
/// (the manifest's `cpu_features`, checked by Artifact::load against the running CPU).
llvm::Error emitObject(llvm::Module &module, StringRef path, unsigned optLevel, StringRef hostCpu,
                       std::string &cpuName, std::vector<std::string> &cpuFeatures) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tmOr = hostTargetMachine(hostCpu, optLevel);
  if (!tmOr)
    return tmOr.takeError();
  std::unique_ptr<llvm::TargetMachine> tm = std::move(*tmOr);
  cpuName = tm->getTargetCPU().str();
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  cpuFeatures.clear();
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    if (sti->getFeatureBits().test(kv.Value))
      cpuFeatures.push_back(kv.Key);
  module.setDataLayout(tm->createDataLayout());
  module.setTargetTriple(tm->getTargetTriple());
  auto transformer = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, tm.get());
  if (llvm::Error e = transformer(&module))
    return e;
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path + ": cannot write: " + ec.message());
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out.os(), nullptr, llvm::CodeGenFileType::ObjectFile))
    return makeError("the target cannot emit object files");
  pm.run(module);
  out.keep();
  return llvm::Error::success();
}

/// Links `object` into the shared library `library` with the system C compiler driver.
llvm::Error linkSharedLibrary(StringRef object, StringRef library) {
  std::string driver;
  for (const char *name : {"cc", "clang-22", "clang", "gcc"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      driver = *p;
      break;
    }
  if (driver.empty())
    return makeError("no C compiler driver (cc, clang or gcc) on PATH to link the artifact "
                     "library; run scripts/install-deps.sh");
  llvm::SmallString<128> errFile;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("lorc-link", "txt", errFile))
    return makeError("cannot create a temporary file: " + ec.message());
  std::string objectStr = object.str(), libraryStr = library.str();
  llvm::SmallVector<StringRef> args{driver, "-shared", "-o", libraryStr, objectStr, "-lm"};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(errFile), StringRef(errFile)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(driver, args, std::nullopt, redirects, 0, 0, &execError);
  std::string output;
  if (auto buf = llvm::MemoryBuffer::getFile(errFile))
    output = (*buf)->getBuffer().trim().str();
  llvm::sys::fs::remove(errFile);
  if (rc != 0)
    return makeError("linking " + library + " with " + driver + " failed" +
                     (execError.empty() ? "" : ": " + execError) +
                     (output.empty() ? "" : ": " + output));
  return llvm::Error::success();
}

/// Writes manifest.json for the lowered `entry` signature (recorded before lowering).
llvm::Error writeManifest(StringRef path, const CompileOptions &options,
                          const ImportedModel &model, ArrayRef<Type> inputTypes,
                          ArrayRef<std::string> inputNames, ArrayRef<Type> resultTypes,
                          ArrayRef<std::string> resultNames, const ParameterLayout &params,
                          llvm::json::Array libraries, bool hasVocab, bool lowerCase,
                          llvm::json::Array adapterSlots,
                          std::optional<llvm::json::Object> fp8) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError(path + ": cannot write: " + ec.message());
  llvm::SmallString<256> source(options.modelDir);
  llvm::sys::fs::make_absolute(source);
  const BertConfig &c = model.config;
  llvm::json::Array inputs, outputs;
  for (auto [t, n] : llvm::zip(inputTypes, inputNames)) {
    llvm::json::Object o{{"name", n}, {"dtype", dtypeOf(t)}, {"shape", shapeOf(t)}};
    // Token inputs are [batch, seq] (a calibration probe's own inputs are not).
    if (cast<ShapedType>(t).getRank() == 2)
      o["dims"] = llvm::json::Array{"batch", "seq"};
    // Valid value ranges, checked by the runtime before the call: [min, max).
    if (n == "input_ids")
      o["range"] = llvm::json::Array{0, c.vocabSize};
    else if (n == "attention_mask")
      o["range"] = llvm::json::Array{0, 2};
    inputs.push_back(std::move(o));
  }
  for (auto [t, n] : llvm::zip(resultTypes, resultNames))
    outputs.push_back(llvm::json::Object{{"name", n}, {"dtype", dtypeOf(t)}, {"shape", shapeOf(t)}});
  // The entry's leading arguments: the f32 buffer from the weights file's data section start,
  // then the bf16, FP8 E4M3 and FP8 E5M2 buffers it has, each from `offset` bytes into it.
  llvm::json::Array parameters;
  for (unsigned buffer = 0; buffer < kNumParameterBuffers; ++buffer) {
    if (params.elements[buffer] < 0)
      continue;
    llvm::json::Object o{{"file", "weights.safetensors"},
                         {"dtype", kParameterBufferDTypes[buffer]},
                         {"elements", params.elements[buffer]}};
    if (buffer != 0)
      o["offset"] = static_cast<int64_t>(params.offset[buffer]);
    parameters.push_back(std::move(o));
  }
  llvm::json::Object manifest{
      {"format", "lorc-artifact"},
      {"version", 1},
      {"entry", "_mlir_ciface_forward"},
      {"model",
       llvm::json::Object{{"type", "bert"},
                          {"source", source.str()},
                          {"hidden_size", c.hiddenSize},
                          {"num_hidden_layers", c.numLayers},
                          {"intermediate_size", c.intermediateSize},
                          {"vocab_size", c.vocabSize},
                          {"max_position_embeddings", c.maxPositions}}},
      {"parameters", std::move(parameters)},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)},
      {"limits", llvm::json::Object{{"max_seq_len", c.maxPositions}}},
  };
  // The primary (first) library's fields at the top level, as single-target readers expect;
  // all of them, primary first, in "libraries".
  const llvm::json::Object *primary = libraries.front().getAsObject();
  for (const char *key : {"target", "library", "cpu", "chip", "ptx"})
    if (const llvm::json::Value *v = primary->get(key))
      manifest[key] = *v;
  manifest["libraries"] = std::move(libraries);
  if (!adapterSlots.empty())
    manifest["adapters"] = std::move(adapterSlots);
  if (fp8)
    manifest["fp8"] = std::move(*fp8);
  if (hasVocab)
    manifest["tokenizer"] = llvm::json::Object{{"type", "wordpiece"},
                                               {"vocab", "vocab.txt"},
                                               {"lower_case", lowerCase},
                                               {"max_length", c.maxPositions}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  os.close();
  if (os.has_error())
    return makeError(path + ": write failed: " + os.error().message());
  return llvm::Error::success();
}

/// The tensors the adapter slots of `describeAdapterSlots` name (the factors, or the weights
/// they were fused into): lorc-run --adapter rewrites them in f32, so they are never narrowed.
std::vector<std::string> adapterTensors(const llvm::json::Array &adapterSlots) {
  std::vector<std::string> tensors;
  for (const llvm::json::Value &slot : adapterSlots)
    if (const llvm::json::Array *modules = slot.getAsObject()->getArray("modules"))
      for (const llvm::json::Value &m : *modules)
        if (const llvm::json::Object *factors = m.getAsObject()->getObject("factors"))
          for (const auto &[name, f] : *factors)
            if (std::optional<StringRef> tensor = f.getAsObject()->getString("tensor"))
              tensors.push_back(tensor->str());
  return tensors;
}

/// The manifest's "adapters": in unmerged mode, where each adapter's factors live in the
/// parameter buffer (the importer names them "adapter<slot>.<module>.<factor>") and the scale and
/// multiplier they were compiled with, so `lorc-run --adapter` can swap or re-weight them.
/// A factor that became a block of a fused weight is described by that weight's name, the
/// block's first row and column, the weight's rows and row stride, and for a LoRA `up` fused
/// into [W | m·s·B] (`--lorc-fuse-lora-gemm`) the scale folded into it.
llvm::json::Array describeAdapterSlots(ArrayRef<AdapterSet> sets, StringRef mode,
                                       const llvm::StringMap<llvm::json::Object> &fusedFactors) {
  llvm::json::Array slots;
  if (mode != "unmerged")
    return slots;
  for (auto [k, set] : llvm::enumerate(sets)) {
    llvm::json::Array modules;
    for (const ModuleAdapter &a : set.modules) {
      if (a.module == "pooler.dense")
        continue; // not part of the compiled computation
      llvm::json::Object factors;
      for (const auto &[name, t] : a.factors) {
        llvm::json::Array shape;
        for (int64_t d : t.shape)
          shape.push_back(d);
        std::string tensor = "adapter" + std::to_string(k) + "." + a.module + "." + name;
        llvm::json::Object f{{"tensor", tensor}, {"shape", std::move(shape)}};
        if (auto it = fusedFactors.find(tensor); it != fusedFactors.end())
          for (const auto &[key, value] : it->second)
            f[key] = value; // the fused placement replaces "tensor"
        factors[name] = std::move(f);
      }
      modules.push_back(llvm::json::Object{{"module", a.module},
                                           {"algo", adapterAlgoKey(a.algo)},
                                           {"scale", a.scale},
                                           {"factors", std::move(factors)}});
    }
    slots.push_back(llvm::json::Object{{"slot", static_cast<int64_t>(k)},
                                       {"source", set.path},
                                       {"format", set.format},
                                       {"multiplier", set.multiplier},
                                       {"modules", std::move(modules)}});
  }
  return slots;
}

/// Reads do_lower_case from tokenizer_config.json (default true, as BertTokenizer).
bool readLowerCase(StringRef modelDir) {
  llvm::SmallString<256> p(modelDir);
  llvm::sys::path::append(p, "tokenizer_config.json");
  auto buf = llvm::MemoryBuffer::getFile(p, /*IsText=*/true);
  if (!buf)
    return true;
  auto v = llvm::json::parse((*buf)->getBuffer());
  if (!v) {
    llvm::consumeError(v.takeError());
    return true;
  }
  if (auto *o = v->getAsObject())
    return o->getBoolean("do_lower_case").value_or(true);
  return true;
}



/// Prints the module with large weights elided (the form of --emit=mlir / mlir-import).
void printModule(ModuleOp module, llvm::raw_ostream &os) {
  OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  flags.elideLargeElementsAttrs(16);
  module->print(os, flags);
}


/// The manifest's "fp8" for an entry that returns `fp8_amax` (--lorc-assign-precision{record-
/// amax}): the output's name, delayed-scaling settings, and per layer, in the output's order, its
/// format, FP8 max, calibrated amax and activation scale (docs/Artifact.md).
std::optional<llvm::json::Object> fp8ManifestSection(func::FuncOp entry) {
  auto names = entry->getAttrOfType<ArrayAttr>("lorc.fp8_amax_layers");
  auto scaling = entry->getAttrOfType<DictionaryAttr>("lorc.fp8_scaling");
  if (!names)
    return std::nullopt;
  llvm::StringMap<DictionaryAttr> records;
  // Each FP8 layer's activation scale is a run-time parameter (kRuntimeParameterAttr): the
  // name of its tensor in the weights file, which lorc::Artifact::setFp8Scales overwrites.
  llvm::StringMap<std::string> scaleTensors;
  entry.walk([&](LinearOp op) {
    auto p = op->getAttrOfType<DictionaryAttr>("lorc.precision");
    auto layer = p ? p.getAs<StringAttr>("layer") : StringAttr();
    if (!layer)
      return;
    records[layer.getValue()] = p;
    Value x = op.getAdapters().empty() ? op.getInput() : op.getBaseInput();
    auto dq = x ? x.getDefiningOp<DequantizeOp>() : DequantizeOp();
    Value scale = dq ? dq.getScale() : Value();
    if (auto c = scale ? scale.getDefiningOp<tensor::CollapseShapeOp>() : tensor::CollapseShapeOp())
      scale = c.getSrc(); // tensor<1xf32> → tensor<f32> (AssignPrecision.cpp)
    auto cst = scale ? scale.getDefiningOp<arith::ConstantOp>() : arith::ConstantOp();
    auto res = cst ? dyn_cast<DenseResourceElementsAttr>(cst.getValue())
                   : DenseResourceElementsAttr();
    if (res && cst->hasAttr(kRuntimeParameterAttr))
      scaleTensors[layer.getValue()] = res.getRawHandle().getKey().str();
  });
  llvm::json::Array layers;
  for (auto name : names.getAsRange<StringAttr>()) {
    DictionaryAttr p = records.lookup(name.getValue());
    if (!p)
      continue;
    StringRef format = p.getAs<StringAttr>("precision").getValue();
    llvm::json::Object layer{
        {"name", name.getValue()},
        {"format", format},
        {"fp8_max", fp8Max(fp8KindOf(*parseLayerPrecision(format)))},
        {"calibrated_amax", p.getAs<FloatAttr>("activation_amax").getValueAsDouble()},
        {"activation_scale", p.getAs<FloatAttr>("activation_scale").getValueAsDouble()}};
    if (auto it = scaleTensors.find(name.getValue()); it != scaleTensors.end())
      layer["scale_tensor"] = it->second;
    layers.push_back(std::move(layer));
  }
  llvm::json::Object section{{"amax_output", "fp8_amax"}, {"layers", std::move(layers)}};
  if (scaling) {
    section["amax_history_len"] = scaling.getAs<IntegerAttr>("amax_history_len").getInt();
    section["amax_compute_algo"] = scaling.getAs<StringAttr>("amax_compute_algo").getValue();
    section["margin"] = scaling.getAs<IntegerAttr>("margin").getInt();
  }
  return section;
}

/// Lowers `module` (lorc level) to host code and writes the artifact directory `output`
/// atomically (or LLVM IR, for EmitKind::Llvm). `module` is consumed (lowered in place).
llvm::Error lowerAndWrite(ModuleOp module, Backend &be, StringRef output, unsigned optLevel,
                          StringRef hostCpu,
                          EmitKind emit, ArrayRef<CompileTarget> targets,
                          llvm::json::Array adapterSlots, llvm::raw_ostream &log) {
  MLIRContext &context = be.context;
  DiagnosticCollector &diags = be.diags;
  const CompileOptions &options = be.options;
  std::optional<Stage> stage;
  // Record the signature the manifest describes before lowering rewrites it.
  auto entry = module.lookupSymbol<func::FuncOp>("forward");
  SmallVector<Type> inputTypes(entry.getArgumentTypes()), resultTypes(entry.getResultTypes());
  SmallVector<std::string> inputNames, resultNames;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    inputNames.push_back(entry.getArgAttrOfType<StringAttr>(i, "lorc.name").str());
  for (unsigned i = 0; i < entry.getNumResults(); ++i)
    resultNames.push_back(entry.getResultAttrOfType<StringAttr>(i, "lorc.name").str());
  std::optional<llvm::json::Object> fp8 = fp8ManifestSection(entry);

  stage.emplace(log, "externalize weights");
  {
    // The weights of bf16 GEMMs are stored bf16, except the unmerged adapters' tensors, which
    // lorc-run --adapter rewrites in f32.
    LorcNarrowWeightsPassOptions narrow;
    narrow.precision = options.precision;
    std::vector<std::string> keep = adapterTensors(adapterSlots);
    narrow.keepF32.assign(keep.begin(), keep.end());
    PassManager pm(&context);
    pm.addPass(createLorcNarrowWeightsPass(narrow));
    if (failed(pm.run(module)))
      return diags.take("narrowing the weights of bf16 GEMMs and FP8 layers");
  }
  SafetensorsWriter weights(/*dataAlignment=*/64);
  weights.setMetadata("generator", "lorc-compile");
  if (failed(externalizeWeights(entry, /*minElements=*/16, weights)))
    return diags.take("externalizing weights");
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  // Up to four parameter buffers (docs/Artifact.md, lorc::ParameterBuffer): f32 from the data
  // section's start, then bf16 (when there are bf16 weights), FP8 E4M3 codes and FP8 E5M2
  // codes (when FP8 layers store their weights FP8), each from its first tensor's offset, in
  // that order, the last ending at the end. The entry's leading arguments are those present.
  ParameterLayout params;
  {
    unsigned arg = 0;
    for (unsigned buffer = 0; buffer < kNumParameterBuffers; ++buffer)
      if (entry->hasAttr(kParameterLayoutAttrs[buffer]))
        params.elements[buffer] =
            cast<RankedTensorType>(entry.getArgumentTypes()[arg++]).getDimSize(0);
    uint64_t end = weights.dataSize();
    for (unsigned buffer = kNumParameterBuffers; buffer-- > 1;)
      if (params.elements[buffer] >= 0) {
        end -= static_cast<uint64_t>(params.elements[buffer]) * kParameterBufferWidths[buffer];
        params.offset[buffer] = end;
      }
  }
  stage->finish();

  // One LLVM module per target, each lowered from its own copy of the module.
  llvm::LLVMContext llvmContext; // outlives the modules
  std::vector<std::unique_ptr<llvm::Module>> llvmModules;
  std::vector<CudaLowering> cudaLowerings(targets.size());
  for (auto [i, target] : llvm::enumerate(targets)) {
    OwningOpRef<ModuleOp> copy;
    ModuleOp m = module;
    if (i + 1 < targets.size()) {
      copy = module.clone();
      m = *copy;
    }
    std::string name = ("lower to LLVM dialect (" + target.name() + ")").str();
    stage.emplace(log, name.c_str());
    if (target.kind == CompileTarget::Cuda) {
      llvm::Expected<CudaLowering> cuda = lowerForCuda(m, target.nvptx, options.precision);
      if (!cuda)
        return diags.take(llvm::toString(cuda.takeError()));
      cudaLowerings[i] = std::move(*cuda);
    } else {
      PassManager pm(&context);
      CudaPipelineOptions cudaOptions;
      cudaOptions.gemmPrecision = options.precision;
      if (target.kind == CompileTarget::CudaLoopsCpu)
        buildCudaLoopsCpuPipeline(pm, cudaOptions);
      else {
        CpuPipelineOptions cpuOptions;
        cpuOptions.gemmPrecision = options.precision;
        cpuOptions.tileAttention = options.fuse;
        cpuOptions.tileRows = options.fuse;
        cpuOptions.vectorize = options.vectorize;
        buildCpuPipeline(pm, cpuOptions);
      }
      if (failed(pm.run(m)))
        return diags.take("lowering to the LLVM dialect");
    }
    stage->finish();
    stage.emplace(log, "translate to LLVM IR");
    std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(m, llvmContext);
    if (!llvmModule)
      return diags.take("translating to LLVM IR");
    // The descriptors the entry point takes, as the manifest describes them: the loader
    // compares the two, so that a manifest edited to list other parameter buffers or inputs is
    // an error, not a call with misplaced descriptors (lorc::kEntrySignatureSymbol).
    {
      llvm::Constant *text = llvm::ConstantDataArray::getString(
          llvmContext, entrySignature(params, inputTypes.size()));
      auto *global = new llvm::GlobalVariable(*llvmModule, text->getType(), /*isConstant=*/true,
                                              llvm::GlobalValue::ExternalLinkage, text,
                                              lorc::kEntrySignatureSymbol);
      global->setVisibility(llvm::GlobalValue::DefaultVisibility);
    }
    stage->finish();
    llvmModules.push_back(std::move(llvmModule));
    if (emit == EmitKind::Llvm)
      break; // the primary target's host code only
  }

  if (emit == EmitKind::Llvm) {
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(output + ": cannot write: " + ec.message());
    llvmModules.front()->print(out.os(), nullptr);
    out.keep();
    return llvm::Error::success();
  }

  // Everything goes into a temporary directory beside the output, renamed into place at the end.
  llvm::SmallString<256> outPath(output);
  llvm::sys::fs::make_absolute(outPath);
  llvm::sys::path::remove_dots(outPath, /*remove_dot_dot=*/true);
  if (llvm::sys::fs::exists(outPath)) {
    llvm::SmallString<256> oldManifest(outPath);
    llvm::sys::path::append(oldManifest, "manifest.json");
    if (!llvm::sys::fs::is_directory(outPath) || !llvm::sys::fs::exists(oldManifest))
      return makeError(outPath + ": exists and is not a lorc artifact; refusing to replace it");
  }
  StringRef parent = llvm::sys::path::parent_path(outPath);
  if (!parent.empty() && !llvm::sys::fs::is_directory(parent))
    return makeError(outPath + ": parent " + parent +
                     (llvm::sys::fs::exists(parent) ? " is not a directory" : " does not exist"));
  llvm::SmallString<256> tmpDir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(outPath + ".tmp", tmpDir))
    return makeError(outPath + ": cannot create a temporary directory: " + ec.message());
  TempDirGuard guard{tmpDir.str().str()};
  llvm::sys::fs::setPermissions(tmpDir, llvm::sys::fs::all_read | llvm::sys::fs::all_exe |
                                            llvm::sys::fs::owner_write);
  auto inTmp = [&](StringRef name) {
    llvm::SmallString<256> p(tmpDir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  };

  llvm::json::Array libraries;
  for (auto [i, target] : llvm::enumerate(targets)) {
    std::string library = target.library().str();
    std::string object = library.substr(0, library.size() - 3) + ".o";
    std::string cpuName;
    std::vector<std::string> cpuFeatures;
    {
      std::string name = "LLVM codegen (O" + std::to_string(optLevel) + ", " +
                         target.name().str() + ")";
      Stage s(log, name.c_str());
      if (llvm::Error e = emitObject(*llvmModules[i], inTmp(object), optLevel, hostCpu,
                                         cpuName, cpuFeatures))
        return e;
      s.finish();
    }
    {
      std::string name = "link " + library;
      Stage s(log, name.c_str());
      if (llvm::Error e = linkSharedLibrary(inTmp(object), inTmp(library)))
        return e;
      llvm::sys::fs::remove(inTmp(object));
      s.finish();
    }
    llvm::json::Object entry{{"target", target.name()}, {"library", library}, {"cpu", cpuName}};
    entry["host_cpu"] = options.hostCpu;
    llvm::json::Array features;
    for (const std::string &f : cpuFeatures)
      features.push_back(f);
    entry["cpu_features"] = std::move(features);
    // GEMM library and input precision: the runtime's CpuGemm (oneDNN, docs/GemmLibraries.md)
    // on the CPU, cuBLAS on CUDA (set below).
    entry["gemm"] = "onednn";
    entry["gemm_precision"] = options.precision;
    // Attention: one fused, key-tiled loop nest (--lorc-tile-attention) or materialised scores.
    bool tiledAttention = target.kind == CompileTarget::Cpu && options.fuse;
    entry["attention"] = tiledAttention ? "tiled" : "materialized";
    if (target.kind == CompileTarget::Cuda) {
      const CudaLowering &cuda = cudaLowerings[i];
      std::string ptx = std::to_string(target.nvptx.ptxVersion / 10) + "." +
                        std::to_string(target.nvptx.ptxVersion % 10);
      entry["chip"] = target.nvptx.chip;
      entry["ptx"] = ptx;
      entry["kernels"] = "kernels.ptx";
      entry["num_kernels"] = static_cast<int64_t>(cuda.numKernels);
      entry["binary"] = cuda.binaryFormat;
      entry["gemm"] = "cublas";
      std::error_code ec;
      llvm::raw_fd_ostream os(inTmp("kernels.ptx"), ec);
      if (ec)
        return makeError(inTmp("kernels.ptx") + ": cannot write: " + ec.message());
      os << cuda.ptx;
    }
    libraries.push_back(std::move(entry));
  }
  {
    Stage s(log, "write weights");
    if (llvm::Error e = weights.write(inTmp("weights.safetensors")))
      return e;
    s.finish();
  }
  llvm::SmallString<256> vocab(options.modelDir);
  llvm::sys::path::append(vocab, "vocab.txt");
  bool hasVocab = llvm::sys::fs::exists(vocab);
  if (hasVocab)
    if (std::error_code ec = llvm::sys::fs::copy_file(vocab, inTmp("vocab.txt")))
      return makeError(vocab + ": cannot copy into the artifact: " + ec.message());
  if (llvm::Error e = writeManifest(inTmp("manifest.json"), options, be.model, inputTypes,
                                    inputNames, resultTypes, resultNames, params,
                                    std::move(libraries), hasVocab, readLowerCase(options.modelDir),
                                    std::move(adapterSlots), std::move(fp8)))
    return e;

  if (llvm::sys::fs::exists(outPath))
    if (std::error_code ec = llvm::sys::fs::remove_directories(outPath))
      return makeError(outPath + ": cannot replace the previous artifact: " + ec.message());
  if (std::error_code ec = llvm::sys::fs::rename(tmpDir, outPath))
    return makeError(outPath + ": cannot move the artifact into place: " + ec.message());
  guard.path.clear();
  return llvm::Error::success();
}

/// `--select-rank=key=value[,...]`: the keys lorc-compile handles itself (`calibration`,
/// `min-cosine`) and the options of --lorc-select-rank.
struct SelectRankRequest {
  std::string passOptions; // space-separated key=value
  std::string calibration;
  double minCosine = 0;
  std::string profile = "h100-sxm";
  int64_t dynamicSize = 128;
  bool hasCriterion = false;
};

llvm::Expected<SelectRankRequest> parseSelectRank(StringRef spec) {
  SelectRankRequest r;
  SmallVector<StringRef> items;
  spec.split(items, ',', -1, /*KeepEmpty=*/false);
  for (StringRef item : items) {
    auto [key, value] = item.split('=');
    key = key.trim();
    value = value.trim();
    if (key == "calibration") {
      r.calibration = value.str();
      continue;
    }
    if (key == "min-cosine") {
      if (value.getAsDouble(r.minCosine) || !(r.minCosine > 0 && r.minCosine <= 1))
        return makeError("--select-rank=" + spec + ": min-cosine must be a number in (0, 1], got '" +
                         value + "'");
      continue;
    }
    if (key == "profile")
      r.profile = value.str();
    if (key == "dynamic-size" && value.getAsInteger(10, r.dynamicSize))
      return makeError("--select-rank=" + spec + ": dynamic-size must be an integer");
    static constexpr StringLiteral criteria[] = {"rank",     "retained-energy", "energy-ratio",
                                                 "budget-mj", "preset",         "threshold",
                                                 "sv-ratio",  "quantile"};
    r.hasCriterion |= llvm::is_contained(criteria, key);
    r.passOptions += (r.passOptions.empty() ? "" : " ") + item.trim().str();
  }
  if (r.minCosine > 0 && r.calibration.empty())
    return makeError("--select-rank=" + spec +
                     ": min-cosine needs calibration=<inputs.safetensors> (input_ids and "
                     "attention_mask, as lorc-run reads them)");
  if (r.minCosine > 0 && r.hasCriterion)
    return makeError("--select-rank=" + spec +
                     ": min-cosine chooses the budget itself; give no other criterion");
  return r;
}

/// Runs --lorc-select-rank{options} on `module`.
LogicalResult runSelectRank(ModuleOp module, StringRef options, std::string &parseError) {
  static bool registered = (registerLorcPasses(), true); // for the textual options
  (void)registered;
  PassManager pm(module.getContext());
  llvm::raw_string_ostream es(parseError);
  if (failed(parsePassPipeline(("lorc-select-rank{" + options + "}").str(), pm, es)))
    return failure();
  return pm.run(module);
}


/// Reads the entry's inputs (by name) from a safetensors file; other tensors are ignored.
llvm::Expected<Calibration> readCalibration(StringRef path, func::FuncOp entry) {
  auto file = SafetensorsFile::open(path);
  if (!file)
    return makeError("calibration: " + llvm::toString(file.takeError()));
  Calibration c;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    std::string name = entry.getArgAttrOfType<StringAttr>(i, "lorc.name").str();
    const TensorInfo *info = (*file)->find(name);
    if (!info)
      return makeError("calibration: " + path + " has no tensor '" + name +
                       "' (the model's inputs are input_ids and attention_mask)");
    Tensor t;
    t.name = name;
    t.dtype = info->dtype;
    t.shape.assign(info->shape.begin(), info->shape.end());
    ArrayRef<uint8_t> bytes = (*file)->data(*info);
    t.bytes.assign(bytes.begin(), bytes.end());
    if (name == "attention_mask" && t.dtype == DType::I64 && t.shape.size() == 2) {
      c.batch = t.shape[0];
      c.seq = t.shape[1];
      c.mask.assign(t.data<int64_t>(), t.data<int64_t>() + t.numElements());
      for (int64_t v : c.mask)
        c.tokens += v != 0;
    }
    c.inputs.push_back(std::move(t));
  }
  if (c.mask.empty())
    return makeError("calibration: " + path + ": expected an i64 attention_mask [batch, seq]");
  return c;
}

/// Builds `variant` into a temporary artifact at LLVM O1 (only its outputs matter) and loads it.
llvm::Expected<std::unique_ptr<VariantArtifact>> buildVariant(ModuleOp variant, Backend &be) {
  auto v = std::make_unique<VariantArtifact>();
  llvm::SmallString<256> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("lorc-calibration", dir))
    return makeError("cannot create a temporary directory: " + ec.message());
  v->dir.path = dir.str().str();
  llvm::SmallString<256> out(dir);
  llvm::sys::path::append(out, "artifact");
  // Variants run here, so their host code is for this machine whatever --host-cpu says.
  if (llvm::Error e = lowerAndWrite(variant, be, out, /*optLevel=*/1, /*hostCpu=*/"host",
                                    EmitKind::Artifact,
                                    {CompileTarget()}, {}, llvm::nulls()))
    return e;
  llvm::Expected<std::unique_ptr<Artifact>> artifact = Artifact::load(out);
  if (!artifact)
    return artifact.takeError();
  v->artifact = std::move(*artifact);
  return v;
}

/// Builds `variant`, runs it once on `inputs` and returns the outputs.
llvm::Expected<std::vector<Tensor>> runVariant(ModuleOp variant, Backend &be,
                                               ArrayRef<Tensor> inputs) {
  llvm::Expected<std::unique_ptr<VariantArtifact>> v = buildVariant(variant, be);
  if (!v)
    return v.takeError();
  return (*v)->artifact->run(inputs);
}

/// Adds the input of every constant-weight lorc.linear of `clone` as an extra result of
/// `forward`, named "calibration.<i>"; returns (weight name, i) per layer (layers sharing an
/// input share i).
llvm::Expected<std::vector<std::pair<std::string, unsigned>>> exposeLayerInputs(ModuleOp clone) {
  MLIRContext *ctx = clone.getContext();
  auto entry = clone.lookupSymbol<func::FuncOp>("forward");
  auto ret = cast<func::ReturnOp>(entry.getBody().back().getTerminator());
  llvm::DenseMap<Value, unsigned> index;
  SmallVector<Value> extra;
  std::vector<std::pair<std::string, unsigned>> layers;
  clone.walk([&](LinearOp op) {
    std::optional<F32ConstantData> w = readF32Constant(op.getWeight());
    if (!w || w->name.empty() || w->shape.size() != 2)
      return;
    auto [it, inserted] = index.try_emplace(op.getInput(), extra.size());
    if (inserted)
      extra.push_back(op.getInput());
    layers.push_back({w->name, it->second});
  });
  unsigned first = entry.getNumResults();
  SmallVector<Value> results(ret.getOperands());
  for (auto [i, v] : llvm::enumerate(extra)) {
    auto name = StringAttr::get(ctx, "calibration." + std::to_string(i));
    if (failed(entry.insertResult(first + i, v.getType(),
                                  DictionaryAttr::get(ctx, {NamedAttribute("lorc.name", name)}))))
      return makeError("calibration: cannot expose the layer inputs");
    results.push_back(v);
  }
  ret->setOperands(results);
  return layers;
}

/// The rows of a layer input `x` ([..., K]) that belong to real tokens: all rows unless there
/// is one per token of the batch (then attention_mask decides). Returns row-major [T, K].
std::vector<float> realRows(const Tensor &x, ArrayRef<int64_t> mask, int64_t tokensInBatch) {
  int64_t k = x.shape.back(), rows = x.numElements() / k;
  bool tokenRows = rows == tokensInBatch;
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r)
    if (!tokenRows || mask[r])
      out.insert(out.end(), x.data<float>() + r * k, x.data<float>() + (r + 1) * k);
  return out;
}

const Tensor *findTensor(ArrayRef<Tensor> ts, StringRef name) {
  for (const Tensor &t : ts)
    if (t.name == name)
      return &t;
  return nullptr;
}

/// Mean and minimum over rows of the cosine between `a` and `b` ([rows, dim]).
std::pair<double, double> rowCosines(ArrayRef<float> a, ArrayRef<float> b, int64_t dim,
                                     double *standardError) {
  double sum = 0, sumSquares = 0, minimum = 1;
  int64_t rows = static_cast<int64_t>(a.size()) / dim;
  for (int64_t r = 0; r < rows; ++r) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t j = 0; j < dim; ++j) {
      double x = a[r * dim + j], y = b[r * dim + j];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    double c = aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
    sum += c;
    sumSquares += c * c;
    minimum = std::min(minimum, c);
  }
  double mean = rows ? sum / rows : 1;
  // The standard error of the mean: the sample standard deviation over √rows.
  if (standardError)
    *standardError = rows > 1 ? std::sqrt(std::max(0.0, (sumSquares - rows * mean * mean) /
                                                            (rows - 1)) /
                                          rows)
                              : 0;
  return {mean, minimum};
}

/// Runs the unreduced `module` on the calibration inputs with the input of every constant-weight
/// lorc.linear exposed as an extra result, keeps its sentence embeddings as the reference, and
/// writes each layer's input Gram G = Σ xᵀx over the real tokens (f32 [K, K], named by the
/// layer's weight) to `gramPath`, the format of --lorc-select-rank's calibration-gram.
llvm::Error collectGrams(ModuleOp module, Backend &be, Calibration &calib, StringRef gramPath) {
  OwningOpRef<ModuleOp> clone = module.clone();
  llvm::Expected<std::vector<std::pair<std::string, unsigned>>> layers =
      exposeLayerInputs(*clone);
  if (!layers)
    return layers.takeError();
  llvm::Expected<std::vector<Tensor>> outs = runVariant(*clone, be, calib.inputs);
  if (!outs)
    return makeError("calibration run: " + llvm::toString(outs.takeError()));
  const Tensor *emb = findTensor(*outs, "sentence_embedding");
  if (!emb || emb->shape.size() != 2)
    return makeError("calibration: the model has no sentence_embedding [batch, dim] output to "
                     "compare with");
  calib.dim = emb->shape[1];
  calib.reference.assign(emb->data<float>(), emb->data<float>() + emb->numElements());

  SafetensorsWriter writer;
  std::map<unsigned, std::vector<uint8_t>> grams;
  for (auto [weight, i] : *layers) {
    auto &bytes = grams[i];
    const Tensor *x = findTensor(*outs, "calibration." + std::to_string(i));
    int64_t k = x->shape.back();
    if (bytes.empty()) {
      std::vector<float> rows = realRows(*x, calib.mask, calib.batch * calib.seq);
      std::vector<double> xs(rows.begin(), rows.end());
      int64_t n = static_cast<int64_t>(rows.size()) / k;
      std::vector<double> g(k * k, 0.0);
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, n, 1.0, xs.data(), k, 0.0, g.data(),
                  k);
      std::vector<float> gf(k * k);
      for (int64_t a = 0; a < k; ++a)
        for (int64_t b = a; b < k; ++b)
          gf[a * k + b] = gf[b * k + a] = static_cast<float>(g[a * k + b]);
      bytes.resize(gf.size() * sizeof(float));
      std::memcpy(bytes.data(), gf.data(), bytes.size());
    }
    writer.addOwned(weight, DType::F32, {k, k}, bytes);
  }
  return writer.write(gramPath);
}

/// `--select-rank`: parses the request; with calibration inputs, collects the layer input Grams
/// (SVD-LLM whitening) and the reference embeddings; with min-cosine, bisects the energy ratio
/// on the calibration inputs; runs --lorc-select-rank on `module`; fills the report.
llvm::Error selectRanks(ModuleOp module, Backend &be, CompileReport *report,
                        llvm::raw_ostream &log) {
  const CompileOptions &options = be.options;
  llvm::Expected<SelectRankRequest> req = parseSelectRank(options.selectRank);
  if (!req)
    return req.takeError();
  llvm::Expected<HardwareProfile> hw = HardwareProfile::get(req->profile);
  if (!hw)
    return makeError("--select-rank=" + options.selectRank + ": " + llvm::toString(hw.takeError()));
  if (report) {
    report->profile = hw->name;
    report->dynamicSize = req->dynamicSize;
    report->before = collectLayerCosts(module, *hw, req->dynamicSize);
  }
  if (req->calibration.empty())
    req->calibration = options.calibration;
  std::string passOptions = req->passOptions;
  std::optional<Calibration> calib;
  llvm::SmallString<256> gramDir;
  TempDirGuard gramGuard;
  if (!req->calibration.empty()) {
    Stage s(log, "calibration Grams");
    auto entry = module.lookupSymbol<func::FuncOp>("forward");
    llvm::Expected<Calibration> c = readCalibration(req->calibration, entry);
    if (!c)
      return c.takeError();
    calib = std::move(*c);
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("lorc-grams", gramDir))
      return makeError("cannot create a temporary directory: " + ec.message());
    gramGuard.path = gramDir.str().str();
    llvm::SmallString<256> gramPath(gramDir);
    llvm::sys::path::append(gramPath, "grams.safetensors");
    if (llvm::Error e = collectGrams(module, be, *calib, gramPath))
      return e;
    passOptions += " calibration-gram=" + gramPath.str().str();
    s.finish();
  }

  // Measures a selection (a clone of `module` after the pass) on the calibration inputs.
  auto measure = [&](ModuleOp selected, TradeoffPoint &pt) -> llvm::Error {
    llvm::Expected<std::vector<Tensor>> outs = runVariant(selected, be, calib->inputs);
    if (!outs)
      return makeError("measuring a rank selection: " + llvm::toString(outs.takeError()));
    const Tensor *emb = findTensor(*outs, "sentence_embedding");
    std::tie(pt.cosineMean, pt.cosineMin) = rowCosines(
        ArrayRef<float>(emb->data<float>(), emb->numElements()), calib->reference, calib->dim);
    return llvm::Error::success();
  };
  auto selectedEnergy = [](ModuleOp m) {
    auto sel = m->getAttrOfType<DictionaryAttr>("lorc.rank_selection");
    auto after = sel ? sel.getAs<FloatAttr>("energy_after_mj") : FloatAttr();
    return after ? after.getValueAsDouble() : 0.0;
  };

  std::optional<TradeoffPoint> finalPoint;
  if (req->minCosine > 0) {
    // The greedy path is the same for every budget (a larger budget stops earlier on it), so the
    // selections are nested and the cosine falls with the ratio: bisect the ratio.
    Stage s(log, "min-cosine search");
    double lo = 0, hi = 1;
    TradeoffPoint best; // ratio 1: nothing reduced, cosine 1
    for (int iter = 0; iter < 7; ++iter) {
      double mid = (lo + hi) / 2;
      TradeoffPoint pt;
      pt.energyRatio = mid;
      OwningOpRef<ModuleOp> clone = module.clone();
      std::string err;
      if (failed(runSelectRank(*clone, passOptions + " table=false energy-ratio=" +
                                           llvm::formatv("{0}", mid).str(),
                                   err))) {
        std::string diag = be.diags.takeMessages();
        if (diag.find("unattainable") == std::string::npos)
          return makeError("--select-rank=" + options.selectRank + ": " + err + diag);
        pt.attainable = false;
      } else {
        pt.selectedMj = selectedEnergy(*clone);
        if (llvm::Error e = measure(*clone, pt))
          return e;
      }
      log << llvm::format("    energy-ratio %.4f: %s\n", mid,
                          pt.attainable ? llvm::formatv("cosine mean {0:F6} min {1:F6}",
                                                        pt.cosineMean, pt.cosineMin)
                                              .str()
                                              .c_str()
                                        : "unattainable");
      if (report)
        report->tradeoff.push_back(pt);
      if (pt.attainable && pt.cosineMean >= req->minCosine) {
        hi = mid;
        best = pt;
      } else {
        lo = mid;
      }
    }
    passOptions += " energy-ratio=" + llvm::formatv("{0}", hi).str();
    best.energyRatio = hi;
    finalPoint = best;
    s.finish();
  }

  Stage s(log, "select ranks");
  std::string err;
  if (failed(runSelectRank(module, passOptions, err)))
    return makeError("--select-rank=" + options.selectRank + ": " +
                     (err.empty() ? be.diags.takeMessages() : err));
  s.finish();
  if (calib && !finalPoint) {
    Stage m(log, "measure on calibration");
    OwningOpRef<ModuleOp> clone = module.clone();
    TradeoffPoint pt;
    if (llvm::Error e = measure(*clone, pt))
      return e;
    finalPoint = pt;
    m.finish();
  }
  if (finalPoint)
    log << llvm::format("  calibration cosine to the unreduced model: mean %.6f, min %.6f\n",
                        finalPoint->cosineMean, finalPoint->cosineMin);
  if (!report)
    return llvm::Error::success();
  report->after = collectLayerCosts(module, *hw, req->dynamicSize);
  if (auto sel = module->getAttrOfType<DictionaryAttr>("lorc.rank_selection")) {
    llvm::json::Object o;
    for (NamedAttribute a : sel) {
      if (auto f = dyn_cast<FloatAttr>(a.getValue()))
        o[a.getName().str()] = f.getValueAsDouble();
      else if (auto b = dyn_cast<BoolAttr>(a.getValue()))
        o[a.getName().str()] = b.getValue();
      else if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
        o[a.getName().str()] = i.getInt();
      else if (auto str = dyn_cast<StringAttr>(a.getValue()))
        o[a.getName().str()] = str.str();
    }
    double before = o.getNumber("energy_before_mj").value_or(0);
    o["energy_ratio"] = before > 0 ? o.getNumber("energy_after_mj").value_or(0) / before : 1.0;
    o["options"] = options.selectRank;
    report->selected = std::move(o);
  }
  if (calib && finalPoint)
    report->calibration = llvm::json::Object{{"file", req->calibration},
                                             {"sentences", calib->batch},
                                             {"tokens", calib->tokens},
                                             {"cosine_mean", finalPoint->cosineMean},
                                             {"cosine_min", finalPoint->cosineMin}};
  return llvm::Error::success();
}

/// Slices rows [begin, end) of every input tensor (dimension 0).
std::vector<Tensor> sliceBatch(ArrayRef<Tensor> inputs, int64_t begin, int64_t end) {
  std::vector<Tensor> out;
  for (const Tensor &t : inputs) {
    Tensor s;
    s.name = t.name;
    s.dtype = t.dtype;
    s.shape = t.shape;
    s.shape[0] = end - begin;
    size_t rowBytes = t.bytes.size() / t.shape[0];
    s.bytes.assign(t.bytes.begin() + begin * rowBytes, t.bytes.begin() + end * rowBytes);
    out.push_back(std::move(s));
  }
  return out;
}


} // namespace lorc::compile_detail

using namespace lorc::compile_detail;

namespace {
/// `--memory-budget`: chunks the matmuls whose working set exceeds the budget and records each
/// chunked layer's plan, and the largest working set, in the report.
llvm::Error chunkMatmuls(ModuleOp module, DiagnosticCollector &diags, uint64_t budget,
                         StringRef strategy, CompileReport *report, llvm::raw_ostream &log) {
  Stage stage(log, "chunk matmuls");
  PassManager pm(module.getContext());
  LorcChunkMatmulPassOptions chunkOptions;
  chunkOptions.memoryBudgetBytes = budget;
  chunkOptions.strategy = strategy.str();
  pm.addPass(createLorcChunkMatmulPass(chunkOptions));
  if (failed(pm.run(module)))
    return diags.take("chunking matmuls under --memory-budget");
  stage.finish();
  if (!report)
    return llvm::Error::success();
  int64_t chunked = 0, peak = 0;
  module.walk([&](ChunkedMatmulOp op) {
    auto record = op->getAttrOfType<DictionaryAttr>("lorc.chunk");
    if (!record)
      return;
    ++chunked;
    int64_t ws = record.getAs<IntegerAttr>("working_set").getInt();
    peak = std::max(peak, ws);
    llvm::json::Object chunk{{"strategy", op.getStrategy()},
                             {"shape", llvm::json::Array(op.getChunk())},
                             {"working_set_bytes", ws}};
    if (auto n = record.getAs<IntegerAttr>("num_chunks"))
      chunk["num_chunks"] = n.getInt();
    if (auto u = record.getAs<IntegerAttr>("unchunked"))
      chunk["unchunked_bytes"] = u.getInt();
    if (auto layer = record.getAs<StringAttr>("layer"))
      report->layerExtras[layer.str()]["chunk"] = std::move(chunk);
  });
  report->chunking = llvm::json::Object{{"memory_budget_bytes", static_cast<int64_t>(budget)},
                                        {"strategy", strategy},
                                        {"chunked_layers", chunked},
                                        {"peak_working_set_bytes", peak}};
  return llvm::Error::success();
}
} // namespace

llvm::Error lorc::compileModel(const CompileOptions &options, llvm::raw_ostream &log) {
  llvm::Expected<std::vector<CompileTarget>> compileTargets = parseCompileTargets(options.target);
  if (!compileTargets)
    return compileTargets.takeError();
  if (options.output.empty())
    return makeError("no output given (-o <artifact-dir>)");
  uint64_t memoryBudget = 0;
  if (!options.memoryBudget.empty()) {
    llvm::Expected<uint64_t> budget = parseByteSize(options.memoryBudget, "--memory-budget");
    if (!budget)
      return budget.takeError();
    memoryBudget = *budget;
  }
  if (options.precision != "f32" && options.precision != "bf16")
    return makeError("--precision=" + options.precision + ": expected f32 or bf16");
  // bf16 GEMMs on every target: oneDNN on the CPU ones, cuBLAS on bf16 operands on cuda.
  if (!parseChunkStrategy(options.chunkStrategy))
    return makeError("--chunk-strategy=" + options.chunkStrategy +
                     ": expected row, tile or adaptive");
  // An unknown --host-cpu is reported before any work, not after the lowering.
  if (auto tm = hostTargetMachine(options.hostCpu, options.optLevel); !tm)
    return tm.takeError();

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<LorcDialect>();
  // Host and kernel translation (NVVM, GPU offloading for the embedded kernels).
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.disableMultithreading(); // two cores; the passes here are module-level anyway
  DiagnosticCollector diags(context);

  if (options.adapterMode != "merge" && options.adapterMode != "unmerged")
    return makeError("--adapter-mode=" + options.adapterMode +
                     ": expected 'merge' or 'unmerged'");
  std::optional<Stage> stage;
  stage.emplace(log, "import");
  std::vector<AdapterSet> adapterSets;
  if (!options.adapters.empty()) {
    llvm::Expected<BertConfig> config = readBertConfig(options.modelDir);
    if (!config)
      return config.takeError();
    std::vector<std::string> modules = bertLinearModules(*config);
    AdapterReadOptions readOptions;
    readOptions.allowUnknownKeys = options.allowUnknownKeys;
    readOptions.allowNonFinite = options.allowNonFinite;
    for (const std::string &spec : options.adapters) {
      auto [path, multiplier] = parseAdapterSpec(spec);
      if (!std::isfinite(multiplier))
        return makeError("--adapter " + spec + ": the multiplier must be finite");
      std::vector<std::string> warnings;
      llvm::Expected<AdapterSet> set =
          readAdapter(path, multiplier, modules, readOptions, warnings);
      if (!set)
        return set.takeError();
      for (const std::string &w : warnings)
        llvm::WithColor::warning(llvm::errs(), "lorc-compile") << w << "\n";
      adapterSets.push_back(std::move(*set));
    }
  }
  llvm::Expected<ImportedModel> model =
      importHuggingFaceModel(context, options.modelDir, adapterSets);
  if (!model)
    return model.takeError();
  ModuleOp module = *model->module;
  stage->finish();
  for (const std::string &unused : model->unusedAdapterModules)
    llvm::WithColor::warning(llvm::errs(), "lorc-compile")
        << unused << ": adapter ignored (the module does not contribute to the outputs)\n";

  if (options.emit == EmitKind::MlirImport) {
    std::error_code ec;
    llvm::ToolOutputFile out(options.output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(options.output + ": cannot write: " + ec.message());
    printModule(module, out.os());
    out.keep();
    return llvm::Error::success();
  }

  if (options.adapterMode == "merge" && model->numAdapters > 0) {
    stage.emplace(log, "merge adapters");
    PassManager merge(&context);
    merge.addPass(createLorcMergeAdaptersPass());
    if (failed(merge.run(module)))
      return diags.take("merging adapters");
    stage->finish();
  }

  Backend backend{context, diags, options, *model};
  std::optional<CompileReport> report;
  if (!options.report.empty()) {
    report.emplace();
    report->model = options.modelDir;
  }
  if (!options.selectRank.empty()) {
    if (llvm::Error e = selectRanks(module, backend, report ? &*report : nullptr, log))
      return e;
  } else if (report) {
    llvm::Expected<HardwareProfile> hw = HardwareProfile::get("h100-sxm");
    if (!hw)
      return hw.takeError();
    report->profile = hw->name;
    report->before = report->after = collectLayerCosts(module, *hw, report->dynamicSize);
  }

  if (!options.assignPrecision.empty()) {
    if (llvm::Error e = assignPrecision(module, backend, report ? &*report : nullptr, log))
      return e;
    if (report) {
      llvm::Expected<HardwareProfile> hw = HardwareProfile::get(report->profile);
      if (!hw)
        return hw.takeError();
      report->after = collectLayerCosts(module, *hw, report->dynamicSize);
    }
  }

  // Unmerged LoRA: one GEMM over [x, x·Aᵀ]; remember where each B went for the manifest.
  llvm::StringMap<llvm::json::Object> fusedFactors;
  if (options.adapterMode == "unmerged" && model->numAdapters > 0) {
    stage.emplace(log, "fuse LoRA GEMMs");
    PassManager fuse(&context);
    fuse.addPass(createLorcFuseLoraGemmPass());
    if (failed(fuse.run(module)))
      return diags.take("fusing LoRA side paths");
    module.walk([&](arith::ConstantOp cst) {
      auto placements = cst->getAttrOfType<ArrayAttr>("lorc.fused_lora");
      auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue());
      if (!placements || !res)
        return;
      auto type = cast<RankedTensorType>(cst.getType());
      for (auto p : placements.getAsRange<DictionaryAttr>())
        fusedFactors[p.getAs<StringAttr>("up").getValue()] = llvm::json::Object{
            {"tensor", res.getRawHandle().getKey().str()},
            {"row", 0},
            {"column", p.getAs<IntegerAttr>("column").getInt()},
            {"rows", type.getDimSize(0)},
            {"row_stride", type.getDimSize(1)},
            {"scale", p.getAs<FloatAttr>("scale").getValueAsDouble()}};
    });
    stage->finish();
  }

  if (memoryBudget > 0) {
    if (llvm::Error e = chunkMatmuls(module, diags, memoryBudget, options.chunkStrategy,
                                     report ? &*report : nullptr, log))
      return e;
    // Chunked layers re-read operands; the fused LoRA GEMMs carry new weight names, which the
    // report's before/after pairing does not follow, so those keep the pre-fusion costs.
    if (report && fusedFactors.empty()) {
      llvm::Expected<HardwareProfile> hw = HardwareProfile::get(report->profile);
      if (!hw)
        return hw.takeError();
      report->after = collectLayerCosts(module, *hw, report->dynamicSize);
    }
  }

  // Graph fusion, last: linears with unmerged adapters are left alone (their adapters stay
  // swappable by name), chunked ones too (fusing would grow their working set), and the report
  // keeps its layers under their original names, each saying what it was fused into.
  if (options.fuse) {
    stage.emplace(log, "fuse (--lorc-fuse)");
    PassManager fuse(&context);
    fuse.addPass(createLorcFusePass());
    if (failed(fuse.run(module)))
      return diags.take("fusing");
    module.walk([&](LinearOp op) {
      auto from = op->getAttrOfType<ArrayAttr>("lorc.fused_from");
      if (!from)
        return;
      // Stacked adapters' A matrices: each is a row block of the fused weight.
      if (auto rows = op->getAttrOfType<DenseI64ArrayAttr>("lorc.fused_rows")) {
        auto cst = op.getWeight().getDefiningOp<arith::ConstantOp>();
        auto res = cst ? dyn_cast<DenseResourceElementsAttr>(cst.getValue()) : nullptr;
        auto type = cast<RankedTensorType>(op.getWeight().getType());
        if (res && rows.size() == static_cast<int64_t>(from.size()))
          for (auto [part, row] : llvm::zip(from.getAsValueRange<StringAttr>(), rows.asArrayRef()))
            fusedFactors[part] = llvm::json::Object{{"tensor", res.getRawHandle().getKey().str()},
                                                    {"row", row},
                                                    {"column", 0},
                                                    {"rows", type.getDimSize(0)},
                                                    {"row_stride", type.getDimSize(1)}};
        return; // not layers of the report
      }
      std::string name = linearLayerName(op);
      if (report)
        for (auto part : from.getAsValueRange<StringAttr>())
          report->layerExtras[part.str()]["fused_into"] = name;
    });
    stage->finish();
  }

  // Adapters re-factorised by rank selection no longer have the factors the manifest would
  // describe: such an artifact has no swappable adapter slots.
  auto selection = module->getAttrOfType<DictionaryAttr>("lorc.rank_selection");
  auto targets = selection ? selection.getAs<StringAttr>("targets") : StringAttr();
  bool adaptersResized = targets && targets.getValue() != "dense";
  llvm::json::Array adapterSlots =
      adaptersResized ? llvm::json::Array()
                      : describeAdapterSlots(adapterSets, options.adapterMode, fusedFactors);

  if (options.emit == EmitKind::Mlir) {
    if (llvm::any_of(*compileTargets,
                     [](const CompileTarget &t) { return t.kind == CompileTarget::Cuda; }))
      if (llvm::Error e =
              annotateCudaDispatch(module, options.precision, adapterTensors(adapterSlots)))
        return diags.take(llvm::toString(std::move(e)));
    std::error_code ec;
    llvm::ToolOutputFile out(options.output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(options.output + ": cannot write: " + ec.message());
    printModule(module, out.os());
    if (report)
      if (llvm::Error e = writeReport(*report, options.report))
        return e;
    out.keep();
    return llvm::Error::success();
  }

  if (llvm::Error e = lowerAndWrite(module, backend, options.output, options.optLevel,
                                    options.hostCpu, options.emit, *compileTargets,
                                    std::move(adapterSlots), log))
    return e;
  if (report)
    return writeReport(*report, options.report);
  return llvm::Error::success();
}
