#!/usr/bin/env bash
# Issue 10's chunked-matmul benchmark: a SIZE³ f32 matmul (default 16384: 1 GiB per operand,
# 3 GiB in all) whose operands are read from, and result written to, safetensors files, under
# --memory-budget (default 256MiB), against the same matmul with everything in memory (one
# lorc::cpuGemm, oneDNN, as each chunk). Prints the plan, both throughputs and their ratio, the overlap of chunk loading
# with compute, the peak resident set above the process's baseline against budget + 10%, and
# checks sampled blocks of C against numpy (bench/chunked_matmul_check.py).
# Usage: bench/chunked_matmul.sh [SIZE [BUDGET]]
#   LORC_BUILD_DIR    build folder with bin/lorc-bench-chunked-matmul (default build)
#   LORC_BENCH_DIR    folder for the 3·SIZE² ·4 bytes of files (default /tmp/lorc-bench-chunked)
#   LORC_BENCH_PYTHON a python with numpy (default: $LORC_GOLDEN_VENV/bin/python, else python3)
#   LORC_BENCH_COLD=1 drop A and B from the page cache before the chunked run (reads hit disk)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size="${1:-16384}"; budget="${2:-256MiB}"
exe="$root/${LORC_BUILD_DIR:-build}/bin/lorc-bench-chunked-matmul"
dir="${LORC_BENCH_DIR:-/tmp/lorc-bench-chunked}"
py="${LORC_BENCH_PYTHON:-${LORC_GOLDEN_VENV:+$LORC_GOLDEN_VENV/bin/python}}"; py="${py:-python3}"
mkdir -p "$dir"
dims=(--dir "$dir" --m "$size" --n "$size" --k "$size")
"$exe" generate "${dims[@]}"
if [ "${LORC_BENCH_COLD:-0}" = 1 ]; then
  "$py" -c "import os,sys; [os.posix_fadvise(os.open(p, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED) for p in sys.argv[1:]]" \
    "$dir/a.safetensors" "$dir/b.safetensors"
fi
"$exe" chunked "${dims[@]}" --memory-budget="$budget" | tee "$dir/chunked.json"
"$exe" whole "${dims[@]}" | tee "$dir/whole.json"
"$py" - "$dir/chunked.json" "$dir/whole.json" <<'PY'
import json, sys
c, w = (json.load(open(p)) for p in sys.argv[1:])
mib = 1 << 20
print(f"chunked {c['m']}x{c['n']}x{c['k']} under {c['memory_budget_bytes'] / mib:.0f} MiB: "
      f"{c['strategy']} chunks {c['chunk']}, working set {c['working_set_bytes'] / mib:.1f} MiB, {c['steps']} steps")
print(f"throughput: chunked {c['gflops']:.1f} GFLOP/s (end to end, file to file) vs whole {w['gflops']:.1f} GFLOP/s "
      f"(sgemm only): ratio {c['gflops'] / w['gflops']:.3f}")
print(f"overlap: {c['overlap']:.3f} of {c['load_s']:.2f} s of chunk loading hidden behind compute (stall {c['stall_s']:.2f} s), "
      f"C writes {c['store_s']:.2f} s")
above = c['peak_rss_above_baseline_bytes']
print(f"peak RSS above baseline: {above / mib:.1f} MiB (budget + 10% = {1.1 * c['memory_budget_bytes'] / mib:.1f} MiB) "
      f"{'PASS' if c['rss_within_budget_plus_10pct'] else 'FAIL'}; whole run: {w['peak_rss_above_baseline_bytes'] / mib:.0f} MiB")
PY
"$py" "$root/bench/chunked_matmul_check.py" "$dir"
