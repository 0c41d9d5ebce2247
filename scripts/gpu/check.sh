#!/usr/bin/env bash
# lorc's GPU checks on a machine with an NVIDIA GPU and no LLVM (issue 6, issue 10's FP8 casts),
# from a bundle made by scripts/gpu/bundle.sh. Runs every step even when one fails, prints a
# summary, and exits 1 if any step failed.
#   1. environment: GPU, driver, CUDA, CPU
#   2. test/e2e/cuda-minilm.test's steps: MiniLM sm_90, f32 GEMMs, batch 8 and each sentence at
#      batch 1, against the sentence-transformers goldens at the CPU path's tolerances
#   3. MiniLM with bf16 GEMMs: cosine >= 0.999 per sentence (check_goldens.py fidelity)
#   3b. fp8gemm: MiniLM with every layer E4M3 (cuBLASLt FP8 GEMMs, issue 10): mean cosine
#      >= 0.995 against the goldens and >= 0.998 against the CPU twin's outputs made by bundle.sh
#   Steps whose artifact is not in the bundle (LORC_GPU_ARTIFACTS of bundle.sh) are skipped.
#   4. compute-sanitizer memcheck (and racecheck on batch 1) of the f32 run
#   5. FP8 casts: lorc's NVVM lowering bit for bit against PyTorch (scripts/gpu/fp8_cast_gpu.py)
#   6. benchmarks: bench/cuda_gemm.sh (4096³ linear), bench/minilm_cuda.sh (batch 32 x 128)
#   7. profile: Nsight Compute's time per kernel of one f32 MiniLM run at batch 32 x 128,
#      summed per kernel name (lorc's generated kernels vs cuBLAS's); the CSV is kept in
#      $LORC_GPU_OUT (default: the work directory)
# Usage: scripts/gpu/check.sh BUNDLE_DIR [STEPS]   STEPS: comma-separated subset of
#   env,f32,bf16,fp8gemm,sanitizer,fp8,gemm,minilm,profile (default all)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$(cd "${1:?usage: check.sh BUNDLE_DIR [STEPS]}" && pwd)"
steps="${2:-env,f32,bf16,fp8gemm,sanitizer,fp8,gemm,minilm,profile}"
work="${LORC_GPU_WORK:-/tmp/lorc-gpu}"
golden="$root/test/e2e/goldens/minilm.safetensors"
check="$root/test/e2e/check_goldens.py"
py="${PYTHON:-python3}"

rm -rf "$work"; mkdir -p "$work"
tar -C "$work" -xJf "$bundle/bundle.tar.xz" || exit 1
for packed in "$bundle"/weights-*.packed; do  # each artifact's own weights file
  a="$(basename "$packed" .packed)"; a="${a#weights-}"
  "$py" "$root/scripts/gpu/weights.py" unpack "$packed" "$work/art/minilm-$a/weights.safetensors" || exit 1
done
export LD_LIBRARY_PATH="$work/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuBLAS: the toolkit's, else the one PyTorch's wheels carry.
if [ -z "${LORC_CUBLAS:-}" ]; then
  for c in /usr/local/cuda/lib64/libcublas.so.13 /usr/local/cuda/lib64/libcublas.so.12 \
           $("$py" -c 'import nvidia, os; print(" ".join(os.path.join(p, "cublas", "lib", f) for p in nvidia.__path__ for f in ("libcublas.so.13", "libcublas.so.12")))' 2>/dev/null); do
    [ -e "$c" ] && { export LORC_CUBLAS="$c"; break; }
  done
fi
run="$work/bin/lorc-run"
f32="$work/art/minilm-f32" bf16="$work/art/minilm-bf16" fp8art="$work/art/minilm-fp8"
summary=()
want() { [[ ",$steps," == *",$1,"* ]]; }
has() { [ -f "$work/art/minilm-$1/weights.safetensors" ]; }
step() {  # step NAME COMMAND...: runs, records PASS/FAIL with the exit status and wall time
  local name="$1"; shift
  echo; echo "===== $name"
  local t0=$SECONDS
  "$@"; local rc=$?
  summary+=("$( [ $rc -eq 0 ] && echo PASS || echo "FAIL(rc=$rc)" )  $name  ($((SECONDS - t0)) s)")
}

env_info() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvidia-smi | head -4 | tail -2
  echo "cuBLAS: ${LORC_CUBLAS:-not found}"; ls /usr/local/cuda/lib64/libcublas* 2>/dev/null | head -3
  command -v nvcc > /dev/null && nvcc --version | tail -2
  grep -m1 "model name" /proc/cpuinfo; nproc; uname -r
  "$py" -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
  ldd "$run" | grep -i "not found" && return 1
  "$run" "$f32" --device=cuda --text "the runtime starts" | tail -3
}

golden_f32() (  # a subshell: set -e stays inside
  set -e
  "$run" "$f32" --device=cuda --inputs "$golden" -o "$work/batch8.safetensors"
  "$py" "$check" slice "$golden" "$work/rows" > /dev/null
  mkdir -p "$work/batch1"
  for i in 0 1 2 3 4 5 6 7; do
    "$run" "$f32" --device=cuda --inputs "$work/rows/row$i.safetensors" \
      -o "$work/batch1/row$i.safetensors" > /dev/null
  done
  "$py" "$check" compare "$golden" batch8="$work/batch8.safetensors" batch1="$work/batch1/"
)

