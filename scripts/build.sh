#!/usr/bin/env bash
# Configures and builds lorc (Release, Ninja, ccache) into ${LORC_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${LORC_BUILD_DIR:-build}"
jobs="${LORC_JOBS:-$(nproc)}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir
fi
cmake --build "$build" -j "$jobs"
