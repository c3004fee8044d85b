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

    python3 tools/parity/gen_dit.py --ref .ref/infinitetalk [--device cuda]
    python3 tools/parity/gen_dit.py --ref .ref/infinitetalk --full --out /tmp/dit_full [--layers 4]

--full uses the 14B widths (dim 5120, 40 heads, ffn 13824, real audio/CLIP/text dims) with --layers
blocks (fp32 does not fit 40 on one GPU) on CUDA; point TALKGEN_DIT_PARITY_DIR at --out to compare.
"""
import importlib, json, math, os, sys, types

import torch

import common
import harness

LORA_SCALE = 0.7
LORA_RANK = 4


def extra_args(p):
    p.add_argument("--seed", type=int, default=20250)
    p.add_argument("--layers", type=int, default=None, help="--full only: number of blocks (default 4)")
    p.add_argument("--frames", type=int, default=21, help="--full only: video frames (4k+1)")
    p.add_argument("--size", default="480x832", help="--full only: HxW in pixels")


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


def is_audio_key(k):
    return k.startswith("audio_proj.") or ".audio_cross_attn." in k or ".norm_x." in k


def save_checkpoints(model, out_dir, meta):
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
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


def make_lora(model, g):
    """lightx2v-style keys: lora_down/lora_up/alpha on linears, diff on a norm weight, diff_b on a bias."""
    lora = {}
    last = f"blocks.{len(model.blocks) - 1}"
    targets = ["blocks.0.self_attn.q", f"{last}.ffn.0", "blocks.0.cross_attn.k_img",
               f"{last}.audio_cross_attn.kv_linear", "head.head"]
    params = dict(model.named_parameters())
    for t in targets:
        w = params[t + ".weight"]
        out_f, in_f = w.shape
        lora[f"diffusion_model.{t}.lora_down.weight"] = torch.randn(LORA_RANK, in_f, generator=g) / math.sqrt(in_f)
        lora[f"diffusion_model.{t}.lora_up.weight"] = torch.randn(out_f, LORA_RANK, generator=g) * 0.3
        # alpha == rank: the reference ignores alpha; talkgen scales by alpha/rank, equal here.
        lora[f"diffusion_model.{t}.alpha"] = torch.tensor(float(LORA_RANK))
    lora["diffusion_model.blocks.0.self_attn.norm_q.diff"] = 0.1 * torch.randn(params["blocks.0.self_attn.norm_q.weight"].shape, generator=g)
    lora[f"diffusion_model.{last}.cross_attn.o.diff_b"] = 0.1 * torch.randn(params[f"{last}.cross_attn.o.bias"].shape, generator=g)
    return lora


def import_lora_wrapper(ref_dir):
    for name in ("loguru",):
        try:
            importlib.import_module(name)
        except ImportError:  # only `logger.info` is used
            import logging
            m = types.ModuleType(name)
            m.logger = logging.getLogger("wan_lora")
            sys.modules[name] = m
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


def run_reference(model, inp, device):
    d = lambda t: t.to(device)
    _, _, lat_t, lat_h, lat_w = inp["x"].shape
    with torch.no_grad():
        out = model([d(inp["x"][0])], t=d(inp["t"]), context=[d(inp["context"][0])],
                    seq_len=lat_t * lat_h * lat_w // 4, clip_fea=d(inp["clip_fea"]), y=d(inp["y"]),
                    audio=d(inp["audio"]), ref_target_masks=torch.ones(3, lat_h, lat_w, device=device))
    return out.float().cpu()


def main():
    args = common.parse_args("InfiniteTalk DiT parity data", extra_args)
    device = torch.device("cuda" if args.full else args.device)
    # fp32 parity: no TF32 in the patch-embedding convolution or the matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref = harness.import_reference(args.ref, names=("multitalk_model", "attention", "multitalk_utils"))
    harness.exact_attention(ref)
    if device.type != "cuda":  # the speaker-map code calls torch.cuda.ipc_collect(), which needs CUDA
        ref.multitalk_utils.torch_gc = lambda: None
    mm = ref.multitalk_model

    cfg = full_config(args.layers or 4) if args.full else tiny_config()
    if args.full:
        h, w = map(int, args.size.split("x"))
        frames, lat_h, lat_w = args.frames, h // 8, w // 8
        out_dir = args.out
    else:
        frames, lat_h, lat_w = 9, 8, 12
        out_dir = os.path.join(args.out, "dit")
    os.makedirs(out_dir, exist_ok=True)

    g = torch.Generator().manual_seed(args.seed)
    model = build_model(mm, cfg)
    randomize(model, g)
    meta = common.provenance(args, "dit", cfg, args.seed)
    save_checkpoints(model, out_dir, meta)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, _class_name="WanModel"), f, indent=1, sort_keys=True)

    inp = make_inputs(cfg, g, frames, lat_h, lat_w, device)
    model = model.to(device)
    out = run_reference(model, inp, device)

    lora = make_lora(model, g)
    common.save_safetensors(lora, os.path.join(out_dir, "lora.safetensors"), metadata=meta)
    wan_lora = import_lora_wrapper(args.ref)
    wan_lora.WanLoraWrapper(model)._apply_lora_weights({k: v.to(device) for k, v in lora.items()},
                                                        LORA_SCALE, device="cpu")
    out_lora = run_reference(model, inp, device)

    io = dict(inp, out=out, out_lora=out_lora, lora_scale=torch.tensor([LORA_SCALE]))
    common.save_safetensors(io, os.path.join(out_dir, "io.safetensors"), metadata=meta)
    print(f"dit: out {tuple(out.shape)} max|out| {out.abs().max():.4f}, "
          f"max|out_lora - out| {(out_lora - out).abs().max():.4f} -> {out_dir}")


if __name__ == "__main__":
    main()
