//===- ByteSize.cpp - sizes with units on command lines -------------------===//

#include "lorc/Support/ByteSize.h"

#include "llvm/ADT/StringExtras.h"

#include <cstdint>

llvm::Expected<uint64_t> lorc::parseByteSize(llvm::StringRef text, llvm::StringRef flag) {
  llvm::StringRef digits = text.take_while([](char c) { return llvm::isDigit(c); });
  llvm::StringRef unit = text.drop_front(digits.size()).trim();
  static const std::pair<const char *, uint64_t> units[] = {
      {"", 1},           {"B", 1},
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
      {"kB", 1000ull},   {"KB", 1000ull},      {"MB", 1000000ull},  {"GB", 1000000000ull},
      {"TB", 1000000000000ull}};
  uint64_t value = 0;
  if (!digits.empty() && !digits.getAsInteger(10, value))
    for (const auto &[name, factor] : units)
      if (unit == name && value <= UINT64_MAX / factor && value * factor > 0)
        return value * factor;
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 flag + "=" + text +
                                     ": expected a positive size such as 32MiB, 1GiB, 500MB or "
                                     "4000000 (bytes)");
}
