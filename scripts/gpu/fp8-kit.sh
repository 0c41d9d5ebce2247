#!/usr/bin/env bash
# Builds the FP8 GPU check kit: lorc's NVPTX kernels for lorc.quantize / lorc.dequantize (f32 <->
# f8E4M3FN / f8E5M2, scale 1) on the golden inputs, a description of each launch, the golden and
# the device script, all in OUTDIR. Runs where lorc is built (no GPU needed); copy OUTDIR to the
# GPU machine and run `python3 OUTDIR/fp8_cast_gpu.py OUTDIR` there (docs/CudaPipeline.md).
#
#   scripts/gpu/fp8-kit.sh OUTDIR
#
# Environment: LORC_OPT (default build/bin/lorc-opt), LORC_CUDA_PIPELINE (default
# chip=sm_90, the pipeline's default PTX 8.0), PTXAS (default $CUDA_HOME or /usr/local/cuda's),
# MLIR_RUNNER (default /usr/lib/llvm-22/bin/mlir-runner; for the CPU self-test).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
die() { echo "fp8-kit: error: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$1
LORC_OPT=${LORC_OPT:-$ROOT/build/bin/lorc-opt}
PIPE=${LORC_CUDA_PIPELINE:-chip=sm_90}
PTXAS=${PTXAS:-${CUDA_HOME:-/usr/local/cuda}/bin/ptxas}
LLVM_BIN=${LLVM_BIN:-/usr/lib/llvm-22/bin}
MLIR_RUNNER=${MLIR_RUNNER:-$LLVM_BIN/mlir-runner}
GOLDEN=$ROOT/test/e2e/goldens/fp8.safetensors
CASES=$ROOT/test/Execution/Inputs/fp8_cases.py
[ -x "$LORC_OPT" ] || die "no lorc-opt at $LORC_OPT (build lorc, or set LORC_OPT)"
[ -x "$PTXAS" ] || die "no ptxas at $PTXAS (set PTXAS or CUDA_HOME)"
[ -f "$GOLDEN" ] || die "no golden at $GOLDEN"

rm -rf "$OUT/ptx" "$OUT/mlir" "$OUT/kit.json"
mkdir -p "$OUT/ptx" "$OUT/mlir"
M=$OUT/mlir

python3 "$CASES" gpu-mlir "$GOLDEN" > "$M/fp8_gpu.mlir"
# PTX text (format=isa); the host function before gpu-to-llvm (launch operands still typed
# memref/index/i32/f32) goes to stderr.
"$LORC_OPT" "$M/fp8_gpu.mlir" --lorc-cuda-pipeline="$PIPE format=isa" \
    --mlir-print-ir-before=gpu-to-llvm -o "$M/fp8_gpu.isa.mlir" 2> "$M/before-gpu-to-llvm.mlir" \
  || { cat "$M/before-gpu-to-llvm.mlir" >&2; die "lorc-opt --lorc-cuda-pipeline failed"; }
# For reading: the kernels in the NVVM dialect.
"$LORC_OPT" "$M/fp8_gpu.mlir" --lorc-cuda-pipeline="$PIPE format=" -o "$M/fp8_gpu.nvvm.mlir" \
  || die "lorc-opt --lorc-cuda-pipeline format= failed"
python3 "$ROOT/test/Pipelines/Inputs/extract_ptx.py" "$M/fp8_gpu.isa.mlir" "$OUT/ptx"
n=0
for f in "$OUT"/ptx/*.ptx; do
  "$PTXAS" -arch=sm_90 "$f" -o "${f%.ptx}.cubin" || die "ptxas -arch=sm_90 rejects $f"
  n=$((n + 1))
done
echo "ptxas -arch=sm_90: $n PTX modules assemble"

python3 "$ROOT/scripts/gpu/fp8_kit_describe.py" "$M/before-gpu-to-llvm.mlir" "$M/fp8_gpu.isa.mlir" "$OUT"
cp "$GOLDEN" "$OUT/fp8.safetensors"
cp "$ROOT/scripts/gpu/fp8_cast_gpu.py" "$OUT/fp8_cast_gpu.py"
cp "$CASES" "$OUT/fp8_cases.py"  # its safetensors reader

# Self-test of the device script on the CPU pipeline's codes (same golden, same comparisons).
if [ -x "$MLIR_RUNNER" ] && [ -f "$ROOT/build/lib/libLorcRuntime.so" ]; then
  python3 "$CASES" mlir "$GOLDEN" > "$M/fp8_cpu.mlir"
  "$LORC_OPT" "$M/fp8_cpu.mlir" --lorc-cpu-pipeline | "$MLIR_RUNNER" -e main -entry-point-result=void \
      -shared-libs="$ROOT/build/lib/libLorcRuntime.so,$LLVM_BIN/../lib/libmlir_c_runner_utils.so,$LLVM_BIN/../lib/libmlir_runner_utils.so" \
      > "$M/fp8_cpu.out" || die "the CPU run of fp8_cases.py mlir failed"
  python3 "$OUT/fp8_cast_gpu.py" --selftest "$OUT" "$M/fp8_cpu.out" || die "self-test failed"
else
  echo "fp8-kit: warning: no mlir-runner/libLorcRuntime.so: self-test without the CPU codes" >&2
  python3 "$OUT/fp8_cast_gpu.py" --selftest "$OUT" || die "self-test failed"
fi
# Dry run of the device path with numpy stand-ins for cupy and torch (scripts/gpu/fake_device:
# launches check their numpy-typed arguments against the PTX entries and return the CPU codes),
# where a python with numpy is at hand (NUMPY_PYTHON, default python3).
NUMPY_PYTHON=${NUMPY_PYTHON:-python3}
if [ -f "$M/fp8_cpu.out" ] && "$NUMPY_PYTHON" -c "import numpy" 2>/dev/null; then
  PYTHONPATH="$ROOT/scripts/gpu/fake_device" FP8_FAKE_RESULTS="$M/fp8_cpu.out" \
    "$NUMPY_PYTHON" "$OUT/fp8_cast_gpu.py" "$OUT" > "$M/fake-device-run.txt" \
    || { cat "$M/fake-device-run.txt"; die "dry run with the fake device failed"; }
  PYTHONPATH="$ROOT/scripts/gpu/fake_device" FP8_FAKE_RESULTS="$M/fp8_cpu.out" \
    "$NUMPY_PYTHON" "$OUT/fp8_cast_gpu.py" "$OUT" --cubin >> "$M/fake-device-run.txt" \
    || { cat "$M/fake-device-run.txt"; die "dry run (--cubin) with the fake device failed"; }
  echo "dry run with the fake device (numpy stand-ins, CPU codes): PASS ($M/fake-device-run.txt)"
else
  echo "fp8-kit: note: no numpy for $NUMPY_PYTHON: (or no CPU codes): fake-device dry run skipped" >&2
fi
echo "kit ready in $OUT: on the GPU machine run  python3 $OUT/fp8_cast_gpu.py $OUT"
