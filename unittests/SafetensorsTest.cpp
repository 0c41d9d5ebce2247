//===- SafetensorsTest.cpp - Tests of the strict safetensors reader/writer -===//

#include "lorc/Support/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstring>
#include <string>
#include <vector>

using namespace lorc;
using llvm::StringRef;

namespace {

/// The display name every in-memory file is given, so that each error test can check that the
/// message names the file.
constexpr const char *kName = "model.safetensors";

std::string le64(uint64_t value) {
  char bytes[8];
  llvm::support::endian::write64le(bytes, value);
  return std::string(bytes, 8);
}

/// A file made of the header length, `header` and `data`.
std::string makeFile(StringRef header, StringRef data = "") {
  return le64(header.size()) + header.str() + data.str();
}

/// One tensor entry of a header: `"name": {...}`.
std::string entry(StringRef name, StringRef dtype, StringRef shape, uint64_t begin, uint64_t end) {
  return ("\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
          ", \"data_offsets\": [" + llvm::Twine(begin) + ", " + llvm::Twine(end) + "]}")
      .str();
}

llvm::Expected<std::unique_ptr<SafetensorsFile>> parseBytes(StringRef bytes) {
  return SafetensorsFile::fromBuffer(llvm::MemoryBuffer::getMemBufferCopy(bytes, kName), kName);
}

/// Parses `bytes`, which must be rejected, and returns the error message.
std::string errorOf(StringRef bytes) {
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(bytes);
  if (file) {
    ADD_FAILURE() << "expected the file to be rejected";
    return "";
  }
  return llvm::toString(file.takeError());
}

/// Checks that `message` is "<kName>: ..." and mentions every one of `parts`.
void expectMessage(const std::string &message, std::initializer_list<StringRef> parts) {
  EXPECT_TRUE(StringRef(message).starts_with(std::string(kName) + ": ")) << message;
  for (StringRef part : parts)
    EXPECT_NE(message.find(part.str()), std::string::npos)
        << "message '" << message << "' lacks '" << part.str() << "'";
}

std::vector<uint8_t> iota(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i)
    bytes[i] = static_cast<uint8_t>(start + i);
  return bytes;
}

std::string asString(llvm::ArrayRef<uint8_t> bytes) {
  return std::string(reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec = llvm::sys::fs::createUniqueDirectory("lorc-safetensors-test", dir);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(dir); }
  std::string path(StringRef name) const {
    llvm::SmallString<256> result(dir);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }
  /// Names of the entries of the directory, to check that no temporary file is left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
      names.push_back(llvm::sys::path::filename(it->path()).str());
    std::sort(names.begin(), names.end());
    return names;
  }

private:
  llvm::SmallString<256> dir;
};

void writeFile(const std::string &path, StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << bytes;
}

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

TEST(SafetensorsDType, NamesAndBits) {
  struct Row {
    const char *name;
    DType dtype;
    unsigned bits;
  };
  const Row rows[] = {
      {"BOOL", DType::BOOL, 8},
      {"U8", DType::U8, 8},
      {"I8", DType::I8, 8},
      {"I16", DType::I16, 16},
      {"U16", DType::U16, 16},
      {"F16", DType::F16, 16},
      {"BF16", DType::BF16, 16},
      {"I32", DType::I32, 32},
      {"U32", DType::U32, 32},
      {"F32", DType::F32, 32},
      {"F64", DType::F64, 64},
      {"I64", DType::I64, 64},
      {"U64", DType::U64, 64},
      {"C64", DType::C64, 64},
      {"F8_E4M3", DType::F8_E4M3, 8},
      {"F8_E5M2", DType::F8_E5M2, 8},
      {"F8_E8M0", DType::F8_E8M0, 8},
      {"F8_E4M3FNUZ", DType::F8_E4M3FNUZ, 8},
      {"F8_E5M2FNUZ", DType::F8_E5M2FNUZ, 8},
      {"F4", DType::F4, 4},
      {"F6_E2M3", DType::F6_E2M3, 6},
      {"F6_E3M2", DType::F6_E3M2, 6},
  };
  for (const Row &row : rows) {
    std::optional<DType> parsed = parseDType(row.name);
    ASSERT_TRUE(parsed.has_value()) << row.name;
    EXPECT_EQ(*parsed, row.dtype) << row.name;
    EXPECT_EQ(dtypeName(row.dtype), row.name);
    EXPECT_EQ(dtypeBits(row.dtype), row.bits) << row.name;
  }
  EXPECT_FALSE(parseDType("f32").has_value());
  EXPECT_FALSE(parseDType("F31").has_value());
  EXPECT_FALSE(parseDType("").has_value());
}

