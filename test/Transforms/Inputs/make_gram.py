"""Writes a calibration-Gram file for --lorc-select-rank's calibration-gram option: one f32
[K, K] diagonal Gram per layer (what lorc-compile computes as Σ xᵀx over calibration tokens).

Usage: make_gram.py OUT NAME=K:d0,d1,... [NAME=K:...]   (the last d repeats up to K)
       make_gram.py OUT NAME=scalar:v ...                (an f32 scalar, e.g. an activation amax)
Plain Python (struct), so the lit tests need no numpy.
"""
import json
import struct
import sys

out, specs = sys.argv[1], sys.argv[2:]
header, blobs, offset = {}, [], 0
for spec in specs:
    name, rest = spec.split("=", 1)
    k, diag = rest.split(":")
    if k == "scalar":
        blob = struct.pack("<f", float(diag))
        header[name] = {"dtype": "F32", "shape": [], "data_offsets": [offset, offset + 4]}
        blobs.append(blob)
        offset += 4
        continue
    k = int(k)
    d = [float(v) for v in diag.split(",")]
    d += [d[-1]] * (k - len(d))
    values = [d[i] if i == j else 0.0 for i in range(k) for j in range(k)]
    blob = struct.pack(f"<{k * k}f", *values)
    header[name] = {"dtype": "F32", "shape": [k, k], "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
