//===- Artifact.h - load and run lorc artifacts -----------------*- C++ -*-===//
//
// The C++ API of the lorc runtime (tools/lorc-run is a thin client of it):
//
//   auto artifact = lorc::Artifact::load("minilm.lorc");     // Expected<unique_ptr<Artifact>>
//   auto outputs = (*artifact)->run({ids, mask});             // Expected<vector<Tensor>>
//
// Ownership and threading: an Artifact owns the mapped weights and the loaded library; it is
// immutable after load() and run() may be called from several threads at once (each call
// allocates its own intermediates). Weights are mapped from weights.safetensors and passed to
// the compiled code without a copy. The runtime does not depend on MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_ARTIFACT_H
#define LORC_RUNTIME_ARTIFACT_H

#include "lorc/Runtime/Tokenizer.h"
#include "lorc/Support/Adapters.h"
#include "lorc/Support/ParameterBuffers.h"
#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <cmath>
#include <string>
#include <vector>

namespace lorc {

/// A dense row-major host tensor that owns its bytes.
struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numElements() const;
  template <typename T> T *data() { return reinterpret_cast<T *>(bytes.data()); }
  template <typename T> const T *data() const { return reinterpret_cast<const T *>(bytes.data()); }

  /// A tensor of `shape` and `dtype` with zeroed bytes.
  static Tensor zeros(llvm::StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape);
};

/// An input or output of an artifact as the manifest declares it.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  /// -1 for a dimension known only at run time.
  std::vector<int64_t> shape;
  /// Symbolic names of the dimensions ("batch", "seq"); equal names must have equal sizes.
  std::vector<std::string> dims;
  /// Valid integer values [lo, hi), checked before the call (e.g. token ids < vocab size).
  std::optional<std::pair<int64_t, int64_t>> range;
};

/// An adapter compiled unmerged: where its factors live in the parameter buffer.
struct AdapterSlot {
  struct Module {
    std::string module;
    std::string algo; // "lora", "loha" or "lokr"
    double scale = 1;
    struct Factor {
      std::string tensor;
      std::vector<int64_t> shape;
      /// For a factor that is a block of a larger fused weight (row-major, `rows` × `rowStride`
      /// floats): its first row and column there; column < 0 when the factor is a tensor of its
      /// own. A LoRA `up` fused into [W | m·s·B] (--lorc-fuse-lora-gemm) is a column block
      /// (row 0) and carries the scale m·s folded into it; adapters' A matrices stacked by
      /// --lorc-fuse are row blocks (column 0) with no folded scale.
      int64_t row = 0;
      int64_t column = -1;
      int64_t rows = 0;
      int64_t rowStride = 0;
      std::optional<double> foldedScale;
    };
    std::map<std::string, Factor> factors;
  };
  std::string source;
  double multiplier = 1;
  std::vector<Module> modules;
};

/// Whether `scale` can be an FP8 layer's activation scale: positive and finite as an f32 (the
/// type the artifact stores it in). Artifact::setFp8Scales accepts only such scales.
inline bool isUsableFp8Scale(double scale) {
  return scale > 0 && std::isfinite(static_cast<float>(scale));
}

/// The FP8 layers of an artifact built by `lorc-compile --assign-precision` for the cpu target
/// (manifest "fp8"; docs/Artifact.md): every run returns each FP8 layer's input amax (max |x|
/// over the whole input, padding rows included) as the output `amaxOutput`, f32 [layers].
struct Fp8Scaling {
  struct Layer {
    std::string name;   ///< the layer's weight name
    std::string format; ///< "fp8-e4m3" or "fp8-e5m2"
    double fp8Max = 0;  ///< 448 or 57344
    /// The amax calibrated at compile time and the activation scale in use: the one compiled
    /// into the artifact, fp8_max / calibratedAmax / 2^margin, until setFp8Scales.
    double calibratedAmax = 0, activationScale = 0;
    /// The weights-file tensor (an f32 scalar) holding the activation scale the code reads,
    /// which setFp8Scales overwrites; empty in artifacts compiled before it was a parameter.
    std::string scaleTensor;
  };
  std::string amaxOutput;
  /// Transformer Engine's delayed-scaling settings the artifact was calibrated with.
  int64_t amaxHistoryLen = 1;
  std::string amaxComputeAlgo = "max"; ///< "max" or "most_recent"
  int64_t margin = 0;
  std::vector<Layer> layers;
};

