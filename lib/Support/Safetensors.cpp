//===- Safetensors.cpp - Strict safetensors reader and writer -------------===//

#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <tuple>

using namespace lorc;
using llvm::Error;
using llvm::StringRef;
using llvm::Twine;

/// MAX_HEADER_SIZE of the reference implementation: larger headers are refused before parsing.
static constexpr uint64_t kMaxHeaderSize = 100'000'000;
/// serde_json's default recursion limit. A valid header nests three deep; the limit exists so
/// that a hostile header cannot exhaust the stack of the recursive JSON parser.
static constexpr unsigned kMaxNesting = 128;
static constexpr StringRef kMetadataKey = "__metadata__";

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

std::optional<DType> lorc::parseDType(StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("BOOL", DType::BOOL)
      .Case("U8", DType::U8)
      .Case("I8", DType::I8)
      .Case("I16", DType::I16)
      .Case("U16", DType::U16)
      .Case("F16", DType::F16)
      .Case("BF16", DType::BF16)
      .Case("I32", DType::I32)
      .Case("U32", DType::U32)
      .Case("F32", DType::F32)
      .Case("F64", DType::F64)
      .Case("I64", DType::I64)
      .Case("U64", DType::U64)
      .Case("C64", DType::C64)
      .Case("F8_E4M3", DType::F8_E4M3)
      .Case("F8_E5M2", DType::F8_E5M2)
      .Case("F8_E8M0", DType::F8_E8M0)
      .Case("F8_E4M3FNUZ", DType::F8_E4M3FNUZ)
      .Case("F8_E5M2FNUZ", DType::F8_E5M2FNUZ)
      .Case("F4", DType::F4)
      .Case("F6_E2M3", DType::F6_E2M3)
      .Case("F6_E3M2", DType::F6_E3M2)
      .Default(std::nullopt);
}

StringRef lorc::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::BOOL:
    return "BOOL";
  case DType::U8:
    return "U8";
  case DType::I8:
    return "I8";
  case DType::I16:
    return "I16";
  case DType::U16:
    return "U16";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I32:
    return "I32";
  case DType::U32:
    return "U32";
  case DType::F32:
    return "F32";
  case DType::F64:
    return "F64";
  case DType::I64:
    return "I64";
  case DType::U64:
    return "U64";
  case DType::C64:
    return "C64";
  case DType::F8_E4M3:
    return "F8_E4M3";
  case DType::F8_E5M2:
    return "F8_E5M2";
  case DType::F8_E8M0:
    return "F8_E8M0";
  case DType::F8_E4M3FNUZ:
    return "F8_E4M3FNUZ";
  case DType::F8_E5M2FNUZ:
    return "F8_E5M2FNUZ";
  case DType::F4:
    return "F4";
  case DType::F6_E2M3:
    return "F6_E2M3";
  case DType::F6_E3M2:
    return "F6_E3M2";
  }
  llvm_unreachable("unknown DType");
}

unsigned lorc::dtypeBits(DType dtype) {
  switch (dtype) {
  case DType::F4:
    return 4;
  case DType::F6_E2M3:
  case DType::F6_E3M2:
    return 6;
  case DType::BOOL:
  case DType::U8:
  case DType::I8:
  case DType::F8_E4M3:
  case DType::F8_E5M2:
  case DType::F8_E8M0:
  case DType::F8_E4M3FNUZ:
  case DType::F8_E5M2FNUZ:
    return 8;
  case DType::I16:
  case DType::U16:
  case DType::F16:
  case DType::BF16:
    return 16;
  case DType::I32:
  case DType::U32:
  case DType::F32:
    return 32;
  case DType::F64:
  case DType::I64:
  case DType::U64:
  case DType::C64:
    return 64;
  }
  llvm_unreachable("unknown DType");
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Every error of this file is "<path>: <what>". StringError is built directly (not through
/// the printf-style createStringError) so that a '%' in a path or tensor name is harmless.
static Error makeError(StringRef path, const Twine &what) {
  return llvm::make_error<llvm::StringError>(path + ": " + what, llvm::inconvertibleErrorCode());
}

static std::string tensorPrefix(StringRef name) { return ("tensor '" + name + "': ").str(); }

/// Renders a JSON value for an error message, shortened so that a hostile header cannot make
/// the message huge.
static std::string jsonText(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  os.flush();
  if (text.size() > 64)
    text = text.substr(0, 61) + "...";
  return text;
}

static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  os.flush();
  return text;
}

/// Product of `shape` times `bits`, in bits, with the reference's overflow checks (left to
/// right, as `try_fold(1, checked_mul)` does). nullopt on overflow.
static std::optional<uint64_t> tensorBits(llvm::ArrayRef<int64_t> shape, unsigned bits,
                                          uint64_t *numel = nullptr) {
  uint64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(dim), &n))
      return std::nullopt;
  }
  if (numel)
    *numel = n;
  uint64_t total;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(bits), &total))
    return std::nullopt;
  return total;
}

