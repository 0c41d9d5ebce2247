//===- Artifact.cpp - load and run lorc artifacts -------------------------===//

#include "lorc/Runtime/Artifact.h"
#include "CpuGemm.h"
#include "lorc/Runtime/Cuda.h"
#include "lorc/Support/Fp8.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <malloc.h>
#include <set>

using namespace lorc;
using llvm::Twine;

namespace {

llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string shapeStr(llvm::ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return out + "]";
}

/// The manifest's dtype spelling ("f32", "i64", ...) to a safetensors dtype.
std::optional<DType> parseManifestDType(llvm::StringRef s) {
  return llvm::StringSwitch<std::optional<DType>>(s)
      .Case("f32", DType::F32)
      .Case("f16", DType::F16)
      .Case("bf16", DType::BF16)
      .Case("i64", DType::I64)
      .Case("i32", DType::I32)
      .Default(std::nullopt);
}

/// The manifest's "fp8" section; every field is checked, errors name the manifest and field.
llvm::Expected<Fp8Scaling> parseFp8(const llvm::json::Object &o, llvm::StringRef manifest,
                                    llvm::ArrayRef<TensorSpec> outputs) {
  auto bad = [&](const llvm::Twine &what) {
    return makeError(manifest + ": 'fp8': " + what);
  };
  Fp8Scaling s;
  std::optional<llvm::StringRef> out = o.getString("amax_output");
  if (!out)
    return bad("missing 'amax_output'");
  s.amaxOutput = out->str();
  if (llvm::none_of(outputs, [&](const TensorSpec &t) { return t.name == s.amaxOutput; }))
    return bad("'amax_output' names '" + *out + "', which is not an output");
  if (std::optional<int64_t> n = o.getInteger("amax_history_len"))
    s.amaxHistoryLen = *n;
  if (s.amaxHistoryLen < 1)
    return bad("'amax_history_len' must be positive");
  if (std::optional<llvm::StringRef> algo = o.getString("amax_compute_algo"))
    s.amaxComputeAlgo = algo->str();
  if (s.amaxComputeAlgo != "max" && s.amaxComputeAlgo != "most_recent")
    return bad("'amax_compute_algo' must be max or most_recent");
  if (std::optional<int64_t> m = o.getInteger("margin"))
    s.margin = *m;
  const llvm::json::Array *layers = o.getArray("layers");
  if (!layers)
    return bad("missing 'layers'");
  for (const llvm::json::Value &v : *layers) {
    const llvm::json::Object *l = v.getAsObject();
    Fp8Scaling::Layer layer;
    std::optional<llvm::StringRef> name = l ? l->getString("name") : std::nullopt;
    std::optional<llvm::StringRef> format = l ? l->getString("format") : std::nullopt;
    std::optional<double> fmax = l ? l->getNumber("fp8_max") : std::nullopt;
    std::optional<double> amax = l ? l->getNumber("calibrated_amax") : std::nullopt;
    std::optional<double> scale = l ? l->getNumber("activation_scale") : std::nullopt;
    if (!name || !format || !fmax || !amax || !scale)
      return bad("each layer needs name, format, fp8_max, calibrated_amax and activation_scale");
    layer.name = name->str();
    layer.format = format->str();
    layer.fp8Max = *fmax;
    layer.calibratedAmax = *amax;
    layer.activationScale = *scale;
    if (std::optional<llvm::StringRef> t = l->getString("scale_tensor"))
      layer.scaleTensor = t->str();
    s.layers.push_back(std::move(layer));
  }
  return s;
}

llvm::Expected<TensorSpec> parseSpec(const llvm::json::Value &v, llvm::StringRef where) {
  const llvm::json::Object *o = v.getAsObject();
  if (!o)
    return makeError(where + ": expected an object");
  TensorSpec spec;
  std::optional<llvm::StringRef> name = o->getString("name");
  std::optional<llvm::StringRef> dtype = o->getString("dtype");
  const llvm::json::Array *shape = o->getArray("shape");
  if (!name || !dtype || !shape)
    return makeError(where + ": needs 'name', 'dtype' and 'shape'");
  spec.name = name->str();
  std::optional<DType> dt = parseManifestDType(*dtype);
  if (!dt)
    return makeError(where + " '" + *name + "': unsupported dtype '" + *dtype + "'");
  spec.dtype = *dt;
  for (const llvm::json::Value &d : *shape) {
    std::optional<int64_t> i = d.getAsInteger();
    if (!i || *i < -1)
      return makeError(where + " '" + *name + "': shape entries must be integers >= -1");
    spec.shape.push_back(*i);
  }
  if (const llvm::json::Array *dims = o->getArray("dims"))
    for (const llvm::json::Value &d : *dims)
      spec.dims.push_back(d.getAsString().value_or("").str());
  if (const llvm::json::Array *range = o->getArray("range")) {
    if (range->size() != 2 || !(*range)[0].getAsInteger() || !(*range)[1].getAsInteger())
      return makeError(where + " '" + *name + "': 'range' must be [lo, hi)");
    spec.range = {*(*range)[0].getAsInteger(), *(*range)[1].getAsInteger()};
  }
  return spec;
}

/// The most arguments callEntry passes (pointers: results, parameter buffers, inputs).
constexpr size_t kMaxEntryArguments = 8;

/// Calls the C-interface entry point with `args` (all pointers: results first).
void callEntry(void *fn, llvm::ArrayRef<void *> a) {
  using P = void *;
  switch (a.size()) {
  case 2: return reinterpret_cast<void (*)(P, P)>(fn)(a[0], a[1]);
  case 3: return reinterpret_cast<void (*)(P, P, P)>(fn)(a[0], a[1], a[2]);
  case 4: return reinterpret_cast<void (*)(P, P, P, P)>(fn)(a[0], a[1], a[2], a[3]);
  case 5: return reinterpret_cast<void (*)(P, P, P, P, P)>(fn)(a[0], a[1], a[2], a[3], a[4]);
  case 6:
    return reinterpret_cast<void (*)(P, P, P, P, P, P)>(fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P)>(fn)(a[0], a[1], a[2], a[3], a[4],
                                                               a[5], a[6]);
  case 8:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P)>(fn)(a[0], a[1], a[2], a[3], a[4],
                                                                  a[5], a[6], a[7]);
  default: llvm_unreachable("arity checked at load time");
  }
}

