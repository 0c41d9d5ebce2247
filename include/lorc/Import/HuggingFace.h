//===- HuggingFace.h - import Hugging Face checkpoints ----------*- C++ -*-===//
//
// Turns a Hugging Face model directory into a lorc/upstream MLIR module. Supported today: the
// BERT family (config.json `model_type: "bert"`, transformers' BertModel) with a single
// model.safetensors, plus the sentence-transformers pooling configuration when present
// (modules.json, 1_Pooling/config.json).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_IMPORT_HUGGINGFACE_H
#define LORC_IMPORT_HUGGINGFACE_H

#include "lorc/Support/Adapters.h"
#include "lorc/Support/Safetensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace lorc {

/// The fields of a BERT config.json that define the computation.
struct BertConfig {
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t intermediateSize = 0;
  int64_t maxPositions = 0;
  int64_t typeVocabSize = 0;
  double layerNormEps = 1e-12;
  /// "gelu" (erf form) or "gelu_new"/"gelu_pytorch_tanh" (tanh approximation).
  std::string hiddenAct = "gelu";
};

/// Sentence-level pooling, as sentence-transformers' Pooling and Normalize modules.
struct PoolingConfig {
  enum class Mode { Mean, Cls } mode = Mode::Mean;
  bool normalize = true;
};

/// Reads and validates `<dir>/config.json`. Errors name the file and the field.
llvm::Expected<BertConfig> readBertConfig(llvm::StringRef modelDir);
/// Reads `<dir>/modules.json` and `<dir>/1_Pooling/config.json` when present; a directory without
/// them gets mean pooling and L2 normalisation (all-MiniLM-L6-v2's configuration).
llvm::Expected<PoolingConfig> readPoolingConfig(llvm::StringRef modelDir);

/// An imported model: the module and the mapped weights its `dense_resource` constants point
/// into (they must outlive any use of the module's constants).
struct ImportedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<SafetensorsFile> weights;
  /// Converted copies of weights stored as F16/BF16 (the module computes in f32).
  std::vector<std::unique_ptr<std::vector<float>>> convertedWeights;
  /// Number of adapter ops attached to layers, and of base tensors adapters replaced.
  unsigned numAdapters = 0;
  unsigned numReplacements = 0;
  /// Adapters on modules that exist but do not contribute to the outputs ("<path>: <module>").
  std::vector<std::string> unusedAdapterModules;
  BertConfig config;
  PoolingConfig pooling;
};

/// The module paths of the linear layers of a BERT model ("encoder.layer.0.attention.self.query",
/// ...), the modules adapters may target.
std::vector<std::string> bertLinearModules(const BertConfig &config);

/// Imports a BERT-family model directory into
///
///   func.func @forward(%input_ids: tensor<?x?xi64>, %attention_mask: tensor<?x?xi64>)
///       -> (tensor<?x?xHxf32> /*last_hidden_state*/, tensor<?xHxf32> /*sentence_embedding*/)
///
/// with the weights as `dense_resource` constants that reference the mapped safetensors file.
/// Each adapter of `adapters` on a linear layer becomes a `lorc.lora`/`lorc.loha`/`lorc.lokr`
/// op on constant factors, attached to that layer's `lorc.linear` with the set's multiplier.
/// Errors name the file and the tensor or field.
llvm::Expected<ImportedModel> importHuggingFaceModel(mlir::MLIRContext &context,
                                                     llvm::StringRef modelDir,
                                                     llvm::ArrayRef<AdapterSet> adapters = {});

} // namespace lorc

#endif // LORC_IMPORT_HUGGINGFACE_H
