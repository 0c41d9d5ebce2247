#!/usr/bin/env python3
"""Writes the tiny models and inputs files the lorc-compile / lorc-run tool tests use.

Standard library only (struct, json): safetensors is an 8-byte little-endian header length,
a JSON header and the data section, so valid and deliberately broken files are easy to write.

  make_bad_inputs.py model KIND DIR     a model directory; KIND is `valid` or a defect:
      truncated           model.safetensors cut short in the data section
      header-too-large    model.safetensors with a header length of 2^40
      overlap             two tensors whose data_offsets overlap
      duplicate-key       a tensor name that appears twice in the header
      no-hidden-size      config.json without hidden_size
      bad-field-type      config.json with "hidden_size": "8" (a string)
      gpt2                config.json with model_type "gpt2"
      missing-tensor      no encoder.layer.0.attention.self.key.weight
      wrong-shape         encoder.layer.0.intermediate.dense.weight [8, 16] instead of [16, 8]
      pytorch-bin         pytorch_model.bin only (no model.safetensors)
      wide                valid, hidden 16 and FFN 32 (every K a multiple of 16, as
                          cuBLASLt's FP8 GEMMs need)
  make_bad_inputs.py inputs KIND FILE   an inputs file (input_ids, attention_mask) for the
      tiny model; KIND is `valid`, `extra-tensor` (valid plus token_type_ids) or a defect:
      f32-ids, rank3-mask, batch-mismatch, seq-mismatch, id-out-of-range, negative-id,
      mask-value (a 2 in the mask), missing-mask, empty-seq (shape [2, 0]) or too-long (17
      tokens, the model has 16 positions)
  make_bad_inputs.py truncate FILE N    cuts FILE to its first N bytes (negative: drop N bytes)
  make_bad_inputs.py parameters MANIFEST CASE  damages the f32 + bf16 `parameters` of an
      artifact's manifest: offset-inside-f32, unaligned-offset, f16 (bf16 buffer's dtype),
      more-elements (past the file's end), three (a second bf16 entry), five (five
      entries) or fp8-order (f8e5m2, then f8e4m3); extra-empty (on an f32-only artifact: an empty f8e4m3 buffer added)
  make_bad_inputs.py describe FILE      prints "name dtype [shape] finite|nonfinite" per tensor
  make_bad_inputs.py closer REF A B     exits non-zero unless B's sentence_embedding is closer
      to REF's than A's (max |delta|)
  make_bad_inputs.py same-embeddings A B  exits non-zero unless the sentence_embedding tensors
      of A and B have the same shape and agree to 1e-5
"""

import json
import math
import os
import random
import struct
import sys

# The tiny BERT: hidden 8, 2 heads, 1 layer, FFN 16, vocabulary 20, 16 positions.
CONFIG = {
    "model_type": "bert",
    "architectures": ["BertModel"],
    "vocab_size": 20,
    "hidden_size": 8,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
}

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat",
         "a", "dog", "hello", "world", "!", ".", ",", "##s", "big", "small"]

DTYPE_FORMAT = {"F32": "f", "F64": "d", "I64": "q", "I32": "i"}


