//===- Compile.cpp - ahead-of-time compilation of a model -----------------===//

#include "lorc/Pipelines/Compile.h"
#include "lorc/Conversion/Passes.h"
#include "lorc/Dialect/Lorc/IR/LorcDialect.h"
#include "lorc/Import/HuggingFace.h"
#include "lorc/Pipelines/Pipelines.h"
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
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
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

#include <algorithm>
#include <chrono>
#include <cmath>

using namespace mlir;
using namespace lorc;
using llvm::Twine;

namespace {

llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Collects MLIR diagnostics so a failed pass becomes one llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error) {
            if (!messages.empty())
              messages += "; ";
            messages += d.str();
          }
          return success();
        }) {}
  llvm::Error take(const Twine &stage) {
    return makeError(stage + ": " + (messages.empty() ? "failed" : messages));
  }

private:
  std::string messages;
  ScopedDiagnosticHandler handler;
};

/// Times a stage for the progress log; only stages that finish are reported.
struct Stage {
  Stage(llvm::raw_ostream &log, const char *name) : log(log), name(name) {}
  void finish() {
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    log << llvm::format("  %-28s %8.0f ms\n", name, ms.count());
  }
  llvm::raw_ostream &log;
  const char *name;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

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

/// Emits an object file for the host CPU (position independent, for a shared library).
llvm::Error emitObject(llvm::Module &module, StringRef path, unsigned optLevel,
                       std::string &cpuName) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + triple.str() + ": " + error);
  cpuName = llvm::sys::getHostCPUName().str();
  llvm::SubtargetFeatures features;
  for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature, enabled);
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features.getString(), opts, llvm::Reloc::PIC_, std::nullopt,
      optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive : llvm::CodeGenOptLevel::Default));
  if (!tm)
    return makeError("cannot create a target machine for " + triple.str());
  module.setDataLayout(tm->createDataLayout());
  module.setTargetTriple(triple);
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
                          ArrayRef<std::string> resultNames, int64_t paramElements,
                          StringRef cpuName, bool hasVocab, bool lowerCase,
                          llvm::json::Array adapterSlots) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError(path + ": cannot write: " + ec.message());
  llvm::SmallString<256> source(options.modelDir);
  llvm::sys::fs::make_absolute(source);
  const BertConfig &c = model.config;
  llvm::json::Array inputs, outputs;
  for (auto [t, n] : llvm::zip(inputTypes, inputNames)) {
    llvm::json::Object o{{"name", n}, {"dtype", dtypeOf(t)}, {"shape", shapeOf(t)},
                         {"dims", llvm::json::Array{"batch", "seq"}}};
    // Valid value ranges, checked by the runtime before the call: [min, max).
    if (n == "input_ids")
      o["range"] = llvm::json::Array{0, c.vocabSize};
    else if (n == "attention_mask")
      o["range"] = llvm::json::Array{0, 2};
    inputs.push_back(std::move(o));
  }
  for (auto [t, n] : llvm::zip(resultTypes, resultNames))
    outputs.push_back(llvm::json::Object{{"name", n}, {"dtype", dtypeOf(t)}, {"shape", shapeOf(t)}});
  llvm::json::Object manifest{
      {"format", "lorc-artifact"},
      {"version", 1},
      {"target", options.target},
      {"cpu", cpuName},
      {"library", "forward.so"},
      {"entry", "_mlir_ciface_forward"},
      {"model",
       llvm::json::Object{{"type", "bert"},
                          {"source", source.str()},
                          {"hidden_size", c.hiddenSize},
                          {"num_hidden_layers", c.numLayers},
                          {"intermediate_size", c.intermediateSize},
                          {"vocab_size", c.vocabSize},
                          {"max_position_embeddings", c.maxPositions}}},
      {"parameters", llvm::json::Array{llvm::json::Object{
                         {"file", "weights.safetensors"}, {"dtype", "f32"},
                         {"elements", paramElements}}}},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)},
      {"limits", llvm::json::Object{{"max_seq_len", c.maxPositions}}},
  };
  if (!adapterSlots.empty())
    manifest["adapters"] = std::move(adapterSlots);
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

/// The manifest's "adapters": in unmerged mode, where each adapter's factors live in the
/// parameter buffer (the importer names them "adapter<slot>.<module>.<factor>") and the scale and
/// multiplier they were compiled with, so `lorc-run --adapter` can swap or re-weight them.
/// A LoRA `up` fused into a concatenated weight (`--lorc-fuse-lora-gemm`) is described by that
/// weight's name, its first column, the row stride and the scale folded into it.
llvm::json::Array describeAdapterSlots(ArrayRef<AdapterSet> sets, StringRef mode,
                                       const llvm::StringMap<llvm::json::Object> &fusedUps) {
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
        if (auto it = fusedUps.find(tensor); it != fusedUps.end())
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

/// Removes a directory tree on scope exit unless released.
struct TempDirGuard {
  std::string path;
  ~TempDirGuard() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};

} // namespace

