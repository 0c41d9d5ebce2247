#!/usr/bin/env python3
"""Checks C = A·B of lorc-bench-chunked-matmul block-wise with numpy (sampled blocks).

Usage: chunked_matmul_check.py DIR [BLOCKS] [EDGE]
Reads DIR/{a,b,c}.safetensors through numpy.memmap (nothing is loaded whole), draws BLOCKS
(default 6) random EDGE×EDGE (default 256) blocks of C plus its four corners' blocks, computes
A[rows, :] @ B[:, cols] in float64 for each and prints max|C − R| / max|R| per block. Exits 1 if
any exceeds 1e-4.
"""
import json
import random
import struct
import sys

import numpy as np


def memmap(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    (name, info), = [(k, v) for k, v in header.items() if k != "__metadata__"]
    assert info["dtype"] == "F32", path
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + n + info["data_offsets"][0],
                     shape=tuple(info["shape"]))


def main():
    d = sys.argv[1]
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    edge = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    a, b, c = (memmap(f"{d}/{x}.safetensors") for x in "abc")
    m, k = a.shape
    n = b.shape[1]
    assert b.shape[0] == k and c.shape == (m, n), (a.shape, b.shape, c.shape)
    rng = random.Random(0)
    starts = [(0, 0), (0, n - edge), (m - edge, 0), (m - edge, n - edge)]
    starts += [(rng.randrange(0, m - edge + 1), rng.randrange(0, n - edge + 1)) for _ in range(blocks)]
    worst = 0.0
    for r, s in starts:
        ref = np.asarray(a[r:r + edge], dtype=np.float64) @ np.asarray(b[:, s:s + edge], dtype=np.float64)
        got = np.asarray(c[r:r + edge, s:s + edge], dtype=np.float64)
        rel = float(np.abs(got - ref).max() / np.abs(ref).max())
        worst = max(worst, rel)
        print(f"block C[{r}:{r + edge}, {s}:{s + edge}]: max|C - R| / max|R| = {rel:.3e}")
    ok = worst <= 1e-4
    print(f"checked {len(starts)} blocks of {edge}x{edge}: worst {worst:.3e} (tolerance 1e-4) {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
