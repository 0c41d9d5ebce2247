"""FP8 cast goldens for lorc.quantize / lorc.dequantize, from PyTorch's float8 dtypes.

For E4M3FN and E5M2 writes test/e2e/goldens/fp8.safetensors with
  <fmt>.decode      f32 [256]: the value of every code 0..255 (torch uint8 -> view(float8) -> float)
  <fmt>.inputs      f32 [N]:   every finite FP8 value, every midpoint between neighbours (ties),
                               just below/above each midpoint, f32 specials (±0, f32 subnormals,
                               half the smallest FP8 subnormal, overflow, ±inf, NaN) and seeded
                               random values over the whole exponent range
  <fmt>.codes       i32 [N]:   torch.clamp(x, -max, max).to(float8).view(uint8): round to nearest
                               even, saturating as PTX cvt.rn.satfinite and Transformer Engine
                               (PyTorch's own cast is not saturating: it gives NaN past the range)
Usage: fp8.py [--out PATH]   (normally called by run.sh)
"""

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[2]
FORMATS = {"e4m3": (torch.float8_e4m3fn, 448.0), "e5m2": (torch.float8_e5m2, 57344.0)}


def cases(dtype, fmax):
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    values = codes.view(dtype).to(torch.float64)
    finite = torch.unique(values[torch.isfinite(values)])  # sorted, -0 and 0 merged
    mids = (finite[1:] + finite[:-1]) / 2  # exact in f32: one more mantissa bit
    xs = [finite, mids]
    for m in (mids,):
        f = m.to(torch.float32)
        xs.append(torch.nextafter(f, torch.tensor(float("inf"))).to(torch.float64))
        xs.append(torch.nextafter(f, torch.tensor(float("-inf"))).to(torch.float64))
    smallest = finite[finite > 0].min().item()
    specials = [0.0, -0.0, 1e-45, -1e-45, 1e-40, smallest / 2, -smallest / 2, smallest / 4,
                smallest * 0.75, fmax, -fmax, fmax * 1.03, fmax * 1.0625, fmax * 1.2, 1e30,
                -1e30, 3.4e38, float("inf"), float("-inf"), float("nan"), 0.3, -0.3, 1000.0]
    xs.append(torch.tensor(specials, dtype=torch.float64))
    g = torch.Generator().manual_seed(8)
    mant = torch.rand(512, generator=g, dtype=torch.float64) + 1
    expo = torch.randint(-24, 20, (512,), generator=g).to(torch.float64)
    sign = torch.where(torch.rand(512, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    xs.append(sign * mant * torch.pow(2.0, expo))
    x = torch.cat(xs).to(torch.float32)
    out = torch.clamp(x, -fmax, fmax).to(dtype).view(torch.uint8).to(torch.int32)
    decode = codes.view(dtype).to(torch.float32)
    return x, out, decode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "test/e2e/goldens/fp8.safetensors"))
    args = ap.parse_args()
    tensors, counts = {}, {}
    for name, (dtype, fmax) in FORMATS.items():
        x, codes, decode = cases(dtype, fmax)
        tensors[f"{name}.inputs"] = x.contiguous()
        tensors[f"{name}.codes"] = codes.contiguous()
        tensors[f"{name}.decode"] = decode.contiguous()
        counts[name] = x.numel()
    meta = {"generator": "scripts/make-goldens/fp8.py", "torch_version": torch.__version__,
            "rule": "torch.clamp(x, -max, max).to(float8).view(uint8)",
            "counts": json.dumps(counts)}
    save_file(tensors, args.out, metadata=meta)
    print(f"wrote {args.out}: {counts}")


if __name__ == "__main__":
    main()