llvm::Error lorc::compileModel(const CompileOptions &options, llvm::raw_ostream &log) {
  if (options.target != "cpu")
    return makeError("--target=" + options.target + ": unsupported target (supported: cpu)");
  if (options.output.empty())
    return makeError("no output given (-o <artifact-dir>)");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<LorcDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
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

  if (options.emit == EmitKind::Mlir) {
    std::error_code ec;
    llvm::ToolOutputFile out(options.output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(options.output + ": cannot write: " + ec.message());
    OpPrintingFlags flags;
    flags.elideLargeResourceString(64);
    flags.elideLargeElementsAttrs(16);
    module->print(out.os(), flags);
    out.keep();
    return llvm::Error::success();
  }

  // Record the signature the manifest describes before lowering rewrites it.
  auto entry = module.lookupSymbol<func::FuncOp>("forward");
  SmallVector<Type> inputTypes(entry.getArgumentTypes()), resultTypes(entry.getResultTypes());
  SmallVector<std::string> inputNames, resultNames;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    inputNames.push_back(entry.getArgAttrOfType<StringAttr>(i, "lorc.name").str());
  for (unsigned i = 0; i < entry.getNumResults(); ++i)
    resultNames.push_back(entry.getResultAttrOfType<StringAttr>(i, "lorc.name").str());

  if (options.adapterMode == "merge" && model->numAdapters > 0) {
    stage.emplace(log, "merge adapters");
    PassManager merge(&context);
    merge.addPass(createLorcMergeAdaptersPass());
    if (failed(merge.run(module)))
      return diags.take("merging adapters");
    stage->finish();
  }

  if (!options.selectRank.empty()) {
    stage.emplace(log, "select ranks");
    std::string opts = options.selectRank;
    std::replace(opts.begin(), opts.end(), ',', ' ');
    static bool registered = (registerLorcPasses(), true); // for the textual options below
    (void)registered;
    PassManager select(&context);
    std::string error;
    llvm::raw_string_ostream es(error);
    if (failed(parsePassPipeline("lorc-select-rank{" + opts + "}", select, es)))
      return makeError("--select-rank=" + options.selectRank + ": " + error);
    if (failed(select.run(module)))
      return diags.take("selecting ranks");
    stage->finish();
  }

  // Unmerged LoRA: one GEMM over [x, x·Aᵀ]; remember where each B went for the manifest.
  llvm::StringMap<llvm::json::Object> fusedUps;
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
      int64_t rowStride = cast<RankedTensorType>(cst.getType()).getDimSize(1);
      for (auto p : placements.getAsRange<DictionaryAttr>())
        fusedUps[p.getAs<StringAttr>("up").getValue()] = llvm::json::Object{
            {"tensor", res.getRawHandle().getKey().str()},
            {"column", p.getAs<IntegerAttr>("column").getInt()},
            {"row_stride", rowStride},
            {"scale", p.getAs<FloatAttr>("scale").getValueAsDouble()}};
    });
    stage->finish();
  }

  stage.emplace(log, "externalize weights");
  SafetensorsWriter weights(/*dataAlignment=*/64);
  weights.setMetadata("generator", "lorc-compile");
  if (failed(externalizeWeights(entry, /*minElements=*/16, weights)))
    return diags.take("externalizing weights");
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  int64_t paramElements = static_cast<int64_t>(weights.dataSize() / sizeof(float));
  stage->finish();

  stage.emplace(log, "lower to LLVM dialect");
  PassManager pm(&context);
  CpuPipelineOptions pipelineOptions;
  buildCpuPipeline(pm, pipelineOptions);
  if (failed(pm.run(module)))
    return diags.take("lowering to the LLVM dialect");
  stage->finish();

  stage.emplace(log, "translate to LLVM IR");
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return diags.take("translating to LLVM IR");
  stage->finish();

  if (options.emit == EmitKind::Llvm) {
    std::error_code ec;
    llvm::ToolOutputFile out(options.output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(options.output + ": cannot write: " + ec.message());
    llvmModule->print(out.os(), nullptr);
    out.keep();
    return llvm::Error::success();
  }

  // Everything goes into a temporary directory beside the output, renamed into place at the end.
  llvm::SmallString<256> outPath(options.output);
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

  std::string cpuName;
  {
    std::string name = "LLVM codegen (O" + std::to_string(options.optLevel) + ")";
    Stage s(log, name.c_str());
    if (llvm::Error e = emitObject(*llvmModule, inTmp("forward.o"), options.optLevel, cpuName))
      return e;
    s.finish();
  }
  {
    Stage s(log, "link forward.so");
    if (llvm::Error e = linkSharedLibrary(inTmp("forward.o"), inTmp("forward.so")))
      return e;
    llvm::sys::fs::remove(inTmp("forward.o"));
    s.finish();
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
  if (llvm::Error e = writeManifest(inTmp("manifest.json"), options, *model, inputTypes,
                                    inputNames, resultTypes, resultNames, paramElements, cpuName,
                                    hasVocab, readLowerCase(options.modelDir),
                                    describeAdapterSlots(adapterSets, options.adapterMode,
                                                         fusedUps)))
    return e;

  if (llvm::sys::fs::exists(outPath))
    if (std::error_code ec = llvm::sys::fs::remove_directories(outPath))
      return makeError(outPath + ": cannot replace the previous artifact: " + ec.message());
  if (std::error_code ec = llvm::sys::fs::rename(tmpDir, outPath))
    return makeError(outPath + ": cannot move the artifact into place: " + ec.message());
  guard.path.clear();
  return llvm::Error::success();
}