/// Transformer Engine's delayed scaling, kept over runs (transformer_engine/pytorch/fp8.py and
/// common/recipe: a rolling history of `amax_history_len` amaxes per tensor; amax = the max or
/// the most recent entry; scale = fp8_max / amax / 2^margin), fed by each run's amax output.
/// It reports what delayed scaling would set now (scale()) and whether a run's inputs went past
/// the range of the scale that run used (they were clipped to ±fp8_max). Applying the scales,
/// as Transformer Engine does after every step, is Artifact::setFp8Scales followed by
/// setScales here (`lorc-run --fp8-update-scales`). Not thread-safe; one per stream of runs.
class AmaxHistory {
public:
  explicit AmaxHistory(Fp8Scaling scaling) : config(std::move(scaling)) {}
  /// Appends one run's amaxes: the output named config.amaxOutput among `outputs`. An error
  /// (naming the output) when it is missing or not f32 [layers].
  llvm::Error record(llvm::ArrayRef<Tensor> outputs);
  const Fp8Scaling &scaling() const { return config; }
  /// Runs recorded.
  size_t runs() const { return numRuns; }
  /// The amax delayed scaling uses now for `layer` (over the window, by the compute algo); 0
  /// before any run.
  double amax(size_t layer) const;
  /// fp8_max / amax(layer) / 2^margin; 0 before any run or for an all-zero input.
  double scale(size_t layer) const;
  /// The largest amax recorded for `layer` over all runs.
  double maxRecorded(size_t layer) const;
  /// Whether some run's amax times the scale that run used exceeded fp8_max, i.e. its input
  /// was saturated (with the compiled scale: an amax above calibratedAmax · 2^margin).
  bool saturated(size_t layer) const;
  /// The scales the next runs use (after Artifact::setFp8Scales), one per layer: what
  /// saturated() measures the next recorded runs against.
  void setScales(llvm::ArrayRef<double> scales);

private:
  Fp8Scaling config;
  size_t numRuns = 0;
  std::vector<std::vector<float>> history; ///< per layer, the last amaxHistoryLen amaxes
  std::vector<double> maxima;
  std::vector<size_t> saturatedRuns; ///< per layer, the runs whose input was saturated
};

/// A loaded artifact directory (see docs/Artifact.md for the format).
/// Where an artifact runs (`lorc-run --device`).
enum class Device {
  Auto, ///< the CUDA library if the artifact has one and a CUDA device is usable, else the CPU
  Cpu,  ///< a CPU library (target cpu or cuda-loops-cpu)
  Cuda, ///< the CUDA library (lorc/Runtime/Cuda.h); an error without a driver or device
};

/// Where an artifact's parameter buffers lie in its weights file's data section (the manifest's
/// "parameters", docs/Artifact.md): `elements[b]` elements of buffer `b` from byte `offset[b]`,
/// -1 elements for a buffer the artifact does not have. The f32 buffer is always present and
/// starts the data section; the others follow it in ParameterBuffer order. The entry point
/// takes one descriptor per buffer present, in that order.
struct ParameterLayout {
  uint64_t offset[kNumParameterBuffers] = {0, 0, 0, 0};   ///< bytes
  int64_t elements[kNumParameterBuffers] = {0, -1, -1, -1}; ///< -1: absent
  bool has(ParameterBuffer b) const { return elements[static_cast<unsigned>(b)] >= 0; }
  /// The number of buffers (descriptors) the entry point takes: 1 to kNumParameterBuffers.
  unsigned count() const {
    unsigned n = 0;
    for (int64_t e : elements)
      n += e >= 0;
    return n;
  }
};

/// The symbol of an artifact library describing the descriptors its entry point takes, a
/// NUL-terminated string: the parameter buffers in order, by the manifest's dtypes, and the
/// number of inputs, e.g. "parameters=f32,bf16;inputs=2". Artifact::load compares it with the
/// manifest's "parameters" and "inputs" (a library without it, from before the symbol
/// existed, is not checked).
inline constexpr const char *kEntrySignatureSymbol = "lorc_entry_signature";

/// The kEntrySignatureSymbol string of an entry taking `layout`'s buffers and `inputs` inputs:
/// what lorc-compile stores and Artifact::load expects.
inline std::string entrySignature(const ParameterLayout &layout, size_t inputs) {
  std::string s = "parameters=";
  for (unsigned b = 0; b < kNumParameterBuffers; ++b)
    if (layout.elements[b] >= 0)
      s += std::string(s.back() == '=' ? "" : ",") + kParameterBufferDTypes[b];
  return s + ";inputs=" + std::to_string(inputs);
}

class Artifact {
public:
  ~Artifact();
  /// Loads `dir`: reads and checks manifest.json, picks the library for `device` among the
  /// manifest's "libraries", maps the weights (and uploads them once for CUDA), dlopens the
  /// library. Errors name the file and the field or symbol; on a machine without CUDA a
  /// CUDA-only artifact fails with "no CUDA driver..." / "no CUDA device...".
  static llvm::Expected<std::unique_ptr<Artifact>> load(llvm::StringRef dir,
                                                        Device device = Device::Auto);

