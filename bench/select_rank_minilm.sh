#!/usr/bin/env bash
# Rank selection on all-MiniLM-L6-v2's dense linear layers: for each budget (a fraction of the
# linear layers' estimated energy, h100-sxm profile, dynamic dimensions 128), compiles the model
# with (a) data-free selection (--select-rank=energy-ratio=F) and (b) data-aware selection
# (the same plus calibration=test/e2e/goldens/calibration.safetensors: SVD-LLM whitening with
# calibration sentences disjoint from the golden ones), runs each on the 8 golden sentences and
# prints a table: ranks, estimated energy, parameters, mean/min embedding cosine against the
# dense golden, and measured CPU latency against the unreduced model in the same run. Then
# min-cosine=0.99 (b) with what it saves.
# Usage: bench/select_rank_minilm.sh [BIN_DIR]
#   BIN_DIR            folder holding lorc-compile and lorc-run (default: build/bin)
#   LORC_BENCH_BUDGETS budgets (default: 0.97 0.95 0.9 0.8 0.7)
#   LORC_BENCH_ITERS   timed iterations per artifact (default 20), batch 8 x seq 43, 2 threads
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/build/bin}"
budgets="${LORC_BENCH_BUDGETS:-0.97 0.95 0.9 0.8 0.7}"
iters="${LORC_BENCH_ITERS:-20}"
golden="$root/test/e2e/goldens/minilm.safetensors"
calib="$root/test/e2e/goldens/calibration.safetensors"
check="$root/test/e2e/check_goldens.py"
model="$("$root/scripts/fetch-model.sh")"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# One row: compile with the given --select-rank (or none), time it, run the goldens, summarise.
row() { # name select-rank-spec
  local name="$1" spec="$2" t0 t1
  t0=$(date +%s.%N)
  if [ -n "$spec" ]; then
    "$bin/lorc-compile" "$model" -o "$tmp/$name" --quiet --select-rank="$spec" \
      --report="$tmp/$name.json" 2> "$tmp/$name.log" || { echo "$name: $(tail -1 "$tmp/$name.log")"; return; }
  else
    "$bin/lorc-compile" "$model" -o "$tmp/$name" --quiet --report="$tmp/$name.json"
  fi
  t1=$(date +%s.%N)
  "$bin/lorc-run" "$tmp/$name" --inputs "$golden" -o "$tmp/$name.out.safetensors" \
    --threads 2 --bench="$iters" --bench-json="$tmp/$name.bench.json" > /dev/null 2>&1
  python3 "$check" fidelity "$golden" "$tmp/$name.out.safetensors" 0 > "$tmp/$name.fid" || true
  python3 - "$name" "$tmp/$name.json" "$tmp/$name.bench.json" "$tmp/$name.fid" \
    "$t0" "$t1" "$tmp/dense.bench.json" <<'PY'
import json, re, sys, os
name, report, bench, fid, t0, t1, dense = sys.argv[1:]
secs = float(t1) - float(t0)
r = json.load(open(report)); b = json.load(open(bench))
lin = [l for l in r["layers"] if "rank_after" in l]
reduced = [l for l in lin if l["op"] == "lorc.lowrank_linear"]
sel_before = sum(l["energy_before_mj"] for l in lin)
sel_after = sum(l["energy_after_mj"] for l in lin)
m = re.search(r"mean cosine ([0-9.]+) .*min ([0-9.]+)", open(fid).read())
ranks = sorted(l["rank_after"] for l in reduced)
d = json.load(open(dense))["median_ms"] if os.path.exists(dense) else b["median_ms"]
cal = r.get("calibration", {})
print(f"| {name:18s} | {sel_after / sel_before:6.4f} | {len(reduced):2d}/{len(lin)} | "
      f"{min(ranks) if ranks else '-'}..{max(ranks) if ranks else '-'} | "
      f"{r['totals']['params_after'] / 1e6:6.2f} M | {m.group(1)} | {m.group(2)} | "
      f"{cal.get('cosine_mean', float('nan')):.5f} | {b['median_ms']:7.2f} ms ({b['median_ms'] / d:4.2f}x) | "
      f"{float(secs):5.1f} s |")
PY
}

echo "| selection          | linear energy | reduced | ranks | params | golden cos mean | golden cos min | calib cos mean | CPU median (vs dense) | compile |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row dense ""
for f in $budgets; do
  row "a:$f" "energy-ratio=$f"
  row "b:$f" "energy-ratio=$f,calibration=$calib"
done
row "b:min-cosine=0.99" "min-cosine=0.99,calibration=$calib"
