"""Parity data for the InfiniteTalk DiT (Wan2.1-I2V-14B + audio modules): src/model/dit/.

Builds the reference WanModel (wan/modules/multitalk_model.py) at a tiny size with random weights,
saves them the way the real checkpoints are laid out -- the base model as a sharded safetensors
checkpoint with its index, the audio modules as a separate infinitetalk.safetensors -- plus a tiny
LoRA in the lightx2v key style, then runs the reference in fp32 on fixed inputs:

    dit/config.json                                  the model config (real config.json keys + tiny audio dims)
    dit/diffusion_pytorch_model-0000{1,2}-of-00002.safetensors + .safetensors.index.json
    dit/infinitetalk.safetensors                     audio_proj.*, blocks.N.audio_cross_attn.*, blocks.N.norm_x.*
    dit/lora.safetensors                             diffusion_model.<param>.lora_down/lora_up/alpha/diff/diff_b
    dit/io.safetensors                               inputs, `out` (plain) and `out_lora` (after the LoRA merge)
    dit/io_2p.safetensors                            two speakers: inputs (audio of both, ref_target_masks)
                                                     and `out`, with the same weights (before the LoRA merge)

    python3 tools/parity/gen_dit.py --ref .ref/infinitetalk [--device cuda]
    python3 tools/parity/gen_dit.py --ref .ref/infinitetalk --full --out /tmp/dit_full [--layers 40]

--two-person-only adds io_2p.safetensors to an existing tiny dit/ folder: it loads the weights saved
there (so the committed weights and io.safetensors stay as they are) and runs only the two-speaker case.
It also runs on torch 1.13 on the CPU (polyfills below for torch.compile and SDPA, which the reference
and the shims use and torch 1.13 lacks):

    /usr/bin/python3 tools/parity/gen_dit.py --ref .ref/infinitetalk --two-person-only

--lora-only likewise loads the saved weights, checks the plain output, and remakes only the LoRA:
lora.safetensors (make_lora: per-module alpha != rank, one module without an alpha key) and io.safetensors'
out_lora and lora_scale, every other tensor of io.safetensors kept byte for byte. It also logs how far the
kohya/diffusers alpha/rank rule (which the reference does not apply) would land from out_lora.

    /usr/bin/python3 tools/parity/gen_dit.py --ref .ref/infinitetalk --out tests/data/parity --lora-only

--full uses the 14B widths (dim 5120, 40 heads, ffn 13824, real audio/CLIP/text dims) with --layers
blocks (default all 40: 18.88 B parameters) on CUDA; point TALKGEN_DIT_PARITY_DIR at --out to compare.
All 40 fit one 80 GB GPU in fp32: the weights take 70.3 GiB and the reference's forward at 21 frames of
480x832 (8,190 tokens) adds a few GiB. What --full does differently from the tiny run:
  - the model is built on the GPU and randomized in place there (randomize()'s distributions, drawn from a
    CUDA generator seeded with --seed), so no tensor ever has a second copy and nothing waits on CPU randn;
  - the weights are saved in --weights-dtype (default bf16, like the official checkpoints: 37.8 GB where
    fp32 would be 75.5 GB) and rounded to it in place before the reference runs, so the reference computes
    in fp32 from exactly the values in the files (bf16 -> fp32 is exact on the C++ side too);
  - the base goes into 7 shards of about equal size (diffusion_pytorch_model-0000N-of-00007, the official
    count), each written one tensor at a time (host memory holds one tensor, not a shard);
  - inputs and the LoRA still come from the CPU generator; the two-speaker case is skipped (its C++ test
    loads the model on the CPU: 75 GB in fp32 and five CPU forwards at 8,190 tokens), io_2p.safetensors
    is not written.
The tiny run (no --full) is unchanged: fp32 files, CPU generator, the committed bytes.
"""
import importlib, json, math, os, struct, sys, time, types

import numpy as np
import torch
import torch.nn.functional as F


def _polyfill_torch1():
    """torch 1.13 lacks torch.compile (multitalk_utils decorates a function with it) and
    F.scaled_dot_product_attention (harness.exact_flash_attention and the xformers shim call it).
    Plain-math stand-ins, fp32-exact up to rounding order; torch >= 2 keeps its own."""
    if not hasattr(torch, "compile"):
        torch.compile = lambda fn=None, **kw: fn if fn is not None else (lambda f: f)
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
            assert dropout_p == 0.0 and not is_causal
            s = (q.size(-1) ** -0.5) if scale is None else scale
            a = (q * s) @ k.transpose(-2, -1)
            if attn_mask is not None:
                a = a.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else a + attn_mask
            return a.softmax(-1) @ v
        F.scaled_dot_product_attention = sdpa