/// A strided memref descriptor (MLIR's C interface) as words: allocated, aligned, offset,
/// sizes[rank], strides[rank].
std::vector<int64_t> descriptor(const void *data, llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> d{reinterpret_cast<int64_t>(data), reinterpret_cast<int64_t>(data), 0};
  d.insert(d.end(), shape.begin(), shape.end());
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  d.insert(d.end(), strides.begin(), strides.end());
  return d;
}

/// One result descriptor as the callee filled it.
struct ResultView {
  void *allocated;
  const uint8_t *aligned;
  int64_t offset;
  std::vector<int64_t> shape, strides;
  /// Elements from the first to the last one the view covers (0 if empty).
  int64_t span() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    if (n == 0)
      return 0;
    int64_t last = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      last += (shape[d] - 1) * strides[d];
    return last + 1;
  }
};

/// Calls `entry` with the parameter buffers (from `params`, laid out as `layout`) and the
/// inputs (data pointers, host or device) as descriptors and returns the result descriptors,
/// in `outputs` order.
std::vector<ResultView> invoke(void *entry, const uint8_t *params, const ParameterLayout &layout,
                               llvm::ArrayRef<const Tensor *> inputs,
                               llvm::ArrayRef<const void *> inputData,
                               llvm::ArrayRef<TensorSpec> outputs) {
  size_t resultWords = 0;
  for (const TensorSpec &s : outputs)
    resultWords += 3 + 2 * s.shape.size();
  std::vector<int64_t> results(resultWords, 0);
  std::vector<std::vector<int64_t>> descs;
  for (unsigned buffer = 0; buffer < kNumParameterBuffers; ++buffer)
    if (layout.elements[buffer] >= 0)
      descs.push_back(descriptor(params + layout.offset[buffer], {layout.elements[buffer]}));
  for (auto [t, data] : llvm::zip(inputs, inputData))
    descs.push_back(descriptor(data, t->shape));
  std::vector<void *> args{results.data()};
  for (auto &d : descs)
    args.push_back(d.data());
  callEntry(entry, args);

  std::vector<ResultView> views;
  size_t w = 0;
  for (const TensorSpec &s : outputs) {
    size_t r = s.shape.size();
    views.push_back({reinterpret_cast<void *>(results[w]),
                     reinterpret_cast<const uint8_t *>(results[w + 1]), results[w + 2],
                     std::vector<int64_t>(results.begin() + w + 3, results.begin() + w + 3 + r),
                     std::vector<int64_t>(results.begin() + w + 3 + r,
                                          results.begin() + w + 3 + 2 * r)});
    w += 3 + 2 * r;
  }
  return views;
}