/// Returns false if strings and brackets of `text` nest deeper than `limit`. Runs before the
/// recursive JSON parser sees the text; does not otherwise validate it.
static bool nestingWithin(StringRef text, unsigned limit) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

namespace {
/// Where a duplicate JSON key was found: `outer` is empty for the top-level object, else the
/// top-level key whose object value holds the duplicate.
struct DuplicateKey {
  std::string outer;
  std::string key;
};

/// Walks the raw text of a header that llvm::json::parse has accepted and finds duplicate
/// keys, which llvm::json silently collapses but the format forbids (serde rejects duplicate
/// fields). Checks the top-level object and every object directly inside it (tensor entries
/// and `__metadata__`). Stops quietly on anything unexpected, since the text is valid JSON.
class DuplicateKeyScanner {
public:
  explicit DuplicateKeyScanner(StringRef text) : text(text) {}

  std::optional<DuplicateKey> run() {
    std::optional<DuplicateKey> found;
    skipSpace();
    scanObject(/*outer=*/std::nullopt, found);
    return found;
  }

private:
  StringRef text;
  size_t pos = 0;

  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return atEnd() ? '\0' : text[pos]; }

  void skipSpace() {
    while (!atEnd() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  /// Consumes a string literal (at its opening quote); returns its raw source text, quotes
  /// included.
  std::optional<StringRef> scanString() {
    if (peek() != '"')
      return std::nullopt;
    size_t start = pos++;
    while (!atEnd()) {
      char c = text[pos++];
      if (c == '\\')
        ++pos;
      else if (c == '"')
        return text.slice(start, pos);
    }
    return std::nullopt;
  }

  /// The key a string literal denotes. Escapes are decoded by llvm::json itself so that
  /// "\u0061" and "a" compare equal exactly as the parser sees them.
  static std::string decodeKey(StringRef literal) {
    StringRef body = literal.drop_front().drop_back();
    if (!body.contains('\\'))
      return body.str();
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(literal);
    if (!value) {
      llvm::consumeError(value.takeError());
      return body.str();
    }
    if (std::optional<StringRef> str = value->getAsString())
      return str->str();
    return body.str();
  }

  /// Skips one value of any kind without recursion.
  bool skipValue() {
    skipSpace();
    char c = peek();
    if (c == '"')
      return scanString().has_value();
    if (c == '{' || c == '[') {
      unsigned depth = 0;
      while (!atEnd()) {
        char d = text[pos];
        if (d == '"') {
          if (!scanString())
            return false;
          continue;
        }
        ++pos;
        if (d == '{' || d == '[') {
          ++depth;
        } else if (d == '}' || d == ']') {
          if (--depth == 0)
            return true;
        }
      }
      return false;
    }
    // A number or a literal (true, false, null).
    size_t start = pos;
    while (!atEnd() && !StringRef(",]} \t\r\n").contains(text[pos]))
      ++pos;
    return pos != start;
  }

  /// Scans an object at `pos`. With `outer` unset this is the top level: object values are
  /// scanned one level further (with their key as `outer`), other values skipped.
  bool scanObject(std::optional<StringRef> outer, std::optional<DuplicateKey> &found) {
    if (peek() != '{')
      return false;
    ++pos;
    llvm::StringSet<> seen;
    skipSpace();
    if (peek() == '}') {
      ++pos;
      return true;
    }
    while (!atEnd()) {
      skipSpace();
      std::optional<StringRef> literal = scanString();
      if (!literal)
        return false;
      std::string key = decodeKey(*literal);
      if (!seen.insert(key).second) {
        found = DuplicateKey{outer ? outer->str() : std::string(), key};
        return false;
      }
      skipSpace();
      if (peek() != ':')
        return false;
      ++pos;
      skipSpace();
      if (!outer && peek() == '{') {
        if (!scanObject(StringRef(key), found))
          return false;
      } else if (!skipValue()) {
        return false;
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == '}') {
        ++pos;
        return true;
      }
      return false;
    }
    return false;
  }
};
} // namespace

/// A non-negative JSON integer. getAsUINT64 refuses doubles ("2.0", "1e3") as serde's usize
/// does.
static std::optional<uint64_t> getIndex(const llvm::json::Value &value) {
  return value.getAsUINT64();
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false,
                                  /*IsVolatile=*/false);
  if (!buffer)
    return makeError(path, "cannot open: " + buffer.getError().message());
  return fromBuffer(std::move(*buffer), path);
}

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, StringRef displayName) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->displayName = displayName.str();
  file->buffer = std::move(buffer);
  if (!file->buffer)
    return makeError(displayName, "no buffer");
  if (Error err = file->parse())
    return std::move(err);
  return std::move(file);
}