TEST(SafetensorsDType, NumElements) {
  TensorInfo scalar;
  EXPECT_EQ(scalar.numElements(), 1);
  TensorInfo matrix;
  matrix.shape = {3, 4};
  EXPECT_EQ(matrix.numElements(), 12);
  matrix.shape = {3, 0, 4};
  EXPECT_EQ(matrix.numElements(), 0);
}

//===----------------------------------------------------------------------===//
// Valid files
//===----------------------------------------------------------------------===//

TEST(SafetensorsReader, ValidFileWithManyDtypes) {
  // Entries are listed out of data order on purpose: the reader sorts by offsets.
  std::string header =
      "{\"__metadata__\": {\"format\": \"pt\", \"note\": \"caf\\u00e9\"}, " +
      entry("bf16", "BF16", "[4]", 24, 32) + ", " + entry("w", "F32", "[2, 3]", 0, 24) + ", " +
      entry("f16", "F16", "[2, 2]", 32, 40) + ", " + entry("e4m3", "F8_E4M3", "[3]", 40, 43) +
      ", " + entry("e5m2", "F8_E5M2", "[1, 1]", 43, 44) + ", " +
      entry("scalar", "I64", "[]", 44, 52) + ", " + entry("empty", "F32", "[0, 4]", 52, 52) + ", " +
      entry("nibbles", "F4", "[2, 2]", 52, 54) + ", " + entry("six", "F6_E2M3", "[4]", 54, 57) +
      ", " + entry("mask", "BOOL", "[2]", 57, 59) + "}     ";
  std::vector<uint8_t> data = iota(59, 1);
  std::string bytes = makeFile(header, asString(data));

  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(bytes);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  const SafetensorsFile &st = **file;

  EXPECT_EQ(st.path(), kName);
  EXPECT_EQ(st.dataFileOffset(), 8 + header.size());
  EXPECT_EQ(st.dataSize(), 59u);
  EXPECT_EQ(asString(llvm::ArrayRef<uint8_t>(st.dataBegin(), st.dataSize())), asString(data));

  std::vector<std::string> order;
  for (const TensorInfo &info : st.tensors())
    order.push_back(info.name);
  EXPECT_EQ(order, (std::vector<std::string>{"w", "bf16", "f16", "e4m3", "e5m2", "scalar", "empty",
                                             "nibbles", "six", "mask"}));

  const TensorInfo *w = st.find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(w->shape), llvm::ArrayRef<int64_t>({2, 3}));
  EXPECT_EQ(w->begin, 0u);
  EXPECT_EQ(w->end, 24u);
  EXPECT_EQ(w->numElements(), 6);
  EXPECT_EQ(w->numBytes(), 24u);
  EXPECT_EQ(asString(st.data(*w)), asString(llvm::ArrayRef<uint8_t>(data).slice(0, 24)));

  const TensorInfo *bf16 = st.find("bf16");
  ASSERT_NE(bf16, nullptr);
  EXPECT_EQ(bf16->dtype, DType::BF16);
  EXPECT_EQ(asString(st.data(*bf16)), asString(llvm::ArrayRef<uint8_t>(data).slice(24, 8)));

  EXPECT_EQ(st.find("f16")->dtype, DType::F16);
  EXPECT_EQ(st.find("e4m3")->dtype, DType::F8_E4M3);
  EXPECT_EQ(st.find("e5m2")->dtype, DType::F8_E5M2);
  EXPECT_EQ(st.find("nibbles")->dtype, DType::F4);
  EXPECT_EQ(st.find("six")->dtype, DType::F6_E2M3);
  EXPECT_EQ(st.find("mask")->dtype, DType::BOOL);

  const TensorInfo *scalar = st.find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->numElements(), 1);
  EXPECT_EQ(scalar->numBytes(), 8u);

  const TensorInfo *empty = st.find("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->numElements(), 0);
  EXPECT_EQ(empty->numBytes(), 0u);
  EXPECT_TRUE(st.data(*empty).empty());

  EXPECT_EQ(st.find("missing"), nullptr);
  EXPECT_EQ(st.find("__metadata__"), nullptr);
  EXPECT_EQ(st.find(""), nullptr);

  EXPECT_EQ(st.metadata().size(), 2u);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.metadata().at("note"), "caf\xc3\xa9");
}

