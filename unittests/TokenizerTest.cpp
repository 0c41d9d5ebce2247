//===- TokenizerTest.cpp - Tests of the BERT WordPiece tokenizer ----------===//

#include "lorc/Runtime/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>

using namespace lorc;

namespace {

using Pieces = std::vector<std::string>;
using Ids = std::vector<int64_t>;

/// A small vocabulary: ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK], as in BERT's vocab order.
const std::vector<std::string> SmallVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",",     "!",     "un",
    "##aff", "##able", "a",    "##a",   "cafe",   "naive", "東",    "京",    "don",   "'",
    "t",     "ø",      "—",    "$",     "5",      "Café",  "##é",   "hel",   "##lo",  "ς",
    "σ",     "е",      "シ",   "##ャ",  "ズ",     "ᄒ",     "##ᅡ",   "##ᆫ",  "."};

/// The small tokenizer; fails the test (and returns a usable default) if it cannot be built.
WordPieceTokenizer small(bool lowerCase = true) {
  llvm::Expected<WordPieceTokenizer> tok = WordPieceTokenizer::fromTokens(SmallVocab, lowerCase);
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return std::move(*WordPieceTokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}));
  }
  return std::move(*tok);
}

/// Writes `contents` to a fresh temporary file and returns its path.
std::string writeTemp(llvm::StringRef contents) {
  llvm::SmallString<128> path;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("lorc-vocab", "txt", fd, path)) {
    ADD_FAILURE() << ec.message();
    return "";
  }
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << contents;
  return std::string(path);
}

TEST(TokenizerTest, SpecialTokenIds) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.padId(), 0);
  EXPECT_EQ(tok.unkId(), 1);
  EXPECT_EQ(tok.clsId(), 2);
  EXPECT_EQ(tok.sepId(), 3);
  EXPECT_EQ(tok.vocabSize(), static_cast<int64_t>(SmallVocab.size()));
}

TEST(TokenizerTest, MissingSpecialTokenIsAnError) {
  for (const char *missing : {"[CLS]", "[SEP]", "[PAD]", "[UNK]"}) {
    std::vector<std::string> vocab;
    for (const std::string &token : SmallVocab)
      if (token != missing)
        vocab.push_back(token);
    llvm::Expected<WordPieceTokenizer> tok = WordPieceTokenizer::fromTokens(vocab);
    ASSERT_FALSE(static_cast<bool>(tok));
    EXPECT_NE(llvm::toString(tok.takeError()).find(missing), std::string::npos) << missing;
  }
}

TEST(TokenizerTest, SplitsOnWhitespaceAndPunctuation) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.tokenize("hello, world!"), (Pieces{"hello", ",", "world", "!"}));
  EXPECT_EQ(tok.tokenize("  hello\t\n\r world  "), (Pieces{"hello", "world"}));
  EXPECT_EQ(tok.tokenize("don't"), (Pieces{"don", "'", "t"}));
  // ASCII symbols count as punctuation, and so does Unicode P* (U+2014 EM DASH).
  EXPECT_EQ(tok.tokenize("$5"), (Pieces{"$", "5"}));
  EXPECT_EQ(tok.tokenize("hello\u2014world"), (Pieces{"hello", "—", "world"}));
  EXPECT_TRUE(tok.tokenize("").empty());
  EXPECT_TRUE(tok.tokenize(" \t ").empty());
}

TEST(TokenizerTest, WordPieceContinuation) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.tokenize("unaffable"), (Pieces{"un", "##aff", "##able"}));
  // Greedy longest match first: "hello" wins over "hel" + "##lo".
  EXPECT_EQ(tok.tokenize("hello"), (Pieces{"hello"}));
  EXPECT_EQ(tok.tokenize("aaa"), (Pieces{"a", "##a", "##a"}));
}

TEST(TokenizerTest, UnmatchedWordIsUnknown) {
  WordPieceTokenizer tok = small();
  // "un" matches but "##x" does not: the whole word becomes [UNK], not "un" + [UNK].
  EXPECT_EQ(tok.tokenize("unx hello"), (Pieces{"[UNK]", "hello"}));
  EXPECT_EQ(tok.encode("unx hello"), (Ids{2, 1, 5, 3}));
}