Error SafetensorsFile::parse() {
  StringRef bytes = buffer->getBuffer();
  auto fail = [&](const Twine &what) { return makeError(displayName, what); };
  auto failTensor = [&](StringRef name, const Twine &what) {
    return makeError(displayName, tensorPrefix(name) + what);
  };

  // Header length.
  if (bytes.size() < 8)
    return fail("header too small: the file has " + Twine(bytes.size()) +
                " bytes, expected at least 8 for the header length (HeaderTooSmall)");
  uint64_t n = llvm::support::endian::read64le(bytes.data());
  if (n > kMaxHeaderSize)
    return fail("header too large: header length is " + Twine(n) + " bytes, the limit is " +
                Twine(kMaxHeaderSize) + " (HeaderTooLarge)");
  uint64_t stop;
  if (__builtin_add_overflow(n, uint64_t(8), &stop) || stop > bytes.size())
    return fail("invalid header length: 8 + " + Twine(n) +
                " header bytes exceed the file size of " + Twine(bytes.size()) +
                " bytes (InvalidHeaderLength)");
  headerSize = n;
  StringRef header = bytes.substr(8, n);

  // Header text.
  size_t badOffset = 0;
  if (!llvm::json::isUTF8(header, &badOffset))
    return fail("header is not valid UTF-8 (invalid byte at header offset " + Twine(badOffset) +
                ") (InvalidHeader)");
  if (!header.starts_with("{"))
    return fail("header must be a JSON object starting with '{' (InvalidHeaderStart)");
  if (!nestingWithin(header, kMaxNesting))
    return fail("header JSON nests deeper than " + Twine(kMaxNesting) +
                " levels (InvalidHeaderDeserialization)");
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(header);
  if (!parsed)
    return fail("header is not valid JSON: " + llvm::toString(parsed.takeError()) +
                " (InvalidHeaderDeserialization)");
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fail("header is not a JSON object (InvalidHeaderDeserialization)");
  if (std::optional<DuplicateKey> dup = DuplicateKeyScanner(header).run()) {
    if (dup->outer.empty())
      return fail("duplicate key '" + dup->key + "' in the header (InvalidHeaderDeserialization)");
    if (dup->outer == kMetadataKey)
      return fail(kMetadataKey + ": duplicate key '" + dup->key +
                  "' (InvalidHeaderDeserialization)");
    return failTensor(dup->outer,
                      "duplicate key '" + dup->key + "' (InvalidHeaderDeserialization)");
  }

  // Metadata.
  if (const llvm::json::Value *metaValue = root->get(kMetadataKey)) {
    const llvm::json::Object *metaObject = metaValue->getAsObject();
    if (!metaObject)
      return fail(kMetadataKey + " must be an object of strings, found " + jsonText(*metaValue) +
                  " (InvalidHeaderDeserialization)");
    for (const auto &kv : *metaObject) {
      std::optional<StringRef> str = kv.second.getAsString();
      if (!str)
        return fail(kMetadataKey + ": value of key '" + StringRef(kv.first) +
                    "' must be a string, found " + jsonText(kv.second) +
                    " (InvalidHeaderDeserialization)");
      meta.emplace(StringRef(kv.first).str(), str->str());
    }
  }

  // Tensor entries, visited by name so that the first error reported does not depend on hash
  // order.
  std::vector<std::pair<StringRef, const llvm::json::Value *>> entries;
  entries.reserve(root->size());
  for (const auto &kv : *root)
    if (StringRef(kv.first) != kMetadataKey)
      entries.emplace_back(StringRef(kv.first), &kv.second);
  llvm::sort(entries, llvm::less_first());

  infos.reserve(entries.size());
  for (const auto &[name, value] : entries) {
    const llvm::json::Object *entry = value->getAsObject();
    if (!entry)
      return failTensor(name, "entry must be an object with dtype, shape and data_offsets, "
                              "found " +
                                  jsonText(*value) + " (InvalidHeaderDeserialization)");
    // Visit fields in sorted order too, so that the unknown field reported is deterministic.
    llvm::SmallVector<StringRef, 4> fields;
    for (const auto &kv : *entry)
      fields.push_back(kv.first);
    llvm::sort(fields);
    for (StringRef field : fields)
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        return failTensor(name, "unknown field '" + field +
                                    "' (expected dtype, shape and data_offsets) "
                                    "(InvalidHeaderDeserialization)");
    for (StringRef field : {"dtype", "shape", "data_offsets"})
      if (!entry->get(field))
        return failTensor(name, "missing field '" + field + "' (InvalidHeaderDeserialization)");

    TensorInfo info;
    info.name = name.str();

    const llvm::json::Value &dtypeValue = *entry->get("dtype");
    std::optional<StringRef> dtypeString = dtypeValue.getAsString();
    if (!dtypeString)
      return failTensor(name, "dtype must be a string, found " + jsonText(dtypeValue) +
                                  " (InvalidHeaderDeserialization)");
    std::optional<DType> dtype = parseDType(*dtypeString);
    if (!dtype)
      return failTensor(name,
                        "unknown dtype '" + *dtypeString + "' (InvalidHeaderDeserialization)");
    info.dtype = *dtype;

    const llvm::json::Value &shapeValue = *entry->get("shape");
    const llvm::json::Array *shapeArray = shapeValue.getAsArray();
    if (!shapeArray)
      return failTensor(name, "shape must be an array of non-negative integers, found " +
                                  jsonText(shapeValue) + " (InvalidHeaderDeserialization)");
    for (size_t i = 0, e = shapeArray->size(); i < e; ++i) {
      std::optional<uint64_t> dim = getIndex((*shapeArray)[i]);
      if (!dim || *dim > uint64_t(std::numeric_limits<int64_t>::max()))
        return failTensor(name, "shape[" + Twine(i) +
                                    "] must be a non-negative integer (at most 2^63-1), found " +
                                    jsonText((*shapeArray)[i]) + " (InvalidHeaderDeserialization)");
      info.shape.push_back(static_cast<int64_t>(*dim));
    }

    const llvm::json::Value &offsetsValue = *entry->get("data_offsets");
    const llvm::json::Array *offsets = offsetsValue.getAsArray();
    std::optional<uint64_t> begin, end;
    if (offsets && offsets->size() == 2) {
      begin = getIndex((*offsets)[0]);
      end = getIndex((*offsets)[1]);
    }
    if (!begin || !end)
      return failTensor(name, "data_offsets must be [BEGIN, END] with non-negative integers, "
                              "found " +
                                  jsonText(offsetsValue) + " (InvalidHeaderDeserialization)");
    if (*begin > *end)
      return failTensor(name, "data_offsets [" + Twine(*begin) + ", " + Twine(*end) +
                                  "]: BEGIN is after END (InvalidOffset)");
    info.begin = *begin;
    info.end = *end;
    infos.push_back(std::move(info));
  }

  // Layout: sorted by offsets, the tensors must tile [0, dataSize) exactly.
  llvm::sort(infos, [](const TensorInfo &a, const TensorInfo &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t expectedBegin = 0;
  const TensorInfo *previous = nullptr;
  for (const TensorInfo &info : infos) {
    if (info.begin != expectedBegin) {
      std::string offsets =
          "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
      if (!previous)
        return failTensor(info.name, offsets +
                                         " do not start the data section, as the first tensor in "
                                         "data order must: expected BEGIN 0, found " +
                                         Twine(info.begin) + " (InvalidOffset)");
      StringRef what = info.begin < expectedBegin ? "overlap the previous tensor '"
                                                  : "leave a hole after the previous tensor '";
      return failTensor(info.name, offsets + " " + what + previous->name + "': expected BEGIN " +
                                       Twine(expectedBegin) + ", found " + Twine(info.begin) +
                                       " (InvalidOffset)");
    }
    expectedBegin = info.end;
    previous = &info;

    unsigned bits = dtypeBits(info.dtype);
    uint64_t numel = 0;
    std::optional<uint64_t> nbits = tensorBits(info.shape, bits, &numel);
    if (!nbits)
      return failTensor(info.name, "size of shape " + shapeText(info.shape) + " of " +
                                       dtypeName(info.dtype) +
                                       " overflows 64 bits (ValidationOverflow)");
    if (*nbits % 8 != 0)
      return failTensor(info.name, Twine(numel) + " elements of " + dtypeName(info.dtype) +
                                       " take " + Twine(*nbits) +
                                       " bits, not a whole number of bytes (MisalignedSlice)");
    uint64_t expectedBytes = *nbits / 8;
    if (info.end - info.begin != expectedBytes)
      return failTensor(info.name, "byte size mismatch: shape " + shapeText(info.shape) + " of " +
                                       dtypeName(info.dtype) + " needs " + Twine(expectedBytes) +
                                       " bytes, data_offsets [" + Twine(info.begin) + ", " +
                                       Twine(info.end) + "] span " + Twine(info.end - info.begin) +
                                       " (TensorInvalidInfo)");
  }

  uint64_t dataBytes = bytes.size() - stop;
  if (expectedBegin != dataBytes)
    return fail("data section size mismatch: the tensors cover " + Twine(expectedBegin) +
                " bytes, but the data section has " + Twine(dataBytes) + " (file size " +
                Twine(bytes.size()) + " = 8 + header " + Twine(n) + " + data " + Twine(dataBytes) +
                ") (MetadataIncompleteBuffer)");

  byName.resize(infos.size());
  for (size_t i = 0, e = infos.size(); i < e; ++i)
    byName[i] = i;
  llvm::sort(byName, [&](size_t a, size_t b) { return infos[a].name < infos[b].name; });
  return Error::success();
}

const TensorInfo *SafetensorsFile::find(StringRef name) const {
  auto it = llvm::partition_point(
      byName, [&](size_t index) { return StringRef(infos[index].name) < name; });
  if (it == byName.end() || infos[*it].name != name)
    return nullptr;
  return &infos[*it];
}

llvm::ArrayRef<uint8_t> SafetensorsFile::data(const TensorInfo &info) const {
  assert(info.begin <= info.end && info.end <= dataSize() && "tensor of another file");
  return llvm::ArrayRef<uint8_t>(dataBegin() + info.begin, info.end - info.begin);
}

const uint8_t *SafetensorsFile::dataBegin() const {
  return reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) + dataFileOffset();
}

uint64_t SafetensorsFile::dataSize() const { return buffer->getBufferSize() - dataFileOffset(); }

//===----------------------------------------------------------------------===//
// SafetensorsWriter
//===----------------------------------------------------------------------===//

uint64_t SafetensorsWriter::addReference(StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape,
                                         llvm::ArrayRef<uint8_t> bytes) {
  uint64_t begin = nextOffset;
  entries.push_back(Entry{name.str(), dtype, llvm::SmallVector<int64_t, 4>(shape), bytes,
                          /*owned=*/nullptr, begin});
  nextOffset += bytes.size();
  return begin;
}

uint64_t SafetensorsWriter::addOwned(StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape,
                                     std::vector<uint8_t> bytes) {
  // The vector lives on the heap behind the shared_ptr, so `bytes` stays valid when entries
  // are copied or the entry vector grows.
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  uint64_t begin = addReference(name, dtype, shape, *owned);
  entries.back().owned = std::move(owned);
  return begin;
}

void SafetensorsWriter::setMetadata(StringRef key, StringRef value) {
  meta[key.str()] = value.str();
}

Error SafetensorsWriter::write(StringRef path) const {
  auto fail = [&](const Twine &what) { return makeError(path, what); };

  // Refuse anything the reader would refuse, so that a written file always opens.
  llvm::StringSet<> names;
  for (const Entry &entry : entries) {
    std::string prefix = tensorPrefix(entry.name);
    if (entry.name == kMetadataKey)
      return fail(prefix + "the name is reserved for the metadata");
    if (!llvm::json::isUTF8(entry.name))
      return fail(prefix + "the name is not valid UTF-8");
    if (!names.insert(entry.name).second)
      return fail(prefix + "added twice");
    std::optional<uint64_t> nbits = tensorBits(entry.shape, dtypeBits(entry.dtype));
    if (!nbits)
      return fail(prefix + "shape " + shapeText(entry.shape) +
                  " has a negative dimension or its size overflows 64 bits");
    if (*nbits % 8 != 0)
      return fail(prefix + "shape " + shapeText(entry.shape) + " of " + dtypeName(entry.dtype) +
                  " is " + Twine(*nbits) + " bits, not a whole number of bytes");
    if (*nbits / 8 != entry.bytes.size())
      return fail(prefix + "shape " + shapeText(entry.shape) + " of " + dtypeName(entry.dtype) +
                  " needs " + Twine(*nbits / 8) + " bytes, got " + Twine(entry.bytes.size()));
  }
  for (const auto &kv : meta)
    if (!llvm::json::isUTF8(kv.first) || !llvm::json::isUTF8(kv.second))
      return fail(kMetadataKey + ": key '" + kv.first + "' or its value is not valid UTF-8");

  // Header JSON: metadata first (as the reference writer does), then tensors in data order.
  std::string header;
  {
    llvm::raw_string_ostream os(header);
    llvm::json::OStream json(os);
    json.object([&] {
      if (!meta.empty())
        json.attributeObject(kMetadataKey, [&] {
          for (const auto &kv : meta)
            json.attribute(kv.first, kv.second);
        });
      for (const Entry &entry : entries)
        json.attributeObject(entry.name, [&] {
          json.attribute("dtype", dtypeName(entry.dtype));
          json.attributeArray("shape", [&] {
            for (int64_t dim : entry.shape)
              json.value(dim);
          });
          json.attributeArray("data_offsets", [&] {
            json.value(entry.begin);
            json.value(entry.begin + entry.bytes.size());
          });
        });
    });
    os.flush();
  }
  uint64_t align = alignment == 0 ? 1 : alignment;
  uint64_t unpadded = 8 + header.size();
  header.append((align - unpadded % align) % align, ' ');
  if (header.size() > kMaxHeaderSize)
    return fail("header of " + Twine(header.size()) + " bytes exceeds the limit of " +
                Twine(kMaxHeaderSize));
  char lengthBytes[8];
  llvm::support::endian::write64le(lengthBytes, header.size());

  // Write beside `path`, then rename: readers never see a partial file.
  int fd = -1;
  llvm::SmallString<256> tempPath;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, tempPath))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeTemp(tempPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(lengthBytes, sizeof(lengthBytes));
    os << header;
    for (const Entry &entry : entries)
      os.write(reinterpret_cast<const char *>(entry.bytes.data()), entry.bytes.size());
    os.close();
    if (std::error_code ec = os.error()) {
      os.clear_error();
      return fail("cannot write temporary file '" + tempPath + "': " + ec.message());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tempPath, path))
    return fail("cannot rename temporary file '" + tempPath + "' onto it: " + ec.message());
  removeTemp.releaseFile();
  return Error::success();
}
