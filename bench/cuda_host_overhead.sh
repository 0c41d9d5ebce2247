#!/usr/bin/env bash
# Host overhead of a CUDA forward pass, measurable without a GPU: all-MiniLM-L6-v2 compiled for
# sm_90, run by lorc-run --device=cuda against unittests/FakeCuda.cpp's stand-in driver and
# cuBLAS in no-op mode (launches and GEMMs return at once and are counted). What is timed is
# everything lorc does on the host per forward pass: input staging, the generated host code
# (descriptors, launch-shape arithmetic, mgpu* calls), the runtime's checks, output copies. A
# real driver adds its own cuLaunchKernel cost (a few µs per launch) on top. Prints launches and
# GEMM calls per forward, host time per forward and per call, against issue 6's goal of < 5 µs.
# Usage: bench/cuda_host_overhead.sh [BUILD_DIR]   (default: build/ of this checkout)
#   LORC_BENCH_ITERS   timed iterations (default 200)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
iters="${LORC_BENCH_ITERS:-200}"
fake="$build/lib/libLorcFakeCuda.so"
for f in "$build/bin/lorc-compile" "$build/bin/lorc-run" "$fake"; do
  [ -e "$f" ] || { echo "cuda_host_overhead: no $f (build lorc with its unit tests first)" >&2; exit 1; }
done
model="$("$root/scripts/fetch-model.sh")"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

"$build/bin/lorc-compile" "$model" -o "$tmp/minilm" --target=cuda:sm_90 --quiet
text="how long does the host side of one interactive query take on the gpu"
run() {
  env LORC_CUDA_DRIVER="$fake" LORC_CUBLAS="$fake" LORC_FAKE_CUDA_NOOP=1 \
    "$build/bin/lorc-run" "$tmp/minilm" --device=cuda --text "$text" "$@"
}
# One forward pass: its launch and GEMM counts.
run > "$tmp/one.out" 2> "$tmp/one.err"
read -r launches gemms < <(sed -n 's/^fake-cuda: \([0-9]*\) launches, \([0-9]*\) gemms$/\1 \2/p' "$tmp/one.err")
seq_len=$(sed -n 's/^ran batch 1 x seq \([0-9]*\) .*/\1/p' "$tmp/one.out")
run --bench="$iters" --bench-json="$tmp/bench.json" > /dev/null 2>&1
python3 - "$tmp/bench.json" "$launches" "$gemms" "$seq_len" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
launches, gemms, seq = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
calls = launches + gemms
for name in ("median_ms", "min_ms"):
    per_call_us = b[name] * 1e3 / calls
    print(f"{name:10s} {b[name]:8.3f} ms per forward (batch 1 x seq {seq}): "
          f"{per_call_us:.2f} us per call, {per_call_us / 5.0:.3f} x the 5 us goal")
print(f"per forward: {launches} kernel launches + {gemms} cuBLAS calls = {calls}; "
      f"{b['iterations']} iterations (stand-in driver: no launch or GEMM cost)")
PY
