#!/usr/bin/env bash
# The CPU's arithmetic ceiling against what lorc reaches on all-MiniLM-L6-v2 (issue 9): the f32
# FMA and bf16 dot-product peaks (bench/cpu_peak.cpp, every thread busy, no memory traffic),
# then lorc's MiniLM at batch 8 x seq 128 in f32 and with --precision=bf16 on the same threads:
# its GFLOP/s as a share of the peak, and the latency the model would take at 100% of the peak
# (a lower bound no implementation reaches: every GEMM and every non-GEMM loop at full rate).
# Usage: bench/cpu_peak.sh [BIN_DIR]   (LORC_BENCH_THREADS, default 2; LORC_BENCH_ITERS, 20)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$root/bench/common.sh"
lorc_bench_init cpu_peak "${1:-}" 20
[ -x "$bin/lorc-bench-cpu-peak" ] || { echo "cpu_peak: no $bin/lorc-bench-cpu-peak" >&2; exit 1; }

"$bin/lorc-bench-cpu-peak" "$threads" | tee "$tmp/peak.txt"
# Seeded inputs, 8 x 128 (the benchmark's shape; token ids in MiniLM's vocabulary).
python3 - "$tmp/inputs.safetensors" <<'PY'
import json, random, struct, sys
random.seed(0)
b, s = 8, 128
ids = [random.randrange(1000, 30000) for _ in range(b * s)]
for r in range(b):
    ids[r * s], ids[r * s + s - 1] = 101, 102
head = {"input_ids": {"dtype": "I64", "shape": [b, s], "data_offsets": [0, 8 * b * s]},
        "attention_mask": {"dtype": "I64", "shape": [b, s], "data_offsets": [8 * b * s, 16 * b * s]}}
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + struct.pack("<%dq" % (b * s), *ids)
            + struct.pack("<%dq" % (b * s), *([1] * (b * s))))
PY
for precision in f32 bf16; do
  "$bin/lorc-compile" "$model" -o "$tmp/$precision.lorc" --precision="$precision" --quiet
  "$bin/lorc-run" "$tmp/$precision.lorc" --inputs "$tmp/inputs.safetensors" --bench="$iters" \
    --bench-json="$tmp/$precision.json" --threads "$threads" > /dev/null 2>&1
done
python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
peak = {}
for line in open(tmp + "/peak.txt"):
    m = re.match(r"peak (\w+): ([0-9.]+) GFLOP/s", line)
    if m:
        peak[m.group(1)] = float(m.group(2))
print(f"\n{'MiniLM 8 x 128':16s}{'median ms':>10s}{'GFLOP/s':>9s}{'of peak':>9s}{'ms at peak':>12s}")
for precision in ("f32", "bf16"):
    r = json.load(open(f"{tmp}/{precision}.json"))
    gflop = r["gflops"] * r["median_ms"] / 1e3
    p = peak.get(precision)
    share = f"{r['gflops'] / p:.2f}" if p else "-"
    bound = f"{gflop / p * 1e3:.1f}" if p else "-"
    print(f"{precision:16s}{r['median_ms']:10.2f}{r['gflops']:9.1f}{share:>9s}{bound:>12s}")
print(f"(the model: {gflop:.2f} GFLOP per run; 'ms at peak' = GFLOP / peak)")
PY
