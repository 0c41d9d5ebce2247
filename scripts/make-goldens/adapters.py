"""Golden adapters and reference outputs for lorc's adapter support (PEFT and LyCORIS).

Builds seeded, random (but deliberately visible) LoRA-family adapters with the real libraries, in
float32 on the CPU, and writes under test/e2e/goldens/adapters/:

  * PEFT adapter folders (adapter_config.json + adapter_model.safetensors) on the MiniLM BertModel,
    each with a reference.safetensors: the adapted model's sentence embedding (and, for peft-lora,
    last_hidden_state) on the 8 golden sentences of minilm.safetensors, plus rows of ΔW (or of
    DoRA's merged W') of two modules, from PEFT's own get_delta_weight / merge_and_unload;
  * LyCORIS adapter files (lycoris-<algo>.safetensors, written by LycorisNetwork.save_weights) on
    the same model, with lycoris-<algo>.reference.safetensors from the network's forward;
  * standalone.safetensors: LyCORIS modules on small Conv2d/Linear layers (factors, alpha and the
    full reference ΔW) and lycoris' own factorization() for a list of dimensions;
  * multi.reference.safetensors: two PEFT LoRA adapters active together with multipliers;
  * README.md describing all of it, with the library versions.

Every check (merged vs unmerged, save/load round trip, the module's ΔW against the functional
formula and against the forward) is printed, and recorded in the reference files' metadata.

Usage: adapters.py MODEL_DIR [--out-dir DIR]   (normally called by run.sh)
"""

import argparse
import copy
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes from a local folder; never the Hub
# LyCORIS picks triton/tilelang/torch.compile/eager per call; on CPU tensors it uses eager anyway,
# pinning it keeps the reference on the plain PyTorch formulas whatever is installed.
os.environ.setdefault("LYCORIS_KERNEL_BACKEND", "torch")

import peft
import safetensors
import torch
import torch.nn.functional as F
import transformers
from importlib.metadata import version as pkg_version
from lycoris import create_lycoris
from lycoris.functional import factorization
from lycoris.functional import locon as lyco_locon
from lycoris.functional import loha as lyco_loha
from lycoris.functional import lokr as lyco_lokr
from lycoris.modules.locon import LoConModule
from lycoris.modules.loha import LohaModule
from lycoris.modules.lokr import LokrModule
from lycoris.wrapper import create_lycoris_from_weights
from peft import LoHaConfig, LoKrConfig, LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from minilm import mean_pool_normalize, unchanged  # noqa: E402  (the same pooling as minilm.py)

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "scripts/make-goldens/adapters.py"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# The two modules whose ΔW (or merged W') is stored for every MiniLM adapter.
DELTA_MODULES = ["encoder.layer.0.attention.self.query", "encoder.layer.5.attention.self.value"]
# ΔW of a 384x384 module is 576 KiB in f32; 20 of them would triple the folder. Rows 0, 7, 14, …, 378
# (55 rows) are kept instead: 7 is coprime to every Kronecker block height here (16, 24, 32, 48), so
# the rows still cover every row position inside each block.
ROW_STRIDE = 7

# All encoder Linear modules of BertModel, as regexes on the module path (re.match, as LyCORIS
# matches `target_name`); the pooler is left out.
QKV = r"encoder\.layer\.\d+\.attention\.self\.(query|key|value)$"
QV = r"encoder\.layer\.\d+\.attention\.self\.(query|value)$"
ATTN_OUT = r"encoder\.layer\.\d+\.attention\.output\.dense$"
INTERMEDIATE = r"encoder\.layer\.\d+\.intermediate\.dense$"
FFN_OUT = r"encoder\.layer\.\d+\.output\.dense$"

PEFT_VARIANTS = [
    # name, seed, config class, config kwargs, std of the random factors, store last_hidden_state
    dict(name="peft-lora", seed=101, config=LoraConfig, std=0.05, hidden=True,
         kwargs=dict(r=8, lora_alpha=16, target_modules=["query", "key", "value", "dense"])),
    dict(name="peft-rslora", seed=102, config=LoraConfig, std=0.05,
         kwargs=dict(r=16, lora_alpha=8, use_rslora=True, target_modules=["query", "value"])),
    dict(name="peft-dora", seed=103, config=LoraConfig, std=0.05,
         kwargs=dict(r=4, lora_alpha=8, use_dora=True, target_modules=["query", "value"])),
    # rank_pattern/alpha_pattern keys match module paths by suffix (peft get_pattern_key:
    # re.match(rf"(.*\.)?({key})$", path)): layer 0 query gets r=4, alpha=12 (scale 3), layer 5
    # value alpha=4 (scale 0.5), every other module r=8, alpha=16 (scale 2).
    dict(name="peft-patterns", seed=104, config=LoraConfig, std=0.05,
         kwargs=dict(r=8, lora_alpha=16, target_modules=["query", "value"],
                     rank_pattern={"layer.0.attention.self.query": 4},
                     alpha_pattern={"layer.0.attention.self.query": 12, "5.attention.self.value": 4})),
    dict(name="peft-loha", seed=105, config=LoHaConfig, std=0.2,
         kwargs=dict(r=4, alpha=8, target_modules=["query", "value"])),
    # decompose_both: w1 = w1_a @ w1_b as well as w2 = w2_a @ w2_b (384 = 16·24; r=4 < 16/2).
    dict(name="peft-lokr", seed=106, config=LoKrConfig, std=0.2,
         kwargs=dict(r=4, alpha=8, target_modules=["query", "value"], decompose_both=True)),
    # Trained biases and whole modules saved beside the adapter: bias="all" saves every bias of the
    # model, modules_to_save=["LayerNorm"] every LayerNorm (weight and bias); all are perturbed.
    dict(name="peft-bias", seed=108, config=LoraConfig, std=0.05,
         kwargs=dict(r=4, lora_alpha=8, target_modules=["query", "value"], bias="all",
                     modules_to_save=["LayerNorm"])),
    # lora_bias: lora_B has a bias, scaled with the adapter.
    dict(name="peft-lora-bias", seed=109, config=LoraConfig, std=0.05,
         kwargs=dict(r=4, lora_alpha=8, target_modules=["query", "value"], lora_bias=True)),
    # The second adapter of the multi-adapter case (multi.reference.safetensors).
    dict(name="peft-lora-b", seed=107, config=LoraConfig, std=0.05,
         kwargs=dict(r=4, lora_alpha=6, target_modules=["query", "key"])),
]
MULTI = [("peft-lora", 1.0), ("peft-lora-b", 0.7)]

