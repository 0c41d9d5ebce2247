//===- ByteSize.h - sizes with units on command lines -----------*- C++ -*-===//

#ifndef LORC_SUPPORT_BYTESIZE_H
#define LORC_SUPPORT_BYTESIZE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace lorc {

/// Parses a positive byte size: an integer with an optional unit, binary (KiB, MiB, GiB, TiB) or
/// decimal (kB/KB, MB, GB, TB, B), e.g. "32MiB", "500MB", "4000000". Errors name `flag`
/// ("--memory-budget=32XB: expected a positive size such as ...").
llvm::Expected<uint64_t> parseByteSize(llvm::StringRef text, llvm::StringRef flag);

} // namespace lorc

#endif // LORC_SUPPORT_BYTESIZE_H