TEST(TokenizerTest, LongWordIsUnknown) {
  WordPieceTokenizer tok = small();
  Pieces hundred = tok.tokenize(std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred.front(), "a");
  EXPECT_EQ(hundred.back(), "##a");
  EXPECT_EQ(tok.tokenize(std::string(101, 'a')), (Pieces{"[UNK]"}));
  // The limit counts code points, not bytes: "Café" and 96 more 'é' are 100 code points
  // (199 bytes), one more 'é' is too many.
  WordPieceTokenizer cased = small(/*lowerCase=*/false);
  std::string accented = "Café";
  for (int i = 0; i < 96; ++i)
    accented += "é";
  EXPECT_EQ(cased.tokenize(accented).size(), 97u);
  EXPECT_EQ(cased.tokenize(accented + "é"), (Pieces{"[UNK]"}));
}

TEST(TokenizerTest, LowerCasesAndStripsAccents) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.tokenize("HELLO World"), (Pieces{"hello", "world"}));
  EXPECT_EQ(tok.tokenize("Café NAÏVE"), (Pieces{"cafe", "naive"}));
  // Decomposed input: e + U+0301 COMBINING ACUTE ACCENT.
  EXPECT_EQ(tok.tokenize("cafe\u0301"), (Pieces{"cafe"}));
  // Ø has no decomposition: it is only lower-cased.
  EXPECT_EQ(tok.tokenize("Ø"), (Pieces{"ø"}));
  // Capital sigma is lower-cased to σ everywhere (as the tokenizers library does).
  EXPECT_EQ(tok.tokenize("Σ"), (Pieces{"σ"}));
  // Cyrillic Ё: NFD is Е + U+0308, then lower-cased.
  EXPECT_EQ(tok.tokenize("Ё"), (Pieces{"е"}));
  // Katakana with a voiced sound mark loses it: ズ is ス + U+3099, and ス is not in the
  // vocabulary.
  EXPECT_EQ(tok.tokenize("ズ"), (Pieces{"[UNK]"}));
  // Hangul syllables decompose into jamo: 한 -> ᄒ ᅡ ᆫ.
  EXPECT_EQ(tok.tokenize("한"), (Pieces{"ᄒ", "##ᅡ", "##ᆫ"}));
}

TEST(TokenizerTest, CasedKeepsCaseAndAccents) {
  WordPieceTokenizer tok = small(/*lowerCase=*/false);
  EXPECT_EQ(tok.tokenize("Café"), (Pieces{"Café"}));
  EXPECT_EQ(tok.tokenize("Ø"), (Pieces{"[UNK]"}));
  EXPECT_EQ(tok.tokenize("HELLO"), (Pieces{"[UNK]"}));
  EXPECT_EQ(tok.tokenize("ズ"), (Pieces{"ズ"}));
}

TEST(TokenizerTest, ChineseCharactersAreSeparateWords) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.tokenize("東京hello"), (Pieces{"東", "京", "hello"}));
  // Kana are not CJK ideographs: ジャ stays one word (and loses the voiced sound mark).
  EXPECT_EQ(tok.tokenize("ジャ"), (Pieces{"シ", "##ャ"}));
}

TEST(TokenizerTest, CleansControlAndInvalidCharacters) {
  WordPieceTokenizer tok = small();
  // U+0001 (Cc), U+200B ZERO WIDTH SPACE (Cf), U+FFFD and NUL are removed, not split on.
  EXPECT_EQ(tok.tokenize(llvm::StringRef("hel\x01lo wor\u200bld he\xef\xbf\xbdllo hel\0lo", 31)),
            (Pieces{"hello", "world", "hello", "hello"}));
  // Malformed UTF-8 bytes are dropped like U+FFFD.
  EXPECT_EQ(tok.tokenize("hel\xfflo wor\xc3ld"), (Pieces{"hello", "world"}));
  // No-break space, ideographic space and line separator are whitespace.
  EXPECT_EQ(tok.tokenize("hello\u00a0world\u3000hello\u2028world"),
            (Pieces{"hello", "world", "hello", "world"}));
}

TEST(TokenizerTest, EncodeAddsSpecialTokens) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.encode("hello, world!"), (Ids{2, 5, 7, 6, 8, 3}));
  EXPECT_EQ(tok.encode(""), (Ids{2, 3}));
}