  /// The manifest target of the library in use ("cpu", "cuda", "cuda-loops-cpu").
  llvm::StringRef target() const { return libraryTarget; }
  /// Why Device::Auto did not pick the artifact's CUDA library ("" if it did or had none).
  llvm::StringRef fallbackReason() const { return fallback; }
  /// On the CUDA library: the host time (ms) the last run spent in the compiled code, which
  /// only enqueues (launches, cuBLAS calls, copies and allocations on one stream, no
  /// synchronisation): lorc's host overhead per forward pass, without input staging, the wait
  /// for the GPU and the output copies. 0 on the CPU libraries.
  double lastEnqueueMs() const { return enqueueMs; }

  llvm::ArrayRef<TensorSpec> inputs() const { return inputSpecs; }
  llvm::ArrayRef<TensorSpec> outputs() const { return outputSpecs; }
  /// The tokenizer shipped in the artifact, or nullptr.
  const WordPieceTokenizer *tokenizer() const { return tok.get(); }
  /// Largest sequence length the model accepts (its position table), or -1 if unbounded.
  int64_t maxSequenceLength() const { return maxSeqLen; }
  /// Floating-point operations of one run at the given batch and sequence length.
  double flops(int64_t batch, int64_t seq) const;

  /// The artifact's FP8 layers and the amax output, if it has any (see AmaxHistory).
  const std::optional<Fp8Scaling> &fp8Scaling() const { return fp8; }

  /// Adapters compiled unmerged, in `--adapter` order.
  llvm::ArrayRef<AdapterSlot> adapterSlots() const { return slots; }

  /// Replaces the factors of unmerged adapter `slot` by those of the adapter at `path` (PEFT
  /// directory or LyCORIS file) with `multiplier`, without recompiling. The new adapter must
  /// target the same modules with the same algorithm and factor shapes; a different scale or
  /// multiplier is folded into one factor (ΔW is linear in up / w1 / w1a), which DoRA does not
  /// allow. The weights file itself is never written: the parameters become a private
  /// copy-on-write mapping. Not thread-safe with run().
  llvm::Error swapAdapter(unsigned slot, llvm::StringRef path, double multiplier,
                          const AdapterReadOptions &options = {});

  /// Sets the activation scale of every FP8 layer (fp8Scaling().layers order) for the next
  /// runs: Transformer Engine's delayed-scaling update, fed by AmaxHistory::scale. The scales
  /// are run-time parameters (each layer's `scale_tensor` in the weights file, docs/Artifact.md):
  /// written into a private copy-on-write mapping of the parameters (the file is never
  /// written) and, on CUDA, into their device copy. Errors, before anything is written: a
  /// count other than the layers', a scale that is not a positive finite f32, an artifact
  /// without FP8 layers or compiled before the scales were parameters. Not thread-safe with
  /// run().
  llvm::Error setFp8Scales(llvm::ArrayRef<double> scales);

  /// Runs the artifact. `inputs` must match inputs() by name, dtype and shape; every violation
  /// (missing or unknown input, wrong dtype, rank, size, value range) is an error naming the
  /// input. Returns the outputs in outputs() order.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs) const;

private:
  Artifact() = default;
  llvm::Error checkInputs(llvm::ArrayRef<const Tensor *> ordered) const;
  /// Replaces the read-only mapping of the parameters by a private copy-on-write one (once).
  llvm::Error makeParametersWritable();

  std::string dir;
  std::string libraryTarget, fallback;
  bool onCuda = false;
  mutable double enqueueMs = 0;
  /// The parameters' device copy (CUDA), uploaded at load.
  void *deviceParams = nullptr;
  llvm::Expected<std::vector<Tensor>> runCuda(llvm::ArrayRef<const Tensor *> ordered) const;
  void *library = nullptr;
  void *entry = nullptr;
  std::unique_ptr<SafetensorsFile> weights;
  /// A private (copy-on-write) mapping of the weights file once an adapter was swapped.
  std::unique_ptr<llvm::sys::fs::mapped_file_region> privateMapping;
  bool privateWeights = false;
  std::string weightsPath;
  std::vector<AdapterSlot> slots;
  std::optional<Fp8Scaling> fp8;
  /// The parameter buffers passed to the entry point: the data section of the weights file
  /// (host mapping), laid out as paramLayout (f32, then the bf16 and FP8 buffers it has).
  uint8_t *params() const;
  ParameterLayout paramLayout;
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  std::unique_ptr<WordPieceTokenizer> tok;
  int64_t maxSeqLen = -1;
  double flopsPerToken = 0, flopsPerTokenPair = 0;
};

/// Sets the number of threads the CPU kernels (BLAS) use; <= 0 means all cores.
void setCpuThreads(int threads);
/// The number of threads the CPU kernels use.
int getCpuThreads();

} // namespace lorc

#endif // LORC_RUNTIME_ARTIFACT_H
