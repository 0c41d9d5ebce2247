#!/usr/bin/env python3
"""Compares lorc-run's outputs for all-MiniLM-L6-v2 with the sentence-transformers goldens.

Standard library only: safetensors files are parsed with struct and json, and all arithmetic
is in float64 (Python floats).

  check_goldens.py slice GOLDEN DIR
      writes DIR/row<i>.safetensors: input_ids and attention_mask of golden row i alone,
      [1, L_i] with L_i that row's real (unpadded) length
  check_goldens.py run-text GOLDEN LORC_RUN ARTIFACT OUT
      runs `LORC_RUN ARTIFACT --text S_0 ... --text S_7 -o OUT` with the golden's sentences
      (its metadata key `sentences`), so that lorc-run's tokenizer makes the input ids
  check_goldens.py compare GOLDEN NAME=OUT [NAME=OUT|NAME=DIR/ ...]
      checks each run against the golden: per sentence the cosine and the max |delta| of the
      384-dimensional sentence embedding, and the max |delta| of last_hidden_state over the
      sentence's real (unpadded) positions. A directory (ending in `/`) stands for the
      batch-1 runs DIR/row0.safetensors ... DIR/row7.safetensors. Prints the measured numbers; exits 1 if
      any exceeds the tolerances below.
"""

import json
import math
import os
import struct
import subprocess
import sys

# The tolerances, stated once. lorc computes in f32 like the PyTorch reference; differences
# come from summation order (BLAS, attention, layer norm), not from the algorithm.
COSINE_MIN = 0.99999  # cosine(lorc embedding, golden embedding), per sentence
EMBEDDING_MAX_ABS = 1e-4  # max |delta| over the 384 embedding values, per sentence
HIDDEN_MAX_ABS = 1e-3  # max |delta| of last_hidden_state over the non-padded positions

FORMATS = {"F32": "f", "F64": "d", "I64": "q", "I32": "i"}


def read(path):
    """Returns (metadata, {name: (dtype, shape, flat values)})."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        fmt = FORMATS[entry["dtype"]]
        count = (end - begin) // struct.calcsize(fmt)
        tensors[name] = (entry["dtype"], entry["shape"],
                         struct.unpack_from("<%d%s" % (count, fmt), data, begin))
    return header.get("__metadata__", {}), tensors


def write(path, tensors):
    """tensors: list of (name, dtype, shape, flat values)."""
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, values in tensors:
        blob = struct.pack("<%d%s" % (len(values), FORMATS[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def row_lengths(golden):
    _, t = read(golden)
    _, (batch, seq), mask = t["attention_mask"]
    return [sum(mask[b * seq:(b + 1) * seq]) for b in range(batch)]


def slice_rows(golden, out_dir):
    _, t = read(golden)
    _, (batch, seq), ids = t["input_ids"]
    mask = t["attention_mask"][2]
    os.makedirs(out_dir, exist_ok=True)
    for b, length in enumerate(row_lengths(golden)):
        row_mask = mask[b * seq:b * seq + length]
        if any(v != 1 for v in row_mask) or any(mask[b * seq + length:(b + 1) * seq]):
            sys.exit("row %d: the mask is not a run of 1s followed by padding" % b)
        write(os.path.join(out_dir, "row%d.safetensors" % b),
              [("input_ids", "I64", [1, length], ids[b * seq:b * seq + length]),
               ("attention_mask", "I64", [1, length], row_mask)])
    print("wrote %d rows of lengths %s" % (batch, row_lengths(golden)))


def run_text(golden, lorc_run, artifact, out):
    meta, _ = read(golden)
    sentences = json.loads(meta["sentences"])
    cmd = [lorc_run, artifact]
    for s in sentences:
        cmd += ["--text", s]
    cmd += ["-o", out]
    sys.stdout.flush()
    sys.exit(subprocess.call(cmd))


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def max_abs(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def compare(golden, runs):
    _, g = read(golden)
    _, (batch, gseq, hidden), g_hidden = g["last_hidden_state"]
    g_emb = g["sentence_embedding"][2]
    lengths = row_lengths(golden)
    ok = True
    print("tolerances: cosine >= %g, embedding max |delta| <= %g, "
          "last_hidden_state max |delta| <= %g" % (COSINE_MIN, EMBEDDING_MAX_ABS, HIDDEN_MAX_ABS))
    for spec in runs:
        name, path = spec.split("=", 1)
        # Each entry: (golden row, output file, row of that file).
        if path.endswith("/"):
            rows = [(b, path + "row%d.safetensors" % b, 0) for b in range(batch)]
        else:
            rows = [(b, path, b) for b in range(batch)]
        worst_cos, worst_emb, worst_hidden = 1.0, 0.0, 0.0
        cache = {}
        for b, file, r in rows:
            if file not in cache:
                cache[file] = read(file)[1]
            t = cache[file]
            _, eshape, emb = t["sentence_embedding"]
            _, hshape, hid = t["last_hidden_state"]
            if eshape[1] != hidden or hshape[2] != hidden or r >= eshape[0] or \
                    hshape[1] < lengths[b]:
                print("%s: sentence %d: unexpected shapes %s, %s" % (name, b, eshape, hshape))
                ok = False
                continue
            e = emb[r * hidden:(r + 1) * hidden]
            ge = g_emb[b * hidden:(b + 1) * hidden]
            cos, emb_delta = cosine(e, ge), max_abs(e, ge)
            seq = hshape[1]
            n = lengths[b] * hidden
            h = hid[r * seq * hidden:r * seq * hidden + n]
            gh = g_hidden[b * gseq * hidden:b * gseq * hidden + n]
            hid_delta = max_abs(h, gh)
            bad = cos < COSINE_MIN or emb_delta > EMBEDDING_MAX_ABS or hid_delta > HIDDEN_MAX_ABS
            print("%s: sentence %d (%2d tokens): cosine %.9f (1 - cosine %.1e)  embedding max "
                  "|delta| %.3e  last_hidden_state max |delta| %.3e%s"
                  % (name, b, lengths[b], cos, 1.0 - cos, emb_delta, hid_delta,
                     "  FAIL" if bad else ""))
            ok = ok and not bad
            worst_cos = min(worst_cos, cos)
            worst_emb = max(worst_emb, emb_delta)
            worst_hidden = max(worst_hidden, hid_delta)
        print("%s: worst: cosine %.9f (1 - cosine %.1e)  embedding max |delta| %.3e  "
              "last_hidden_state max |delta| %.3e"
              % (name, worst_cos, 1.0 - worst_cos, worst_emb, worst_hidden))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "slice":
        slice_rows(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "run-text":
        run_text(*argv[2:])
    elif len(argv) >= 4 and argv[1] == "compare":
        sys.exit(compare(argv[2], argv[3:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