LYCORIS_VARIANTS = [
    # file stem, algo, seed, linear_dim, linear_alpha, targets, std per factor, extra create_lycoris
    # kwargs, store last_hidden_state, extra multipliers
    dict(stem="lycoris-locon", algo="locon", seed=201, dim=4, alpha=2,
         targets=[QKV, ATTN_OUT, INTERMEDIATE, FFN_OUT], std={"": 0.1}, extra={}, hidden=True,
         multipliers=[0.5]),
    dict(stem="lycoris-loha", algo="loha", seed=202, dim=4, alpha=8,
         targets=[QV, INTERMEDIATE], std={"": 0.2}, extra={}),
    # factor -1: 384 = 16·24, 1536 = 32·48; w1 full, w2 = w2_a @ w2_b (r=4 < 24/2).
    dict(stem="lycoris-lokr", algo="lokr", seed=203, dim=4, alpha=8,
         targets=[QV, INTERMEDIATE, FFN_OUT], std={"lokr_w1": 0.1, "": 0.2},
         extra=dict(factor=-1)),
    # full_matrix: w1 and w2 both full, so LyCORIS forces alpha = rank (scale 1) and stores that.
    dict(stem="lycoris-lokr-full", algo="lokr", seed=204, dim=4, alpha=8,
         targets=[QV], std={"": 0.1}, extra=dict(factor=-1, full_matrix=True)),
]

FACTORIZATION_CASES = (
    [(d, -1) for d in (127, 128, 250, 360, 512, 1024, 4096, 11008, 14336)]
    + [(d, 8) for d in (250, 360, 512)]
    + [(d, 16) for d in (360, 4096)]
)


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "lycoris-lora": pkg_version("lycoris-lora"),
        "safetensors": safetensors.__version__,
    }


def maxdiff(a, b):
    return (a.double() - b.double()).abs().max().item()


def rows(w):
    return w[::ROW_STRIDE].contiguous()


def write_st(path, tensors, metadata):
    """save_file unless the file already holds exactly this (see minilm.unchanged)."""
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    metadata = {k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
                for k, v in metadata.items()}
    if unchanged(path, tensors, metadata):
        print(f"  unchanged {path.name} ({path.stat().st_size} bytes)")
    else:
        save_file(tensors, str(path), metadata=metadata)
        print(f"  wrote {path.name} ({path.stat().st_size} bytes)")


def check_all(checks, what):
    """Outputs compared after merging differ by f32 rounding through six layers (≈1e-4 on
    last_hidden_state, whose entries reach ≈6); weights and embeddings must agree to ≈1e-6."""
    for k, c in checks.items():
        limit = 1e-3 if k.endswith("last_hidden_state") else 1e-5
        assert c <= limit, f"{what}: {k} = {c:.3g} exceeds {limit:g}"


def fill_(t, gen, std):
    with torch.no_grad():
        t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float32) * std)



def save_peft_adapter(model, vdir):
    """save_pretrained, then a machine-independent, deterministic adapter_config.json."""
    model.save_pretrained(str(vdir))
    (vdir / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub; not adapter data
    cfg_path = vdir / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = MODEL_ID  # not this machine's model folder
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])  # a set: hash order otherwise
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

