#!/usr/bin/env bash
# MiniLM on one CUDA GPU (issue 6): lorc's sm_90 artifacts, f32 GEMMs and bf16 GEMMs, against
# PyTorch eager and torch.compile (bench/minilm_cuda_reference.py: f32 with TF32 off, and bf16),
# at batch 32 x seq 128, in one run on the same GPU; prints a table and the ratios.
# lorc-run --bench times Artifact::run: inputs copied in, the forward pass, both outputs copied
# back; the reference's "e2e" column times the same, its "device" column the forward alone.
# Also prints kernel launches and cuBLAS calls per forward pass, and at batch 1 x seq 16 the
# host time per call: the time the compiled code takes to enqueue them (lorc-run --cuda-stats),
# and the whole run's time per call (an upper bound: the GPU's time and the copies included).
# Usage: bench/minilm_cuda.sh LORC_RUN ARTIFACT_F32 ARTIFACT_BF16 B32X128.safetensors
#                             B1X16.safetensors CONFIG_JSON
#   (scripts/gpu/bundle.sh builds the artifacts and inputs; scripts/gpu/check.sh calls this)
#   LORC_BENCH_ITERS  timed iterations (default 50);  PYTHON (default python3, with torch)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 6 ] || { sed -n 2,13p "$0" >&2; exit 1; }
run="$1" f32="$2" bf16="$3" big="$4" small="$5" config="$6"
iters="${LORC_BENCH_ITERS:-50}"
py="${PYTHON:-python3}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

for v in f32 bf16; do
  art="$f32"; [ "$v" = bf16 ] && art="$bf16"
  echo "== lorc-run ($v GEMMs)"
  "$run" "$art" --device=cuda --cuda-stats --inputs "$big" --bench="$iters" \
    --bench-json="$tmp/lorc-$v.json" 2>&1 | tee "$tmp/lorc-$v.out"
  "$run" "$art" --device=cuda --cuda-stats --inputs "$small" --bench=200 \
    --bench-json="$tmp/small-$v.json" > "$tmp/small-$v.out" 2>&1
done
cat "$tmp/small-f32.out"

# The reference last: torch.compile's first calls take the longest.
echo "== reference: torch eager and torch.compile"
"$py" "$root/bench/minilm_cuda_reference.py" "$config" --batch 32 --seq 128 --iters "$iters" \
  | tee "$tmp/ref.out"
tail -n 1 "$tmp/ref.out" > "$tmp/ref.json"


"$py" - "$tmp" <<'PY'
import json, re, sys
d = sys.argv[1]
ref = json.load(open(f"{d}/ref.json"))
print(f"== all-MiniLM-L6-v2, batch 32 x seq 128, {ref['device']}, torch {ref['torch_version']}")
print(f"{'':30s}{'median ms':>11s}{'min ms':>9s}")
rows = {}
for v in ("f32", "bf16"):
    l = json.load(open(f"{d}/lorc-{v}.json"))
    rows[v] = l
    print(f"{'lorc (' + v + ' GEMMs)':30s}{l['median_ms']:11.3f}{l['min_ms']:9.3f}")
for k, r in ref.items():
    if isinstance(r, dict):
        print(f"{'torch ' + k + ' e2e':30s}{r['e2e_median_ms']:11.3f}{r['e2e_min_ms']:9.3f}"
              f"   (device only {r['device_median_ms']:.3f})")
print("ratios (torch time / lorc time, e2e medians; > 1: lorc faster):")
for v in ("f32", "bf16"):
    for mode in ("eager", "compile"):
        r = ref.get(f"{mode}-{v}")
        if r:
            print(f"  {v:4s} vs torch {mode:8s}: {r['e2e_median_ms'] / rows[v]['median_ms']:.3f}"
                  f"   (vs its device-only time: {r['device_median_ms'] / rows[v]['median_ms']:.3f})")
for v in ("f32", "bf16"):
    text = open(f"{d}/small-{v}.out").read()
    m = re.search(r"cuda: (\d+) kernel launches, (\d+) cuBLAS calls per run", text)
    h = re.search(r"host: ([0-9.]+) ms enqueueing the median bench run's \d+ calls, ([0-9.]+) us", text)
    s = json.load(open(f"{d}/small-{v}.json"))
    if m and h:
        launches, gemms = int(m.group(1)), int(m.group(2))
        calls = launches + gemms
        print(f"batch 1 x seq 16 ({v}): {launches} launches + {gemms} cuBLAS calls per forward; "
              f"host enqueue {float(h.group(1)):.3f} ms = {float(h.group(2)):.2f} us per call "
              f"(goal < 5 us); whole run median {s['median_ms']:.3f} ms = "
              f"{s['median_ms'] * 1e3 / calls:.2f} us per call")
    else:
        print(f"batch 1 x seq 16 ({v}): median {s['median_ms']:.3f} ms (no --cuda-stats lines)")
PY