TEST(SafetensorsReader, EmptyHeaderAndNoData) {
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile("{}"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());
  EXPECT_EQ((*file)->dataSize(), 0u);
  EXPECT_EQ((*file)->dataFileOffset(), 10u);
}

TEST(SafetensorsReader, PaddedHeaderWithOnlyMetadata) {
  std::string header = "{\"__metadata__\": {}}";
  header.append(64 - 8 - header.size(), ' ');
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_EQ((*file)->dataFileOffset(), 64u);
}

TEST(SafetensorsReader, SeveralEmptyTensorsShareAnOffset) {
  std::string header = "{" + entry("a", "F32", "[0]", 0, 0) + ", " + entry("b", "U8", "[2]", 0, 2) +
                       ", " + entry("c", "I8", "[0, 7]", 2, 2) + ", " +
                       entry("d", "I8", "[7, 0]", 2, 2) + "}";
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header, "xy"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 4u);
  EXPECT_EQ(asString((*file)->data(*(*file)->find("b"))), "xy");
  EXPECT_EQ((*file)->find("d")->begin, 2u);
}

TEST(SafetensorsReader, EscapedNames) {
  std::string header = "{" + entry("quote\\\"d", "U8", "[1]", 0, 1) + ", " +
                       entry("caf\\u00e9", "U8", "[1]", 1, 2) + "}";
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header, "ab"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_NE((*file)->find("quote\"d"), nullptr);
  ASSERT_NE((*file)->find("caf\xc3\xa9"), nullptr);
  EXPECT_EQ(asString((*file)->data(*(*file)->find("caf\xc3\xa9"))), "b");
}

TEST(SafetensorsReader, FindAmongManyTensors) {
  std::string header = "{";
  std::string data;
  for (int i = 0; i < 100; ++i) {
    if (i)
      header += ", ";
    header += entry("t" + std::to_string(i), "U8", "[1]", i, i + 1);
    data.push_back(static_cast<char>(i));
  }
  header += "}";
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header, data));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  for (int i = 0; i < 100; ++i) {
    const TensorInfo *info = (*file)->find("t" + std::to_string(i));
    ASSERT_NE(info, nullptr) << i;
    EXPECT_EQ(info->begin, static_cast<uint64_t>(i));
    EXPECT_EQ((*file)->data(*info)[0], i);
  }
  EXPECT_EQ((*file)->find("t100"), nullptr);
  EXPECT_EQ((*file)->find("t"), nullptr);
}

/// Bytes written by Python's `safetensors.numpy.save({"a": float32 [[1, 2]], "b": int8 [3]},
/// metadata={"k": "v"})` (safetensors 0.8): the header is padded to a multiple of 8.
TEST(SafetensorsReader, ReadsReferenceWriterOutput) {
  std::string header = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],"
                       "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"I8\",\"shape\":[1],"
                       "\"data_offsets\":[8,9]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data("\x00\x00\x80\x3f\x00\x00\x00\x40\x03", 9);
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header, data));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  const TensorInfo *a = (*file)->find("a");
  ASSERT_NE(a, nullptr);
  float values[2];
  std::memcpy(values, (*file)->data(*a).data(), sizeof(values));
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], 2.0f);
  EXPECT_EQ((*file)->data(*(*file)->find("b"))[0], 3);
  EXPECT_EQ((*file)->metadata().at("k"), "v");
}

//===----------------------------------------------------------------------===//
// Header length errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsReaderError, FileTooSmall) {
  expectMessage(errorOf(std::string("\x02\x00\x00", 3)), {"too small", "3 bytes", "8"});
  expectMessage(errorOf(""), {"too small", "0 bytes"});
}