/// Copies the (possibly strided) elements of `view`, the first at `first`, into a new tensor.
Tensor gather(const TensorSpec &spec, const ResultView &view, const uint8_t *first) {
  size_t esize = dtypeBits(spec.dtype) / 8, r = view.shape.size();
  int64_t n = 1;
  for (int64_t d : view.shape)
    n *= d;
  // Rows: the innermost dimension is copied with one memcpy when it is contiguous (every
  // compiled output so far), element by element otherwise; a fully row-major view is one copy.
  // (Element by element throughout took 7 ms for MiniLM's [32, 128, 384] last_hidden_state.)
  int64_t inner = r ? view.shape[r - 1] : 1;
  bool innerContiguous = r == 0 || view.strides[r - 1] == 1 || inner == 1;
  bool rowMajor = innerContiguous;
  for (int64_t d = static_cast<int64_t>(r) - 2, expect = inner; rowMajor && d >= 0; --d) {
    rowMajor = view.shape[d] == 1 || view.strides[d] == expect;
    expect *= view.shape[d];
  }
  if (rowMajor || n == 0) { // one copy, without zeroing the tensor first
    Tensor t;
    t.name = spec.name;
    t.dtype = spec.dtype;
    t.shape = view.shape;
    t.bytes.assign(first, first + static_cast<size_t>(n) * esize);
    return t;
  }
  Tensor t = Tensor::zeros(spec.name, spec.dtype, view.shape);
  std::vector<int64_t> idx(r, 0);
  int64_t rowLen = innerContiguous ? inner : 1;
  for (int64_t i = 0; i < n; i += rowLen) {
    int64_t src = 0;
    for (size_t d = 0; d < r; ++d)
      src += idx[d] * view.strides[d];
    std::memcpy(t.bytes.data() + i * esize, first + src * esize, rowLen * esize);
    for (int d = static_cast<int>(r) - (innerContiguous ? 2 : 1); d >= 0; --d) {
      if (++idx[d] < view.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return t;
}

} // namespace

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Tensor Tensor::zeros(llvm::StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape) {
  Tensor t;
  t.name = name.str();
  t.dtype = dtype;
  t.shape.assign(shape.begin(), shape.end());
  t.bytes.assign(static_cast<size_t>(t.numElements()) * dtypeBits(dtype) / 8, 0);
  return t;
}

Artifact::~Artifact() {
  clearPackedWeights(); // packed copies of parameters about to be unmapped
  if (library)
    dlclose(library);
  if (deviceParams) {
    cuda::release(deviceParams);
    llvm::consumeError(cuda::synchronize());
  }
}

/// A library's host code was compiled for the manifest's `cpu` with the subtarget features
/// `cpu_features` (lorc-compile --host-cpu). Refuses it when the running CPU reports one of those
/// features absent (llvm::sys::getHostCPUFeatures), rather than letting it die of SIGILL.
/// Features the host detection does not report (tuning flags) are not checked.
static llvm::Error checkHostCpu(const llvm::json::Object &entry, const std::string &what) {
  const llvm::json::Array *features = entry.getArray("cpu_features");
  if (!features)
    return llvm::Error::success();
  llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
  std::string missing;
  unsigned numMissing = 0;
  for (const llvm::json::Value &v : *features) {
    std::optional<llvm::StringRef> f = v.getAsString();
    if (!f)
      continue;
    auto it = host.find(*f);
    if (it == host.end() || it->second)
      continue;
    missing += (numMissing++ ? ", " : "") + f->str();
  }
  if (!numMissing)
    return llvm::Error::success();
  std::string cpu = entry.getString("cpu").value_or("?").str();
  return makeError(what + ": host code compiled for CPU '" + cpu + "' uses " + missing +
                   ", which this CPU ('" +
                   llvm::sys::getHostCPUName().str() +
                   "') lacks; recompile with lorc-compile --host-cpu=host on this machine, or "
                   "a CPU both have (e.g. --host-cpu=x86-64-v3)");
}

llvm::Expected<std::unique_ptr<Artifact>> Artifact::load(llvm::StringRef dirPath,
                                                         Device device) {
  std::unique_ptr<Artifact> a(new Artifact());
  a->dir = dirPath.str();
  // Compiled code allocates its activations with malloc on every run. glibc serves large blocks
  // with mmap and unmaps them on free, so each run would fault in fresh zeroed pages (~10% of a
  // MiniLM run); keeping them in the heap lets the next run reuse them.
  static bool tuned = (mallopt(M_MMAP_THRESHOLD, 1 << 30), mallopt(M_TRIM_THRESHOLD, 1 << 30),
                       true);
  (void)tuned;
  auto path = [&](llvm::StringRef name) {
    llvm::SmallString<256> p(dirPath);
    llvm::sys::path::append(p, name);
    return p.str().str();
  };
  if (!llvm::sys::fs::is_directory(dirPath))
    return makeError(dirPath + ": not an artifact directory (does not exist or is not a "
                               "directory)");
  std::string manifestPath = path("manifest.json");
  auto buf = llvm::MemoryBuffer::getFile(manifestPath, /*IsText=*/true);
  if (!buf)
    return makeError(manifestPath + ": cannot open: " + buf.getError().message());
  llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buf)->getBuffer());
  if (!json)
    return makeError(manifestPath + ": invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *m = json->getAsObject();
  if (!m || m->getString("format") != "lorc-artifact")
    return makeError(manifestPath + ": not a lorc artifact manifest (format != lorc-artifact)");
  if (m->getInteger("version") != 1)
    return makeError(manifestPath + ": unsupported manifest version (this runtime reads 1)");
  // The libraries: "libraries" (primary first), or the single top-level target/library.
  struct Library {
    std::string target, file;
    const llvm::json::Object *entry = nullptr;
  };
  std::vector<Library> libraries;
  if (const llvm::json::Array *libs = m->getArray("libraries")) {
    for (const llvm::json::Value &v : *libs) {
      const llvm::json::Object *o = v.getAsObject();
      std::optional<llvm::StringRef> target = o ? o->getString("target") : std::nullopt;
      std::optional<llvm::StringRef> file = o ? o->getString("library") : std::nullopt;
      if (!target || !file)
        return makeError(manifestPath + ": 'libraries' entries need 'target' and 'library'");
      libraries.push_back({target->str(), file->str(), o});
    }
  } else if (auto target = m->getString("target")) {
    libraries.push_back({target->str(), m->getString("library").value_or("").str()});
  }
  auto isCpu = [](const Library &l) { return l.target == "cpu" || l.target == "cuda-loops-cpu"; };
  const Library *cpuLib = nullptr, *cudaLib = nullptr;
  for (const Library &l : libraries) {
    if (isCpu(l) && !cpuLib)
      cpuLib = &l;
    else if (l.target == "cuda" && !cudaLib)
      cudaLib = &l;
  }
  std::string compiledFor;
  for (const Library &l : libraries)
    compiledFor += (compiledFor.empty() ? "" : ", ") + l.target;
  const Library *chosen = nullptr;
  if (device == Device::Cpu) {
    if (!cpuLib)
      return makeError(manifestPath + ": no CPU library (compiled for " + compiledFor +
                       "); compile with --target=...,cpu for a CPU fallback");
    chosen = cpuLib;
  } else if (device == Device::Cuda || (cudaLib && !cpuLib)) {
    if (!cudaLib)
      return makeError(manifestPath + ": no CUDA library (compiled for " + compiledFor +
                       "); compile with --target=cuda:sm_90");
    if (llvm::Error e = cuda::initialize())
      return makeError(manifestPath + ": compiled for CUDA but " + llvm::toString(std::move(e)));
    chosen = cudaLib;
  } else if (cudaLib) {
    if (llvm::Error e = cuda::initialize()) {
      a->fallback = llvm::toString(std::move(e));
      chosen = cpuLib;
    } else {
      chosen = cudaLib;
    }
  } else {
    chosen = cpuLib;
  }
  if (!chosen)
    return makeError(manifestPath + ": no library this runtime can run (compiled for " +
                     (compiledFor.empty() ? std::string("nothing") : compiledFor) + ")");
  if (chosen->entry)
    if (llvm::Error e = checkHostCpu(*chosen->entry, manifestPath + ": " + chosen->file))
      return e;
  a->libraryTarget = chosen->target;
  a->onCuda = chosen->target == "cuda";
  for (auto [key, specs] : {std::pair<const char *, std::vector<TensorSpec> *>{"inputs",
                                                                               &a->inputSpecs},
                            {"outputs", &a->outputSpecs}}) {
    const llvm::json::Array *arr = m->getArray(key);
    if (!arr)
      return makeError(manifestPath + ": missing '" + key + "'");
    for (const llvm::json::Value &v : *arr) {
      llvm::Expected<TensorSpec> spec = parseSpec(v, manifestPath + ": " + key);
      if (!spec)
        return spec.takeError();
      specs->push_back(std::move(*spec));
    }
  }
  if (auto *limits = m->getObject("limits"))
    a->maxSeqLen = limits->getInteger("max_seq_len").value_or(-1);
  if (auto *model = m->getObject("model")) {
    double h = model->getInteger("hidden_size").value_or(0);
    double l = model->getInteger("num_hidden_layers").value_or(0);
    double i = 4 * h; // BERT's intermediate size; refined when the manifest states it
    if (auto inter = model->getInteger("intermediate_size"))
      i = static_cast<double>(*inter);
    // Per token: Q, K, V, output projections (4·H²) and the FFN (2·H·I), 2 FLOPs per MAC.
    a->flopsPerToken = 2.0 * l * (4 * h * h + 2 * h * i);
    // Per (query, key) pair: QKᵀ and P·V, H MACs each.
    a->flopsPerTokenPair = 2.0 * l * 2 * h;
  }

  // Parameters: the data section of weights.safetensors, as one f32 buffer from its start and
  // then, where the artifact has them, a bf16 buffer, an FP8 E4M3 buffer and an FP8 E5M2
  // buffer, in that order (docs/Artifact.md, lorc::ParameterBuffer).
  static_assert(kNumParameterBuffers == 4, "the message below counts the buffers");
  const llvm::json::Array *params = m->getArray("parameters");
  if (!params || params->empty() || params->size() > kNumParameterBuffers)
    return makeError(manifestPath + ": expected one to four entries in 'parameters'");
  std::optional<llvm::StringRef> file;
  uint64_t previousEnd = 0; // bytes: where the previous buffer ends
  unsigned previousBuffer = 0;
  for (auto [i, v] : llvm::enumerate(*params)) {
    const llvm::json::Object *p = v.getAsObject();
    std::string where = manifestPath + ": parameters[" + std::to_string(i) + "]";
    std::optional<llvm::StringRef> f = p ? p->getString("file") : std::nullopt;
    std::optional<int64_t> elements = p ? p->getInteger("elements") : std::nullopt;
    std::optional<llvm::StringRef> dtype = p ? p->getString("dtype") : std::nullopt;
    // f32 first; then the others, each at most once, in ParameterBuffer order.
    unsigned buffer = kNumParameterBuffers;
    for (unsigned b = 0; dtype && b < kNumParameterBuffers; ++b)
      if (*dtype == kParameterBufferDTypes[b])
        buffer = b;
    bool ok = i == 0 ? buffer == 0 : buffer < kNumParameterBuffers && buffer > previousBuffer;
    if (!f || !elements || *elements < 0 || !ok) {
      // The dtypes allowed here: "f32", "bf16, f8e4m3 or f8e5m2", ...
      unsigned first = i == 0 ? 0 : previousBuffer + 1, end = i == 0 ? 1 : kNumParameterBuffers;
      std::string allowed;
      for (unsigned b = first; b < end; ++b)
        allowed += std::string(b == first ? "" : b + 1 == end ? " or " : ", ") +
                   kParameterBufferDTypes[b];
      if (allowed.empty())
        allowed = "(none: f32, bf16, f8e4m3 and f8e5m2 come at most once each, in that order)";
      return makeError(where + " needs 'file', 'elements' and dtype " + allowed);
    }
    previousBuffer = buffer;
    if (i == 0) {
      file = f;
      a->paramLayout.elements[0] = *elements;
      previousEnd = static_cast<uint64_t>(*elements) * 4;
      continue;
    }
    std::optional<int64_t> offset = p->getInteger("offset");
    if (*f != *file || !offset || *offset < 0 || static_cast<uint64_t>(*offset) < previousEnd ||
        *offset % 4 != 0)
      return makeError(where + " needs the f32 buffer's 'file' and a 4-byte aligned 'offset' "
                               "at or after the previous buffer's end");
    a->paramLayout.offset[buffer] = static_cast<uint64_t>(*offset);
    a->paramLayout.elements[buffer] = *elements;
    previousEnd = static_cast<uint64_t>(*offset) +
                  static_cast<uint64_t>(*elements) * kParameterBufferWidths[buffer];
  }
  llvm::Expected<std::unique_ptr<SafetensorsFile>> w = SafetensorsFile::open(path(*file));
  if (!w)
    return w.takeError();
  a->weights = std::move(*w);
  a->weightsPath = path(*file);
  const ParameterLayout &layout = a->paramLayout;
  uint64_t expected = previousEnd; // the last buffer ends at the data section's end
  if (a->weights->dataSize() != expected)
    return makeError(path(*file) + ": holds " + Twine(a->weights->dataSize()) +
                     " bytes of parameters, the manifest expects " + Twine(expected));
  if (reinterpret_cast<uintptr_t>(a->weights->dataBegin()) % alignof(float) != 0)
    return makeError(path(*file) + ": parameter data is not 4-byte aligned");

  // The entry point's arguments: the results' pointer, the parameter buffers and the inputs.
  if (1 + layout.count() + a->inputSpecs.size() > kMaxEntryArguments)
    return makeError(manifestPath + ": too many inputs for this runtime's entry-point ABI");
  std::optional<llvm::StringRef> entry = m->getString("entry");
  if (chosen->file.empty() || !entry)
    return makeError(manifestPath + ": missing 'library' or 'entry'");
  if (a->onCuda) {
    // One upload of the parameters per load.
    llvm::Expected<void *> params = cuda::allocate(a->weights->dataSize(), "parameters");
    if (!params)
      return params.takeError();
    a->deviceParams = *params;
    if (llvm::Error e = cuda::copyToDevice(a->deviceParams, a->params(),
                                           a->weights->dataSize(), "parameters upload"))
      return std::move(e);
    if (llvm::Error e = cuda::synchronize())
      return std::move(e);
  }
  std::string libPath = path(chosen->file);
  a->library = dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->library)
    return makeError(Twine("cannot load the artifact library: ") + dlerror());
  a->entry = dlsym(a->library, entry->str().c_str());
  if (!a->entry)
    return makeError(libPath + ": missing entry point '" + *entry + "'");
  // The entry takes one descriptor per parameter buffer and per input: the manifest must
  // describe those the library was compiled for, or arguments would be misplaced.
  if (auto *compiled = static_cast<const char *>(dlsym(a->library, kEntrySignatureSymbol))) {
    std::string described =
        entrySignature(a->paramLayout, a->inputSpecs.size());
    if (described != compiled)
      return makeError(manifestPath + ": its 'parameters' and 'inputs' describe an entry point "
                       "taking " + described + ", but " + libPath + " was compiled for " +
                       compiled);
  }
  if (a->onCuda) // the library's constructors loaded its kernel modules
    if (llvm::Error e = cuda::synchronize())
      return makeError(libPath + ": loading the kernels: " + llvm::toString(std::move(e)));

  if (const llvm::json::Object *f = m->getObject("fp8")) {
    llvm::Expected<Fp8Scaling> parsed = parseFp8(*f, manifestPath, a->outputSpecs);
    if (!parsed)
      return parsed.takeError();
    a->fp8 = std::move(*parsed);
  }

  if (const llvm::json::Array *adapters = m->getArray("adapters")) {
    for (const llvm::json::Value &v : *adapters) {
      const llvm::json::Object *o = v.getAsObject();
      const llvm::json::Array *modules = o ? o->getArray("modules") : nullptr;
      if (!modules)
        return makeError(manifestPath + ": 'adapters' entries need 'modules'");
      AdapterSlot slot;
      slot.source = o->getString("source").value_or("").str();
      slot.multiplier = o->getNumber("multiplier").value_or(1.0);
      for (const llvm::json::Value &mv : *modules) {
        const llvm::json::Object *mo = mv.getAsObject();
        const llvm::json::Object *factors = mo ? mo->getObject("factors") : nullptr;
        if (!factors || !mo->getString("module") || !mo->getString("algo"))
          return makeError(manifestPath + ": adapter modules need 'module', 'algo', 'factors'");
        AdapterSlot::Module sm;
        sm.module = mo->getString("module")->str();
        sm.algo = mo->getString("algo")->str();
        sm.scale = mo->getNumber("scale").value_or(1.0);
        for (const auto &[name, fv] : *factors) {
          const llvm::json::Object *fo = fv.getAsObject();
          const llvm::json::Array *shape = fo ? fo->getArray("shape") : nullptr;
          if (!shape || !fo->getString("tensor"))
            return makeError(manifestPath + ": adapter factor '" + name.str() +
                             "' needs 'tensor' and 'shape'");
          AdapterSlot::Module::Factor f;
          f.tensor = fo->getString("tensor")->str();
          for (const llvm::json::Value &d : *shape)
            f.shape.push_back(d.getAsInteger().value_or(-1));
          f.column = fo->getInteger("column").value_or(-1);
          f.row = fo->getInteger("row").value_or(0);
          f.rowStride = fo->getInteger("row_stride").value_or(0);
          f.foldedScale = fo->getNumber("scale");
          if (f.column >= 0) {
            f.rows = fo->getInteger("rows").value_or(f.shape.empty() ? 0 : f.shape[0]);
            if (f.shape.size() != 2 || f.row < 0 || f.column + f.shape[1] > f.rowStride ||
                f.row + f.shape[0] > f.rows)
              return makeError(manifestPath + ": fused adapter factor '" + name.str() +
                               "' does not fit its fused weight");
          }
          sm.factors[name.str()] = std::move(f);
        }
        slot.modules.push_back(std::move(sm));
      }
      a->slots.push_back(std::move(slot));
    }
  }

  if (const llvm::json::Object *t = m->getObject("tokenizer")) {
    std::optional<llvm::StringRef> vocab = t->getString("vocab");
    if (t->getString("type") != "wordpiece" || !vocab)
      return makeError(manifestPath + ": unsupported tokenizer (expected type wordpiece + vocab)");
    llvm::Expected<WordPieceTokenizer> tk =
        WordPieceTokenizer::load(path(*vocab), t->getBoolean("lower_case").value_or(true));
    if (!tk)
      return tk.takeError();
    a->tok = std::make_unique<WordPieceTokenizer>(std::move(*tk));
  }
  return std::move(a);
}