class Runner:
    def __init__(self, model_dir, out_dir):
        self.out = out_dir
        self.out.mkdir(parents=True, exist_ok=True)
        with safe_open(str(REPO / "test/e2e/goldens/minilm.safetensors"), "pt") as f:
            self.ids = f.get_tensor("input_ids")
            self.mask = f.get_tensor("attention_mask")
            golden_hidden = f.get_tensor("last_hidden_state")
        torch.manual_seed(0)
        self.base = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
        hidden, emb = self.forward(self.base)
        self.base_emb = emb
        d = maxdiff(hidden, golden_hidden)
        print(f"base BertModel vs minilm.safetensors last_hidden_state: max diff {d:.3g}")
        assert d < 1e-4, "the base model does not reproduce minilm.safetensors"
        self.readme = {}  # file -> description, for README.md

    def forward(self, model):
        with torch.no_grad():
            hidden = model(input_ids=self.ids, attention_mask=self.mask,
                           token_type_ids=torch.zeros_like(self.ids)).last_hidden_state
        return hidden, mean_pool_normalize(hidden, self.mask)

    def fresh(self):
        return copy.deepcopy(self.base)

    def effect(self, emb):
        """How far the adapter moved the embeddings: min cosine to the base embedding."""
        return (emb * self.base_emb).sum(1).min().item()

    # --- PEFT ---------------------------------------------------------------------------------

    def peft_variant(self, v):
        name, seed = v["name"], v["seed"]
        print(f"\n== {name} ({v['config'].__name__} {v['kwargs']})")
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = get_peft_model(self.fresh(), v["config"](**v["kwargs"]))
        inner = model.base_model.model
        with torch.no_grad():
            for pname, p in sorted(model.named_parameters()):
                if "lora_magnitude_vector" in pname:
                    # DoRA magnitude m: around the base rows' norms, so that W' stays sensible.
                    owner = inner.get_submodule(pname.split(".lora_magnitude_vector")[0]
                                                .removeprefix("base_model.model."))
                    norms = owner.get_base_layer().weight.norm(dim=1)
                    p.copy_(norms * (1 + 0.1 * torch.randn(p.shape, generator=gen)))
                elif any(s in pname for s in ("lora_A", "lora_B", "hada_", "lokr_")):
                    fill_(p, gen, v["std"])
                elif p.requires_grad:
                    # A trained bias (bias="all") or a modules_to_save copy: move it off the base.
                    p.add_(torch.randn(p.shape, generator=gen) * v["std"])
        model.eval()
        hidden, emb = self.forward(model)
        print(f"  min cos(adapted, base) embedding = {self.effect(emb):.4f}")

        # merge_and_unload on a copy must give the same outputs.
        merged = copy.deepcopy(model).merge_and_unload().eval()
        mh, me = self.forward(merged)
        checks = {"merge_and_unload_vs_unmerged_last_hidden_state": maxdiff(mh, hidden),
                  "merge_and_unload_vs_unmerged_sentence_embedding": maxdiff(me, emb)}

        tensors = {"sentence_embedding": emb}
        if v.get("hidden"):
            tensors["last_hidden_state"] = hidden
        modules = {}
        for path in DELTA_MODULES:
            try:
                layer = inner.get_submodule(path)
            except AttributeError:
                continue
            if not hasattr(layer, "get_delta_weight") or "default" not in layer.scaling:
                continue
            base_w = self.base.get_submodule(path).weight
            merged_w = merged.get_submodule(path).weight
            if v["kwargs"].get("use_dora"):
                tensors[f"merged.{path}.weight"] = rows(merged_w)
                checks[f"merged_minus_base_vs_delta.{path}"] = None
            else:
                with torch.no_grad():
                    delta = layer.get_delta_weight("default")
                tensors[f"delta.{path}.weight"] = rows(delta)
                checks[f"merged_minus_base_vs_delta.{path}"] = maxdiff(merged_w - base_w, delta)
            modules[path] = {"scaling": layer.scaling["default"],
                             "r": layer.r["default"],
                             "alpha": (layer.lora_alpha if hasattr(layer, "lora_alpha")
                                       else layer.alpha)["default"]}
        checks = {k: c for k, c in checks.items() if c is not None}

        # Save, make the config machine-independent and deterministic, and load it back.
        vdir = self.out / name
        save_peft_adapter(model, vdir)
        loaded = PeftModel.from_pretrained(self.fresh(), str(vdir)).eval()
        lh, le = self.forward(loaded)
        checks["reloaded_vs_unmerged_last_hidden_state"] = maxdiff(lh, hidden)
        checks["reloaded_vs_unmerged_sentence_embedding"] = maxdiff(le, emb)
        for k, c in checks.items():
            print(f"  {k}: {c:.3g}")
        check_all(checks, name)

        write_st(vdir / "reference.safetensors", tensors, {
            "generator": GENERATOR, "model": MODEL_ID, "versions": versions(),
            "adapter": name, "config": {k: v2 for k, v2 in v["kwargs"].items()},
            "factor_std": v["std"], "seed": seed, "modules": modules,
            "delta_rows": f"ΔW[0::{ROW_STRIDE}, :] (rows 0, {ROW_STRIDE}, {2 * ROW_STRIDE}, …)",
            "checks_max_abs_diff": checks,
        })
        self.readme[f"{name}/"] = (
            f"PEFT {v['config'].__name__}({', '.join(f'{k}={v2!r}' for k, v2 in v['kwargs'].items())}); "
            f"factors randn·{v['std']} (seed {seed})" + (
                ", lora_magnitude_vector = ‖W‖_row·(1 + 0.1·randn)" if v["kwargs"].get("use_dora")
                else "") + ". reference.safetensors: sentence_embedding"
            + (" and last_hidden_state" if v.get("hidden") else "") + "; "
            + ("merged.<module>.weight = rows of W' from merge_and_unload"
               if v["kwargs"].get("use_dora") else "delta.<module>.weight = rows of get_delta_weight")
            + f" for {', '.join(modules)}.")
        return model

    def multi(self):
        """Two PEFT LoRA adapters active at once: peft-lora at 1.0, peft-lora-b at 0.7."""
        print("\n== multi " + ", ".join(f"{n}×{m}" for n, m in MULTI))
        (na, ma), (nb, mb) = MULTI
        model = PeftModel.from_pretrained(self.fresh(), str(self.out / na), adapter_name="a")
        model.load_adapter(str(self.out / nb), adapter_name="b")
        model.base_model.set_adapter(["a", "b"])  # both active: their outputs are summed
        for m in model.modules():
            if isinstance(m, LoraLayer):
                # set_scale(adapter, k): scaling = k · lora_alpha / r (PEFT tuners/lora/layer.py)
                m.set_scale("a", ma)
                m.set_scale("b", mb)
        model.eval()
        hidden, emb = self.forward(model)
        print(f"  min cos(adapted, base) embedding = {self.effect(emb):.4f}")

        # Cross-check 1: the same through add_weighted_adapter(combination_type="cat"), which
        # builds one adapter with A = [w_a s_a A_a; w_b s_b A_b], B = [B_a B_b] and scaling 1.
        cat = PeftModel.from_pretrained(self.fresh(), str(self.out / na), adapter_name="a")
        cat.load_adapter(str(self.out / nb), adapter_name="b")
        cat.add_weighted_adapter(["a", "b"], [ma, mb], "ab", combination_type="cat")
        cat.set_adapter("ab")
        cat.eval()
        ch, ce = self.forward(cat)
        # Cross-check 2: W + Σ m_i ΔW_i by hand on a plain model, ΔW_i from get_delta_weight.
        plain = self.fresh()
        single = {}
        for n in (na, nb):
            single[n] = PeftModel.from_pretrained(self.fresh(), str(self.out / n)).eval()
        with torch.no_grad():
            for n, mult in MULTI:
                inner = single[n].base_model.model
                for path, layer in inner.named_modules():
                    if isinstance(layer, LoraLayer):
                        plain.get_submodule(path).weight += mult * layer.get_delta_weight("default")
        ph, pe = self.forward(plain)
        _, be = self.forward(single[nb])
        checks = {"add_weighted_adapter_cat_vs_set_scale_last_hidden_state": maxdiff(ch, hidden),
                  "manual_merge_vs_set_scale_last_hidden_state": maxdiff(ph, hidden),
                  "manual_merge_vs_set_scale_sentence_embedding": maxdiff(pe, emb)}
        for k, c in checks.items():
            print(f"  {k}: {c:.3g}")
        check_all(checks, "multi")
        how = (f"y = W x + Σ_i m_i · s_i · B_i A_i x over the adapters i = {na} (m={ma}, s=16/8=2) and "
               f"{nb} (m={mb}, s=6/4=1.5), both active at once: PeftModel.from_pretrained({na}, "
               f"adapter_name='a'), load_adapter({nb}, adapter_name='b'), "
               f"model.base_model.set_adapter(['a', 'b']), then LoraLayer.set_scale(name, m_i) on "
               f"every LoRA layer (scaling = m_i · lora_alpha / r). Checked against "
               f"add_weighted_adapter(['a', 'b'], [{ma}, {mb}], combination_type='cat') and against "
               f"W + Σ m_i · get_delta_weight_i merged by hand.")
        write_st(self.out / "multi.reference.safetensors",
                 {"sentence_embedding": emb, f"sentence_embedding.{nb}_alone": be},
                 {"generator": GENERATOR, "model": MODEL_ID, "versions": versions(),
                  "adapters": [{"path": n, "multiplier": m} for n, m in MULTI],
                  "how": how, "checks_max_abs_diff": checks})
        self.readme["multi.reference.safetensors"] = (
            how + f" Tensors: sentence_embedding (both), sentence_embedding.{nb}_alone ({nb} at "
            "multiplier 1 on its own).")

    # --- LyCORIS ------------------------------------------------------------------------------

    def lycoris_network(self, model, v, preset_path):
        net = create_lycoris(model, 1.0, linear_dim=v["dim"], linear_alpha=v["alpha"],
                             algo=v["algo"], preset=str(preset_path), **v["extra"])
        gen = torch.Generator().manual_seed(v["seed"])
        for lora in net.loras:
            for pname, p in sorted(lora.named_parameters()):
                std = next(s for k, s in sorted(v["std"].items(), key=lambda kv: -len(kv[0]))
                           if pname.startswith(k))
                fill_(p, gen, std)
        net.apply_to()
        net.eval()
        return net

    @staticmethod
    def lycoris_module_delta(lora):
        """ΔW as the module's forward adds it (multiplier 1), and the same from lycoris.functional."""
        with torch.no_grad():
            if isinstance(lora, LoConModule):
                mine = lora.make_weight() * lora.scale
                func = lyco_locon.diff_weight(
                    lora.lora_down.weight, lora.lora_up.weight,
                    lora.lora_mid.weight if lora.tucker else None, gamma=lora.scale)
            elif isinstance(lora, LohaModule):
                mine = lora.get_weight(lora.shape) * lora.scalar
                func = lyco_loha.diff_weight(
                    lora.hada_w1_b, lora.hada_w1_a, lora.hada_w2_b, lora.hada_w2_a,
                    lora.hada_t1 if lora.tucker else None, lora.hada_t2 if lora.tucker else None,
                    gamma=lora.scale)
            else:
                mine = lora.get_weight(lora.shape) * lora.scalar
                g = lambda n: getattr(lora, n, None)  # noqa: E731
                t = g("lokr_t2") if lora.tucker and not lora.use_w2 else None
                # functional lokr.diff_weight takes gamma = alpha and divides by the rank itself
                # (rank_scale), or uses 1 when both halves are full; its rank is w?_a.shape[1],
                # which is not the rank for a Tucker w2_a [r, b], so that case is left out.
                func = None if t is not None else lyco_lokr.diff_weight(
                    None if not lora.use_w1 else lora.lokr_w1,
                    None if lora.use_w1 else lora.lokr_w1_a, None if lora.use_w1 else lora.lokr_w1_b,
                    None if not lora.use_w2 else lora.lokr_w2,
                    None if lora.use_w2 else lora.lokr_w2_a, None if lora.use_w2 else lora.lokr_w2_b,
                    None, gamma=float(lora.alpha))
                if func is not None:
                    func = func.reshape(lora.shape)
        return mine.reshape(lora.shape), None if func is None else func.reshape(lora.shape)

    @staticmethod
    def linear_delta_via_forward(lora):
        """ΔW of a wrapped nn.Linear from its forward: lora(I) - org_forward(I) = ΔWᵀ."""
        eye = torch.eye(lora.shape[1])
        with torch.no_grad():
            return (lora(eye) - lora.org_forward(eye)).T

    def lycoris_variant(self, v):
        stem = v["stem"]
        print(f"\n== {stem} (algo={v['algo']}, dim={v['dim']}, alpha={v['alpha']}, {v['extra']})")
        with tempfile.TemporaryDirectory() as tmp:
            preset = Path(tmp) / "preset.toml"
            preset.write_text("target_module = []\ntarget_name = [\n"
                              + "".join(f"  {json.dumps(t)},\n" for t in v["targets"]) + "]\n")
            torch.manual_seed(v["seed"])
            model = self.fresh()
            net = self.lycoris_network(model, v, preset)
        print(f"  {len(net.loras)} modules: {sorted({type(l).__name__ for l in net.loras})}")
        hidden, emb = self.forward(model)
        print(f"  min cos(adapted, base) embedding = {self.effect(emb):.4f}")
        path = self.out / f"{stem}.safetensors"
        net.save_weights(str(path), torch.float32, None)
        print(f"  wrote {path.name} ({path.stat().st_size} bytes)")

        checks, modules, tensors = {}, {}, {"sentence_embedding": emb}
        if v.get("hidden"):
            tensors["last_hidden_state"] = hidden
        by_name = {l.lora_name: l for l in net.loras}
        for mpath in DELTA_MODULES:
            lora = by_name["lycoris_" + mpath.replace(".", "_")]
            mine, func = self.lycoris_module_delta(lora)
            fwd = self.linear_delta_via_forward(lora)
            with torch.no_grad():
                merge_diff = lora.get_diff_weight(1.0)[0].reshape(lora.shape)
            tensors[f"delta.{mpath}.weight"] = rows(mine)
            checks[f"delta_vs_forward.{mpath}"] = maxdiff(mine, fwd)
            if func is not None:
                checks[f"delta_vs_functional_diff_weight.{mpath}"] = maxdiff(mine, func)
            ratio = (merge_diff.norm() / mine.norm()).item()
            modules[mpath] = {"scale": float(lora.scale), "alpha": float(lora.alpha),
                              "rank": lora.lora_dim,
                              "get_diff_weight_over_forward_delta_norm_ratio": ratio}

        # Round trip: the saved file, loaded with LyCORIS' own loader, gives the same forward.
        loaded_model = self.fresh()
        loaded, _ = create_lycoris_from_weights(1.0, str(path), loaded_model)
        loaded.apply_to()
        loaded.eval()
        lh, le = self.forward(loaded_model)
        checks["reloaded_vs_forward_last_hidden_state"] = maxdiff(lh, hidden)
        # merge_to (LycorisNetwork.merge_to → module.get_merged_weight → get_diff_weight) on a copy.
        merged_model = self.fresh()
        merged, _ = create_lycoris_from_weights(1.0, str(path), merged_model)
        merged.merge_to(1.0)
        mh, me = self.forward(merged_model)
        merge_to = {"last_hidden_state_max_diff_vs_forward": maxdiff(mh, hidden),
                    "sentence_embedding_max_diff_vs_forward": maxdiff(me, emb)}
        for mpath in DELTA_MODULES:
            dw = (merged_model.get_submodule(mpath).weight - self.base.get_submodule(mpath).weight)
            mine = tensors[f"delta.{mpath}.weight"]
            merge_to[f"delta_ratio.{mpath}"] = (rows(dw).norm() / mine.norm()).item()
            merge_to[f"delta_max_diff.{mpath}"] = maxdiff(rows(dw), mine)
        # Agreement is judged on ΔW: merged and unmerged outputs differ by f32 rounding anyway
        # (≈1e-4 on last_hidden_state after six layers, as for PEFT's merge_and_unload).
        merge_to["agrees_with_forward"] = all(
            x < 1e-5 for k, x in merge_to.items() if k.startswith("delta_max_diff."))
        for k, c in checks.items():
            print(f"  {k}: {c:.3g}")
        print(f"  merge_to: agrees with forward = {merge_to['agrees_with_forward']}; "
              + ", ".join(f"{k} {c:.4g}" for k, c in merge_to.items() if k != "agrees_with_forward"))
        check_all(checks, stem)

        meta = {"generator": GENERATOR, "model": MODEL_ID, "versions": versions(),
                "adapter": path.name, "algo": v["algo"], "linear_dim": v["dim"],
                "linear_alpha": v["alpha"], "create_lycoris_kwargs": v["extra"],
                "target_name": v["targets"], "factor_std": v["std"], "seed": v["seed"],
                "multiplier": 1.0, "modules": modules,
                "delta_rows": f"ΔW[0::{ROW_STRIDE}, :] (rows 0, {ROW_STRIDE}, {2 * ROW_STRIDE}, …)",
                "checks_max_abs_diff": checks, "merge_to": merge_to}
        write_st(self.out / f"{stem}.reference.safetensors", tensors, meta)
        desc = (f"LyCORIS create_lycoris(algo={v['algo']!r}, linear_dim={v['dim']}, "
                f"linear_alpha={v['alpha']}" + "".join(f", {k}={x!r}" for k, x in v["extra"].items())
                + f") on the encoder Linear modules matching {v['targets']}, {len(net.loras)} "
                f"modules; factors randn·std {v['std']} (seed {v['seed']}); save_weights(f32). "
                f"Scale of the delta modules: {sorted({m['scale'] for m in modules.values()})}.")
        self.readme[path.name] = desc
        self.readme[f"{stem}.reference.safetensors"] = (
            "the adapted model's forward (multiplier 1): sentence_embedding"
            + (" and last_hidden_state" if v.get("hidden") else "")
            + "; delta.<module>.weight = rows of ΔW as the module's forward adds it "
            "(checked against the forward on an identity input and lycoris.functional diff_weight).")

        for mult in v.get("multipliers", []):
            net.set_multiplier(mult)
            h2, e2 = self.forward(model)
            net.set_multiplier(1.0)
            # LoCon's forward: W + m·ΔW.
            name = f"{stem}.reference-m{mult:g}.safetensors"
            write_st(self.out / name, {"sentence_embedding": e2},
                     {"generator": GENERATOR, "model": MODEL_ID, "versions": versions(),
                      "adapter": path.name, "multiplier": mult,
                      "how": "LycorisNetwork.set_multiplier(%g) then forward" % mult})
            self.readme[name] = (f"sentence_embedding with the network's multiplier set to {mult:g} "
                                 "(LycorisNetwork.set_multiplier): W + m·ΔW.")
        return merge_to

    # --- standalone LyCORIS modules -----------------------------------------------------------

    def standalone(self):
        print("\n== standalone")
        gen = torch.Generator().manual_seed(301)
        torch.manual_seed(301)
        conv = lambda i, o: torch.nn.Conv2d(i, o, 3, padding=1)  # noqa: E731
        cases = [
            # name, base layer, module class, kwargs
            ("locon-conv", conv(4, 8), LoConModule, dict(lora_dim=4, alpha=2)),
            ("locon-tucker-conv", conv(4, 8), LoConModule, dict(lora_dim=4, alpha=2, use_tucker=True)),
            ("loha-conv", conv(4, 8), LohaModule, dict(lora_dim=4, alpha=2)),
            ("loha-tucker-conv", conv(4, 8), LohaModule, dict(lora_dim=4, alpha=2, use_tucker=True)),
            ("lokr-linear-full", torch.nn.Linear(64, 48), LokrModule, dict(lora_dim=4, alpha=2)),
            ("lokr-linear-decomposed", torch.nn.Linear(64, 48), LokrModule,
             dict(lora_dim=2, alpha=1, decompose_both=True)),
            ("lokr-linear-f4", torch.nn.Linear(64, 48), LokrModule, dict(lora_dim=2, alpha=3, factor=4)),
            ("lokr-conv", conv(16, 32), LokrModule, dict(lora_dim=2, alpha=1)),
            ("lokr-tucker-conv", conv(16, 32), LokrModule, dict(lora_dim=2, alpha=1, use_tucker=True)),
            ("locon-linear-dora", torch.nn.Linear(64, 48), LoConModule,
             dict(lora_dim=4, alpha=2, weight_decompose=True)),
        ]
        tensors, meta_cases = {}, {}
        for name, base, cls, kw in cases:
            base.eval()
            lora = cls(name, base, 1.0, **kw)
            with torch.no_grad():
                for pname, p in sorted(lora.named_parameters()):
                    if pname == "dora_scale":
                        norms = base.weight.reshape(base.weight.shape[0], -1).norm(dim=1)
                        p.copy_((norms * (1 + 0.1 * torch.randn(norms.shape, generator=gen)))
                                .reshape(p.shape))
                    else:
                        fill_(p, gen, 0.5)
            lora.apply_to()
            lora.eval()
            sd = lora.state_dict()  # LyCORIS' file layout: alpha + the factors under their names
            for k, t in sd.items():
                tensors[f"{name}.{k}"] = t
            mine, func = self.lycoris_module_delta(lora)
            is_conv = isinstance(base, torch.nn.Conv2d)
            x = torch.randn((2, base.in_channels, 6, 6) if is_conv else (5, base.in_features),
                            generator=gen)
            with torch.no_grad():
                y_delta = lora(x) - lora.org_forward(x)
                if lora.wd:
                    merged = {}
                    for mult in (1.0, 0.5):
                        lora.multiplier = mult
                        eye = torch.eye(base.in_features)
                        merged[mult] = (lora(eye) - base.bias).T
                        merged[f"{mult}-api"] = lora.get_merged_weight(mult)[0]
                    lora.multiplier = 1.0
            checks = {}
            if lora.wd:
                tensors[f"{name}.base_weight"] = base.weight
                tensors[f"{name}.merged"] = merged[1.0]
                tensors[f"{name}.merged_m0.5"] = merged[0.5]
                checks["merged_vs_get_merged_weight"] = maxdiff(merged[1.0], merged["1.0-api"])
                checks["merged_m0.5_vs_get_merged_weight"] = maxdiff(merged[0.5], merged["0.5-api"])
            else:
                tensors[f"{name}.delta"] = mine
                ref = (F.conv2d(x, mine, padding=1) if is_conv else F.linear(x, mine))
                checks["op(x, delta)_vs_forward_minus_base"] = maxdiff(ref, y_delta)
            if func is not None and not lora.wd:
                checks["delta_vs_functional_diff_weight"] = maxdiff(mine, func)
            print(f"  {name}: scale {float(lora.scale):g}, alpha {float(lora.alpha):g}, "
                  + ", ".join(f"{k} {c:.3g}" for k, c in checks.items()))
            check_all(checks, name)
            meta_cases[name] = {
                "algo": {LoConModule: "locon", LohaModule: "loha", LokrModule: "lokr"}[cls],
                "base": (f"Conv2d({base.in_channels}, {base.out_channels}, kernel_size=3, padding=1)"
                         if is_conv else f"Linear({base.in_features}, {base.out_features})"),
                "base_shape": list(base.weight.shape),
                "module_kwargs": kw, "rank": lora.lora_dim, "alpha": float(lora.alpha),
                "scale": float(lora.scale), "tucker": bool(lora.tucker),
                "params": {k: list(t.shape) for k, t in sd.items()},
                "checks_max_abs_diff": checks,
            }
            if lora.wd:
                meta_cases[name]["dora"] = (
                    "merged = W' = (W + ΔW)·(m·(dora_scale/(‖W + ΔW‖_row + eps) − 1) + 1), "
                    "eps = float32 eps, for the multiplier m (1.0 → merged, 0.5 → merged_m0.5); "
                    "ΔW = scale·up@down is not multiplied by m (LyCORIS weight_decompose)")
        fact = [{"dim": d, "factor": f, "result": list(factorization(d, f))}
                for d, f in FACTORIZATION_CASES]
        for e in fact:
            print(f"  factorization({e['dim']}, {e['factor']}) = {tuple(e['result'])}")
        write_st(self.out / "standalone.safetensors", tensors, {
            "generator": GENERATOR, "versions": versions(), "cases": meta_cases,
            "lycoris_factorization": fact,
            "layout": "<case>.<LyCORIS param name> (alpha is 0-d), <case>.delta = full ΔW the "
                      "module's forward adds at multiplier 1, in the base weight's layout",
        })
        self.readme["standalone.safetensors"] = (
            "LyCORIS modules on small standalone layers (seed 301, factors randn·0.5): "
            + ", ".join(f"`{n}` ({m['algo']} on {m['base']}, scale {m['scale']:g})"
                        for n, m in meta_cases.items())
            + ". Tensors `<case>.<param>` (LyCORIS names, `alpha` 0-d), `<case>.delta` (full ΔW "
            "from the module's own weight computation used by forward, checked against op(x, ΔW) "
            "= forward − base); the DoRA case stores `base_weight`, `merged` and `merged_m0.5` "
            "instead. Metadata: `cases` (JSON per case: algo, base, shapes, rank, alpha, scale) "
            "and `lycoris_factorization` (lycoris.functional.factorization(dim, factor) for "
            + ", ".join(f"({d}, {f})" for d, f in FACTORIZATION_CASES) + ").")

    def write_readme(self, merge_findings):
        v = versions()
        lines = [
            "# Adapter goldens",
            "",
            f"Generated by `{GENERATOR}` (run by `scripts/make-goldens/run.sh`) with "
            + ", ".join(f"{k} {x}" for k, x in v.items())
            + f", float32 on the CPU, on `{MODEL_ID}` (BertModel through transformers' AutoModel; "
            "the same weights as `../minilm.safetensors`). All adapter factors are seeded random "
            "values (PEFT and LyCORIS would otherwise start with ΔW = 0), scaled so that ΔW is a "
            "visible fraction of W.",
            "",
            "Inputs are `input_ids` / `attention_mask` of `../minilm.safetensors` (8 sentences, "
            "[8, 43]); `sentence_embedding` [8, 384] is the masked mean of last_hidden_state, L2-"
            "normalised, exactly as in `minilm.py`; `last_hidden_state` is [8, 43, 384]. Only "
            "`peft-lora` and `lycoris-locon` store last_hidden_state, to keep the folder small.",
            "",
            f"`delta.<module>.weight` (and DoRA's `merged.<module>.weight`) hold **rows 0, "
            f"{ROW_STRIDE}, {2 * ROW_STRIDE}, … of the [out, in] matrix (ΔW[0::{ROW_STRIDE}, :], "
            f"55 of 384 rows)** for `{DELTA_MODULES[0]}` and `{DELTA_MODULES[1]}`, without any "
            "multiplier; every reference file's metadata also records the scales used and the "
            "maximum differences of the checks below.",
            "",
            "## Files",
            "",
        ]
        for f, d in self.readme.items():
            lines.append(f"* `{f}`: {d}")
        lines += [
            "",
            "PEFT folders hold the two files `save_pretrained` writes (its model-card README.md is "
            "dropped; `base_model_name_or_path` is set to the Hub id and `target_modules` sorted so "
            "that reruns give identical bytes). `peft-lora` targets `dense` and so also adapts "
            "`pooler.dense`, which does not affect last_hidden_state or the sentence embedding.",
            "",
            "## Checks made while generating",
            "",
            "* PEFT: `merge_and_unload()` on a copy gives the unmerged outputs, merged W − W equals "
            "`get_delta_weight`, and the saved folder loaded with `PeftModel.from_pretrained` "
            "gives the same outputs.",
            "* LyCORIS: the stored ΔW equals the forward's effect (identity input) and "
            "`lycoris.functional` diff_weight; the saved file loaded with "
            "`create_lycoris_from_weights` gives the same outputs.",
            "* LyCORIS `merge_to`: " + merge_findings,
            "* multi: the set_scale route equals `add_weighted_adapter(combination_type='cat')` and "
            "a hand merge W + Σ m_i ΔW_i.",
            "",
            "## Notes",
            "",
            "* PEFT's LoKr scale is always alpha / r (PEFT has no 'both halves full → scale 1' "
            "rule, unlike LyCORIS, which also stores alpha = rank in that case).",
            "* `lycoris.functional.lokr.diff_weight(..., gamma=alpha)` divides by "
            "`w1_a.shape[1]` or `w2_a.shape[1]` as the rank; for a Tucker LoKr w2_a is [r, b], so "
            "it divides by b instead (`lokr-tucker-conv`: 1/4 of the module's ΔW). The goldens use "
            "the module (`LokrModule.get_weight`, what forward adds), which uses alpha / r.",
            "* The table in the docstring of `lycoris.functional.general.factorization` is stale "
            "for 360 (it lists (8, 45) for factor -1 and (12, 30) for factor 16); the code returns "
            "(18, 20) and (15, 24), which is what `standalone.safetensors` records.",
            "",
        ]
        path = self.out / "README.md"
        path.write_text("\n".join(lines))
        print(f"\nwrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", help="folder printed by scripts/fetch-model.sh")
    ap.add_argument("--out-dir", default=str(REPO / "test/e2e/goldens/adapters"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)

    r = Runner(args.model_dir, Path(args.out_dir))
    for v in PEFT_VARIANTS:
        r.peft_variant(v)
    r.multi()
    findings = {}
    for v in LYCORIS_VARIANTS:
        findings[v["stem"]] = r.lycoris_variant(v)
    r.standalone()

    parts = []
    for stem, m in findings.items():
        ratios = sorted({round(x, 4) for k, x in m.items() if k.startswith("delta_ratio.")})
        parts.append(f"`{stem}` {'agrees' if m['agrees_with_forward'] else 'DISAGREES'} with the "
                     f"forward (merged ΔW / forward ΔW norm ratio {ratios}, max |Δ "
                     f"last_hidden_state| {m['last_hidden_state_max_diff_vs_forward']:.3g})")
    findings_text = ("; ".join(parts) + ". LoHa's and LoKr's get_weight() already include "
                     "scale = alpha/r and get_diff_weight() (used by merge_to) multiplies by scale "
                     "again, so merge_to applies scale² where the forward applies scale; with scale "
                     "1 (LoKr with both halves full) the two agree. The goldens follow the forward.")
    print("\nmerge_to finding: " + findings_text)
    r.write_readme(findings_text)
    total = sum(p.stat().st_size for p in Path(args.out_dir).rglob("*") if p.is_file())
    print(f"total size of {args.out_dir}: {total} bytes")


if __name__ == "__main__":
    main()
