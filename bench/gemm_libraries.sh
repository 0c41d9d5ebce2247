#!/usr/bin/env bash
# GEMM libraries on all-MiniLM-L6-v2's shapes (issue 9): OpenBLAS, BLIS (when libblis4 is
# installed), oneDNN f32 with packed weights, oneDNN bf16, and lorc's own generated micro-kernel
# (bench/gemm_generated.sh; single-threaded, so timed only with LORC_BENCH_THREADS=1); GFLOP/s
# per shape and library.
# The table and the choice it led to: docs/GemmLibraries.md.
# Usage: bench/gemm_libraries.sh [BIN_DIR]   (LORC_BENCH_THREADS, default 2; LORC_BENCH_ITERS, 20)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/build/bin}"
[ -x "$bin/lorc-bench-gemm-libraries" ] ||
  { echo "gemm_libraries: no $bin/lorc-bench-gemm-libraries (build lorc first)" >&2; exit 1; }
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
if [ -x "$bin/lorc-opt" ]; then
  LORC_GENERATED_GEMM=$("$root/bench/gemm_generated.sh" "$bin" "$scratch") && export LORC_GENERATED_GEMM
fi
"$bin/lorc-bench-gemm-libraries" "${LORC_BENCH_THREADS:-2}" "${LORC_BENCH_ITERS:-20}"