uint8_t *Artifact::params() const {
  return privateWeights
             ? reinterpret_cast<uint8_t *>(privateMapping->data()) + weights->dataFileOffset()
             : const_cast<uint8_t *>(weights->dataBegin());
}

llvm::Error Artifact::makeParametersWritable() {
  if (privateWeights)
    return llvm::Error::success();
  int fd;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(weightsPath, fd))
    return makeError(weightsPath + ": cannot open: " + ec.message());
  // Offsets of mapped regions must be page-aligned: map from 0 and skip the header.
  std::error_code ec;
  uint64_t total = weights->dataFileOffset() + weights->dataSize();
  auto region = std::make_unique<llvm::sys::fs::mapped_file_region>(
      llvm::sys::fs::convertFDToNativeFile(fd), llvm::sys::fs::mapped_file_region::priv, total, 0,
      ec);
  llvm::sys::fs::file_t native = llvm::sys::fs::convertFDToNativeFile(fd);
  llvm::sys::fs::closeFile(native);
  if (ec)
    return makeError(weightsPath + ": cannot map privately: " + ec.message());
  privateMapping = std::move(region);
  privateWeights = true;
  return llvm::Error::success();
}

llvm::Error Artifact::setFp8Scales(llvm::ArrayRef<double> scales) {
  if (!fp8)
    return makeError(dir + ": has no FP8 layers (compile it with --assign-precision)");
  if (scales.size() != fp8->layers.size())
    return makeError("fp8 scales: " + Twine(scales.size()) + " given, the artifact has " +
                     Twine(fp8->layers.size()) + " FP8 layers");
  // Check everything before writing anything.
  std::vector<const TensorInfo *> slotsOf;
  for (auto [layer, scale] : llvm::zip(fp8->layers, scales)) {
    if (!isUsableFp8Scale(scale))
      return makeError("fp8 scales: layer '" + layer.name + "': scale " +
                       llvm::formatv("{0}", scale) + " is not a positive finite f32");
    if (layer.scaleTensor.empty())
      return makeError(dir + ": layer '" + layer.name + "' has no run-time scale ('scale_tensor'; "
                       "an artifact compiled before FP8 scales were parameters: recompile it)");
    const TensorInfo *info = weights->find(layer.scaleTensor);
    if (!info || info->dtype != DType::F32 || info->numBytes() != sizeof(float))
      return makeError(weightsPath + ": no f32 scalar '" + layer.scaleTensor +
                       "', the run-time scale of layer '" + layer.name + "'");
    slotsOf.push_back(info);
  }
  if (llvm::Error e = makeParametersWritable())
    return e;
  for (auto [i, info] : llvm::enumerate(slotsOf)) {
    float value = static_cast<float>(scales[i]);
    std::memcpy(params() + info->begin, &value, sizeof(float));
    fp8->layers[i].activationScale = value;
    if (onCuda) // one f32 each into the device copy of the parameters
      if (llvm::Error e =
              cuda::copyToDevice(static_cast<uint8_t *>(deviceParams) + info->begin, &value,
                                 sizeof(float), "FP8 scale update"))
        return e;
  }
  return llvm::Error::success();
}

