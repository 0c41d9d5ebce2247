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
  check_goldens.py compare-ref GOLDEN REF NAME=OUT [NAME=OUT ...]
      checks runs of an adapted model against the adapter reference REF (made by PEFT or
      LyCORIS): per sentence the cosine and the max |delta| of sentence_embedding, and the max
      |delta| of last_hidden_state over the real positions (GOLDEN's attention_mask) when REF
      stores it; then every run after the first against the first (e.g. unmerged against
      merged) on both outputs, with the same tolerances; and finally that the adapter had an
      effect: REF's and every run's embedding differ from GOLDEN's (the base model's) by more
      than EFFECT_MIN_ABS (max |delta|) in every sentence. Prints the numbers; exits 1 if a
      check fails.
  check_goldens.py fidelity REF OUT MEAN_MIN [MIN_MIN]
      for a reduced model (rank selection), which is not meant to match exactly: the cosine of
      each sentence_embedding row of OUT to REF's, their mean and minimum; exits 1 if the mean
      is below MEAN_MIN (or the minimum below MIN_MIN).
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
# compare-ref: an adapted embedding must differ from the base model's by more than this
# (max |delta| per sentence), or the adapter did nothing measurable.
EFFECT_MIN_ABS = 1e-3

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


def sentence_embedding(t, r, hidden):
    """Row r of the sentence_embedding of tensors t."""
    return t["sentence_embedding"][2][r * hidden:(r + 1) * hidden]


def hidden_positions(t, r, length, hidden):
    """The first `length` positions of row r of last_hidden_state of tensors t, flattened."""
    _, (_, seq, _), hid = t["last_hidden_state"]
    return hid[r * seq * hidden:r * seq * hidden + length * hidden]


def check_shapes(name, t, batch, hidden, lengths, need_hidden=True):
    """Prints and returns False when t's outputs do not have the batch's shapes."""
    ok = "sentence_embedding" in t and t["sentence_embedding"][1] == [batch, hidden]
    if need_hidden:
        ok = ok and "last_hidden_state" in t
        if ok:
            shape = t["last_hidden_state"][1]
            ok = len(shape) == 3 and shape[0] == batch and shape[2] == hidden and \
                shape[1] >= max(lengths)
    if not ok:
        print("%s: unexpected outputs %s" % (name, {k: v[1] for k, v in t.items()}))
    return ok


def compare_pair(name, a, b, lengths, hidden, with_hidden):
    """Per sentence: cosine and max |delta| of the embeddings of a and b, and max |delta| of
    last_hidden_state over the real positions when with_hidden. Returns True if all pass."""
    ok, worst_cos, worst_emb, worst_hidden = True, 1.0, 0.0, 0.0
    for r, length in enumerate(lengths):
        ea, eb = sentence_embedding(a, r, hidden), sentence_embedding(b, r, hidden)
        cos, emb_delta = cosine(ea, eb), max_abs(ea, eb)
        hid_delta = max_abs(hidden_positions(a, r, length, hidden),
                            hidden_positions(b, r, length, hidden)) if with_hidden else 0.0
        bad = not (cos >= COSINE_MIN and emb_delta <= EMBEDDING_MAX_ABS and
                   hid_delta <= HIDDEN_MAX_ABS)
        print("%s: sentence %d (%2d tokens): cosine %.9f (1 - cosine %.1e)  embedding max "
              "|delta| %.3e  last_hidden_state max |delta| %s%s"
              % (name, r, length, cos, 1.0 - cos, emb_delta,
                 "%.3e" % hid_delta if with_hidden else "(not compared)",
                 "  FAIL" if bad else ""))
        ok = ok and not bad
        worst_cos = min(worst_cos, cos)
        worst_emb = max(worst_emb, emb_delta)
        worst_hidden = max(worst_hidden, hid_delta)
    print("%s: worst: cosine %.9f (1 - cosine %.1e)  embedding max |delta| %.3e  "
          "last_hidden_state max |delta| %s%s"
          % (name, worst_cos, 1.0 - worst_cos, worst_emb,
             "%.3e" % worst_hidden if with_hidden else "(not compared)", "" if ok else "  FAIL"))
    return ok


def compare_ref(golden, ref, runs):
    _, g = read(golden)
    _, reference = read(ref)
    lengths = row_lengths(golden)
    batch, hidden = g["sentence_embedding"][1]
    print("tolerances: cosine >= %g, embedding max |delta| <= %g, last_hidden_state max "
          "|delta| <= %g; effect: embedding max |delta| from the base model > %g"
          % (COSINE_MIN, EMBEDDING_MAX_ABS, HIDDEN_MAX_ABS, EFFECT_MIN_ABS))
    ref_hidden = "last_hidden_state" in reference
    ok = check_shapes("reference", reference, batch, hidden, lengths, need_hidden=ref_hidden)
    outputs = []
    for spec in runs:
        name, path = spec.split("=", 1)
        t = read(path)[1]
        if check_shapes(name, t, batch, hidden, lengths):
            outputs.append((name, t))
        else:
            ok = False
    if not ok:
        print("FAIL")
        return 1

    # Each run against the library's reference.
    for name, t in outputs:
        ok = compare_pair("%s vs reference" % name, t, reference, lengths, hidden,
                          ref_hidden) and ok
    # The runs against each other (merged and unmerged compute the same function).
    first_name, first = outputs[0]
    for name, t in outputs[1:]:
        ok = compare_pair("%s vs %s" % (name, first_name), t, first, lengths, hidden,
                          True) and ok
    # The adapter changed the outputs: the reference and every run differ from the base model.
    for name, t in [("reference", reference)] + outputs:
        deltas = [max_abs(sentence_embedding(t, r, hidden), sentence_embedding(g, r, hidden))
                  for r in range(batch)]
        bad = not min(deltas) > EFFECT_MIN_ABS
        print("effect: %s vs base model: embedding max |delta| per sentence: smallest %.3e, "
              "largest %.3e%s" % (name, min(deltas), max(deltas), "  FAIL" if bad else ""))
        ok = ok and not bad
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


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


def fidelity(ref, out, mean_min, min_min=None):
    r, o = read(ref)[1], read(out)[1]
    rows, hidden = r["sentence_embedding"][1]
    if o["sentence_embedding"][1] != [rows, hidden]:
        print("FAIL: sentence_embedding shape %s, expected %s"
              % (o["sentence_embedding"][1], [rows, hidden]))
        return 1
    cos = [cosine(sentence_embedding(r, i, hidden), sentence_embedding(o, i, hidden))
           for i in range(rows)]
    for i, c in enumerate(cos):
        print("sentence %d: cosine %.7f" % (i, c))
    mean, low = sum(cos) / rows, min(cos)
    ok = mean >= float(mean_min) and (min_min is None or low >= float(min_min))
    print("fidelity: mean cosine %.7f (floor %s), min %.7f%s  %s"
          % (mean, mean_min, low, "" if min_min is None else " (floor %s)" % min_min,
             "PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "slice":
        slice_rows(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "run-text":
        run_text(*argv[2:])
    elif len(argv) >= 4 and argv[1] == "compare":
        sys.exit(compare(argv[2], argv[3:]))
    elif len(argv) in (5, 6) and argv[1] == "fidelity":
        sys.exit(fidelity(*argv[2:]))
    elif len(argv) >= 5 and argv[1] == "compare-ref":
        sys.exit(compare_ref(argv[2], argv[3], argv[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