golden_bf16() (  # a subshell: set -e stays inside
  set -e
  "$run" "$bf16" --device=cuda --inputs "$golden" -o "$work/bf16.safetensors"
  "$py" "$check" fidelity "$golden" "$work/bf16.safetensors" 0.999 0.999
)

golden_fp8() (  # a subshell: set -e stays inside
  set -e
  "$run" "$fp8art" --device=cuda --cuda-stats --inputs "$golden" -o "$work/fp8.safetensors"
  "$py" "$check" fidelity "$golden" "$work/fp8.safetensors" 0.995
  "$py" "$check" fidelity "$work/inputs/fp8-twin.safetensors" "$work/fp8.safetensors" 0.998
)

skip() { echo; echo "===== $1: skipped, $2 not in the bundle"; summary+=("SKIP  $1 (no $2 artifact)"); }

sanitizer() (  # a subshell: set -e stays inside
  local cs; cs="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)"
  [ -n "$cs" ] || { echo "no compute-sanitizer"; return 1; }
  set -e
  "$py" "$check" slice "$golden" "$work/rows" > /dev/null
  timeout 300 "$cs" --tool memcheck --error-exitcode 3 \
    "$run" "$f32" --device=cuda --inputs "$golden" -o "$work/memcheck.safetensors" 2>&1 | tail -25
  "$py" "$check" compare "$golden" memcheck="$work/memcheck.safetensors" | tail -2
  timeout 200 "$cs" --tool racecheck --error-exitcode 3 \
    "$run" "$f32" --device=cuda --inputs "$work/rows/row0.safetensors" 2>&1 | tail -6
)

fp8() { "$py" "$work/fp8/fp8_cast_gpu.py" "$work/fp8"; }

profile() (
  set -e
  local ncu; ncu="$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  [ -n "$ncu" ] || { echo "no ncu"; exit 1; }
  local csv="${LORC_GPU_OUT:-$work}/ncu-minilm-f32-b32x128.csv"
  timeout 240 "$ncu" --clock-control none --metrics gpu__time_duration.sum --csv \
    "$run" "$f32" --device=cuda --inputs "$work/inputs/b32x128.safetensors" > "$csv" 2> "$work/ncu.err" \
    || { tail -5 "$work/ncu.err"; exit 1; }
  "$py" - "$csv" <<'PY'
import csv, collections, sys
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
head, rows = rows[0], rows[1:]
col = {c: head.index(c) for c in head}
ki, mi, vi, ui = (col[c] for c in ("Kernel Name", "Metric Name", "Metric Value", "Metric Unit"))
launches = []  # (order, name, grid, block, us)
for r in rows:
    if r[mi] != "gpu__time_duration.sum":
        continue
    scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3}.get(r[ui], 1e-3)
    launches.append((len(launches), r[ki], r[col["Grid Size"]] if "Grid Size" in col else "?",
                     r[col["Block Size"]] if "Block Size" in col else "?",
                     float(r[vi].replace(",", "")) * scale))
total = sum(l[4] for l in launches)
ours = [l for l in launches if l[1].startswith("forward_kernel")]
t_ours = sum(l[4] for l in ours)
print(f"{len(launches)} kernels, {total / 1e3:.3f} ms of GPU time: lorc's generated kernels "
      f"({len(ours)}) {t_ours / 1e3:.3f} ms, cuBLAS and others ({len(launches) - len(ours)}) "
      f"{(total - t_ours) / 1e3:.3f} ms")
print("the 30 longest (launch order, name, grid, block):")
for o, k, g, b, t in sorted(launches, key=lambda l: -l[4])[:30]:
    print(f"  {t / 1e3:8.3f} ms  {100 * t / total:5.1f}%  #{o:<4d} {k[:60]:60s} grid {g} block {b}")
PY
)

want env && step "environment" env_info
want f32 && step "MiniLM sm_90 f32 GEMMs vs goldens (batch 8, batch 1 x 8)" golden_f32
if want bf16; then
  if has bf16; then step "MiniLM sm_90 bf16 GEMMs: cosine >= 0.999" golden_bf16
  else skip "MiniLM sm_90 bf16 GEMMs" bf16; fi
fi
if want fp8gemm; then
  if has fp8; then step "MiniLM sm_90 all-E4M3 cuBLASLt FP8 GEMMs vs goldens and the CPU twin" golden_fp8
  else skip "MiniLM sm_90 FP8 GEMMs" fp8; fi
fi
want sanitizer && step "compute-sanitizer memcheck + racecheck" sanitizer
want fp8 && step "FP8 casts (NVVM cvt.rn.satfinite) bit for bit" fp8
want gemm && step "bench: 4096^3 linear vs torch.matmul" \
  env PYTHON="$py" "$root/bench/cuda_gemm.sh" "$work/bin"
want minilm && ! has bf16 && skip "bench: MiniLM batch 32 x 128" bf16
want minilm && has bf16 && step "bench: MiniLM batch 32 x 128 vs torch eager / torch.compile" timeout 300 \
  env PYTHON="$py" "$root/bench/minilm_cuda.sh" "$run" "$f32" "$bf16" \
  "$work/inputs/b32x128.safetensors" "$work/inputs/b1x16.safetensors" "$work/inputs/config.json"

want profile && step "profile: time per kernel (ncu), MiniLM f32 batch 32 x 128" profile

echo; echo "===== summary"
failed=0
for s in "${summary[@]}"; do echo "$s"; [[ "$s" == PASS* || "$s" == SKIP* ]] || failed=1; done
exit $failed