llvm::Error Artifact::swapAdapter(unsigned slotIndex, llvm::StringRef path, double multiplier,
                                  const AdapterReadOptions &options) {
  if (slotIndex >= slots.size())
    return makeError(path + ": the artifact has " + Twine(slots.size()) +
                     " unmerged adapter slot(s); compile with --adapter-mode=unmerged to swap "
                     "adapters at run time");
  AdapterSlot &slot = slots[slotIndex];
  std::vector<std::string> modules;
  for (const AdapterSlot::Module &m : slot.modules)
    modules.push_back(m.module);
  // PEFT adapters may also carry the pooler, which the compiled outputs do not use.
  modules.push_back("pooler.dense");
  std::vector<std::string> warnings;
  llvm::Expected<AdapterSet> set = readAdapter(path, multiplier, modules, options, warnings);
  if (!set)
    return set.takeError();
  // Check everything before writing anything.
  struct Write {
    const TensorInfo *info;
    const AdapterTensor *data;
    float factor;
    const AdapterSlot::Module::Factor *placement;
  };
  std::vector<Write> writes;
  for (const AdapterSlot::Module &sm : slot.modules) {
    auto it = llvm::find_if(set->modules,
                            [&](const ModuleAdapter &a) { return a.module == sm.module; });
    if (it == set->modules.end())
      return makeError(path + ": has no adapter for '" + sm.module + "', which slot " +
                       Twine(slotIndex) + " (" + slot.source + ") adapts");
    llvm::StringRef algo = adapterAlgoKey(it->algo);
    if (sm.algo != algo)
      return makeError(path + ": '" + sm.module + "' is " + algo + ", the artifact compiled " +
                       sm.algo);
    if (it->factors.size() != sm.factors.size())
      return makeError(path + ": '" + sm.module + "' has a different set of factors than the "
                                                  "compiled adapter");
    bool dora = sm.factors.count("magnitude") || sm.factors.count("dora_scale");
    double compiled = slot.multiplier * sm.scale, wanted = multiplier * it->scale;
    if (compiled == 0 || (dora && wanted != compiled))
      return makeError(path + ": '" + sm.module + "' cannot be re-weighted from " +
                       llvm::formatv("{0}", compiled) + " to " + llvm::formatv("{0}", wanted) +
                       (dora ? " (DoRA is not linear in ΔW)" : "") + "; recompile instead");
    // ΔW is linear in this factor, so it carries the new scale·multiplier.
    std::string linear = sm.algo == "lora" ? "up"
                         : sm.algo == "loha" ? "w1a"
                                             : (sm.factors.count("w1") ? "w1" : "w1a");
    for (const auto &[name, compiledFactor] : sm.factors) {
      auto f = it->factors.find(name);
      if (f == it->factors.end() || f->second.shape != compiledFactor.shape)
        return makeError(path + ": '" + sm.module + "' factor '" + name +
                         "' does not have the compiled shape");
      const TensorInfo *info = weights->find(compiledFactor.tensor);
      bool fused = compiledFactor.column >= 0;
      uint64_t expectedBytes =
          fused ? static_cast<uint64_t>(compiledFactor.rows * compiledFactor.rowStride) * 4
                : f->second.data.size() * sizeof(float);
      if (!info || info->numBytes() != expectedBytes)
        return makeError(weightsPath + ": no parameter '" + compiledFactor.tensor +
                         "' of the expected size (shared with another equal tensor?)");
      // A fused `up` holds m·s·B; an unfused linear factor is scaled by the code.
      float factor = compiledFactor.foldedScale ? float(wanted)
                     : name == linear           ? float(wanted / compiled)
                                                : 1.0f;
      writes.push_back({info, &f->second, factor, &compiledFactor});
    }
  }
  if (llvm::Error e = makeParametersWritable())
    return e;
  for (const Write &w : writes) {
    float *dst = reinterpret_cast<float *>(params() + w.info->begin);
    if (w.placement->column >= 0) {
      int64_t rows = w.placement->shape[0], cols = w.placement->shape[1];
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          dst[(w.placement->row + i) * w.placement->rowStride + w.placement->column + j] =
              w.data->data[i * cols + j] * w.factor;
      continue;
    }
    for (size_t i = 0; i < w.data->data.size(); ++i)
      dst[i] = w.data->data[i] * w.factor;
  }
  clearPackedWeights(); // the CPU GEMMs' packed copies of the old factors
  slot.source = path.str();
  slot.multiplier = multiplier;
  for (AdapterSlot::Module &sm : slot.modules)
    for (const ModuleAdapter &a : set->modules)
      if (a.module == sm.module)
        sm.scale = a.scale;
  if (onCuda) // the device copy follows the host parameters
    if (llvm::Error e = cuda::copyToDevice(deviceParams, params(), weights->dataSize(),
                                           "parameters upload after the adapter swap"))
      return e;
  return llvm::Error::success();
}

