#!/usr/bin/env bash
# Builds lorc's generated GEMM micro-kernels for MiniLM's shapes (bench/gemm_generated.py: a
# transform-dialect schedule run by lorc-opt, lowered to LLVM, compiled by clang-22 -O3
# -march=native) into one shared library and prints its path; gemm_libraries.sh times them
# beside the libraries (column lorc-gen).
# Usage: bench/gemm_generated.sh BIN_DIR OUT_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$1" out="$2"
llvm=/usr/lib/llvm-22
mkdir -p "$out"
python3 "$root/bench/gemm_generated.py" "$out/gemm.mlir" "$out/schedule.mlir" \
  1024x1152x384 1024x384x384 1024x1536x384 1024x384x1536 128x128x32 128x32x128 \
  16x1152x384 16x384x384 16x1536x384 16x384x1536
"$bin/lorc-opt" "$out/gemm.mlir" \
  --transform-preload-library="transform-library-paths=$out/schedule.mlir" --transform-interpreter \
  --canonicalize --cse \
  --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
  --canonicalize --cse --canonicalize \
  --convert-vector-to-scf=full-unroll=true --convert-scf-to-cf --expand-strided-metadata \
  --lower-affine --convert-vector-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm \
  --convert-func-to-llvm=use-bare-ptr-memref-call-conv=1 --convert-cf-to-llvm \
  --convert-ub-to-llvm --reconcile-unrealized-casts > "$out/gemm.llvm.mlir"
"$llvm/bin/mlir-translate" --mlir-to-llvmir "$out/gemm.llvm.mlir" > "$out/gemm.ll"
clang-22 -O3 -march=native -shared -fPIC -Wno-override-module "$out/gemm.ll" -o "$out/libgemm.so"
if nm -D --undefined-only "$out/libgemm.so" | grep -q memrefCopy; then
  echo "gemm_generated: the kernels still copy C tiles (memrefCopy): the schedule regressed" >&2
  exit 1
fi
echo "$out/libgemm.so"
