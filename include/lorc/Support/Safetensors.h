//===- Safetensors.h - Strict safetensors reader and writer -----*- C++ -*-===//
//
// The safetensors format (huggingface/safetensors, README "Format", src/tensor.rs):
//
//   [0, 8)       N: u64 little-endian, header length in bytes (N <= 100'000'000)
//   [8, 8+N)     header: UTF-8 JSON object, optionally right-padded with ' '
//                {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ...,
//                 "__metadata__": {"key": "string value", ...}}
//   [8+N, EOF)   data section; offsets are relative to its start, tensors contiguous, no holes,
//                no trailing bytes, row-major little-endian.
//
// The reader mmaps the file and validates every rule of the reference implementation
// (HeaderTooSmall, HeaderTooLarge, InvalidHeaderLength, InvalidHeader (UTF-8),
// InvalidHeaderDeserialization (JSON, duplicate keys), InvalidOffset, ValidationOverflow,
// MisalignedSlice, TensorInvalidInfo, MetadataIncompleteBuffer). Every error names the file and,
// where one is involved, the tensor.
//
//===----------------------------------------------------------------------===//

#ifndef LORC_SUPPORT_SAFETENSORS_H
#define LORC_SUPPORT_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lorc {

/// Element types of safetensors (`enum Dtype` in src/tensor.rs).
enum class DType {
  BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, C64,
  F8_E4M3, F8_E5M2, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F4, F6_E2M3, F6_E3M2
};

/// Parses a safetensors dtype name ("F32", "BF16", "F8_E4M3", ...); nullopt if unknown.
std::optional<DType> parseDType(llvm::StringRef name);
/// The safetensors spelling of `dtype`.
llvm::StringRef dtypeName(DType dtype);
/// Size of one element in bits (4 for F4, 6 for F6_*, 8 for BOOL and F8_*).
unsigned dtypeBits(DType dtype);

/// One tensor of a safetensors file. Offsets are bytes, relative to the data section.
struct TensorInfo {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
  /// Product of the shape (1 for a rank-0 tensor).
  int64_t numElements() const;
  uint64_t numBytes() const { return end - begin; }
};

/// A validated, memory-mapped safetensors file. Immutable; safe to read from several threads.
class SafetensorsFile {
public:
  /// Maps and validates `path`. Errors are "<path>: <what>" (+ "tensor '<name>': ").
  static llvm::Expected<std::unique_ptr<SafetensorsFile>> open(llvm::StringRef path);
  /// Validates an in-memory buffer; `displayName` is used in error messages.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef displayName);

  llvm::StringRef path() const { return displayName; }
  /// Tensors in data order (sorted by begin offset).
  llvm::ArrayRef<TensorInfo> tensors() const { return infos; }
  /// The tensor called `name`, or nullptr.
  const TensorInfo *find(llvm::StringRef name) const;
  /// Raw bytes of `info` (a tensor of this file).
  llvm::ArrayRef<uint8_t> data(const TensorInfo &info) const;
  /// The data section: [dataBegin(), dataBegin() + dataSize()).
  const uint8_t *dataBegin() const;
  uint64_t dataSize() const;
  /// File offset of the data section (8 + N).
  uint64_t dataFileOffset() const { return 8 + headerSize; }
  /// The `__metadata__` string map (empty if absent).
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  SafetensorsFile() = default;
  /// Validates `buffer` and fills the fields below; errors name `displayName`.
  llvm::Error parse();
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::string displayName;
  uint64_t headerSize = 0;
  std::vector<TensorInfo> infos;
  /// Indices into `infos`, sorted by tensor name, so that find() is a binary search.
  std::vector<size_t> byName;
  std::map<std::string, std::string> meta;
};

/// Builds a safetensors file. Tensors are laid out in the order they are added, contiguously;
/// the header is padded with spaces so that the data section starts at a multiple of
/// `dataAlignment` bytes in the file (mmap then gives aligned tensors when every tensor's byte
/// size is a multiple of its element size).
class SafetensorsWriter {
public:
  explicit SafetensorsWriter(unsigned dataAlignment = 64) : alignment(dataAlignment) {}

  /// Adds a tensor whose bytes stay owned by the caller until write() returns.
  /// Returns the tensor's begin offset in the data section (bytes).
  uint64_t addReference(llvm::StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<uint8_t> bytes);
  /// Adds a tensor, taking ownership of its bytes. Returns its begin offset (bytes).
  uint64_t addOwned(llvm::StringRef name, DType dtype, llvm::ArrayRef<int64_t> shape,
                    std::vector<uint8_t> bytes);
  /// Adds a `__metadata__` entry.
  void setMetadata(llvm::StringRef key, llvm::StringRef value);
  /// Total bytes of the data section so far.
  uint64_t dataSize() const { return nextOffset; }

  /// Writes the file atomically: to a temporary file beside `path`, then renamed over it.
  /// On failure nothing is left at `path` (or the previous file stays untouched).
  llvm::Error write(llvm::StringRef path) const;

private:
  struct Entry {
    std::string name;
    DType dtype;
    llvm::SmallVector<int64_t, 4> shape;
    llvm::ArrayRef<uint8_t> bytes;
    std::shared_ptr<std::vector<uint8_t>> owned;
    uint64_t begin;
  };
  unsigned alignment;
  uint64_t nextOffset = 0;
  std::vector<Entry> entries;
  std::map<std::string, std::string> meta;
};

} // namespace lorc

#endif // LORC_SUPPORT_SAFETENSORS_H
