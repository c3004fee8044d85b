"""Parity data for the Wan2.1 causal video VAE (src/model/vae/).

    python3 tools/parity/gen_vae.py --ref .ref/infinitetalk                       # tiny, committed
    python3 tools/parity/gen_vae.py --ref .ref/infinitetalk --full --device cuda --out /tmp/parity_full

A VAE with the structure of the official one (dim_mult [1, 2, 4, 4], 2 residual blocks, temporal
downsample [False, True, True], z_dim 16) but a base width of 4 gets random weights (fixed seed), is
saved with torch.save as a state dict in the key layout of Wan2.1_VAE.pth, and is run through the
reference's own WanVAE wrapper (its 16-channel latent mean/std, autocast, .float(), clamp): only the
wrapper's weight loading is replaced, because _video_vae hard-codes dim=96.

Files written to <out>/vae/ (the C++ test reads that folder, or $TALKGEN_PARITY_DIR):
  vae.pth               the weights (torch.save zip, official key names)
  config.json           the WanVAE_ config, the latent mean/std the wrapper used, sizes, provenance
  vae_io.safetensors    video [1,3,T,H,W] in [-1,1] -> latents [1,16,t,h,w] (WanVAE.encode);
                        decode_latents [1,16,t,h,w] -> decoded (WanVAE.decode, clamped) and
                        decoded_raw (the same before the clamp, so saturated pixels still compare)
  full_keys.json        name -> shape of every parameter of the full-size config (no weights), so the
                        C++ module tree is checked against the official key layout without the 500 MB file

--full builds the full-size config (dim 96) with random weights on --device; it writes the same files
(vae.pth is then ~500 MB) for the lead to compare with TALKGEN_PARITY_DIR=<out>/vae.
"""
import json, math, os, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import parse_args, provenance, save_safetensors  # noqa: E402
import harness  # noqa: E402

COMPONENT = "vae"
SEED = 20240517
FULL = dict(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
            temperal_downsample=[False, True, True], dropout=0.0)
TINY = dict(FULL, dim=4)


def extra_args(p):
    p.add_argument("--frames", type=int, default=None, help="video frames, 1 + 4k (tiny: 9, full: 9)")
    p.add_argument("--height", type=int, default=None, help="multiple of 8 (tiny: 32, full: 256)")
    p.add_argument("--width", type=int, default=None, help="multiple of 8 (tiny: 48, full: 448)")


def randomize(model, seed):
    """Random weights that keep activations O(1) through the whole network: conv weights
    N(0, 1/fan_in), biases N(0, 0.1^2), norm gammas 1 + N(0, 0.25^2). The reference's own init
    zeroes the attention projections, which would leave them untested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("gamma"):
                v = 1.0 + 0.25 * torch.randn(p.shape, generator=g)
            elif name.endswith("bias"):
                v = 0.1 * torch.randn(p.shape, generator=g)
            else:
                v = torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel())
            p.copy_(v.to(p.device, p.dtype))


def patch_loader(vae_mod, cfg):
    """WanVAE calls _video_vae(pretrained_path=..., z_dim=...), whose config is fixed at dim=96. Build
    our config instead and load the saved file the way the reference does (a plain state dict)."""
    def _video_vae(pretrained_path=None, z_dim=None, device="cpu", **kwargs):
        model = vae_mod.WanVAE_(**cfg)
        model.load_state_dict(torch.load(pretrained_path, map_location=device))
        return model
    vae_mod._video_vae = _video_vae


def key_shapes(vae_mod, cfg):
    try:
        with torch.device("meta"):
            model = vae_mod.WanVAE_(**cfg)
    except (AttributeError, TypeError):  # torch < 2: no device context manager
        model = vae_mod.WanVAE_(**cfg)
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def main():
    args = parse_args(__doc__.splitlines()[0], extra_args)
    cfg = FULL if args.full else TINY
    frames = args.frames or 9
    height = args.height or (256 if args.full else 32)
    width = args.width or (448 if args.full else 48)
    assert (frames - 1) % 4 == 0 and height % 8 == 0 and width % 8 == 0, "need T = 1 + 4k and H, W multiples of 8"
    out_dir = os.path.join(args.out, COMPONENT)
    os.makedirs(out_dir, exist_ok=True)
    dev = torch.device(args.device)
    # fp32 means fp32: no TF32 convolutions or matmuls (PyTorch enables TF32 for cuDNN by default).
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    ref = harness.import_reference(args.ref, names=("vae",))
    vae_mod = ref.vae

    torch.manual_seed(SEED)
    model = vae_mod.WanVAE_(**cfg)
    randomize(model, SEED)
    weights_path = os.path.join(out_dir, "vae.pth")
    torch.save(model.state_dict(), weights_path)
    del model

    patch_loader(vae_mod, cfg)
    wrapper = vae_mod.WanVAE(z_dim=cfg["z_dim"], vae_pth=weights_path, dtype=torch.float, device=dev)

    g = torch.Generator().manual_seed(SEED + 1)
    video = torch.rand(3, frames, height, width, generator=g) * 2 - 1
    lat_t, lat_h, lat_w = 1 + (frames - 1) // 4, height // 8, width // 8
    decode_latents = torch.randn(cfg["z_dim"], lat_t, lat_h, lat_w, generator=g)

    with torch.no_grad():
        latents = wrapper.encode([video.to(dev)])[0]
        decoded = wrapper.decode([decode_latents.to(dev)])[0]
        # WanVAE.decode without its final clamp_.
        decoded_raw = wrapper.model.decode(decode_latents.to(dev).unsqueeze(0), wrapper.scale).float().squeeze(0)

    tensors = {
        "video": video.unsqueeze(0),
        "latents": latents.unsqueeze(0),
        "decode_latents": decode_latents.unsqueeze(0),
        "decoded": decoded.unsqueeze(0),
        "decoded_raw": decoded_raw.unsqueeze(0),
    }
    meta = provenance(args, COMPONENT, cfg, SEED)
    save_safetensors(tensors, os.path.join(out_dir, "vae_io.safetensors"), metadata=meta)

    config = {
        "config": cfg,
        "latent_mean": wrapper.mean.cpu().tolist(),
        "latent_std": wrapper.std.cpu().tolist(),
        "frames": frames, "height": height, "width": width,
        "provenance": meta,
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(out_dir, "full_keys.json"), "w") as f:
        shapes = key_shapes(vae_mod, FULL)
        f.write("{\n" + ",\n".join(f'"{k}": {json.dumps(shapes[k])}' for k in sorted(shapes)) + "\n}\n")

    clipped = (decoded_raw.abs() > 1).float().mean().item()
    print(f"wrote {out_dir}: latents {tuple(latents.shape)} |max| {latents.abs().max().item():.3f}, "
          f"decoded {tuple(decoded.shape)} |max raw| {decoded_raw.abs().max().item():.3f}, "
          f"{100 * clipped:.1f}% of pixels clamped")


if __name__ == "__main__":
    main()