def bert_tensors(c):
    """(name, shape) of every tensor BertModel needs, as lib/Import/HuggingFace.cpp reads them."""
    h, i = c["hidden_size"], c["intermediate_size"]
    t = [("embeddings.word_embeddings.weight", [c["vocab_size"], h]),
         ("embeddings.position_embeddings.weight", [c["max_position_embeddings"], h]),
         ("embeddings.token_type_embeddings.weight", [c["type_vocab_size"], h]),
         ("embeddings.LayerNorm.weight", [h]),
         ("embeddings.LayerNorm.bias", [h])]
    for layer in range(c["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer
        for lin, out, inp in [("attention.self.query", h, h), ("attention.self.key", h, h),
                              ("attention.self.value", h, h), ("attention.output.dense", h, h),
                              ("intermediate.dense", i, h), ("output.dense", h, i)]:
            t.append((p + lin + ".weight", [out, inp]))
            t.append((p + lin + ".bias", [out]))
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            t.append((p + ln + ".weight", [h]))
            t.append((p + ln + ".bias", [h]))
    return t


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def pack(dtype, values):
    return struct.pack("<%d%s" % (len(values), DTYPE_FORMAT[dtype]), *values)


def safetensors_bytes(tensors, metadata=None, header_text=None, data=None):
    """tensors: list of (name, dtype, shape, data bytes), laid out in order. header_text and
    data, when given, replace the header and the data section written."""
    header, section, offset = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        section += raw
        offset += len(raw)
    if data is None:
        data = section
    text = header_text if header_text is not None else json.dumps(header)
    text = text.encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def weight_values(name, shape, rng):
    n = numel(shape)
    if name.endswith("LayerNorm.weight"):
        return [1.0 + rng.uniform(-0.1, 0.1) for _ in range(n)]
    if name.endswith("LayerNorm.bias") or name.endswith(".bias"):
        return [rng.uniform(-0.05, 0.05) for _ in range(n)]
    return [rng.uniform(-0.5, 0.5) for _ in range(n)]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_model(kind, out):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1234)
    config = dict(CONFIG)
    if kind == "wide":  # valid, hidden 16 and FFN 32: every K a multiple of 16 (FP8 GEMMs)
        config.update(hidden_size=16, intermediate_size=32)
    specs = bert_tensors(config)
    tensors = [(n, "F32", s, pack("F32", weight_values(n, s, rng))) for n, s in specs]
    header_text = data = None

    if kind == "no-hidden-size":
        del config["hidden_size"]
    elif kind == "bad-field-type":
        config["hidden_size"] = "8"
    elif kind == "gpt2":
        config["model_type"] = "gpt2"
    elif kind == "missing-tensor":
        tensors = [t for t in tensors if t[0] != "encoder.layer.0.attention.self.key.weight"]
    elif kind == "wrong-shape":
        tensors = [(n, d, [8, 16] if n == "encoder.layer.0.intermediate.dense.weight" else s, r)
                   for n, d, s, r in tensors]
    elif kind == "overlap":
        # The second tensor starts 4 bytes before the first one ends.
        header, offset = {}, 0
        for idx, (n, d, s, r) in enumerate(tensors):
            begin = offset - 4 if idx == 1 else offset
            header[n] = {"dtype": d, "shape": s, "data_offsets": [begin, begin + len(r)]}
            offset = begin + len(r)
        header_text = json.dumps(header)
        data = b"".join(r for _, _, _, r in tensors)[:offset]
    elif kind == "duplicate-key":
        # Name the second tensor like the first one (json.dumps cannot write a duplicate key).
        header, offset = [], 0
        for idx, (n, d, s, r) in enumerate(tensors):
            name = tensors[0][0] if idx == 1 else n
            header.append("%s: %s" % (json.dumps(name), json.dumps(
                {"dtype": d, "shape": s, "data_offsets": [offset, offset + len(r)]})))
            offset += len(r)
        header_text = "{" + ", ".join(header) + "}"
    elif kind not in ("valid", "wide", "truncated", "header-too-large", "pytorch-bin"):
        sys.exit("make_bad_inputs.py: unknown model kind '%s'" % kind)

    write(os.path.join(out, "config.json"), json.dumps(config, indent=2).encode())
    write(os.path.join(out, "vocab.txt"), ("\n".join(VOCAB) + "\n").encode())
    write(os.path.join(out, "tokenizer_config.json"),
          json.dumps({"do_lower_case": True}).encode())

    blob = safetensors_bytes(tensors, {"format": "pt"}, header_text, data)
    if kind == "truncated":
        blob = blob[:-100]
    elif kind == "header-too-large":
        blob = struct.pack("<Q", 1 << 40) + blob[8:]
    if kind == "pytorch-bin":
        # Not a real pickle: lorc must refuse the file without reading it.
        write(os.path.join(out, "pytorch_model.bin"), b"PK\x03\x04 not a real checkpoint")
    else:
        write(os.path.join(out, "model.safetensors"), blob)


def make_inputs(kind, out):
    # Two sentences: [CLS] hello world ! [SEP] [PAD] and [CLS] the cat sat [SEP] [PAD].
    ids = [[2, 12, 13, 14, 3, 0], [2, 5, 6, 7, 3, 0]]
    mask = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0]]
    ids_dtype, ids_shape, mask_shape = "I64", [2, 6], [2, 6]
    extra = []
    if kind == "f32-ids":
        ids_dtype = "F32"
    elif kind == "rank3-mask":
        mask_shape = [2, 6, 1]
    elif kind == "batch-mismatch":
        mask, mask_shape = mask[:1], [1, 6]
    elif kind == "seq-mismatch":
        mask, mask_shape = [row[:5] for row in mask], [2, 5]
    elif kind == "id-out-of-range":
        ids[1][2] = 20  # vocab_size is 20
    elif kind == "negative-id":
        ids[0][1] = -1
    elif kind == "mask-value":
        mask[1][3] = 2
    elif kind == "missing-mask":
        mask = None
    elif kind == "empty-seq":
        ids, mask, ids_shape, mask_shape = [], [], [2, 0], [2, 0]
    elif kind == "too-long":
        ids = [[2] + [5] * 15 + [3]]  # 17 tokens; max_position_embeddings is 16
        mask = [[1] * 17]
        ids_shape = mask_shape = [1, 17]
    elif kind == "extra-tensor":
        extra = [("token_type_ids", "I64", [2, 6], pack("I64", [0] * 12))]
    elif kind != "valid":
        sys.exit("make_bad_inputs.py: unknown inputs kind '%s'" % kind)
    flat_ids = [v for row in ids for v in row]
    if ids_dtype == "F32":
        flat_ids = [float(v) for v in flat_ids]
    tensors = [("input_ids", ids_dtype, ids_shape, pack(ids_dtype, flat_ids))]
    if mask is not None:
        tensors.append(("attention_mask", "I64", mask_shape,
                        pack("I64", [v for row in mask for v in row])))
    write(out, safetensors_bytes(tensors + extra))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        fmt = DTYPE_FORMAT[entry["dtype"]]
        count = (end - begin) // struct.calcsize(fmt)
        out[name] = (entry["dtype"], entry["shape"],
                     struct.unpack_from("<%d%s" % (count, fmt), data, begin))
    return header.get("__metadata__", {}), out