_polyfill_torch1()


def _einops_stand_in():
    """einops.rearrange / repeat for the patterns the reference uses (named axes, groups, '...', '1'),
    where the einops package is absent (Debian's python3 here)."""
    try:
        importlib.import_module("einops")
        return
    except ImportError:
        pass

    def parse(side):
        out, group = [], None
        for tok in side.replace("(", " ( ").replace(")", " ) ").split():
            if tok == "(":
                group = []
            elif tok == ")":
                out.append(group)
                group = None
            elif group is not None:
                group.append(tok)
            else:
                out.append([tok])
        return out

    def rearrange(x, pattern, **sizes):
        left, right = (parse(s) for s in pattern.split("->"))
        ell = x.dim() - (len(left) - (1 if ["..."] in left else 0))
        shape, names, sizes = [], [], dict(sizes)
        dims = iter(x.shape)
        for grp in left:  # split every input axis into its named factors
            if grp == ["..."]:
                for i in range(ell):
                    n = f"...{i}"
                    sizes[n] = next(dims)
                    names.append(n)
                    shape.append(sizes[n])
                continue
            total = next(dims)
            unknown = [n for n in grp if n not in sizes and n != "1"]
            known = math.prod(sizes[n] for n in grp if n in sizes)
            for n in unknown:
                sizes[n] = total // known
            for n in grp:
                if n != "1":
                    names.append(n)
                    shape.append(sizes[n])
        x = x.reshape(shape)
        order = [n for grp in right for n in ([f"...{i}" for i in range(ell)] if grp == ["..."] else grp) if n != "1"]
        new = [n for n in order if n not in names]  # repeat's new axes
        for n in new:
            x = x.unsqueeze(-1)
            names.append(n)
        x = x.permute([names.index(n) for n in order])
        if new:
            x = x.expand([sizes[n] for n in order])
        out_shape = []
        for grp in right:
            if grp == ["..."]:
                out_shape += [sizes[f"...{i}"] for i in range(ell)]
            else:
                out_shape.append(math.prod(1 if n == "1" else sizes[n] for n in grp))
        return x.reshape(out_shape)

    m = types.ModuleType("einops")
    m.rearrange = rearrange
    m.repeat = rearrange  # the reference's repeat only adds a sized axis ("... n -> ... (n r)", r=2)
    sys.modules["einops"] = m


_einops_stand_in()


def _import_only_stand_ins():
    """multitalk_utils imports tqdm, torchvision, imageio and skimage.color at module level for its video
    helpers, which the DiT never calls: empty modules where they are absent (Debian's python3 has none)."""
    for name, attrs in (("tqdm", {"tqdm": lambda it=None, **kw: it}), ("torchvision", {}), ("imageio", {}),
                        ("skimage", {})):
        try:
            importlib.import_module(name)
        except ImportError:
            m = types.ModuleType(name)
            vars(m).update(attrs)
            sys.modules[name] = m
            if name == "skimage":  # `from skimage import color`
                m.color = sys.modules["skimage.color"] = types.ModuleType("skimage.color")


_import_only_stand_ins()

import common
import harness

# The LoRA fixture (see make_lora): a scale other than 1 and per-module alpha != rank, so that a merge
# applying the kohya/diffusers alpha/rank factor (which the reference does not) cannot match.
LORA_SCALE = 1.75
# (module, rank, alpha or None for no .alpha key); the module paths use the last block as `{last}`.
LORA_MODULES = [("blocks.0.self_attn.q", 4, 1.5), ("{last}.ffn.0", 4, 8.0), ("blocks.0.cross_attn.k_img", 4, None),
                ("{last}.audio_cross_attn.kv_linear", 2, 0.5), ("head.head", 4, 4.0)]
LORA_SEED_OFFSET = 3  # the LoRA draws from its own generator (seed + 3): --lora-only remakes it alone
WEIGHT_DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
FULL_SHARDS = 7  # Wan2.1-I2V-14B's diffusion_pytorch_model-0000N-of-00007.safetensors