TEST(SafetensorsReaderError, HeaderTooLarge) {
  expectMessage(errorOf(le64(100'000'001) + "{}"), {"too large", "100000001", "100000000"});
  expectMessage(errorOf(le64(~uint64_t(0)) + "{}"), {"too large", "18446744073709551615"});
}

TEST(SafetensorsReaderError, HeaderLengthBeyondFile) {
  std::string bytes = le64(100) + "{}";
  expectMessage(errorOf(bytes), {"header length", "100", "10 bytes"});
}

//===----------------------------------------------------------------------===//
// Header text errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsReaderError, HeaderNotUtf8) {
  expectMessage(errorOf(makeFile("{\"\xff\": 1}")), {"UTF-8"});
}

TEST(SafetensorsReaderError, InvalidJson) {
  std::string header = "{" + entry("w", "U8", "[1]", 0, 1) + ",}";
  expectMessage(errorOf(makeFile(header, "x")), {"not valid JSON"});
  expectMessage(errorOf(makeFile("{\"w\": ")), {"not valid JSON"});
  // Padding must be spaces (JSON whitespace); NUL bytes are not.
  expectMessage(errorOf(makeFile(std::string("{}\0\0", 4))), {"not valid JSON"});
}

TEST(SafetensorsReaderError, HeaderNotAnObject) {
  expectMessage(errorOf(makeFile("[]")), {"JSON object", "'{'"});
  expectMessage(errorOf(makeFile("\"w\"")), {"JSON object"});
  // Leading whitespace is refused like the reference's InvalidHeaderStart.
  expectMessage(errorOf(makeFile(" {}")), {"JSON object"});
}

TEST(SafetensorsReaderError, TooDeeplyNested) {
  std::string header = "{\"__metadata__\": " + std::string(200, '[') + std::string(200, ']') + "}";
  expectMessage(errorOf(makeFile(header)), {"nests deeper"});
}

TEST(SafetensorsReaderError, DuplicateTopLevelKey) {
  std::string header =
      "{" + entry("w", "U8", "[1]", 0, 1) + ", " + entry("w", "U8", "[1]", 0, 1) + "}";
  expectMessage(errorOf(makeFile(header, "x")), {"duplicate key 'w'"});
}

TEST(SafetensorsReaderError, DuplicateKeyThroughEscapes) {
  // "\u0077" is "w": the same key spelled differently.
  std::string header =
      "{" + entry("w", "U8", "[1]", 0, 1) + ", " + entry("\\u0077", "U8", "[1]", 1, 2) + "}";
  expectMessage(errorOf(makeFile(header, "xy")), {"duplicate key 'w'"});
}

TEST(SafetensorsReaderError, DuplicateMetadataKey) {
  std::string header = "{\"__metadata__\": {\"k\": \"a\", \"k\": \"b\"}}";
  expectMessage(errorOf(makeFile(header)), {"__metadata__", "duplicate key 'k'"});
  std::string twice = "{\"__metadata__\": {}, \"__metadata__\": {}}";
  expectMessage(errorOf(makeFile(twice)), {"duplicate key '__metadata__'"});
}

TEST(SafetensorsReaderError, DuplicateKeyInTensorEntry) {
  std::string header = "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"dtype\": \"I8\", "
                       "\"data_offsets\": [0, 1]}}";
  expectMessage(errorOf(makeFile(header, "x")), {"tensor 'w'", "duplicate key 'dtype'"});
}

TEST(SafetensorsReaderError, DuplicateKeysDeeperAreNotEntries) {
  // Nested strings with braces and escaped quotes must not confuse the duplicate-key scanner.
  std::string header = "{\"__metadata__\": {\"a\": \"}{\\\"a\\\": \", \"b\": \"[\\\\\"}, " +
                       entry("w", "U8", "[1]", 0, 1) + "}";
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = parseBytes(makeFile(header, "x"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->metadata().at("a"), "}{\"a\": ");
  EXPECT_EQ((*file)->metadata().at("b"), "[\\");
}

//===----------------------------------------------------------------------===//
// Tensor entry errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsReaderError, UnknownDtype) {
  std::string header = "{" + entry("w", "F31", "[1]", 0, 4) + "}";
  expectMessage(errorOf(makeFile(header, "abcd")), {"tensor 'w'", "unknown dtype 'F31'"});
  std::string lower = "{" + entry("v", "f32", "[1]", 0, 4) + "}";
  expectMessage(errorOf(makeFile(lower, "abcd")), {"tensor 'v'", "'f32'"});
}