double Artifact::flops(int64_t batch, int64_t seq) const {
  double tokens = static_cast<double>(batch) * static_cast<double>(seq);
  return tokens * flopsPerToken + tokens * static_cast<double>(seq) * flopsPerTokenPair;
}

llvm::Error Artifact::checkInputs(llvm::ArrayRef<const Tensor *> ordered) const {
  llvm::StringMap<std::pair<int64_t, std::string>> dimSizes; // symbol -> (size, first input)
  for (auto [spec, t] : llvm::zip(inputSpecs, ordered)) {
    const std::string &n = spec.name;
    if (t->dtype != spec.dtype)
      return makeError("input '" + n + "': expected dtype " + dtypeName(spec.dtype) + ", got " +
                       dtypeName(t->dtype));
    if (t->shape.size() != spec.shape.size())
      return makeError("input '" + n + "': expected rank " + Twine(spec.shape.size()) + " " +
                       shapeStr(spec.shape) + ", got shape " + shapeStr(t->shape));
    if (t->bytes.size() != static_cast<size_t>(t->numElements()) * dtypeBits(t->dtype) / 8)
      return makeError("input '" + n + "': holds " + Twine(t->bytes.size()) +
                       " bytes, its shape needs " +
                       Twine(t->numElements() * dtypeBits(t->dtype) / 8));
    for (size_t i = 0; i < spec.shape.size(); ++i) {
      if (t->shape[i] <= 0)
        return makeError("input '" + n + "': dimension " + Twine(i) + " is empty (shape " +
                         shapeStr(t->shape) + ")");
      if (spec.shape[i] >= 0 && spec.shape[i] != t->shape[i])
        return makeError("input '" + n + "': expected shape " + shapeStr(spec.shape) +
                         ", got " + shapeStr(t->shape));
      if (i < spec.dims.size() && !spec.dims[i].empty()) {
        auto [it, inserted] = dimSizes.try_emplace(spec.dims[i], t->shape[i], n);
        if (!inserted && it->second.first != t->shape[i])
          return makeError("input '" + n + "': dimension " + Twine(i) + " (" + spec.dims[i] +
                           ") is " + Twine(t->shape[i]) + " but input '" + it->second.second +
                           "' has " + Twine(it->second.first));
      }
    }
    if (spec.range && t->dtype == DType::I64) {
      const int64_t *v = t->data<int64_t>();
      for (int64_t i = 0, e = t->numElements(); i < e; ++i)
        if (v[i] < spec.range->first || v[i] >= spec.range->second)
          return makeError("input '" + n + "': value " + Twine(v[i]) + " at flat index " +
                           Twine(i) + " is outside [" + Twine(spec.range->first) + ", " +
                           Twine(spec.range->second) + ")");
    }
  }
  auto seq = dimSizes.find("seq");
  if (maxSeqLen > 0 && seq != dimSizes.end() && seq->second.first > maxSeqLen)
    return makeError("input '" + seq->second.second + "': sequence length " +
                     Twine(seq->second.first) + " exceeds the model's maximum " +
                     Twine(maxSeqLen));
  return llvm::Error::success();
}

