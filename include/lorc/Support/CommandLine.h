//===- CommandLine.h - tool flags without libLLVM's global options ---*- C++ -*-===//

#ifndef LORC_SUPPORT_COMMANDLINE_H
#define LORC_SUPPORT_COMMANDLINE_H

#include "llvm/Support/CommandLine.h"

namespace lorc {

/// Hides from --help every registered option that is not a member of `flags` (a tool's struct
/// of cl::opt members): linking libLLVM.so registers hundreds of global codegen options that
/// lorc's tools do not use. They still parse; they are just not listed. `--help-hidden` shows
/// them all.
template <typename Flags> void hideForeignOptions(const Flags &flags) {
  auto *begin = reinterpret_cast<const char *>(&flags);
  auto *end = begin + sizeof(Flags);
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    auto *opt = reinterpret_cast<const char *>(entry.second);
    if ((opt < begin || opt >= end) && entry.first != "help" && entry.first != "version")
      entry.second->setHiddenFlag(llvm::cl::ReallyHidden);
  }
}

} // namespace lorc

#endif // LORC_SUPPORT_COMMANDLINE_H