TEST(SafetensorsReaderError, DtypeNotString) {
  std::string header = "{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}";
  expectMessage(errorOf(makeFile(header, "abcd")), {"tensor 'w'", "dtype", "32"});
}

TEST(SafetensorsReaderError, BadShape) {
  expectMessage(errorOf(makeFile("{" + entry("neg", "U8", "[2, -3]", 0, 6) + "}", "abcdef")),
                {"tensor 'neg'", "shape[1]", "-3"});
  expectMessage(errorOf(makeFile("{" + entry("frac", "U8", "[2.5]", 0, 2) + "}", "ab")),
                {"tensor 'frac'", "shape[0]", "2.5"});
  // Integral doubles are refused too, as serde's usize refuses them.
  expectMessage(errorOf(makeFile("{" + entry("dbl", "U8", "[2.0]", 0, 2) + "}", "ab")),
                {"tensor 'dbl'", "shape[0]"});
  expectMessage(errorOf(makeFile("{" + entry("str", "U8", "[\"2\"]", 0, 2) + "}", "ab")),
                {"tensor 'str'", "shape[0]"});
  expectMessage(errorOf(makeFile("{" + entry("obj", "U8", "{}", 0, 0) + "}")),
                {"tensor 'obj'", "shape must be an array"});
  expectMessage(errorOf(makeFile("{" + entry("huge", "U8", "[9223372036854775808]", 0, 0) + "}")),
                {"tensor 'huge'", "shape[0]"});
}

TEST(SafetensorsReaderError, BadDataOffsets) {
  std::string three = "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1, 2]}}";
  expectMessage(errorOf(makeFile(three, "x")), {"tensor 'w'", "data_offsets", "[0,1,2]"});
  std::string negative = "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [-1, 0]}}";
  expectMessage(errorOf(makeFile(negative)), {"tensor 'w'", "data_offsets"});
  std::string backwards = "{" + entry("w", "U8", "[0]", 4, 2) + "}";
  expectMessage(errorOf(makeFile(backwards)), {"tensor 'w'", "[4, 2]", "InvalidOffset"});
}

TEST(SafetensorsReaderError, EntryNotAnObject) {
  expectMessage(errorOf(makeFile("{\"w\": [1, 2]}")), {"tensor 'w'", "object"});
}

TEST(SafetensorsReaderError, UnknownAndMissingFields) {
  std::string extra = "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1], "
                      "\"stride\": [1]}}";
  expectMessage(errorOf(makeFile(extra, "x")), {"tensor 'w'", "unknown field 'stride'"});
  std::string missing = "{\"w\": {\"dtype\": \"U8\", \"data_offsets\": [0, 1]}}";
  expectMessage(errorOf(makeFile(missing, "x")), {"tensor 'w'", "missing field 'shape'"});
}

//===----------------------------------------------------------------------===//
// Layout errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsReaderError, OverlappingOffsets) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + ", " + entry("b", "U8", "[4]", 2, 6) + "}";
  expectMessage(errorOf(makeFile(header, "abcdef")),
                {"tensor 'b'", "overlap", "expected BEGIN 4", "found 2", "'a'"});
}

TEST(SafetensorsReaderError, SameOffsetsTwice) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + ", " + entry("b", "U8", "[4]", 0, 4) + "}";
  expectMessage(errorOf(makeFile(header, "abcd")), {"tensor 'b'", "overlap"});
}

TEST(SafetensorsReaderError, HoleBetweenTensors) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + ", " + entry("b", "U8", "[2]", 6, 8) + "}";
  expectMessage(errorOf(makeFile(header, "abcdefgh")),
                {"tensor 'b'", "hole", "expected BEGIN 4", "found 6"});
}

TEST(SafetensorsReaderError, FirstOffsetNotZero) {
  std::string header = "{" + entry("a", "U8", "[4]", 2, 6) + "}";
  expectMessage(errorOf(makeFile(header, "abcdef")), {"tensor 'a'", "expected BEGIN 0", "found 2"});
}

