"""Writes a copy of a LyCORIS/PEFT safetensors file with every tensor whose name ends in SUFFIX
multiplied by FACTOR (standard library only). Used to make a second adapter of the same shapes."""
import json
import struct
import sys
from array import array

src, dst, suffix, factor = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
with open(src, "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
body = bytearray(data[8 + n:])
for name, info in header.items():
    if name == "__metadata__" or not name.endswith(suffix):
        continue
    assert info["dtype"] == "F32", name
    begin, end = info["data_offsets"]
    values = array("f")
    values.frombytes(bytes(body[begin:end]))
    body[begin:end] = array("f", (v * factor for v in values)).tobytes()
with open(dst, "wb") as f:
    f.write(data[:8 + n])
    f.write(bytes(body))
