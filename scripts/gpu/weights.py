#!/usr/bin/env python3
"""Moves all-MiniLM-L6-v2 to a GPU machine that cannot download it, inside the device tool's
64 MiB transfer limit (standard library only; runs on both machines).

  weights.py prune MODEL_DIR OUT_DIR INPUTS.safetensors...
      OUT_DIR: MODEL_DIR's files (symbolic links) with a model.safetensors whose
      word-embedding rows are zero except those of the token ids in the INPUTS files'
      `input_ids`. Every other tensor is unchanged, so the model's outputs for those inputs are
      exactly the original's (bundle.sh checks this on the CPU before packing). The vocabulary
      table is 47 of the model's 91 MB; the rows used by the goldens are a few hundred.
  weights.py bench-inputs GOLDEN OUT BATCH SEQ
      OUT: input_ids [BATCH, SEQ] (every position real, attention_mask all ones) made by
      repeating the golden sentences' real tokens ([CLS] … [SEP]), so that only token ids
      of the golden are used (the pruned table holds their rows).
  weights.py pack FILE OUT          byte-shuffled (the four bytes of each f32 as four planes,
                                    as blosc's shuffle) then xz: 10% smaller than xz alone
  weights.py unpack IN OUT          the inverse
"""
import lzma
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "test", "e2e"))
from check_goldens import read, write  # noqa: E402

EMBEDDING = "embeddings.word_embeddings.weight"


def used_ids(paths):
    ids = set()
    for p in paths:
        _, t = read(p)
        if "input_ids" not in t:
            sys.exit("weights.py: %s: no input_ids tensor" % p)
        ids.update(t["input_ids"][2])
    return ids


def prune(model_dir, out_dir, inputs):
    import json
    src = os.path.join(model_dir, "model.safetensors")
    raw = bytearray(open(src, "rb").read())
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n])
    if EMBEDDING not in header or header[EMBEDDING]["dtype"] != "F32":
        sys.exit("weights.py: %s: no F32 %s" % (src, EMBEDDING))
    vocab, hidden = header[EMBEDDING]["shape"]
    begin, _ = header[EMBEDDING]["data_offsets"]
    keep = used_ids(inputs)
    if any(i < 0 or i >= vocab for i in keep):
        sys.exit("weights.py: token id outside [0, %d)" % vocab)
    row = 4 * hidden
    base = 8 + n + begin
    zero = bytes(row)
    for i in range(vocab):
        if i not in keep:
            raw[base + i * row:base + (i + 1) * row] = zero
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(model_dir):
        dst = os.path.join(out_dir, name)
        if name == "model.safetensors" or os.path.lexists(dst):
            continue
        os.symlink(os.path.abspath(os.path.join(model_dir, name)), dst)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(raw)
    print("pruned %s: kept %d of %d rows" % (EMBEDDING, len(keep), vocab))


def bench_inputs(golden, out, batch, seq):
    _, t = read(golden)
    _, (gb, gs), ids = t["input_ids"]
    mask = t["attention_mask"][2]
    stream = [ids[b * gs + s] for b in range(gb) for s in range(gs) if mask[b * gs + s]]
    values = [stream[(b * seq + s) % len(stream)] for b in range(batch) for s in range(seq)]
    write(out, [("input_ids", "I64", [batch, seq], values),
                ("attention_mask", "I64", [batch, seq], [1] * (batch * seq))])


def pack(path, out):
    data = open(path, "rb").read()
    pad = (-len(data)) % 4
    data += bytes(pad)
    planes = b"".join(data[i::4] for i in range(4))
    with open(out, "wb") as f:
        f.write(struct.pack("<QB", len(data) - pad, pad) + lzma.compress(planes, preset=6))


def unpack(path, out):
    raw = open(path, "rb").read()
    size, pad = struct.unpack_from("<QB", raw, 0)
    planes = lzma.decompress(raw[9:])
    quarter = len(planes) // 4
    data = bytearray(len(planes))
    for i in range(4):
        data[i::4] = planes[i * quarter:(i + 1) * quarter]
    with open(out, "wb") as f:
        f.write(data[:size])


def main(argv):
    if len(argv) >= 4 and argv[1] == "prune":
        prune(argv[2], argv[3], argv[4:])
    elif len(argv) == 6 and argv[1] == "bench-inputs":
        bench_inputs(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif len(argv) == 4 and argv[1] == "pack":
        pack(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "unpack":
        unpack(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
