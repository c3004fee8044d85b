"""Parity data for the CLIP vision tower (src/model/clip): the reference's CLIPModel.visual().

Builds a tiny wan/modules/clip.py VisionTransformer with seeded random weights, saves it the way the
official models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth is laid out (torch.save of a state
dict: `visual.*`, plus `textual.*` and `log_scale` keys that the C++ must ignore), runs
CLIPModel.visual (bicubic resize, CLIP mean/std, use_31_block=True) in fp32 with exact attention,
and writes:
  visual.pth       the weights
  io.safetensors   images [T, 3, H, W] in [-1, 1] (one video of T frames, frame-major as the C++ API
                   takes them), pixels (the preprocessed input of the tower), tokens (the output)

    python3 tools/parity/gen_clip.py --ref .ref/infinitetalk              # -> tests/data/parity/clip
    python3 tools/parity/gen_clip.py --ref .ref/infinitetalk --full --out /tmp/full --device cuda
                                                                        # -> /tmp/full/clip/full (ViT-H/14)
"""
import os
import types

import torch

from common import harness, parse_args, provenance, save_safetensors

SEED = 4321
TINY = dict(image_size=28, patch_size=14, dim=32, mlp_ratio=4, out_dim=16, num_heads=2, num_layers=3,
            pool_type="token", activation="gelu")
# clip_xlm_roberta_vit_h_14's vision half.
FULL = dict(image_size=224, patch_size=14, dim=1280, mlp_ratio=4, out_dim=1024, num_heads=16, num_layers=32,
            pool_type="token", activation="gelu")
# The mean/std _clip() builds its transforms with for non-siglip models.
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def randomize(model, seed):
    """Trained-model scale: 1/sqrt(fan_in) for matrices, 1 + noise for norm scales, small biases."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                value = 1.0 + 0.1 * noise
            elif p.dim() >= 2:
                value = noise / (p[0].numel() ** 0.5)
            else:
                value = 0.1 * noise
            p.copy_(value)


def main():
    args = parse_args(__doc__)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    ref = harness.import_reference(args.ref, names=("clip",))
    harness.exact_attention(ref)
    cfg = FULL if args.full else TINY
    out_dir = os.path.join(args.out, "clip", "full") if args.full else os.path.join(args.out, "clip")
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(SEED)
    vit = ref.clip.VisionTransformer(**cfg).eval()
    randomize(vit, SEED)
    state = {"visual." + k: v for k, v in vit.state_dict().items()}
    # Parts of the official file the vision encoder must skip.
    g = torch.Generator().manual_seed(SEED + 1)
    state["textual.token_embedding.weight"] = torch.randn(11, 8, generator=g)
    state["textual.head.0.weight"] = torch.randn(8, 8, generator=g)
    state["log_scale"] = torch.tensor(4.6052)
    torch.save(state, os.path.join(out_dir, "visual.pth"))

    vit = vit.to(args.device)
    # CLIPModel.visual reads only self.model.image_size, self.model.visual, self.transforms, self.dtype.
    fake = types.SimpleNamespace(
        model=types.SimpleNamespace(image_size=cfg["image_size"], visual=vit),
        transforms=ref.clip.T.Compose([ref.clip.T.Normalize(mean=MEAN, std=STD)]),
        dtype=torch.float32)
    captured = {}
    hook = vit.register_forward_pre_hook(lambda m, inputs: captured.setdefault("pixels", inputs[0].detach().clone()))
    # One conditioning "video" [C, T, H, W] in [-1, 1], non-square so the resize matters, T=2 frames.
    h, w = (40, 36) if not args.full else (480, 416)
    video = torch.rand(3, 2, h, w, generator=torch.Generator().manual_seed(SEED + 2)) * 2 - 1
    with torch.no_grad():
        tokens = ref.clip.CLIPModel.visual(fake, [video.clone().to(args.device)])
    hook.remove()
    tokens = tokens.float().cpu()
    assert tokens.dtype == torch.float32 and tokens.shape == (2, (cfg["image_size"] // cfg["patch_size"]) ** 2 + 1,
                                                            cfg["dim"]), tokens.shape
    meta = provenance(args, "clip", cfg, SEED)
    save_safetensors({"images": video.transpose(0, 1), "pixels": captured["pixels"].cpu(), "tokens": tokens},
                     os.path.join(out_dir, "io.safetensors"), metadata=meta)
    print(f"clip: images {tuple(video.transpose(0, 1).shape)} -> tokens {tuple(tokens.shape)}, "
          f"max |tokens| {tokens.abs().max().item():.4g} -> {out_dir}")


if __name__ == "__main__":
    main()