llvm::Expected<std::vector<Tensor>> Artifact::run(llvm::ArrayRef<Tensor> inputs) const {
  std::vector<const Tensor *> ordered;
  for (const TensorSpec &spec : inputSpecs) {
    auto it = llvm::find_if(inputs, [&](const Tensor &t) { return t.name == spec.name; });
    if (it == inputs.end())
      return makeError("missing input '" + spec.name + "'");
    ordered.push_back(&*it);
  }
  for (const Tensor &t : inputs)
    if (llvm::none_of(inputSpecs, [&](const TensorSpec &s) { return s.name == t.name; }))
      return makeError("unknown input '" + t.name + "' (the artifact takes " +
                       Twine(inputSpecs.size()) + " inputs)");
  if (llvm::Error e = checkInputs(ordered))
    return std::move(e);
  if (onCuda)
    return runCuda(ordered);

  std::vector<const void *> data;
  for (const Tensor *t : ordered)
    data.push_back(t->bytes.data());
  std::vector<ResultView> views =
      invoke(entry, params(), paramLayout, ordered, data,
             outputSpecs);

  // Copy the results out (they may be strided) and free the buffers the callee allocated.
  std::vector<Tensor> outs;
  std::set<void *> toFree;
  for (auto [spec, view] : llvm::zip(outputSpecs, views)) {
    outs.push_back(gather(spec, view, view.aligned + view.offset * dtypeBits(spec.dtype) / 8));
    auto *lo = params();
    auto *p = static_cast<const uint8_t *>(view.allocated);
    bool isParam = p >= lo && p < lo + weights->dataSize();
    bool isInput = llvm::any_of(ordered, [&](const Tensor *in) {
      return p >= in->bytes.data() && p < in->bytes.data() + in->bytes.size();
    });
    if (view.allocated && !isParam && !isInput)
      toFree.insert(view.allocated);
  }
  for (void *p : toFree)
    std::free(p);
  return outs;
}