TEST(TokenizerTest, TruncationKeepsSep) {
  WordPieceTokenizer tok = small();
  EXPECT_EQ(tok.encode("hello, world!", 4), (Ids{2, 5, 7, 3}));
  EXPECT_EQ(tok.encode("hello, world!", 6), (Ids{2, 5, 7, 6, 8, 3}));
  EXPECT_EQ(tok.encode("hello, world!", 100), (Ids{2, 5, 7, 6, 8, 3}));
  EXPECT_EQ(tok.encode("hello, world!", 2), (Ids{2, 3}));
  // Truncation may cut a word's pieces apart.
  EXPECT_EQ(tok.encode("unaffable", 3), (Ids{2, 9, 3}));
  EXPECT_EQ(tok.encode("hello", 1), (Ids{2}));
  EXPECT_TRUE(tok.encode("hello", 0).empty());
}

TEST(TokenizerTest, BatchIsPaddedWithMask) {
  WordPieceTokenizer tok = small();
  WordPieceTokenizer::Batch batch = tok.encodeBatch({"hello", "hello, world!", ""});
  EXPECT_EQ(batch.batch, 3);
  EXPECT_EQ(batch.seqLen, 6);
  EXPECT_EQ(batch.inputIds, (Ids{2, 5, 3, 0, 0, 0, //
                                 2, 5, 7, 6, 8, 3, //
                                 2, 3, 0, 0, 0, 0}));
  EXPECT_EQ(batch.attentionMask, (Ids{1, 1, 1, 0, 0, 0, //
                                      1, 1, 1, 1, 1, 1, //
                                      1, 1, 0, 0, 0, 0}));

  WordPieceTokenizer::Batch truncated = tok.encodeBatch({"hello, world!", "hello"}, 4);
  EXPECT_EQ(truncated.seqLen, 4);
  EXPECT_EQ(truncated.inputIds, (Ids{2, 5, 7, 3, 2, 5, 3, 0}));
  EXPECT_EQ(truncated.attentionMask, (Ids{1, 1, 1, 1, 1, 1, 1, 0}));

  WordPieceTokenizer::Batch empty = tok.encodeBatch({});
  EXPECT_EQ(empty.batch, 0);
  EXPECT_EQ(empty.seqLen, 0);
  EXPECT_TRUE(empty.inputIds.empty());
  EXPECT_TRUE(empty.attentionMask.empty());
}

