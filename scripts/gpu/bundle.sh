#!/usr/bin/env bash
# Prepares what a GPU machine without LLVM 22 needs to run lorc's GPU checks (scripts/gpu/check.sh):
# lorc-run and the CUDA GEMM benchmark linked against LLVM's static Support libraries
# (-DLORC_STATIC_LLVM_SUPPORT=ON, build-device/), the shared libraries they need from this machine
# (oneDNN, OpenBLAS and theirs), all-MiniLM-L6-v2 compiled here for sm_90 with host code for a
# generic x86-64 (--host-cpu, default x86-64-v3), the benchmark inputs, and the FP8 cast kit
# (scripts/gpu/fp8-kit.sh). The artifacts are those LORC_GPU_ARTIFACTS names (default "f32
# fp8"): f32 GEMMs, bf16 GEMMs (--precision=bf16) and every layer FP8 E4M3 (cuBLASLt FP8 GEMMs,
# calibrated on the golden inputs; the CPU twin's outputs on them travel too, for check.sh's
# fp8gemm step). Each artifact's weights file (f32, bf16-stored or FP8-stored: they differ) is
# pruned to the vocabulary rows the golden and benchmark inputs use and packed
# (scripts/gpu/weights.py): the device tool moves at most 64 MiB, and f32 + bf16 + fp8 do not fit
# in one bundle (measured: about 35 + 17 + 11 MiB of weights plus 13 MiB of the rest), so make
# one bundle per device call, e.g. LORC_GPU_ARTIFACTS="f32 bf16" for the second. The pruning is
# checked here to change no output bit of a CPU artifact on those inputs.
# Usage: scripts/gpu/bundle.sh [OUT_DIR]   (default .gpu/ of this checkout, git-ignored)
#   needs: build/ (lorc-compile, lorc-opt), the model (scripts/fetch-model.sh), the CUDA toolkit
#   LORC_GPU_HOST_CPU   --host-cpu of the artifacts (default x86-64-v3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/.gpu}"
build="$root/build"
dev="${LORC_DEVICE_BUILD_DIR:-$root/build-device}"
host_cpu="${LORC_GPU_HOST_CPU:-x86-64-v3}"
arts="${LORC_GPU_ARTIFACTS:-f32 fp8}"
for a in $arts; do
  case "$a" in f32|bf16|fp8) ;; *) echo "bundle.sh: LORC_GPU_ARTIFACTS: unknown artifact '$a' (f32, bf16, fp8)" >&2; exit 1 ;; esac
done
golden="$root/test/e2e/goldens/minilm.safetensors"
for t in lorc-compile lorc-opt lorc-run; do
  [ -x "$build/bin/$t" ] || { echo "bundle.sh: no $build/bin/$t (scripts/build.sh first)" >&2; exit 1; }
done
model="$("$root/scripts/fetch-model.sh")"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
stage="$work/stage"; mkdir -p "$stage"/{bin,lib,art,inputs}

echo "== runtime for the device (static LLVM Support) in $dev"
if [ ! -f "$dev/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$dev" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang-22 \
    -DCMAKE_CXX_COMPILER=clang++-22 -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLORC_BUILD_COMPILER=OFF -DLORC_BUILD_TESTS=OFF -DLORC_STATIC_LLVM_SUPPORT=ON > /dev/null
fi
cmake --build "$dev" -j "${LORC_JOBS:-2}" --target lorc-run lorc-bench-cuda-gemm
cp "$dev/bin/lorc-run" "$dev/bin/lorc-bench-cuda-gemm" "$stage/bin/"
cp "$dev/lib/libLorcRuntime.so" "$stage/lib/"
# Its shared libraries other than glibc's, libstdc++ and libgcc (the device has newer ones).
ldd "$dev/lib/libLorcRuntime.so" | awk '/=> \// {print $1, $3}' | while read -r soname path; do
  case "$soname" in libc.so*|libm.so*|libstdc++*|libgcc_s*|libz.so*|libzstd*) continue ;; esac
  cp -L "$path" "$stage/lib/$soname"
done
ls "$stage/lib"

echo "== inputs, and the model pruned to their vocabulary rows"
py="python3"
"$py" "$root/scripts/gpu/weights.py" bench-inputs "$golden" "$stage/inputs/b32x128.safetensors" 32 128
"$py" "$root/scripts/gpu/weights.py" bench-inputs "$golden" "$stage/inputs/b1x16.safetensors" 1 16
"$py" "$root/scripts/gpu/weights.py" prune "$model" "$work/model" "$golden" \
  "$stage/inputs/b32x128.safetensors" "$stage/inputs/b1x16.safetensors"
cp "$model/config.json" "$stage/inputs/config.json"

echo "== the pruning changes no output bit on those inputs (CPU artifacts, original and pruned)"
"$build/bin/lorc-compile" "$model" -o "$work/cpu-orig" --quiet
"$build/bin/lorc-compile" "$work/model" -o "$work/cpu-pruned" --quiet
for i in "$golden" "$stage/inputs/b1x16.safetensors"; do
  "$build/bin/lorc-run" "$work/cpu-orig" --inputs "$i" -o "$work/o1.safetensors" > /dev/null
  "$build/bin/lorc-run" "$work/cpu-pruned" --inputs "$i" -o "$work/o2.safetensors" > /dev/null
  cmp "$work/o1.safetensors" "$work/o2.safetensors"
done
echo "identical outputs"

echo "== artifacts ($arts): sm_90, host code for $host_cpu"
for a in $arts; do
  case "$a" in
    f32) flags=() ;;
    bf16) flags=(--precision=bf16) ;;
    fp8) flags=(--assign-precision=layers=all --calibration="$golden") ;;
  esac
  "$build/bin/lorc-compile" "$work/model" -o "$stage/art/minilm-$a" --target=cuda:sm_90 \
    --host-cpu="$host_cpu" "${flags[@]}" --quiet
  "$py" "$root/scripts/gpu/weights.py" pack "$stage/art/minilm-$a/weights.safetensors" \
    "$work/weights-$a.packed"
  rm "$stage/art/minilm-$a/weights.safetensors" "$stage/art/minilm-$a/kernels.ptx"
  if [ "$a" = fp8 ]; then
    # What the device's FP8 GEMMs must reproduce: the same model through the CPU twin
    # (lorc_cpu_matmul_fp8_*: the same products, another summation order).
    "$build/bin/lorc-compile" "$work/model" -o "$work/fp8-twin" --target=cuda-loops-cpu \
      "${flags[@]}" --quiet
    "$build/bin/lorc-run" "$work/fp8-twin" --inputs "$golden" \
      -o "$stage/inputs/fp8-twin.safetensors" > /dev/null
  fi
done

echo "== FP8 cast kit"
"$root/scripts/gpu/fp8-kit.sh" "$stage/fp8" > "$work/fp8-kit.log" 2>&1 \
  || { cat "$work/fp8-kit.log" >&2; exit 1; }
rm -rf "$stage/fp8/mlir"

rm -rf "$out"; mkdir -p "$out"
tar -C "$stage" -cJf "$out/bundle.tar.xz" .
mv "$work"/weights-*.packed "$out/"
du -b "$out"/* | awk '{printf "%s %.1f MiB\n", $2, $1 / 1048576}'
echo "bundle: $out (carry it to the device: scripts/gpu/check.sh $out)"
