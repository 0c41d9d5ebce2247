#!/usr/bin/env bash
# A 4096 x 4096 x 4096 linear (y = x·Wᵀ) through lorc's CUDA GEMM entry points
# (lorc-bench-cuda-gemm: the calls compiled lorc.linear makes, f32 device buffers) against
# torch.matmul on the same GPU in the same run (issue 6's goal: bf16 >= 0.95 of torch).
#   lorc f32  : cublasSgemm (no TF32)                vs torch f32 (allow_tf32 = False)
#   lorc bf16 : cublasGemmEx, bf16 x and W, f32 y,    vs torch bf16 tensors (bf16 in and out)
#               COMPUTE_32F, beta 0 ("bf16") and 1 ("bf16+=", y read too)
#   lorc fp8  : cublasLtMatmul, E4M3 x and W (codes of the values · 224), f32 y, beta 0
#               vs torch._scaled_mm (E4M3, scales 1, out_dtype f32)
# Usage: bench/cuda_gemm.sh [BIN_DIR] [M N K]   (BIN_DIR holds lorc-bench-cuda-gemm; default
#   build/bin)   LORC_BENCH_ITERS (default 50); PYTHON (default python3, with torch)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/build/bin}"
m="${2:-4096}" n="${3:-4096}" k="${4:-4096}"
iters="${LORC_BENCH_ITERS:-50}"
py="${PYTHON:-python3}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$bin/lorc-bench-cuda-gemm" "$m" "$n" "$k" "$iters" | tee "$tmp/lorc.jsonl"
"$py" - "$tmp/lorc.jsonl" "$m" "$n" "$k" "$iters" <<'PY'
import json, sys, time
import torch
lorc = {r["precision"]: r for r in map(json.loads, open(sys.argv[1]))}
m, n, k, iters = map(int, sys.argv[2:6])
torch.backends.cuda.matmul.allow_tf32 = False
print(f"== y[{m},{n}] = x[{m},{k}] · W[{n},{k}]ᵀ on {torch.cuda.get_device_name()}, torch {torch.__version__}")
one = torch.tensor(1.0, device="cuda")
for prec, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16), ("bf16+=", torch.bfloat16),
                    ("fp8", torch.float8_e4m3fn)):
    if prec not in lorc:
        continue
    if prec == "fp8":
        x = ((torch.rand(m, k, device="cuda") * 2 - 1) * 224).to(dtype)
        w = ((torch.rand(n, k, device="cuda") * 2 - 1) * 224).to(dtype)
        gemm = lambda: torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.float32)
    else:
        x = torch.rand(m, k, device="cuda", dtype=dtype) * 2 - 1
        w = torch.rand(n, k, device="cuda", dtype=dtype) * 2 - 1
        gemm = lambda: torch.matmul(x, w.t())
    for _ in range(5):
        gemm()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        gemm()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t) * 1e3 / iters
    l = lorc[prec]
    tf = 2 * m * n * k / (ms * 1e-3) / 1e12
    print(f"{prec:5s} lorc {l['ms']:8.4f} ms ({l['tflops']:6.1f} TFLOP/s, sampled rel. err "
          f"{l['max_rel_err']:.1e})   torch {'_scaled_mm' if prec == 'fp8' else 'matmul'} {ms:8.4f} ms ({tf:6.1f} TFLOP/s)   "
          f"lorc throughput / torch = {ms / l['ms']:.3f}")
PY
