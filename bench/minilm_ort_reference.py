"""onnxruntime and PyTorch eager references for bench/minilm_ort.sh (issue 9's peer comparison).

Exports transformers' BertModel + masked mean pooling + L2 normalisation (the sentence
embedding lorc compiles) to ONNX with torch.onnx (opset 17, dynamic batch and sequence), then
times onnxruntime (all graph optimisations, `--threads` intra-op threads, one inter-op thread)
and torch eager on the same seeded inputs, and saves both outputs so the caller can check that
lorc agrees with them.

Usage: minilm_ort_reference.py MODEL_DIR WORKDIR --batch B --seq S [--threads 2] [--iters 20]
Writes WORKDIR/inputs.safetensors, WORKDIR/ort.safetensors, WORKDIR/torch.safetensors and prints
one JSON line (last line of stdout) with both timings.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import onnxruntime as ort
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertModel

WARMUP = 3
SEED = 0


class Embedder(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def timed(fn, iters):
    times = []
    for i in range(WARMUP + iters):
        t0 = time.perf_counter()
        out = fn()
        if i >= WARMUP:
            times.append((time.perf_counter() - t0) * 1e3)
    return out, statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("workdir")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()

    gen = torch.Generator().manual_seed(SEED)
    input_ids = torch.randint(1000, 30000, (args.batch, args.seq), generator=gen, dtype=torch.int64)
    attention_mask = torch.ones_like(input_ids)
    save_file({"input_ids": input_ids, "attention_mask": attention_mask},
              os.path.join(args.workdir, "inputs.safetensors"))

    torch.set_num_threads(args.threads)
    model = Embedder(BertModel.from_pretrained(args.model_dir, dtype=torch.float32).eval())

    # torch eager first: the TorchScript exporter leaves the module in a state whose eager
    # outputs differ (seen with torch 2.15: max |delta| 5e-2 against a fresh model and ORT).
    with torch.inference_mode():
        torch_out, torch_median, torch_min = timed(lambda: model(input_ids, attention_mask),
                                                   args.iters)

    onnx_path = os.path.join(args.workdir, "minilm.onnx")
    if not os.path.exists(onnx_path):
        with torch.no_grad():
            torch.onnx.export(model, (input_ids, attention_mask), onnx_path,
                              input_names=["input_ids", "attention_mask"],
                              output_names=["sentence_embedding"], opset_version=17,
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                            "attention_mask": {0: "batch", 1: "seq"},
                                            "sentence_embedding": {0: "batch"}},
                              dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
    ort_out, ort_median, ort_min = timed(lambda: session.run(None, feeds)[0], args.iters)
    save_file({"sentence_embedding": torch.from_numpy(ort_out).contiguous()},
              os.path.join(args.workdir, "ort.safetensors"))
    save_file({"sentence_embedding": torch_out.contiguous()},
              os.path.join(args.workdir, "torch.safetensors"))
    print(f"onnxruntime {ort.__version__}: median {ort_median:.2f} ms, min {ort_min:.2f} ms; "
          f"torch {torch.__version__} eager: median {torch_median:.2f} ms, min {torch_min:.2f} ms")
    print(json.dumps({"ort_median_ms": ort_median, "ort_min_ms": ort_min,
                      "torch_median_ms": torch_median, "torch_min_ms": torch_min,
                      "ort_version": ort.__version__, "torch_version": torch.__version__,
                      "batch": args.batch, "seq": args.seq, "threads": args.threads}))


if __name__ == "__main__":
    main()
