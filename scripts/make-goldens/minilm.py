"""Golden reference outputs for all-MiniLM-L6-v2, written for lorc's end-to-end tests.

Runs the pinned sentence-transformers / transformers stack in float32 on the CPU over 8 fixed
sentences (padded to the longest) and stores the inputs, the BertModel's last_hidden_state and the
sentence embeddings in one small safetensors file, so that lorc's tests need no Python at all.

Usage: minilm.py MODEL_DIR [--out PATH]   (normally called by run.sh)
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes from a local folder; never the Hub

import safetensors
import sentence_transformers
import torch
import torch.nn.functional as F
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "scripts/make-goldens/minilm.py"

# Clearly different lengths (5 to 43 tokens with [CLS]/[SEP]; 43 is deliberately no multiple of a
# tile size); punctuation, digits, capitals, apostrophes and an accented word exercise the
# tokenizer's normalisation and splitting.
SENTENCES = [
    "Hello world!",
    "The cat sat on the mat.",
    "I'd like a coffee at the café, please.",
    "In 2023, the company shipped 1,500 units to 12 countries.",
    "The quick brown fox jumps over the lazy dog while the sleepy cat watches from the window sill.",
    "Paris is the capital of France; it has roughly 2.1 million residents and welcomes over "
    "30 million visitors each year.",
    "Machine learning models can now translate text between dozens of languages quickly, although "
    "rare idioms and jokes still confuse them more often than their users would like.",
    "Although the meeting was scheduled for 9:30 AM on Tuesday, most engineers from the Berlin "
    "office didn't arrive until after 10 o'clock, because a storm had delayed every train in the "
    "region.",
]


def mean_pool_normalize(hidden, mask):
    """Masked mean over the sequence, then L2 normalisation: what lorc must reproduce."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


def run(model, sentences):
    """Tokenises `sentences` (padded to the longest) and returns (features, last_hidden, embedding)."""
    features = model.preprocess(sentences)
    assert not features["token_type_ids"].any(), "lorc assumes single-segment inputs"
    bert = model[0].auto_model
    with torch.no_grad():
        hidden = bert(
            input_ids=features["input_ids"],
            attention_mask=features["attention_mask"],
            token_type_ids=features["token_type_ids"],
        ).last_hidden_state
        out = model(dict(features))
    torch.testing.assert_close(out["token_embeddings"], hidden, rtol=0, atol=1e-6)
    return features, hidden, out["sentence_embedding"]


def unchanged(path, tensors, metadata):
    """True when `path` already holds exactly these tensors and metadata. safetensors writes the
    metadata in hash order, so rewriting identical content would still churn the committed file."""
    if not path.exists():
        return False
    with safe_open(str(path), "pt") as f:
        return (f.metadata() == metadata and set(f.keys()) == set(tensors)
                and all(torch.equal(f.get_tensor(k), t) for k, t in tensors.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", help="folder printed by scripts/fetch-model.sh")
    ap.add_argument("--out", default=str(REPO / "test/e2e/goldens/minilm.safetensors"))
    args = ap.parse_args()

    model = SentenceTransformer(args.model_dir, device="cpu").float().eval()
    features, hidden, emb = run(model, SENTENCES)
    ids, mask = features["input_ids"], features["attention_mask"]
    lengths = mask.sum(1).tolist()
    assert ids.shape[1] == max(lengths), "expected padding to the longest sentence"

    mine = mean_pool_normalize(hidden, mask)
    pool_diff = (mine - emb).abs().max().item()
    assert pool_diff <= 1e-6, f"own mean-pool+normalize differs by {pool_diff}"

    # Padding must not change any sentence's embedding: compare with each sentence run alone.
    solo_diff = 0.0
    for i, s in enumerate(SENTENCES):
        f1, _, e1 = run(model, [s])
        assert f1["input_ids"].shape[1] == lengths[i] and bool(f1["attention_mask"].all())
        solo_diff = max(solo_diff, (e1[0] - emb[i]).abs().max().item())
    assert solo_diff <= 1e-5, f"batch-1 vs batched embeddings differ by {solo_diff}"

    tensors = {
        "input_ids": ids.to(torch.int64).contiguous(),
        "attention_mask": mask.to(torch.int64).contiguous(),
        "last_hidden_state": hidden.to(torch.float32).contiguous(),
        "sentence_embedding": emb.to(torch.float32).contiguous(),
    }
    metadata = {
        "sentences": json.dumps(SENTENCES, ensure_ascii=False),
        "generator": GENERATOR,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "sentence_transformers_version": sentence_transformers.__version__,
        "safetensors_version": safetensors.__version__,
    }
    out = Path(args.out)
    if unchanged(out, tensors, metadata):
        print(f"unchanged {out} ({out.stat().st_size} bytes)")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(out), metadata=metadata)
        print(f"wrote {out} ({out.stat().st_size} bytes)")
    for name, t in tensors.items():
        print(f"  {name:20s} {str(t.dtype):14s} {list(t.shape)}")
    print(f"S = {ids.shape[1]}; tokens per sentence (with [CLS]/[SEP]):")
    for n, s in zip(lengths, SENTENCES):
        print(f"  {n:3d}  {s}")
    print(f"max |own mean-pool+normalize - sentence-transformers| = {pool_diff:.3g}")
    print(f"max |batch-1 - batched| sentence_embedding = {solo_diff:.3g}")
    print("cosine similarity of the sentence embeddings:")
    cos = emb @ emb.T
    for row in cos.tolist():
        print("  " + " ".join(f"{v:6.3f}" for v in row))


if __name__ == "__main__":
    main()
