#!/usr/bin/env bash
# LoKr microbenchmark: lorc's two-GEMM Kronecker side path against materialising kron(w1, w2) and
# one GEMM, in = out = 4096, w1 = w2 = [64, 64], at M = 128 and 1024 tokens (bench/lokr_kron.cpp).
# Needs only a C++ compiler and OpenBLAS (cblas), no lorc build.
# Usage: bench/lokr_kron.sh [M...]
#   LORC_BENCH_ITERS    timed repetitions per variant (default 10)
#   LORC_BENCH_THREADS  OpenBLAS threads (default 2)
#   CXX                 compiler (default c++)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$(mktemp -d)/lokr_kron"; trap 'rm -rf "$(dirname "$exe")"' EXIT
"${CXX:-c++}" -O2 -march=native -std=c++17 "$root/bench/lokr_kron.cpp" -lopenblas -o "$exe"
"$exe" "${LORC_BENCH_ITERS:-10}" "${LORC_BENCH_THREADS:-2}" "$@"
