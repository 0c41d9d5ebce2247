#!/usr/bin/env python3
"""PyTorch reference for bench/minilm_cuda.sh: all-MiniLM-L6-v2's architecture (BertModel from
the model's config.json, then sentence-transformers' mean pooling and L2 normalisation) on one
CUDA device, eager and torch.compile, f32 (TF32 off, as lorc's f32 GEMMs) and bf16 (the whole
model in bf16, as users run it; lorc's bf16 artifact rounds only GEMM inputs).

Weights are the config's random initialisation: only the time is measured here (the device
machine cannot download the model; lorc's outputs are checked against the goldens elsewhere).
Each variant is timed two ways, median of ITERS after warm-ups, with CUDA events:
  device  inputs already on the GPU, outputs left there (what torch users usually time)
  e2e     inputs copied from host, both outputs (last_hidden_state, sentence_embedding) copied
          back, as lorc-run --bench times a run
Prints a line per variant and, last, one JSON object with all of them.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config", help="the model's config.json")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--variants", default="eager-f32,eager-bf16,compile-f32,compile-bf16")
    args = ap.parse_args()

    import torch
    from transformers import BertConfig, BertModel

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    cfg = BertConfig.from_json_file(args.config)
    cfg.attn_implementation = "sdpa"
    gen = torch.Generator().manual_seed(0)
    ids_host = torch.randint(0, cfg.vocab_size, (args.batch, args.seq), generator=gen)
    mask_host = torch.ones_like(ids_host)
    results = {"torch_version": torch.__version__, "device": torch.cuda.get_device_name(),
               "batch": args.batch, "seq": args.seq, "iters": args.iters}

    for variant in args.variants.split(","):
        mode, dtype_name = variant.split("-")
        dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
        torch.manual_seed(0)
        model = BertModel(cfg, add_pooling_layer=False).to(dev, dtype).eval()

        def forward(ids, mask, model=model):
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return h, torch.nn.functional.normalize(pooled.float(), dim=-1)

        fn = forward
        t0 = time.time()
        if mode == "compile":
            fn = torch.compile(forward)
        ids, mask = ids_host.to(dev), mask_host.to(dev)
        with torch.inference_mode():
            for _ in range(5):
                fn(ids, mask)
            torch.cuda.synchronize()
            warm_s = time.time() - t0

            def timed(e2e):
                times = []
                for _ in range(args.iters):
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    if e2e:
                        h, e = fn(ids_host.to(dev, non_blocking=False), mask_host.to(dev))
                        h.float().cpu(), e.cpu()
                    else:
                        fn(ids, mask)
                    end.record()
                    end.synchronize()
                    times.append(start.elapsed_time(end))
                return statistics.median(times), min(times)

            dev_med, dev_min = timed(False)
            e2e_med, e2e_min = timed(True)
        results[variant] = {"device_median_ms": dev_med, "device_min_ms": dev_min,
                            "e2e_median_ms": e2e_med, "e2e_min_ms": e2e_min,
                            "warmup_s": warm_s}
        print(f"{variant:14s} device {dev_med:8.3f} ms   e2e {e2e_med:8.3f} ms   "
              f"(first 5 calls incl. compile: {warm_s:.1f} s)", flush=True)
        del model, fn
        torch.cuda.empty_cache()
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
