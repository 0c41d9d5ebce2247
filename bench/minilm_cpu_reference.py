"""PyTorch eager CPU reference timing for the MiniLM benchmark (the number lorc is compared with).

Times transformers' BertModel forward + masked mean pooling + L2 normalisation, i.e. the full
sentence-embedding computation lorc compiles, on seeded random token ids with a full attention
mask. --write-inputs saves those exact inputs so that lorc-run can be timed on the same data.

Usage: minilm_cpu_reference.py MODEL_DIR [--threads 2] [--iters 20] [--batch 8] [--seq 128]
                               [--write-inputs PATH]
Prints median/min ms, then one JSON line (last line of stdout) for bench/minilm_cpu.sh.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes from a local folder; never the Hub

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertModel

WARMUP = 3
SEED = 0


def make_inputs(batch, seq):
    """Seeded token ids in [1000, 30000) (ordinary word pieces, no special tokens), mask all ones."""
    gen = torch.Generator().manual_seed(SEED)
    input_ids = torch.randint(1000, 30000, (batch, seq), generator=gen, dtype=torch.int64)
    return input_ids, torch.ones_like(input_ids)


def embed(model, input_ids, attention_mask):
    """Sentence embeddings exactly as sentence-transformers computes them for this model."""
    hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", help="folder printed by scripts/fetch-model.sh")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--write-inputs", metavar="PATH", help="save input_ids/attention_mask here")
    args = ap.parse_args()
    if args.iters < 1:
        ap.error("--iters must be at least 1")

    input_ids, attention_mask = make_inputs(args.batch, args.seq)
    if args.write_inputs:
        save_file({"input_ids": input_ids, "attention_mask": attention_mask}, args.write_inputs,
                  metadata={"generator": "bench/minilm_cpu_reference.py", "seed": str(SEED)})

    torch.set_num_threads(args.threads)
    model = BertModel.from_pretrained(args.model_dir, dtype=torch.float32).eval()

    times_ms = []
    with torch.inference_mode():
        for i in range(WARMUP + args.iters):
            t0 = time.perf_counter()
            embed(model, input_ids, attention_mask)
            if i >= WARMUP:
                times_ms.append((time.perf_counter() - t0) * 1e3)

    median_ms, min_ms = statistics.median(times_ms), min(times_ms)
    print(f"torch eager ({model.config._attn_implementation} attention), batch {args.batch} x seq "
          f"{args.seq}, {args.threads} threads, {args.iters} iterations: "
          f"median {median_ms:.2f} ms, min {min_ms:.2f} ms")
    print(json.dumps({
        "reference": "torch-eager",
        "median_ms": round(median_ms, 3),
        "min_ms": round(min_ms, 3),
        "threads": args.threads,
        "batch": args.batch,
        "seq": args.seq,
        "torch_version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
