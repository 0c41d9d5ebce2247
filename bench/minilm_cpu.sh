#!/usr/bin/env bash
# MiniLM CPU benchmark: all-MiniLM-L6-v2 sentence embeddings at batch 8 x seq 128, lorc's compiled
# artifact against PyTorch eager (bench/minilm_cpu_reference.py), same seeded inputs, same thread
# count, in one run. Prints lorc-compile's wall time and artifact size, then a timing table.
# Usage: bench/minilm_cpu.sh [BIN_DIR]
#   BIN_DIR             folder holding lorc-compile and lorc-run (default: build/bin of this checkout)
#   LORC_BENCH_THREADS  threads for both sides (default 2)
#   LORC_BENCH_ITERS    timed iterations for both sides (default 20)
#   LORC_GOLDEN_VENV, LORC_CACHE: see scripts/make-goldens/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$root/bench/common.sh"
lorc_bench_init minilm_cpu "${1:-}" 20
# shellcheck source-path=SCRIPTDIR source=../scripts/make-goldens/venv.sh
source "$root/scripts/make-goldens/venv.sh"
py="$(lorc_golden_venv)"

echo "== lorc-compile $model"
start=$(date +%s%N)
"$bin/lorc-compile" "$model" -o "$tmp/minilm.lorc"
compile_ms=$(( ($(date +%s%N) - start) / 1000000 ))
artifact_bytes=$(du -sb "$tmp/minilm.lorc" | cut -f1)
echo "compile: ${compile_ms} ms wall, artifact ${artifact_bytes} bytes"

# The reference goes first because it writes the inputs lorc-run then reads; its last stdout line
# is its JSON result.
echo "== reference: torch eager"
HF_HUB_OFFLINE=1 "$py" "$root/bench/minilm_cpu_reference.py" "$model" \
  --threads "$threads" --iters "$iters" --write-inputs "$tmp/in.safetensors" | tee "$tmp/ref.out"
tail -n 1 "$tmp/ref.out" > "$tmp/ref.json"

echo "== lorc-run"
"$bin/lorc-run" "$tmp/minilm.lorc" --inputs "$tmp/in.safetensors" \
  --bench="$iters" --bench-json="$tmp/lorc.json" --threads "$threads"

echo "== all-MiniLM-L6-v2, batch 8 x seq 128, $threads threads, $iters iterations"
"$py" - "$tmp/lorc.json" "$tmp/ref.json" "$compile_ms" "$artifact_bytes" <<'PY'
import json, sys
lorc, ref = (json.load(open(p)) for p in sys.argv[1:3])
compile_ms, artifact_bytes = int(sys.argv[3]), int(sys.argv[4])
print(f"{'':26s}{'median ms':>12s}{'min ms':>10s}")
print(f"{'lorc':26s}{lorc['median_ms']:12.2f}{lorc['min_ms']:10.2f}   ({lorc['gflops']:.1f} GFLOP/s)")
print(f"{'torch eager ' + ref['torch_version']:26s}{ref['median_ms']:12.2f}{ref['min_ms']:10.2f}")
print(f"{'lorc / reference':26s}{lorc['median_ms'] / ref['median_ms']:12.3f}"
      f"{lorc['min_ms'] / ref['min_ms']:10.3f}")
print(f"lorc-compile {compile_ms / 1e3:.2f} s wall, artifact {artifact_bytes / 2**20:.2f} MiB "
      f"({artifact_bytes} bytes)")
PY