TEST(TokenizerTest, LoadReadsOneTokenPerLine) {
  // CRLF line ends are stripped; the last line needs no newline; ids are line numbers.
  std::string path = writeTemp("[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\nhello\nworld");
  llvm::Expected<WordPieceTokenizer> tok = WordPieceTokenizer::load(path);
  ASSERT_TRUE(static_cast<bool>(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ(tok->vocabSize(), 6);
  EXPECT_EQ(tok->unkId(), 1);
  EXPECT_EQ(tok->encode("Hello world"), (Ids{2, 4, 5, 3}));
  llvm::sys::fs::remove(path);
}

TEST(TokenizerTest, LoadErrorsNameTheFile) {
  std::string missing = "/nonexistent/lorc/vocab.txt";
  llvm::Expected<WordPieceTokenizer> tok = WordPieceTokenizer::load(missing);
  ASSERT_FALSE(static_cast<bool>(tok));
  EXPECT_EQ(llvm::toString(tok.takeError()).rfind(missing + ": ", 0), 0u);

  std::string path = writeTemp("[UNK]\n[CLS]\n[SEP]\nhello\n");
  tok = WordPieceTokenizer::load(path);
  ASSERT_FALSE(static_cast<bool>(tok));
  std::string message = llvm::toString(tok.takeError());
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("[PAD]"), std::string::npos) << message;
  llvm::sys::fs::remove(path);
}

/// The all-MiniLM-L6-v2 vocab.txt (BERT uncased, 30522 tokens), or "" if it is not there.
std::string realVocabPath() {
  std::string dir;
  if (const char *env = std::getenv("LORC_MODEL_DIR"))
    dir = env;
  else if (const char *home = std::getenv("HOME"))
    dir = std::string(home) + "/.cache/lorc/models/all-MiniLM-L6-v2";
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "vocab.txt");
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

// Expected ids produced by transformers 5.23.0's BertTokenizer (tokenizers backend; the legacy
// slow BertTokenizerLegacy gives the same ids) on the all-MiniLM-L6-v2 vocab.txt:
//   python -c "import os; from transformers import BertTokenizer; \
//     from transformers.models.bert.tokenization_bert import load_vocab; \
//     t = BertTokenizer(vocab=load_vocab(os.path.expanduser( \
//       '~/.cache/lorc/models/all-MiniLM-L6-v2/vocab.txt'))); \
//     print([t(s)['input_ids'] for s in SENTENCES])"
// (BertTokenizer(vocab_file=...) silently ignores the file in transformers 5 and tokenizes with
// a five-token vocabulary; hence `vocab=load_vocab(...)`.)
TEST(TokenizerTest, MatchesTransformersOnRealVocab) {
  std::string path = realVocabPath();
  if (path.empty())
    GTEST_SKIP() << "no vocab.txt in $LORC_MODEL_DIR (default "
                    "$HOME/.cache/lorc/models/all-MiniLM-L6-v2)";
  llvm::Expected<WordPieceTokenizer> tok = WordPieceTokenizer::load(path);
  ASSERT_TRUE(static_cast<bool>(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ(tok->vocabSize(), 30522);
  EXPECT_EQ(tok->padId(), 0);
  EXPECT_EQ(tok->unkId(), 100);
  EXPECT_EQ(tok->clsId(), 101);
  EXPECT_EQ(tok->sepId(), 102);

  struct Case {
    std::string text;
    Ids ids;
  };
  const std::vector<Case> cases = {
      {"Hello, world! How are you?", {101, 7592, 1010, 2088, 999, 2129, 2024, 2017, 1029, 102}},
      {"Café naïve résumé: Über-cool São Paulo.",
       {101, 7668, 15743, 13746, 1024, 19169, 1011, 4658, 7509, 9094, 1012, 102}},
      {"I don't think it's 3.14159 or 42,000 dollars ($42k).",
       {101, 1045, 2123, 1005, 1056, 2228, 2009, 1005, 1055, 1017, 1012, 15471, 28154,
        2030, 4413, 1010, 2199, 6363, 1006, 1002, 4413, 2243, 1007, 1012, 102}},
      {"東京 is in 日本 — 100% sure…",
       {101, 1879, 1755, 2003, 1999, 1864, 1876, 1517, 2531, 1003, 2469, 1529, 102}},
      {"Pneumonoultramicroscopicsilicovolcanoconiosis and " + std::string(101, 'a') +
           " words.",
       {101, 1052, 2638, 2819, 17175, 11314, 6444, 2594, 7352, 26461, 27572, 11261,
        6767, 15472, 6761, 8663, 10735, 2483, 1998, 100, 2616, 1012, 102}},
      {"The ΣΟΦΙΑ of Москва: İstanbul, Straße & Ærø.",
       {101, 1996, 1173, 29730, 29736, 27432, 1997, 1191, 14150, 29747, 23925, 25529,
        10260, 1024, 9960, 1010, 2358, 27807, 1004, 1097, 2099, 16415, 1012, 102}},
      {"", {101, 102}},
  };
  for (const Case &c : cases)
    EXPECT_EQ(tok->encode(c.text), c.ids) << c.text;

  // t(SENTENCES[2], truncation=True, max_length=8)
  EXPECT_EQ(tok->encode(cases[2].text, 8), (Ids{101, 1045, 2123, 1005, 1056, 2228, 2009, 102}));

  // t(SENTENCES[:3], padding=True)
  WordPieceTokenizer::Batch batch =
      tok->encodeBatch({cases[0].text, cases[1].text, cases[2].text});
  ASSERT_EQ(batch.batch, 3);
  ASSERT_EQ(batch.seqLen, 25);
  for (int64_t row = 0; row < 3; ++row) {
    const Ids &ids = cases[row].ids;
    for (int64_t col = 0; col < 25; ++col) {
      bool real = col < static_cast<int64_t>(ids.size());
      EXPECT_EQ(batch.inputIds[row * 25 + col], real ? ids[col] : 0) << row << "," << col;
      EXPECT_EQ(batch.attentionMask[row * 25 + col], real ? 1 : 0) << row << "," << col;
    }
  }
}

} // namespace