def extra_args(p):
    p.add_argument("--seed", type=int, default=20250)
    p.add_argument("--layers", type=int, default=None, help="--full only: number of blocks (default 40)")
    p.add_argument("--weights-dtype", choices=sorted(WEIGHT_DTYPES), default=None,
                   help="dtype of the saved weights (default f32, bf16 with --full); the reference computes in "
                        "fp32 from the values rounded to it")
    p.add_argument("--frames", type=int, default=21, help="--full only: video frames (4k+1)")
    p.add_argument("--size", default="480x832", help="--full only: HxW in pixels")
    p.add_argument("--two-person-only", action="store_true",
                   help="tiny only: load the weights of an existing dit/ folder and write io_2p.safetensors")
    p.add_argument("--lora-only", action="store_true",
                   help="tiny only: load the weights of an existing dit/ folder, rewrite lora.safetensors and "
                        "io.safetensors' out_lora / lora_scale (every other tensor kept as it is)")


def tiny_config():
    return dict(model_type="i2v", patch_size=[1, 2, 2], text_len=16, in_dim=36, dim=64, ffn_dim=128,
                freq_dim=32, text_dim=32, out_dim=16, num_heads=2, num_layers=2, eps=1e-6,
                audio_window=5, intermediate_dim=16, output_dim=16, context_tokens=4, vae_scale=4,
                # Not constructor arguments of the reference (hard-coded there to 1280 / 12 / 768);
                # the generator swaps img_emb and audio_proj for these sizes to keep the files small.
                clip_dim=32, audio_blocks=2, audio_channels=8)


def full_config(layers):
    return dict(model_type="i2v", patch_size=[1, 2, 2], text_len=512, in_dim=36, dim=5120, ffn_dim=13824,
                freq_dim=256, text_dim=4096, out_dim=16, num_heads=40, num_layers=layers, eps=1e-6,
                audio_window=5, intermediate_dim=512, output_dim=768, context_tokens=32, vae_scale=4,
                clip_dim=1280, audio_blocks=12, audio_channels=768)


def build_model(mm, cfg):
    ctor = {k: v for k, v in cfg.items() if k not in ("clip_dim", "audio_blocks", "audio_channels", "patch_size")}
    model = mm.WanModel(patch_size=tuple(cfg["patch_size"]), weight_init=False, **ctor)
    if cfg["clip_dim"] != 1280:
        model.img_emb = mm.MLPProj(cfg["clip_dim"], cfg["dim"])
    if (cfg["audio_blocks"], cfg["audio_channels"]) != (12, 768):
        model.audio_proj = mm.AudioProjModel(
            seq_len=cfg["audio_window"], seq_len_vf=cfg["audio_window"] + cfg["vae_scale"] - 1,
            blocks=cfg["audio_blocks"], channels=cfg["audio_channels"], intermediate_dim=cfg["intermediate_dim"],
            output_dim=cfg["output_dim"], context_tokens=cfg["context_tokens"], norm_output_audio=True)
    model.disable_teacache()
    return model.eval().requires_grad_(False)


def randomize(model, g):
    """Every parameter random (the reference zero-initialises the head, which would hide errors)."""
    for name, p in model.named_parameters():
        if name.endswith("modulation"):  # [1, n, dim], as the reference initialises it
            p.data = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1])
        elif p.dim() >= 2:
            p.data = torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel())
        elif "norm" in name and name.endswith("weight"):
            p.data = 1.0 + 0.2 * torch.randn(p.shape, generator=g)
        else:
            p.data = 0.1 * torch.randn(p.shape, generator=g)


