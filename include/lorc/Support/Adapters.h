//===- Adapters.h - PEFT and LyCORIS adapter readers ------------*- C++ -*-===//
//
// Reads LoRA-family adapters into one neutral description, independent of MLIR:
//
//  * PEFT (huggingface/peft): a directory with adapter_config.json + adapter_model.safetensors;
//    keys `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (LoRA),
//    `.lora_magnitude_vector` (DoRA), `.lora_B.bias` (lora_bias); PEFT's own LoHa (`hada_w1_a`, …)
//    and LoKr (`lokr_w1`, …) with `alpha`/`r` from the config. Scale: alpha/r, or alpha/√r with
//    use_rslora; rank_pattern/alpha_pattern override per module (peft utils/other.py
//    get_pattern_key: the key matches when re.match(rf"(.*\.)?({key})$", module)).
//  * LyCORIS (KohakuBlueleaf/LyCORIS): one .safetensors; keys `<prefix>_<module with . → _>.<param>`
//    with prefix lycoris | lora_unet | lora_te | lora_te1 | lora_te2; the algorithm is detected in
//    LyCORIS' MODULE_LIST order (lora_up → LoCon, hada_w1_a → LoHa, lokr_w1|lokr_w1_a → LoKr);
//    `alpha` is a 0-d tensor (missing or 0 → rank); scale = alpha / rank (rsLoRA is already folded
//    into the stored alpha); LoKr with both factors full has scale 1.
//
// A pickle adapter (adapter_model.bin) is refused. Errors name the file and the key.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_SUPPORT_ADAPTERS_H
#define LORC_SUPPORT_ADAPTERS_H

#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lorc {

enum class AdapterAlgo { LoRA, LoHa, LoKr };

/// A factor of an adapter, converted to f32, row-major.
struct AdapterTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// One adapter on one base module (nn.Linear [out, in] or Conv2d [out, in, kh, kw]).
///
/// Factor names (LyCORIS' parameter names, PEFT's mapped onto them):
///  * LoRA/LoCon: "down" [r, in(, kh, kw)] (PEFT lora_A), "up" [out, r(, 1, 1)] (PEFT lora_B),
///    optional "mid" [r, r, kh, kw] (LoCon-Tucker: then down is [r, in, 1, 1]).
///  * LoHa: "w1a", "w1b", "w2a", "w2b"; Tucker form adds "t1", "t2" [r, r, kh, kw] and then the
///    w?a are [r, out] (orientation flips) and w?b [r, in].
///  * LoKr: "w1" [a, c] or "w1a" [a, r] + "w1b" [r, c]; "w2" [b, d(, kh, kw)] or "w2a" [b, r] +
///    "w2b" [r, d·kh·kw], Tucker: "t2" [r, r, kh, kw], "w2a" [r, b], "w2b" [r, d].
///  * DoRA: "magnitude" [out] (PEFT lora_magnitude_vector) or "dora_scale" (LyCORIS, [out, 1, …]).
///  * "up_bias" [out] (PEFT lora_bias).
struct ModuleAdapter {
  /// The base module's path with dots, e.g. "encoder.layer.0.attention.self.query".
  std::string module;
  AdapterAlgo algo = AdapterAlgo::LoRA;
  int64_t rank = 0;
  double alpha = 0;
  /// The adapter's own scale (alpha/r, alpha/√r, or 1); the user's multiplier is separate.
  double scale = 1;
  /// PEFT fan_in_fan_out: the base weight is stored [in, out], so ΔW is transposed.
  bool fanInFanOut = false;
  std::map<std::string, AdapterTensor> factors;
};

/// One adapter file or directory, as given to `lorc-compile --adapter <path>[:multiplier]`.
struct AdapterSet {
  std::string path;
  /// "peft" or "lycoris".
  std::string format;
  double multiplier = 1.0;
  std::vector<ModuleAdapter> modules;
  /// Base-model tensors the adapter replaces outright, by their name after `base_model.model.`:
  /// PEFT `modules_to_save` modules and, with `bias` = "all" / "lora_only", trained biases.
  std::map<std::string, AdapterTensor> replacements;
};

struct AdapterReadOptions {
  /// Accept NaN/Inf in adapter weights (otherwise an error naming the tensor).
  bool allowNonFinite = false;
  /// Warn about, instead of refusing, keys that are not adapter parameters.
  bool allowUnknownKeys = false;
};

/// Reads a PEFT adapter directory or a LyCORIS .safetensors file (the kind is detected from what
/// is there). `baseModules` lists the base model's module paths (dots), used to map LyCORIS'
/// underscored names back and to reject adapters for modules the model lacks. Warnings (unknown
/// keys with allowUnknownKeys) go to `warnings`.
llvm::Expected<AdapterSet> readAdapter(llvm::StringRef path, double multiplier,
                                       llvm::ArrayRef<std::string> baseModules,
                                       const AdapterReadOptions &options,
                                       std::vector<std::string> &warnings);

/// ΔW = scale · f(factors), in the base weight's layout ([out, in] or [out, in, kh, kw]), f32,
/// without the multiplier and without DoRA (which needs W; see applyDora). Errors name the
/// module and the factor whose shape does not fit `baseShape`.
/// Formulas: peft tuners/lora/layer.py get_delta_weight; lycoris functional/{locon,loha,lokr}.py
/// (diff_weight, rebuild_tucker, make_kron).
llvm::Expected<std::vector<float>> computeDeltaWeight(const ModuleAdapter &adapter,
                                                      llvm::ArrayRef<int64_t> baseShape);

/// DoRA (weight decomposition): W' = m ⊙ (W + ΔW) / ‖W + ΔW‖ with the norm per output row
/// (PEFT tuners/lora/dora.py: no eps; LyCORIS: + eps = 1e-7... see the .cpp for the exact rule).
/// `merged` holds W + multiplier·ΔW on entry and W' on return.
llvm::Error applyDora(const ModuleAdapter &adapter, llvm::ArrayRef<int64_t> baseShape,
                      double multiplier, std::vector<float> &merged);

/// The lower-case name of an algorithm as artifacts' manifests spell it: "lora", "loha", "lokr".
llvm::StringRef adapterAlgoKey(AdapterAlgo algo);

/// Splits an `--adapter` argument "<path>[:<multiplier>]": the suffix after the last ':' is a
/// multiplier only if it parses as a number (default 1); otherwise it is part of the path.
std::pair<std::string, double> parseAdapterSpec(llvm::StringRef spec);

/// LyCORIS' factorization(dimension, factor) (functional/general.py): (m, n) with m ≤ n,
/// m·n = dimension, as LoKr chooses its Kronecker factor shapes.
std::pair<int64_t, int64_t> lycorisFactorization(int64_t dimension, int64_t factor = -1);

} // namespace lorc

#endif // LORC_SUPPORT_ADAPTERS_H