def describe(path):
    _, tensors = read_safetensors(path)
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        finite = all(math.isfinite(v) for v in values)
        print("%s %s [%s] %s" % (name, dtype, ", ".join(map(str, shape)),
                                 "finite" if finite else "nonfinite"))


def same_embeddings(a, b):
    _, ta = read_safetensors(a)
    _, tb = read_safetensors(b)
    (_, sa, va), (_, sb, vb) = ta["sentence_embedding"], tb["sentence_embedding"]
    if sa != sb:
        sys.exit("sentence_embedding shapes differ: %s vs %s" % (sa, sb))
    delta = max(abs(x - y) for x, y in zip(va, vb))
    print("sentence_embedding %s max |delta| %.3g" % (sa, delta))
    if not delta <= 1e-5:
        sys.exit("sentence_embedding differs by %g > 1e-5" % delta)


def closer(ref, a, b):
    """Exits non-zero unless B's sentence_embedding is strictly closer to REF's than A's
    (max |delta|); prints both distances."""
    def embedding(path):
        _, t = read_safetensors(path)
        return t["sentence_embedding"][2]
    r, va, vb = embedding(ref), embedding(a), embedding(b)
    da = max(abs(x - y) for x, y in zip(va, r))
    db = max(abs(x - y) for x, y in zip(vb, r))
    print("max |delta| to the reference: first %.4g, second %.4g" % (da, db))
    if not db < da:
        sys.exit("the second is not closer to the reference than the first")


def edit_parameters(manifest, kind):
    """Damages the `parameters` list of an artifact's manifest (one with a bf16 buffer)."""
    with open(manifest) as f:
        m = json.load(f)
    if kind == "extra-empty":  # an empty FP8 buffer the library was not compiled for
        f32 = m["parameters"][0]
        m["parameters"] = [f32, {"file": f32["file"], "dtype": "f8e4m3",
                                 "offset": f32["elements"] * 4, "elements": 0}]
        with open(manifest, "w") as f:
            json.dump(m, f, indent=2)
        return
    f32, bf16 = m["parameters"]
    if kind == "offset-inside-f32":  # the bf16 buffer would overlap the f32 one
        bf16["offset"] = f32["elements"] * 4 - 4
    elif kind == "unaligned-offset":
        bf16["offset"] += 2
    elif kind == "f16":
        bf16["dtype"] = "f16"
    elif kind == "more-elements":  # past the end of the file
        bf16["elements"] += 8
    elif kind == "three":  # a second bf16 buffer where only FP8 ones may follow
        m["parameters"].append(dict(bf16))
    elif kind == "five":
        m["parameters"] += [dict(bf16), dict(bf16), dict(bf16)]
    elif kind == "fp8-order":  # E5M2 before E4M3: the buffers' order is fixed
        bf16["dtype"] = "f8e5m2"
        m["parameters"].append(dict(bf16, dtype="f8e4m3"))
    else:
        sys.exit("unknown parameters case " + kind)
    with open(manifest, "w") as f:
        json.dump(m, f, indent=2)


def main(argv):
    if len(argv) == 4 and argv[1] == "model":
        make_model(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "inputs":
        make_inputs(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "truncate":
        n = int(argv[3])
        size = os.path.getsize(argv[2])
        with open(argv[2], "r+b") as f:
            f.truncate(n if n >= 0 else size + n)
    elif len(argv) == 5 and argv[1] == "closer":
        closer(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "parameters":
        edit_parameters(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "describe":
        describe(argv[2])
    elif len(argv) == 4 and argv[1] == "same-embeddings":
        same_embeddings(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