def randomize_in_place(model, g):
    """randomize()'s distributions, drawn in place on the parameters' own device from generator `g` (on that
    device): no second copy of any tensor, no CPU randn over 18.9 B values."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("modulation"):
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]), generator=g)
            elif p.dim() >= 2:
                p.normal_(0.0, 1.0 / math.sqrt(p[0].numel()), generator=g)
            elif "norm" in name and name.endswith("weight"):
                p.normal_(1.0, 0.2, generator=g)
            else:
                p.normal_(0.0, 0.1, generator=g)


def round_weights(model, dtype):
    """Rounds every parameter to `dtype` and back, in place (one tensor's `dtype` copy at a time): the fp32
    reference then computes from exactly the values saved in `dtype`."""
    if dtype == torch.float32:
        return
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype))


def is_audio_key(k):
    return k.startswith("audio_proj.") or ".audio_cross_attn." in k or ".norm_x." in k


def save_checkpoints(model, out_dir, meta, dtype=torch.float32):
    sd = {k: v.detach().to(dtype).cpu() for k, v in model.state_dict().items()}
    base = {k: v for k, v in sd.items() if not is_audio_key(k)}
    audio = {k: v for k, v in sd.items() if is_audio_key(k)}
    names = list(base)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    weight_map = {}
    for i, keys in enumerate(shards):
        fname = f"diffusion_pytorch_model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        common.save_safetensors({k: base[k] for k in keys}, os.path.join(out_dir, fname), metadata=meta)
        weight_map.update({k: fname for k in keys})
    total = sum(v.numel() * v.element_size() for v in base.values())
    with open(os.path.join(out_dir, "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1, sort_keys=True)
    common.save_safetensors(audio, os.path.join(out_dir, "infinitetalk.safetensors"), metadata=meta)


def split_by_size(names, sizes, n):
    """`names` in order, cut into at most n consecutive runs of about equal total size."""
    total, shards, acc = sum(sizes[k] for k in names), [[]], 0
    for k in names:
        if shards[-1] and acc >= total * len(shards) / n and len(shards) < n:
            shards.append([])
        shards[-1].append(k)
        acc += sizes[k]
    return shards


def save_checkpoints_streamed(model, out_dir, meta, dtype, n_shards=FULL_SHARDS):
    """save_checkpoints for the full-size model: the base in n_shards files of about equal size, every
    tensor converted to `dtype` on its own device and copied to the host only when its bytes are written
    (common.write_safetensors), so neither device nor host ever holds a second copy of the weights."""
    params = dict(model.named_parameters())
    sizes = {k: p.numel() * torch.empty((), dtype=dtype).element_size() for k, p in params.items()}
    base = [k for k in params if not is_audio_key(k)]
    audio = [k for k in params if is_audio_key(k)]

    def entries(keys):
        return [(k, dtype, tuple(params[k].shape), lambda k=k: params[k].detach().to(dtype)) for k in keys]

    shards = split_by_size(base, sizes, n_shards)
    weight_map = {}
    for i, keys in enumerate(shards):
        fname = f"diffusion_pytorch_model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        t0 = time.time()
        common.write_safetensors(os.path.join(out_dir, fname), entries(keys), metadata=meta)
        weight_map.update({k: fname for k in keys})
        gb = sum(sizes[k] for k in keys) / 1e9
        print(f"dit: wrote {fname}: {len(keys)} tensors, {gb:.2f} GB in {time.time() - t0:.1f} s", flush=True)
    with open(os.path.join(out_dir, "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(sizes[k] for k in base)}, "weight_map": weight_map}, f,
                  indent=1, sort_keys=True)
    t0 = time.time()
    common.write_safetensors(os.path.join(out_dir, "infinitetalk.safetensors"), entries(audio), metadata=meta)
    print(f"dit: wrote infinitetalk.safetensors: {len(audio)} tensors, "
          f"{sum(sizes[k] for k in audio) / 1e9:.2f} GB in {time.time() - t0:.1f} s", flush=True)


def make_lora(model, g):
    """lightx2v-style keys: lora_down/lora_up (+ alpha on all but one) on linears, diff on a norm weight,
    diff_b on a bias. The reference ignores the alpha tensors (delta = up @ down * scale); they differ from
    the rank, and from each other, so the fixture tells the two conventions apart."""
    lora = {}
    last = f"blocks.{len(model.blocks) - 1}"
    params = dict(model.named_parameters())
    for module, rank, alpha in LORA_MODULES:
        t = module.format(last=last)
        w = params[t + ".weight"]
        out_f, in_f = w.shape
        lora[f"diffusion_model.{t}.lora_down.weight"] = torch.randn(rank, in_f, generator=g) / math.sqrt(in_f)
        lora[f"diffusion_model.{t}.lora_up.weight"] = torch.randn(out_f, rank, generator=g) * 0.2
        if alpha is not None:
            lora[f"diffusion_model.{t}.alpha"] = torch.tensor(float(alpha))
    lora["diffusion_model.blocks.0.self_attn.norm_q.diff"] = 0.1 * torch.randn(params["blocks.0.self_attn.norm_q.weight"].shape, generator=g)
    lora[f"diffusion_model.{last}.cross_attn.o.diff_b"] = 0.1 * torch.randn(params[f"{last}.cross_attn.o.bias"].shape, generator=g)
    return lora


def with_alpha_over_rank(lora):
    """The same LoRA with every lora_up multiplied by its alpha / rank: merged the reference's way, it gives
    what the kohya/diffusers convention would (used only to report that the fixture separates the two)."""
    out = dict(lora)
    for k in lora:
        if k.endswith(".alpha"):
            up = k[: -len(".alpha")] + ".lora_up.weight"
            out[up] = lora[up] * (lora[k].item() / lora[up].shape[1])
    return out


def merge_reference_lora(model, ref_dir, lora, device):
    """The reference's merge (wan/wan_lora.py) at LORA_SCALE. device="cpu" selects its float32 path; the
    weights here are float32, so its cast of the file to param_dtype changes nothing."""
    wan_lora = import_lora_wrapper(ref_dir)
    wan_lora.WanLoraWrapper(model)._apply_lora_weights({k: v.to(device) for k, v in lora.items()},
                                                        LORA_SCALE, device="cpu")


def import_lora_wrapper(ref_dir):
    try:
        importlib.import_module("loguru")
    except ImportError:  # only `logger.info` is used
        import logging
        m = types.ModuleType("loguru")
        m.logger = logging.getLogger("wan_lora")
        sys.modules["loguru"] = m
    try:
        importlib.import_module("safetensors")
    except ImportError:  # safe_open reads the file in _load_lora_file; the generator passes the tensors itself
        m = types.ModuleType("safetensors")
        m.safe_open = None
        sys.modules["safetensors"] = m
    return importlib.import_module("wan.wan_lora")


def make_inputs(cfg, g, frames, lat_h, lat_w, device):
    lat_t = (frames - 1) // 4 + 1
    r = lambda *s: torch.randn(*s, generator=g)
    text_tokens = max(1, cfg["text_len"] - 6)  # shorter than text_len: exercises the zero padding
    return dict(
        x=r(1, 16, lat_t, lat_h, lat_w),
        y=r(1, cfg["in_dim"] - 16, lat_t, lat_h, lat_w),
        t=torch.tensor([703.25]),
        context=r(1, text_tokens, cfg["text_dim"]),
        clip_fea=r(1, 257, cfg["clip_dim"]),
        audio=r(1, frames, cfg["audio_window"], cfg["audio_blocks"], cfg["audio_channels"]),
    )


def load_safetensors(path):
    """F32 / BF16 safetensors reader (the safetensors package is optional here); BF16 comes back as fp32."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] in ("F32", "BF16"), (k, v["dtype"])
        a, b = v["data_offsets"]
        if v["dtype"] == "F32":
            out[k] = torch.from_numpy(np.frombuffer(blob[a:b], dtype=np.float32).copy()).reshape(v["shape"])
        else:  # bf16 bits are the upper half of the fp32 ones
            bits = np.frombuffer(blob[a:b], dtype=np.uint16).astype(np.uint32) << 16
            out[k] = torch.from_numpy(bits.view(np.float32)).reshape(v["shape"])
    return out


def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def load_saved_weights(model, out_dir):
    with open(os.path.join(out_dir, "diffusion_pytorch_model.safetensors.index.json")) as f:
        files = sorted(set(json.load(f)["weight_map"].values())) + ["infinitetalk.safetensors"]
    sd = {}
    for name in files:
        sd.update(load_safetensors(os.path.join(out_dir, name)))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # freqs is a plain attribute, not a buffer: every parameter must come from the files.
    assert not missing and not unexpected, (missing, unexpected)


def two_person_inputs(cfg, g, frames, lat_h, lat_w):
    """Two speakers the way wan/multitalk.py feeds them: audio of person 1 and person 2 stacked on the
    batch axis ([2, frames, window, blocks, channels]), and ref_target_masks [3, lat_h, lat_w] =
    (person 1, person 2, background = neither), binary at the latent resolution. The boxes are the
    multitalk.py default without a bbox (face_scale 0.05: left and right halves, rows 5%..95%) on a
    lat_h x lat_w image, then the background; person 2's box is narrowed to make the two unequal."""
    lat_t = (frames - 1) // 4 + 1
    r = lambda *s: torch.randn(*s, generator=g)
    m1 = torch.zeros(lat_h, lat_w)
    m2 = torch.zeros(lat_h, lat_w)
    m1[1:lat_h - 1, 0:lat_w // 2] = 1
    m2[2:lat_h - 1, lat_w // 2 + 1:lat_w - 1] = 1
    back = ((m1 + m2) == 0).float()
    text_tokens = max(1, cfg["text_len"] - 6)
    return dict(
        x=r(1, 16, lat_t, lat_h, lat_w),
        y=r(1, cfg["in_dim"] - 16, lat_t, lat_h, lat_w),
        t=torch.tensor([411.5]),
        context=r(1, text_tokens, cfg["text_dim"]),
        clip_fea=r(1, 257, cfg["clip_dim"]),
        audio=r(2, frames, cfg["audio_window"], cfg["audio_blocks"], cfg["audio_channels"]),
        ref_target_masks=torch.stack([m1, m2, back]),
    )


def run_two_person(model, g, cfg, frames, lat_h, lat_w, device):
    inp = two_person_inputs(cfg, g, frames, lat_h, lat_w)
    _, _, lat_t, _, _ = inp["x"].shape
    d = lambda t: t.to(device)
    with torch.no_grad():
        out = model([d(inp["x"][0])], t=d(inp["t"]), context=[d(inp["context"][0])],
                    seq_len=lat_t * lat_h * lat_w // 4, clip_fea=d(inp["clip_fea"]), y=d(inp["y"]),
                    audio=d(inp["audio"]), ref_target_masks=d(inp["ref_target_masks"]))
    return dict(inp, out=out.float().cpu())


def regenerate_lora(mm, cfg, ref_dir, model, io1, out_dir, meta, seed, device):
    """--lora-only: a new LoRA (make_lora, generator seed + LORA_SEED_OFFSET) merged by the reference into
    `model` (the committed base weights, already checked against io.safetensors' `out`); rewrites
    lora.safetensors and, in io.safetensors, only `out_lora` and `lora_scale`."""
    io_path = os.path.join(out_dir, "io.safetensors")
    header = safetensors_header(io_path)
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"F32"}, f"io.safetensors holds {dtypes}: rewriting it here would change them"
    lora = make_lora(model, torch.Generator().manual_seed(seed + LORA_SEED_OFFSET))
    common.save_safetensors(lora, os.path.join(out_dir, "lora.safetensors"), metadata=meta)
    merge_reference_lora(model, ref_dir, lora, device)
    out_lora = run_reference(model, io1, device)

    # What the alpha/rank convention would give, on a fresh copy of the base weights: logged to show that
    # the fixture separates the two (a merge applying alpha/rank fails the parity test by this much).
    alt = build_model(mm, cfg)
    load_saved_weights(alt, out_dir)
    alt = alt.to(device)
    merge_reference_lora(alt, ref_dir, with_alpha_over_rank(lora), device)
    out_alt = run_reference(alt, io1, device)

    names = [k for k in header if k != "__metadata__"]
    io = {k: io1[k] for k in names}
    io["out_lora"] = out_lora
    io["lora_scale"] = torch.tensor([LORA_SCALE])
    io_meta = dict(header.get("__metadata__", {}))
    io_meta["lora_regenerated"] = json.dumps({k: meta[k] for k in ("torch", "device", "reference_commit")}
                                             | {"seed": str(seed + LORA_SEED_OFFSET), "mode": "--lora-only"})
    common.save_safetensors(io, io_path, metadata=io_meta)
    modules = ", ".join(f"{m.format(last='blocks.' + str(cfg['num_layers'] - 1))} rank {r} alpha {a}"
                        for m, r, a in LORA_MODULES)
    print(f"dit lora: {modules}; scale {LORA_SCALE}")
    print(f"dit lora: max|out_lora - out| {(out_lora - io1['out']).abs().max():.4f}, max|out_lora| "
          f"{out_lora.abs().max():.4f}; the alpha/rank convention would differ from out_lora by max "
          f"{(out_alt - out_lora).abs().max():.4f} -> {out_dir}")


def run_reference(model, inp, device):
    d = lambda t: t.to(device)
    _, _, lat_t, lat_h, lat_w = inp["x"].shape
    with torch.no_grad():
        out = model([d(inp["x"][0])], t=d(inp["t"]), context=[d(inp["context"][0])],
                    seq_len=lat_t * lat_h * lat_w // 4, clip_fea=d(inp["clip_fea"]), y=d(inp["y"]),
                    audio=d(inp["audio"]), ref_target_masks=torch.ones(3, lat_h, lat_w, device=device))
    return out.float().cpu()


def report(what, t0, device):
    """One line per --full step: its time, the peak GPU memory so far and the process's peak host RSS."""
    import resource
    msg = f"dit: {what} in {time.time() - t0:.1f} s"
    if device.type == "cuda":
        msg += (f"; GPU peak so far {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB allocated, "
                f"{torch.cuda.max_memory_reserved(device) / 2**30:.2f} GiB reserved")
    msg += f"; host peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    print(msg, flush=True)


def check_attention_memory(cfg, tokens, device):
    """The reference's self-attention calls SDPA with a key-padding mask ([1, 1, 1, L] bool). A fused kernel
    (memory-efficient attention) keeps that O(L); the math fallback would hold heads x L x L fp32 scores
    (10.7 GB at 8,190 tokens, twice with the softmax) next to the 70 GiB of weights. One call before the
    model is built, so a torch that falls back fails in a second rather than after minutes."""
    n = cfg["num_heads"]
    q = torch.randn(1, tokens, n, cfg["dim"] // n, device=device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    harness.exact_flash_attention(q, q, q, k_lens=torch.tensor([tokens]))
    extra = torch.cuda.max_memory_allocated(device) - base
    scores = n * tokens * tokens * 4
    del q
    torch.cuda.reset_peak_memory_stats(device)
    if extra >= scores:
        raise SystemExit(f"dit: masked fp32 SDPA at {tokens} tokens took {extra / 2**30:.1f} GiB (the math "
                         f"fallback: {scores / 2**30:.1f} GiB of scores), which does not fit beside the full model")


def generate_full(mm, ref_dir, cfg, out_dir, meta, seed, frames, lat_h, lat_w, device, weights_dtype):
    """The --full run (see the module docstring). Also callable on the CPU with a small cfg, to check the
    file layout against the C++ loader without a GPU."""
    t_all = time.time()
    g = torch.Generator().manual_seed(seed)  # inputs and the LoRA: CPU, like the tiny run
    tokens = ((frames - 1) // 4 + 1) * lat_h * lat_w // 4
    if device.type == "cuda":
        check_attention_memory(cfg, tokens, device)
    t0 = time.time()
    if device.type == "cuda":
        with device:  # parameters allocated (and default-initialised) on the GPU directly
            model = build_model(mm, cfg)
        model.init_freqs()  # the RoPE table (a plain attribute) computed on the CPU, as in the tiny run
    else:
        model = build_model(mm, cfg)
    n_params = sum(p.numel() for p in model.parameters())
    report(f"built {cfg['num_layers']} blocks, {n_params / 1e9:.3f} B parameters "
           f"({n_params * 4 / 2**30:.2f} GiB in fp32) on {device}", t0, device)
    t0 = time.time()
    randomize_in_place(model, torch.Generator(device=device).manual_seed(seed))
    round_weights(model, weights_dtype)
    report(f"randomized, rounded to {weights_dtype}", t0, device)
    t0 = time.time()
    save_checkpoints_streamed(model, out_dir, meta, weights_dtype)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, _class_name="WanModel"), f, indent=1, sort_keys=True)
    report("saved the weights", t0, device)

    t0 = time.time()
    inp = make_inputs(cfg, g, frames, lat_h, lat_w, device)
    out = run_reference(model, inp, device)
    report(f"reference forward, {tokens} tokens", t0, device)
    print("dit: --full skips the two-speaker case (no io_2p.safetensors): its C++ test loads the model on the "
          "CPU (75 GB in fp32 for 40 blocks) and runs five CPU forwards", flush=True)

    t0 = time.time()
    lora = make_lora(model, torch.Generator().manual_seed(seed + LORA_SEED_OFFSET))
    common.save_safetensors(lora, os.path.join(out_dir, "lora.safetensors"), metadata=meta)
    merge_reference_lora(model, ref_dir, lora, device)
    out_lora = run_reference(model, inp, device)
    report("LoRA merge + reference forward", t0, device)

    io = dict(inp, out=out, out_lora=out_lora, lora_scale=torch.tensor([LORA_SCALE]))
    common.save_safetensors(io, os.path.join(out_dir, "io.safetensors"), metadata=meta)
    print(f"dit: out {tuple(out.shape)} max|out| {out.abs().max():.4f}, "
          f"max|out_lora - out| {(out_lora - out).abs().max():.4f} -> {out_dir} ({time.time() - t_all:.1f} s)")


def main():
    args = common.parse_args("InfiniteTalk DiT parity data", extra_args)
    assert not (args.full and (args.two_person_only or args.lora_only)), "--*-only modes are for the tiny folder"
    assert not (args.two_person_only and args.lora_only), "one of --two-person-only and --lora-only"
    device = torch.device("cuda" if args.full else args.device)
    weights_dtype = WEIGHT_DTYPES[args.weights_dtype or ("bf16" if args.full else "f32")]
    # fp32 parity: no TF32 in the patch-embedding convolution or the matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref = harness.import_reference(args.ref, names=("multitalk_model", "attention", "multitalk_utils"))
    harness.exact_attention(ref)
    if device.type != "cuda":  # the speaker-map code calls torch.cuda.ipc_collect(), which needs CUDA
        ref.multitalk_utils.torch_gc = lambda: None
    mm = ref.multitalk_model

    cfg = full_config(args.layers or 40) if args.full else tiny_config()
    if args.full:
        h, w = map(int, args.size.split("x"))
        frames, lat_h, lat_w = args.frames, h // 8, w // 8
        out_dir = args.out
    else:
        frames, lat_h, lat_w = 9, 8, 12
        out_dir = os.path.join(args.out, "dit")
    os.makedirs(out_dir, exist_ok=True)

    meta = common.provenance(args, "dit", cfg, args.seed)
    if os.environ.get("TALKGEN_REF_COMMIT"):
        # common.reference_commit asks git first, which inside a talkgen checkout (.ref/ is an export
        # without .git) answers with talkgen's own HEAD.
        meta["reference_commit"] = os.environ["TALKGEN_REF_COMMIT"]
    if weights_dtype != torch.float32:
        meta["weights_dtype"] = str(weights_dtype).replace("torch.", "")
    if args.full:
        meta["device"] = str(device)
        generate_full(mm, args.ref, cfg, out_dir, meta, args.seed, frames, lat_h, lat_w, device, weights_dtype)
        return

    g = torch.Generator().manual_seed(args.seed)
    # The two-speaker inputs draw from their own generator: adding them left every other file unchanged.
    g2 = torch.Generator().manual_seed(args.seed + 2)
    model = build_model(mm, cfg)
    if args.two_person_only or args.lora_only:
        load_saved_weights(model, out_dir)
        model = model.to(device)
        # This torch (and the stand-ins above) must reproduce the saved one-speaker output first.
        io1 = load_safetensors(os.path.join(out_dir, "io.safetensors"))
        err = (run_reference(model, io1, device) - io1["out"]).abs().max().item()
        print(f"dit: one-speaker output re-run here vs io.safetensors: max abs diff {err:.3g}")
        assert err <= 1e-4 * max(1.0, io1["out"].abs().max().item()), "this environment does not reproduce io.safetensors"
        if args.lora_only:
            regenerate_lora(mm, cfg, args.ref, model, io1, out_dir, meta, args.seed, device)
            return
        io2 = run_two_person(model, g2, cfg, frames, lat_h, lat_w, device)
        common.save_safetensors(io2, os.path.join(out_dir, "io_2p.safetensors"), metadata=meta)
        print(f"dit 2p: out {tuple(io2['out'].shape)} max|out| {io2['out'].abs().max():.4f} -> {out_dir}")
        return
    randomize(model, g)
    round_weights(model, weights_dtype)
    save_checkpoints(model, out_dir, meta, weights_dtype)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, _class_name="WanModel"), f, indent=1, sort_keys=True)

    inp = make_inputs(cfg, g, frames, lat_h, lat_w, device)
    model = model.to(device)
    out = run_reference(model, inp, device)
    io2 = run_two_person(model, g2, cfg, frames, lat_h, lat_w, device)
    common.save_safetensors(io2, os.path.join(out_dir, "io_2p.safetensors"), metadata=meta)

    lora = make_lora(model, torch.Generator().manual_seed(args.seed + LORA_SEED_OFFSET))
    common.save_safetensors(lora, os.path.join(out_dir, "lora.safetensors"), metadata=meta)
    merge_reference_lora(model, args.ref, lora, device)
    out_lora = run_reference(model, inp, device)

    io = dict(inp, out=out, out_lora=out_lora, lora_scale=torch.tensor([LORA_SCALE]))
    common.save_safetensors(io, os.path.join(out_dir, "io.safetensors"), metadata=meta)
    print(f"dit: out {tuple(out.shape)} max|out| {out.abs().max():.4f}, "
          f"max|out_lora - out| {(out_lora - out).abs().max():.4f} -> {out_dir}")


if __name__ == "__main__":
    main()
