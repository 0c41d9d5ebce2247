#!/usr/bin/env python3
"""Writes broken adapters for the lorc-compile adapter error tests, from the goldens.

Standard library only (struct, json): each adapter is a copy of a golden adapter of
test/e2e/goldens/adapters (made by PEFT / LyCORIS for all-MiniLM-L6-v2) with one defect.
The tensor that is changed is always one of encoder.layer.0.attention.self.query.

  make_bad_adapters.py peft KIND DIR       a PEFT directory, a copy of peft-lora (r=8,
      lora_alpha=16) with KIND one of:
      valid               unchanged
      rank-mismatch       lora_B of the query is [384, 4] while lora_A is [8, 384]
      unknown-module      the query's keys renamed to encoder.layer.9 (the model has 6 layers)
      bad-shape           lora_A of the query is [8, 100]: the layer's input has 384 features
      rank-zero           only the query, with lora_A [0, 384], lora_B [384, 0] and r = 0
      nan                 element 5 of the query's lora_A is NaN
      no-alpha            adapter_config.json without lora_alpha (PEFT's default is 8)
      unknown-key         an extra tensor ...query.lora_C.weight
      pickle              adapter_config.json and adapter_model.bin, no safetensors file
  make_bad_adapters.py lycoris KIND FILE   a LyCORIS file, a copy of lycoris-locon.safetensors
      (LoCon rank 4, alpha 2) with KIND one of:
      valid               unchanged
      rank-mismatch       lora_up of the query is [384, 2] while lora_down is [4, 384]
      unknown-module      the query's keys renamed to lycoris_encoder_layer_9_...
"""

import json
import os
import struct
import sys

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                       "e2e", "goldens", "adapters")
PEFT_QUERY = "base_model.model.encoder.layer.0.attention.self.query."
LYCORIS_QUERY = "lycoris_encoder_layer_0_attention_self_query."


def read(path):
    """Returns (metadata, [[name, dtype, shape, raw bytes], ...]) in file order."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    entries = sorted(header.items(), key=lambda item: item[1]["data_offsets"][0])
    tensors = [[name, e["dtype"], list(e["shape"]),
                data[e["data_offsets"][0]:e["data_offsets"][1]]] for name, e in entries]
    return meta, tensors


def write(path, meta, tensors):
    header, blobs, offset = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def floats(blob):
    return list(struct.unpack("<%df" % (len(blob) // 4), blob))


def pack(values):
    return struct.pack("<%df" % len(values), *values)


def tensor(tensors, name):
    for t in tensors:
        if t[0] == name:
            return t
    sys.exit("no tensor %s" % name)


def rows(t, count):
    """Keeps the first `count` rows of the 2-D F32 tensor t."""
    _, _, (r, c), blob = t
    t[2] = [count, c]
    t[3] = blob[:count * c * 4]


def columns(t, count):
    """Keeps the first `count` columns of the 2-D F32 tensor t."""
    _, _, (r, c), blob = t
    v = floats(blob)
    t[2] = [r, count]
    t[3] = pack([v[i * c + j] for i in range(r) for j in range(count)])


def peft(kind, out):
    src = os.path.join(GOLDENS, "peft-lora")
    os.makedirs(out)
    with open(os.path.join(src, "adapter_config.json")) as f:
        config = json.load(f)
    meta, tensors = read(os.path.join(src, "adapter_model.safetensors"))
    a = tensor(tensors, PEFT_QUERY + "lora_A.weight")
    b = tensor(tensors, PEFT_QUERY + "lora_B.weight")
    if kind == "valid":
        pass
    elif kind == "rank-mismatch":
        columns(b, 4)
    elif kind == "unknown-module":
        for t in (a, b):
            t[0] = t[0].replace("encoder.layer.0.", "encoder.layer.9.")
    elif kind == "bad-shape":
        columns(a, 100)
    elif kind == "rank-zero":
        rows(a, 0)
        columns(b, 0)
        tensors = [a, b]
        config["r"] = 0
    elif kind == "nan":
        v = floats(a[3])
        v[5] = float("nan")
        a[3] = pack(v)
    elif kind == "no-alpha":
        del config["lora_alpha"]
    elif kind == "unknown-key":
        tensors.append([PEFT_QUERY + "lora_C.weight", "F32", [2, 2], pack([0.0] * 4)])
    elif kind == "pickle":
        pass
    else:
        sys.exit("unknown kind %s" % kind)
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    if kind == "pickle":
        # A pickle of an empty dict: lorc must refuse the file by its name, without reading it.
        with open(os.path.join(out, "adapter_model.bin"), "wb") as f:
            f.write(b"\x80\x02}q\x00.")
    else:
        write(os.path.join(out, "adapter_model.safetensors"), meta, tensors)


def lycoris(kind, out):
    meta, tensors = read(os.path.join(GOLDENS, "lycoris-locon.safetensors"))
    up = tensor(tensors, LYCORIS_QUERY + "lora_up.weight")
    if kind == "valid":
        pass
    elif kind == "rank-mismatch":
        columns(up, 2)
    elif kind == "unknown-module":
        for t in tensors:
            if t[0].startswith(LYCORIS_QUERY):
                t[0] = t[0].replace("_layer_0_", "_layer_9_")
    else:
        sys.exit("unknown kind %s" % kind)
    write(out, meta, tensors)


def main(argv):
    if len(argv) == 4 and argv[1] == "peft":
        peft(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "lycoris":
        lycoris(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