TEST(SafetensorsReaderError, ByteLengthMismatch) {
  std::string header = "{" + entry("w", "F32", "[2, 3]", 0, 20) + "}";
  expectMessage(errorOf(makeFile(header, std::string(20, 'x'))),
                {"tensor 'w'", "needs 24 bytes", "span 20", "[2, 3]", "F32"});
}

TEST(SafetensorsReaderError, TrailingBytes) {
  std::string header = "{" + entry("w", "U8", "[4]", 0, 4) + "}";
  std::string message = errorOf(makeFile(header, "abcdef"));
  expectMessage(message, {"data section", "cover 4 bytes", "has 6"});
}

TEST(SafetensorsReaderError, TruncatedData) {
  std::string header = "{" + entry("w", "U8", "[4]", 0, 4) + "}";
  expectMessage(errorOf(makeFile(header, "ab")), {"data section", "cover 4 bytes", "has 2"});
  expectMessage(errorOf(makeFile("{}", "ab")), {"cover 0 bytes", "has 2"});
}

TEST(SafetensorsReaderError, NumelOverflow) {
  std::string header = "{" + entry("big", "U8", "[4294967296, 4294967296]", 0, 0) + "}";
  expectMessage(errorOf(makeFile(header)), {"tensor 'big'", "overflow"});
  // numel fits but numel * 64 bits does not.
  std::string bits = "{" + entry("wide", "F64", "[1152921504606846976]", 0, 0) + "}";
  expectMessage(errorOf(makeFile(bits)), {"tensor 'wide'", "overflow"});
}

TEST(SafetensorsReaderError, MisalignedSubByteTensor) {
  std::string f4 = "{" + entry("q", "F4", "[3]", 0, 2) + "}";
  expectMessage(errorOf(makeFile(f4, "ab")), {"tensor 'q'", "12 bits", "F4"});
  std::string f6 = "{" + entry("r", "F6_E3M2", "[2]", 0, 2) + "}";
  expectMessage(errorOf(makeFile(f6, "ab")), {"tensor 'r'", "12 bits"});
}

//===----------------------------------------------------------------------===//
// Metadata errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsReaderError, MetadataWithNonStringValue) {
  std::string header = "{\"__metadata__\": {\"epochs\": 3}}";
  expectMessage(errorOf(makeFile(header)), {"__metadata__", "'epochs'", "3"});
}

TEST(SafetensorsReaderError, MetadataNotAnObject) {
  expectMessage(errorOf(makeFile("{\"__metadata__\": \"pt\"}")), {"__metadata__", "\"pt\""});
  expectMessage(errorOf(makeFile("{\"__metadata__\": null}")), {"__metadata__"});
}

//===----------------------------------------------------------------------===//
// Files on disk
//===----------------------------------------------------------------------===//

TEST(SafetensorsFileTest, NonexistentPath) {
  TempDir dir;
  std::string path = dir.path("absent.safetensors");
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_FALSE(static_cast<bool>(file));
  std::string message = llvm::toString(file.takeError());
  EXPECT_TRUE(StringRef(message).starts_with(path + ": cannot open: ")) << message;
}

TEST(SafetensorsFileTest, OpenReportsPathInErrors) {
  TempDir dir;
  std::string path = dir.path("bad.safetensors");
  writeFile(path, makeFile("{" + entry("w", "U8", "[4]", 0, 4) + "}", "abc"));
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_FALSE(static_cast<bool>(file));
  std::string message = llvm::toString(file.takeError());
  EXPECT_TRUE(StringRef(message).starts_with(path + ": ")) << message;
}

TEST(SafetensorsFileTest, OpenValidFile) {
  TempDir dir;
  std::string path = dir.path("ok.safetensors");
  writeFile(path, makeFile("{" + entry("w", "I16", "[2]", 0, 4) + "}", "abcd"));
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->path(), path);
  EXPECT_EQ(asString((*file)->data(*(*file)->find("w"))), "abcd");
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

