#!/usr/bin/env bash
# MiniLM on the CPU, lorc against onnxruntime and PyTorch eager in one run (issue 9): the model
# exported from the Hugging Face checkpoint to ONNX (bench/minilm_ort_reference.py), the same
# seeded inputs and thread count for all three, at batch 8 x seq 128 and batch 1 x seq 16.
# Checks that the three agree on the sentence embeddings (max |delta|, worst cosine), then
# prints each one's median latency and lorc's ratios against issue 9's targets; lorc also with
# --precision=bf16 (bf16 GEMMs), whose ratio is against onnxruntime f32.
# The measurements alternate in rounds (references, lorc, lorc bf16, then again), and each
# ratio is the median of the rounds' ratios, each round's lorc median over the same round's ORT
# median: on a shared machine whose speed drifts between minutes (seen on the AMD EPYC of
# 2026-12-06: one engine's median 440 ms in one run, 663 ms in the next), a single round
# compares the two at different speeds.
# Usage: bench/minilm_ort.sh [BIN_DIR]
#   LORC_BENCH_THREADS  threads for all three (default 2)
#   LORC_BENCH_ITERS    timed iterations per round (default 20)
#   LORC_BENCH_ROUNDS   alternating rounds (default 3)
#   LORC_GOLDEN_VENV, LORC_CACHE: see scripts/make-goldens/venv.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$root/bench/common.sh"
lorc_bench_init minilm_ort "${1:-}" 20
# shellcheck source-path=SCRIPTDIR source=../scripts/make-goldens/venv.sh
source "$root/scripts/make-goldens/venv.sh"
py="$(lorc_golden_venv)"
"$py" -m pip install -q -r "$root/bench/requirements-ort.txt" >&2

rounds="${LORC_BENCH_ROUNDS:-3}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "minilm_ort: LORC_BENCH_ROUNDS must be a positive integer" >&2; exit 1; }
"$bin/lorc-compile" "$model" -o "$tmp/minilm.lorc" --quiet
"$bin/lorc-compile" "$model" -o "$tmp/minilm-bf16.lorc" --precision=bf16 --quiet
for shape in "8 128" "1 16"; do
  read -r batch seq <<< "$shape"
  dir="$tmp/b${batch}s${seq}"; mkdir -p "$dir"
  for ((round = 1; round <= rounds; ++round)); do
    echo "== batch $batch x seq $seq, $threads threads, $iters iterations, round $round of $rounds"
    "$py" "$root/bench/minilm_ort_reference.py" "$model" "$dir" --batch "$batch" --seq "$seq" \
      --threads "$threads" --iters "$iters" 2>/dev/null > "$dir/ref.out"
    # (not `| head`: a reader that exits early kills tee with SIGPIPE, which pipefail reports)
    sed -n 1p "$dir/ref.out"
    tail -n 1 "$dir/ref.out" > "$dir/ref.$round.json"
    "$bin/lorc-run" "$tmp/minilm.lorc" --inputs "$dir/inputs.safetensors" -o "$dir/lorc.safetensors" \
      --bench="$iters" --bench-json="$dir/lorc.$round.json" --threads "$threads" 2>/dev/null | tail -n 1
    "$bin/lorc-run" "$tmp/minilm-bf16.lorc" --inputs "$dir/inputs.safetensors" \
      -o "$dir/lorc-bf16.safetensors" --bench="$iters" --bench-json="$dir/lorc-bf16.$round.json" \
      --threads "$threads" | tail -n 1
  done
done

"$py" - "$tmp" "$rounds" <<'PY'
import json, os, sys
import numpy as np
from safetensors.numpy import load_file
tmp, rounds = sys.argv[1], int(sys.argv[2])
print(f"\n{'shape':14s}{'lorc ms':>10s}{'ORT ms':>10s}{'torch ms':>10s}{'lorc/ORT':>10s}{'target':>8s}"
      f"{'lorc/torch':>11s}  lorc/ORT per round{'':5s}"
      f"agreement (sentence embedding, lorc vs ORT / torch)")
for name, variant, target in (("b8s128", "lorc", 0.9), ("b1s16", "lorc", 1.0),
                              ("b8s128", "lorc-bf16", 0.4), ("b1s16", "lorc-bf16", None)):
    d = os.path.join(tmp, name)
    refs = [json.load(open(os.path.join(d, f"ref.{r}.json"))) for r in range(1, rounds + 1)]
    lorcs = [json.load(open(os.path.join(d, f"{variant}.{r}.json"))) for r in range(1, rounds + 1)]
    per_round = [l["median_ms"] / r["ort_median_ms"] for l, r in zip(lorcs, refs)]
    torch_ratio = float(np.median([l["median_ms"] / r["torch_median_ms"]
                                   for l, r in zip(lorcs, refs)]))
    ref = refs[-1]
    lorc_ms = float(np.median([l["median_ms"] for l in lorcs]))
    ort_ms = float(np.median([r["ort_median_ms"] for r in refs]))
    torch_ms = float(np.median([r["torch_median_ms"] for r in refs]))
    e = {k: load_file(os.path.join(d, k + ".safetensors"))["sentence_embedding"]
         for k in ("ort", "torch")}
    e["lorc"] = load_file(os.path.join(d, variant + ".safetensors"))["sentence_embedding"]
    agree = []
    for other in ("ort", "torch"):
        a, b = e["lorc"].astype(np.float64), e[other].astype(np.float64)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        agree.append(f"max|d| {np.abs(a - b).max():.1e}, worst cos 1-{1 - cos.min():.1e}")
    ratio = float(np.median(per_round))
    label = f"{ref['batch']} x {ref['seq']}" + (" bf16" if variant == "lorc-bf16" else "")
    rounds_text = " ".join(f"{x:.3f}" for x in per_round)
    print(f"{label:14s}{lorc_ms:10.2f}{ort_ms:10.2f}{torch_ms:10.2f}{ratio:10.3f}"
          f"{'<=' + str(target) if target else '-':>8s}"
          f"{torch_ratio:11.3f}  {rounds_text:21s}  {agree[0]} / {agree[1]}"
          + ("" if target is None or ratio <= target else "   (target missed)"))
print(f"onnxruntime {ref['ort_version']}, torch {ref['torch_version']} (both f32); "
      "bf16 rows: lorc --precision=bf16 against the same f32 references (its GEMMs in f32 "
      "where the runtime's line above says so: LORC_CPU_BF16_GEMM); ms: medians over "
      f"{rounds} rounds of each round's median; lorc/ORT, lorc/torch: the medians of the rounds' ratios")
PY
