//===- Tokenizer.h - BERT WordPiece tokenizer -------------------*- C++ -*-===//
//
// The tokenizer of BERT-family checkpoints (transformers' BertTokenizer / BasicTokenizer +
// WordpieceTokenizer, models/bert/tokenization_bert.py): clean text (drop NUL, U+FFFD and
// control characters, map whitespace to ' '), pad CJK ideographs with spaces, lower-case and strip
// accents (NFD, drop combining marks) when `lowerCase`, split on whitespace and punctuation, then
// greedy longest-match-first WordPiece with the "##" continuation prefix; a word longer than
// 100 characters or with no match becomes [UNK]. Sequences are [CLS] tokens [SEP], truncated to
// `maxLength` (the [SEP] is kept), and batches are padded to the longest with [PAD] (mask 0).
//
//===----------------------------------------------------------------------===//

#ifndef LORC_RUNTIME_TOKENIZER_H
#define LORC_RUNTIME_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lorc {

class WordPieceTokenizer {
public:
  /// Reads a vocab.txt (one token per line; the id is the 0-based line number). Errors name the
  /// file; a vocabulary without [CLS], [SEP], [PAD] or [UNK] is an error.
  static llvm::Expected<WordPieceTokenizer> load(llvm::StringRef vocabPath, bool lowerCase = true);
  /// Builds a tokenizer from an in-memory vocabulary (tests).
  static llvm::Expected<WordPieceTokenizer> fromTokens(llvm::ArrayRef<std::string> tokens,
                                                       bool lowerCase = true);

  /// The word pieces of `text` (no special tokens), as strings.
  std::vector<std::string> tokenize(llvm::StringRef text) const;
  /// [CLS] ids(text) [SEP], truncated to at most `maxLength` ids.
  std::vector<int64_t> encode(llvm::StringRef text, size_t maxLength = 512) const;

  /// A padded batch: row-major [batch, seqLen] ids and mask (1 = token, 0 = padding).
  struct Batch {
    int64_t batch = 0;
    int64_t seqLen = 0;
    std::vector<int64_t> inputIds;
    std::vector<int64_t> attentionMask;
  };
  Batch encodeBatch(llvm::ArrayRef<std::string> texts, size_t maxLength = 512) const;

  int64_t vocabSize() const { return static_cast<int64_t>(idToToken.size()); }
  int64_t clsId() const { return cls; }
  int64_t sepId() const { return sep; }
  int64_t padId() const { return pad; }
  int64_t unkId() const { return unk; }

private:
  WordPieceTokenizer() = default;
  llvm::StringMap<int64_t> tokenToId;
  std::vector<std::string> idToToken;
  bool lowerCase = true;
  int64_t cls = -1, sep = -1, pad = -1, unk = -1;
};

} // namespace lorc

#endif // LORC_RUNTIME_TOKENIZER_H