TEST(SafetensorsWriterTest, RoundTrip) {
  TempDir dir;
  std::string path = dir.path("out.safetensors");
  std::vector<uint8_t> weights = iota(2 * 3 * 4, 7);
  std::vector<uint8_t> bias = iota(3 * 2, 100);
  uint64_t scalarBits = 0x0102030405060708ull;
  std::vector<uint8_t> scalar(8);
  std::memcpy(scalar.data(), &scalarBits, 8);

  SafetensorsWriter writer;
  EXPECT_EQ(writer.addReference("layer.0.weight", DType::F32, {2, 3}, weights), 0u);
  EXPECT_EQ(writer.addOwned("layer.0.bias", DType::BF16, {3}, bias), 24u);
  EXPECT_EQ(writer.addOwned("step", DType::I64, {}, scalar), 30u);
  EXPECT_EQ(writer.addOwned("nothing", DType::F16, {0, 5}, {}), 38u);
  EXPECT_EQ(writer.addOwned("fp8", DType::F8_E4M3, {3}, {1, 2, 3}), 38u);
  EXPECT_EQ(writer.addOwned("fp4", DType::F4, {2, 3}, {0x21, 0x43, 0x65}), 41u);
  writer.setMetadata("format", "pt");
  writer.setMetadata("quote\"and\\slash", "line\nbreak");
  EXPECT_EQ(writer.dataSize(), 44u);
  ASSERT_FALSE(static_cast<bool>(writer.write(path)));

  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  const SafetensorsFile &st = **file;
  EXPECT_EQ(st.dataFileOffset() % 64, 0u);
  EXPECT_EQ(st.dataSize(), 44u);
  ASSERT_EQ(st.tensors().size(), 6u);
  EXPECT_EQ(st.tensors()[0].name, "layer.0.weight");
  EXPECT_EQ(st.tensors()[1].name, "layer.0.bias");
  EXPECT_EQ(st.tensors()[2].name, "step");

  const TensorInfo *w = st.find("layer.0.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(w->shape), llvm::ArrayRef<int64_t>({2, 3}));
  EXPECT_EQ(asString(st.data(*w)), asString(weights));
  EXPECT_EQ(asString(st.data(*st.find("layer.0.bias"))), asString(bias));
  const TensorInfo *step = st.find("step");
  ASSERT_NE(step, nullptr);
  EXPECT_TRUE(step->shape.empty());
  EXPECT_EQ(asString(st.data(*step)), asString(scalar));
  EXPECT_EQ(st.find("nothing")->numBytes(), 0u);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(st.find("nothing")->shape), llvm::ArrayRef<int64_t>({0, 5}));
  EXPECT_EQ(asString(st.data(*st.find("fp4"))), "\x21\x43\x65");
  EXPECT_EQ(st.find("fp8")->dtype, DType::F8_E4M3);

  EXPECT_EQ(st.metadata().size(), 2u);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.metadata().at("quote\"and\\slash"), "line\nbreak");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.safetensors"});
}

TEST(SafetensorsWriterTest, AlignmentIsHonoured) {
  TempDir dir;
  for (unsigned alignment : {1u, 8u, 64u, 100u, 4096u}) {
    std::string path = dir.path("a" + std::to_string(alignment) + ".safetensors");
    SafetensorsWriter writer(alignment);
    writer.addOwned("x", DType::U8, {3}, {9, 8, 7});
    ASSERT_FALSE(static_cast<bool>(writer.write(path)));
    llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
    ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
    EXPECT_EQ((*file)->dataFileOffset() % alignment, 0u) << alignment;
    EXPECT_EQ(asString((*file)->data(*(*file)->find("x"))), "\x09\x08\x07");
  }
}

TEST(SafetensorsWriterTest, EmptyFile) {
  TempDir dir;
  std::string path = dir.path("empty.safetensors");
  ASSERT_FALSE(static_cast<bool>(SafetensorsWriter().write(path)));
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_EQ((*file)->dataSize(), 0u);
  EXPECT_EQ((*file)->dataFileOffset(), 64u);
}

TEST(SafetensorsWriterTest, HeaderKeepsInsertionOrderAndEscapes) {
  TempDir dir;
  std::string path = dir.path("order.safetensors");
  SafetensorsWriter writer(1);
  writer.addOwned("z", DType::U8, {1}, {1});
  writer.addOwned("a\"b", DType::U8, {1}, {2});
  writer.addOwned("caf\xc3\xa9", DType::U8, {1}, {3});
  ASSERT_FALSE(static_cast<bool>(writer.write(path)));

  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> raw = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(static_cast<bool>(raw));
  StringRef bytes = (*raw)->getBuffer();
  uint64_t n = llvm::support::endian::read64le(bytes.data());
  StringRef header = bytes.substr(8, n);
  EXPECT_EQ(header, "{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                    "\"a\\\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                    "\"caf\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}");

  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->data(*(*file)->find("a\"b"))[0], 2);
}