llvm::Expected<std::vector<Tensor>> Artifact::runCuda(llvm::ArrayRef<const Tensor *> ordered) const {
  // Inputs: staged through pinned memory into device buffers.
  std::vector<void *> deviceInputs;
  llvm::scope_exit freeInputs([&] {
    for (void *p : deviceInputs)
      cuda::release(p);
  });
  size_t staging = 0;
  for (const Tensor *t : ordered)
    staging += t->bytes.size();
  llvm::Expected<void *> pinned = cuda::pinnedStaging(std::max<size_t>(staging, 1));
  if (!pinned)
    return pinned.takeError();
  size_t at = 0;
  for (const Tensor *t : ordered) {
    llvm::Expected<void *> d = cuda::allocate(t->bytes.size(), t->name.c_str());
    if (!d)
      return d.takeError();
    deviceInputs.push_back(*d);
    auto *host = static_cast<uint8_t *>(*pinned) + at;
    std::memcpy(host, t->bytes.data(), t->bytes.size());
    if (llvm::Error e = cuda::copyToDevice(*d, host, t->bytes.size(), t->name.c_str()))
      return std::move(e);
    at += t->bytes.size();
  }

  std::vector<const void *> data(deviceInputs.begin(), deviceInputs.end());
  auto enqueueStart = std::chrono::steady_clock::now();
  std::vector<ResultView> views =
      invoke(entry, static_cast<const uint8_t *>(deviceParams), paramLayout, ordered, data,
             outputSpecs);
  enqueueMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                        enqueueStart)
                  .count();
  // The device buffers the callee allocated for its results are freed on every path out.
  std::set<void *> toFree;
  for (const ResultView &view : views)
    if (view.allocated && view.allocated != deviceParams &&
        !llvm::is_contained(deviceInputs, view.allocated))
      toFree.insert(view.allocated);
  llvm::scope_exit freeOutputs([&] {
    for (void *p : toFree)
      cuda::release(p);
  });
  if (llvm::Error e = cuda::synchronize())
    return std::move(e);

  // Results: the span each one covers comes back through pinned memory, then is gathered.
  std::vector<Tensor> outs;
  for (auto [spec, view] : llvm::zip(outputSpecs, views)) {
    size_t esize = dtypeBits(spec.dtype) / 8, bytes = static_cast<size_t>(view.span()) * esize;
    llvm::Expected<void *> host = cuda::pinnedStaging(std::max<size_t>(bytes, 1));
    if (!host)
      return host.takeError();
    if (bytes)
      if (llvm::Error e = cuda::copyToHost(*host, view.aligned + view.offset * esize, bytes,
                                           spec.name.c_str()))
        return std::move(e);
    if (llvm::Error e = cuda::synchronize())
      return std::move(e);
    outs.push_back(gather(spec, view, static_cast<const uint8_t *>(*host)));
  }
  return outs;
}

llvm::Error AmaxHistory::record(llvm::ArrayRef<Tensor> outputs) {
  auto it = llvm::find_if(outputs, [&](const Tensor &t) { return t.name == config.amaxOutput; });
  size_t n = config.layers.size();
  if (it == outputs.end())
    return makeError("fp8: the run returned no '" + config.amaxOutput + "'");
  if (it->dtype != DType::F32 || it->shape.size() != 1 || it->shape[0] != static_cast<int64_t>(n))
    return makeError("fp8: '" + config.amaxOutput + "' must be f32 [" + llvm::Twine(n) + "]");
  if (history.empty()) {
    history.resize(n);
    maxima.assign(n, 0);
    saturatedRuns.assign(n, 0);
  }
  const float *amax = it->data<float>();
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> &h = history[i];
    h.push_back(amax[i]);
    if (h.size() > static_cast<size_t>(config.amaxHistoryLen))
      h.erase(h.begin());
    maxima[i] = std::max<double>(maxima[i], amax[i]);
    // x · scale went past ±fp8_max under the scale this run used. The scale is an f32 rounding
    // of fp8_max / amax: allow for it at the amax it was set from.
    const Fp8Scaling::Layer &l = config.layers[i];
    if (static_cast<double>(amax[i]) * l.activationScale > l.fp8Max * (1 + 1e-6))
      ++saturatedRuns[i];
  }
  ++numRuns;
  return llvm::Error::success();
}

double AmaxHistory::amax(size_t layer) const {
  return history.empty() ? 0
                         : delayedScalingAmax(history[layer], config.amaxHistoryLen,
                                              config.amaxComputeAlgo == "most_recent");
}

double AmaxHistory::scale(size_t layer) const {
  double a = amax(layer);
  return a > 0 ? fp8Scale(config.layers[layer].fp8Max, a, config.margin) : 0;
}

double AmaxHistory::maxRecorded(size_t layer) const {
  return maxima.empty() ? 0 : maxima[layer];
}

bool AmaxHistory::saturated(size_t layer) const {
  return !saturatedRuns.empty() && saturatedRuns[layer];
}

void AmaxHistory::setScales(llvm::ArrayRef<double> scales) {
  assert(scales.size() == config.layers.size() && "one scale per FP8 layer");
  for (auto [l, s] : llvm::zip(config.layers, scales))
    l.activationScale = static_cast<float>(s);
}
