#!/usr/bin/env bash
# Adapter CPU benchmark: all-MiniLM-L6-v2 at batch 8 x seq 128 with adapters applied, merged
# (--adapter-mode=merge, ΔW folded into the weights at compile time) against unmerged
# (--adapter-mode=unmerged, side paths at run time), and the base model without any adapter, all
# in one run on the same inputs and thread count. Prints a timing table.
# Usage: bench/adapters_cpu.sh [BIN_DIR]
#   BIN_DIR             folder holding lorc-compile and lorc-run (default: build/bin of this checkout)
#   LORC_BENCH_THREADS  lorc-run threads (default 2)
#   LORC_BENCH_ITERS    timed iterations per artifact (default 10)
#   LORC_BENCH_ADAPTERS adapters, space-separated, relative to test/e2e/goldens/adapters or absolute
#                       (default: peft-lora lycoris-lokr.safetensors)
#   LORC_CACHE          see scripts/fetch-model.sh
# The inputs are seeded random token ids in [1000, 30000) with a full attention mask, written by a
# stdlib-only snippet below (no torch; the ids differ from bench/minilm_cpu_reference.py's, which
# does not matter for timing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
adapters="${LORC_BENCH_ADAPTERS:-peft-lora lycoris-lokr.safetensors}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$root/bench/common.sh"
lorc_bench_init adapters_cpu "${1:-}" 10

# input_ids / attention_mask, int64 [8, 128], as a safetensors file.
python3 - "$tmp/in.safetensors" <<'PY'
import json, random, struct, sys
B, S = 8, 128
rng = random.Random(0)
ids = [rng.randrange(1000, 30000) for _ in range(B * S)]
blobs = {"input_ids": struct.pack(f"<{B * S}q", *ids),
         "attention_mask": struct.pack(f"<{B * S}q", *([1] * (B * S)))}
header, off = {"__metadata__": {"generator": "bench/adapters_cpu.sh", "seed": "0"}}, 0
for name, blob in blobs.items():
    header[name] = {"dtype": "I64", "shape": [B, S], "data_offsets": [off, off + len(blob)]}
    off += len(blob)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs.values()))
PY

# compile NAME [lorc-compile flags...]: builds $tmp/NAME.lorc, logs the wall time.
compile() {
  local name="$1"; shift
  local start; start=$(date +%s%N)
  "$bin/lorc-compile" "$model" "$@" -o "$tmp/$name.lorc" > "$tmp/$name.compile.log" 2>&1 \
    || { cat "$tmp/$name.compile.log" >&2; exit 1; }
  echo "compile $name: $(( ($(date +%s%N) - start) / 1000000 )) ms"
}
# bench NAME: times $tmp/NAME.lorc, writes $tmp/NAME.json.
bench() {
  "$bin/lorc-run" "$tmp/$1.lorc" --inputs "$tmp/in.safetensors" \
    --bench="$iters" --bench-json="$tmp/$1.json" --threads "$threads" > "$tmp/$1.run.log" 2>&1 \
    || { cat "$tmp/$1.run.log" >&2; exit 1; }
  echo "bench $1: $(tail -n 1 "$tmp/$1.run.log")"
}

echo "== lorc-compile $model"
names=(base)
compile base
for a in $adapters; do
  path="$a"; [[ "$path" = /* ]] || path="$root/test/e2e/goldens/adapters/$a"
  [ -e "$path" ] || { echo "adapters_cpu: no adapter $path" >&2; exit 1; }
  tag="${a##*/}"; tag="${tag%.safetensors}"
  compile "$tag.merged" --adapter "$path" --adapter-mode=merge
  compile "$tag.unmerged" --adapter "$path" --adapter-mode=unmerged
  names+=("$tag.merged" "$tag.unmerged")
done

echo "== lorc-run --bench=$iters --threads $threads"
for n in "${names[@]}"; do bench "$n"; done

echo "== all-MiniLM-L6-v2 + adapters, batch 8 x seq 128, $threads threads, $iters iterations"
python3 - "$tmp" "${names[@]}" <<'PY'
import json, sys
tmp, names = sys.argv[1], sys.argv[2:]
r = {n: json.load(open(f"{tmp}/{n}.json")) for n in names}
base = r["base"]
print(f"{'':30s}{'median ms':>11s}{'min ms':>10s}")
for n in names:
    print(f"{n:30s}{r[n]['median_ms']:11.2f}{r[n]['min_ms']:10.2f}")
print()
print(f"{'ratio (median / min)':30s}{'unmerged/merged':>18s}{'merged/base':>16s}{'unmerged/base':>18s}")
for tag in dict.fromkeys(n.rsplit(".", 1)[0] for n in names[1:]):
    m, u = r[tag + ".merged"], r[tag + ".unmerged"]
    cell = lambda x, y: f"{x['median_ms'] / y['median_ms']:.3f} / {x['min_ms'] / y['min_ms']:.3f}"
    print(f"{tag:30s}{cell(u, m):>18s}{cell(m, base):>16s}{cell(u, base):>18s}")
PY