TEST(SafetensorsWriterTest, ReplacesExistingFile) {
  TempDir dir;
  std::string path = dir.path("model.safetensors");
  writeFile(path, "old contents");
  SafetensorsWriter writer;
  writer.addOwned("x", DType::I32, {1}, {1, 0, 0, 0});
  ASSERT_FALSE(static_cast<bool>(writer.write(path)));
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->tensors().size(), 1u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(SafetensorsWriterTest, OwnedBytesOutliveTheCaller) {
  TempDir dir;
  std::string path = dir.path("owned.safetensors");
  SafetensorsWriter writer;
  {
    std::vector<uint8_t> temporary = iota(16, 1);
    writer.addOwned("a", DType::U8, {16}, temporary);
    temporary.assign(16, 0);
  }
  // Growing the entry list must not invalidate the owned bytes.
  for (int i = 0; i < 50; ++i)
    writer.addOwned("b" + std::to_string(i), DType::U8, {1}, {static_cast<uint8_t>(i)});
  ASSERT_FALSE(static_cast<bool>(writer.write(path)));
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ(asString((*file)->data(*(*file)->find("a"))), asString(iota(16, 1)));
  EXPECT_EQ((*file)->data(*(*file)->find("b49"))[0], 49);
}

/// Runs `writer.write` into a fresh directory, expects it to fail, and checks that the
/// message names the file (and `tensor`, if given) and that nothing is left behind.
void expectWriteError(const SafetensorsWriter &writer, StringRef tensor, StringRef what) {
  TempDir dir;
  std::string path = dir.path("bad.safetensors");
  llvm::Error err = writer.write(path);
  ASSERT_TRUE(static_cast<bool>(err));
  std::string message = llvm::toString(std::move(err));
  EXPECT_TRUE(StringRef(message).starts_with(path + ": ")) << message;
  if (!tensor.empty()) {
    EXPECT_NE(message.find(("tensor '" + tensor + "'").str()), std::string::npos) << message;
  }
  EXPECT_NE(message.find(what.str()), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsWriterTest, RefusesInvalidTensors) {
  {
    SafetensorsWriter writer;
    writer.addOwned("w", DType::F32, {2, 2}, iota(15));
    expectWriteError(writer, "w", "needs 16 bytes, got 15");
  }
  {
    SafetensorsWriter writer;
    writer.addOwned("w", DType::U8, {1}, {1});
    writer.addOwned("w", DType::U8, {1}, {2});
    expectWriteError(writer, "w", "twice");
  }
  {
    SafetensorsWriter writer;
    writer.addOwned("__metadata__", DType::U8, {1}, {1});
    expectWriteError(writer, "__metadata__", "reserved");
  }
  {
    SafetensorsWriter writer;
    writer.addOwned("q", DType::F4, {3}, {1, 2});
    expectWriteError(writer, "q", "not a whole number of bytes");
  }
  {
    SafetensorsWriter writer;
    writer.addOwned("n", DType::U8, {-1}, {});
    expectWriteError(writer, "n", "negative");
  }
  {
    SafetensorsWriter writer;
    writer.addOwned("bad\xff", DType::U8, {1}, {1});
    expectWriteError(writer, "bad\xff", "UTF-8");
  }
  {
    SafetensorsWriter writer;
    writer.setMetadata("key", "bad\xff");
    expectWriteError(writer, "", "UTF-8");
  }
}

TEST(SafetensorsWriterTest, MissingDirectory) {
  TempDir dir;
  std::string path = dir.path("no/such/dir/out.safetensors");
  SafetensorsWriter writer;
  writer.addOwned("x", DType::U8, {1}, {1});
  llvm::Error err = writer.write(path);
  ASSERT_TRUE(static_cast<bool>(err));
  std::string message = llvm::toString(std::move(err));
  EXPECT_TRUE(StringRef(message).starts_with(path + ": ")) << message;
  EXPECT_TRUE(dir.entries().empty());
}

} // namespace
