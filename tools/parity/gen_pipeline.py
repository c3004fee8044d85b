"""Parity data for the generation pipeline (src/pipeline/): the reference's generate_infinitetalk.

Builds every component at a tiny size with seeded random weights, saves them in the official formats
and key layouts, and runs the reference's own InfiniteTalkPipeline.generate_infinitetalk (wan/multitalk.py)
in fp32 with exact attention on a synthetic portrait, a fixed audio embedding and the prompts below.
Every Gaussian draw of the reference (torch.randn / torch.randn_like) is recorded so the C++ pipeline can
replay the same noise (the reference draws on its device; talkgen on a CPU generator). Two runs:

  clip    --mode clip:      frame_num 17, 3 steps, shift 7, text/audio guidance 5/4 (3 forwards),
                            colour correction 1.0, 20 audio frames -> 17 frames
  stream  --mode streaming: frame_num 17, motion_frame 5, 2 steps, shift 2, guidance 1/2 (2 forwards) with
                            APG, colour correction 0.7, 25 audio frames -> 2 chunks (the second one past
                            the audio's end, so the reversed padding is used) -> 25 frames

Sizes are the reference's 480p buckets divided by BUCKET_DIVISOR (talkgen's scaled_bucket(); the reference's
table is patched to the same numbers), so a 120x90 portrait gives 32x48 frames.

Files in <out>/pipeline/:
  config.json            sizes of every component, the run settings, the prompts, provenance
  dit/                   config.json, 2 safetensors shards + index, infinitetalk.safetensors (as gen_dit.py)
  vae.pth  clip.pth  t5.pth   torch.save state dicts in the official key layouts
  portrait.png           the conditioning image
  io.safetensors         embedding_<run> [L, blocks, channels]; noise_<run>_<k> (every draw, in order);
                         frames_<run> [3, T, H, W] in [-1, 1] (the reference's gen_video_samples)
The tokenizer is tests/data/parity/umt5's (spiece.model + tokenizer.json, from gen_umt5.py).

    python3 tools/parity/gen_pipeline.py --ref .ref/infinitetalk [--device cuda]
"""
import contextlib, html, importlib, json, math, os, sys, tempfile, types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import harness  # noqa: E402

SEED = 777
BUCKET_DIVISOR = 16
PORTRAIT_WH = (120, 90)
# Curly quotes and a control character: ftfy.fix_text (the reference's first cleaning step) straightens the
# quotes and drops the BEL, so these frames hold only if talkgen cleans prompts as the reference does.
PROMPT = "A woman says \u201chello\u201d to the camera\x07 with a natural \u2018calm\u2019 expression."
NEG_PROMPT = ""  # empty: the reference uses its sample_neg_prompt (talkgen's kDefaultNegativePrompt)

DIT = dict(model_type="i2v", patch_size=[1, 2, 2], text_len=512, in_dim=36, dim=32, ffn_dim=64, freq_dim=32,
           text_dim=16, out_dim=16, num_heads=2, num_layers=2, eps=1e-6, audio_window=5, intermediate_dim=16,
           output_dim=16, context_tokens=4, vae_scale=4, clip_dim=16, audio_blocks=2, audio_channels=8)
VAE = dict(dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
           temperal_downsample=[False, True, True], dropout=0.0)
# 32 px input in 2 px patches: 257 tokens, the count the DiT's cross-attention hard-codes.
CLIP = dict(image_size=32, patch_size=2, dim=16, mlp_ratio=4, out_dim=8, num_heads=2, num_layers=3,
            pool_type="token", activation="gelu")
T5 = dict(dim=16, dim_attn=16, dim_ffn=32, num_heads=2, num_layers=2, num_buckets=32)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

RUNS = {
    "clip": dict(mode="clip", frame_num=17, motion_frame=5, steps=3, shift=7.0, text_scale=5.0, audio_scale=4.0,
                 use_apg=False, color=1.0, audio_frames=20, max_frames=1000),
    "stream": dict(mode="streaming", frame_num=17, motion_frame=5, steps=2, shift=2.0, text_scale=1.0,
                   audio_scale=2.0, use_apg=True, color=0.7, audio_frames=25, max_frames=1000),
}


def scaled(side):
    """talkgen's scaled_bucket(): a bucket side divided by BUCKET_DIVISOR, rounded to 16, at least 16."""
    return max(16, (side + 8 * BUCKET_DIVISOR) // (16 * BUCKET_DIVISOR) * 16)


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def ensure_importable(ref_dir):
    """wan/multitalk.py imports the whole application (video I/O, quantization, offloading). Stand in for
    what is missing or unused in a CPU/GPU fp32 run; the sampling code itself is the reference's."""
    def have(name):
        try:
            importlib.import_module(name)
            return True
        except Exception:  # noqa: BLE001 - any import failure means "stub it"
            return False

    import collections, inspect
    if not hasattr(inspect, "ArgSpec"):  # removed in Python 3.11; multitalk.py imports it (unused)
        inspect.ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")
    for name in ("cv2", "decord", "librosa", "imageio", "accelerate"):
        if not have(name):
            stub(name)
    if not have("tqdm"):
        stub("tqdm", tqdm=lambda it=None, **k: it)
    if not have("loguru"):
        import logging
        stub("loguru", logger=logging.getLogger("wan_lora"))
    mu = stub("diffusers.models.modeling_utils", no_init_weights=contextlib.nullcontext,
              ContextManagers=lambda *a, **k: contextlib.nullcontext())
    if "diffusers.models" not in sys.modules:
        stub("diffusers.models", modeling_utils=mu)
    q = sys.modules.get("optimum.quanto") or importlib.import_module("optimum.quanto")
    if not hasattr(q, "nn"):
        ql = stub("optimum.quanto.nn.qlinear", QLinear=type("QLinear", (), {}))
        q.nn = stub("optimum.quanto.nn", qlinear=ql)
    stub("src.vram_management", AutoWrappedQLinear=object, AutoWrappedLinear=object, AutoWrappedModule=object,
         enable_vram_management=lambda *a, **k: None)
    stub("wan.distributed", __path__=[os.path.join(ref_dir, "wan", "distributed")])
    stub("wan.distributed.fsdp", shard_model=lambda *a, **k: None)

    def extract_specific_frames(path, frame_id):  # the image branch of wan/utils/utils.py
        from PIL import Image
        return Image.open(path).convert("RGB")
    stub("wan.utils.utils", extract_specific_frames=extract_specific_frames, get_video_codec=lambda p: "png",
         convert_video_to_h264=lambda *a, **k: None)
    if not have("wan.wan_lora"):
        stub("wan.wan_lora", WanLoraWrapper=object)


def randomize(module, g, norm_std=0.2):
    """Trained-model scales: matrices 1/sqrt(fan_in), norm gains 1 + noise, small biases."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("modulation"):
                v = noise / math.sqrt(p.shape[-1])
            elif (p.dim() == 1 and "norm" in name and name.endswith("weight")) or name.endswith("gamma"):
                v = 1.0 + norm_std * noise
            elif p.dim() >= 2:
                v = noise / math.sqrt(p[0].numel())
            else:
                v = 0.1 * noise
            p.copy_(v.to(p.dtype))


def make_portrait(path):
    """A synthetic face-like picture: a gradient background and two coloured discs."""
    from PIL import Image
    w, h = PORTRAIT_WH
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    r = 60 + 120 * x / w
    gch = 80 + 100 * y / h
    b = 150 - 60 * (x + y) / (w + h)
    face = ((x - w / 2) ** 2 + (y - h / 2) ** 2) < (0.3 * h) ** 2
    eye = ((x - w / 2 - 8) ** 2 + (y - h / 2 + 6) ** 2) < 9
    r, gch, b = torch.where(face, 220.0, r), torch.where(face, 170.0, gch), torch.where(face, 140.0, b)
    r, gch, b = torch.where(eye, 30.0, r), torch.where(eye, 30.0, gch), torch.where(eye, 60.0, b)
    img = torch.stack([r, gch, b], -1).round().clamp(0, 255).to(torch.uint8).numpy()
    Image.fromarray(img, "RGB").save(path)


class _ClipHolder(torch.nn.Module):
    def __init__(self, visual, image_size):
        super().__init__()
        self.visual = visual
        self.image_size = image_size


@contextlib.contextmanager
def record_noise(into):
    """Wrap torch.randn / torch.randn_like, keeping every draw (CPU copies) in order."""
    randn, randn_like = torch.randn, torch.randn_like

    def rec(t):
        into.append(t.detach().float().cpu().clone())
        return t
    torch.randn = lambda *a, **k: rec(randn(*a, **k))
    torch.randn_like = lambda *a, **k: rec(randn_like(*a, **k))
    try:
        yield
    finally:
        torch.randn, torch.randn_like = randn, randn_like


def main():
    args = common.parse_args(__doc__.splitlines()[0], extra=lambda p: p.add_argument(
        "--prompt", default=PROMPT, help="the positive prompt (default: PROMPT; another one to check that only "
                                         "the prompt changes the frames)"))
    if args.full:
        sys.exit("gen_pipeline.py has no --full mode: the pipeline's full-size parity is the components' own "
                 "(gen_dit/gen_vae/gen_clip/gen_umt5/gen_wav2vec2 --full)")
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out_dir = os.path.join(args.out, "pipeline")
    os.makedirs(os.path.join(out_dir, "dit"), exist_ok=True)

    ref_dir = os.path.abspath(args.ref)
    # gen_dit first: on torch 1.13 (Debian's python3) it installs the stand-ins the reference modules need to
    # import and run (torch.compile, scaled_dot_product_attention, einops; inactive on torch >= 2).
    import gen_dit, gen_umt5, gen_vae  # noqa: E402  (their builders and file layouts)
    ref = harness.import_reference(ref_dir, names=("multitalk_model", "attention", "vae", "clip", "t5", "tokenizers",
                                                   "multitalk_utils"))
    harness.exact_attention(ref)
    ensure_importable(ref_dir)
    multitalk = importlib.import_module("wan.multitalk")
    no_gc = lambda: None  # noqa: E731 - torch.cuda.ipc_collect() needs CUDA
    multitalk.torch_gc = no_gc
    ref.multitalk_utils.torch_gc = no_gc
    # The 480p bucket table, scaled as talkgen's scaled_bucket() does for its small models.
    ref.multitalk_utils.ASPECT_RATIO_627 = {k: ([scaled(h), scaled(w)], n)
                                            for k, ([h, w], n) in ref.multitalk_utils.ASPECT_RATIO_627.items()}

    g = torch.Generator().manual_seed(SEED)
    meta = common.provenance(args, "pipeline", {"dit": DIT, "vae": VAE, "clip": CLIP, "t5": T5,
                                                "bucket_divisor": BUCKET_DIVISOR, "runs": RUNS}, SEED)

    # DiT: the reference WanModel, saved as the official shards + infinitetalk.safetensors.
    dit = gen_dit.build_model(ref.multitalk_model, DIT)
    randomize(dit, g)
    gen_dit.save_checkpoints(dit, os.path.join(out_dir, "dit"), meta)
    with open(os.path.join(out_dir, "dit", "config.json"), "w") as f:
        json.dump(dict(DIT, _class_name="WanModel"), f, indent=1, sort_keys=True)

    # VAE: WanVAE_ at base width 4 through the reference's WanVAE wrapper.
    vae_model = ref.vae.WanVAE_(**VAE)
    randomize(vae_model, g, norm_std=0.25)
    torch.save(vae_model.state_dict(), os.path.join(out_dir, "vae.pth"))
    gen_vae.patch_loader(ref.vae, VAE)
    vae = ref.vae.WanVAE(z_dim=16, vae_pth=os.path.join(out_dir, "vae.pth"), dtype=torch.float, device=device)

    # CLIP: the vision tower in the official file's `visual.*` keys.
    vit = ref.clip.VisionTransformer(**CLIP).eval()
    randomize(vit, g, norm_std=0.1)
    torch.save({"visual." + k: v for k, v in vit.state_dict().items()}, os.path.join(out_dir, "clip.pth"))
    clip = ref.clip.CLIPModel.__new__(ref.clip.CLIPModel)
    clip.model = _ClipHolder(vit.to(device), CLIP["image_size"])
    clip.dtype = torch.float32
    clip.transforms = ref.clip.T.Compose([ref.clip.T.Normalize(mean=CLIP_MEAN, std=CLIP_STD)])

    # umT5: tokenizer from tests/data/parity/umt5/spiece.model, a tiny encoder with per-block positions.
    spm = os.path.join(HERE, "..", "..", "tests", "data", "parity", "umt5", "spiece.model")
    pieces, _, _, _ = gen_umt5.read_spm_model(spm)
    tok_dir = tempfile.mkdtemp(prefix="umt5-tok-")
    gen_umt5.write_tokenizer_folder(spm, tok_dir)
    t5_model = ref.t5.T5Encoder(shared_pos=False, dropout=0.0, vocab=len(pieces) + gen_umt5.EXTRA_IDS, **T5).eval()
    randomize(t5_model, g)
    torch.save(t5_model.state_dict(), os.path.join(out_dir, "t5.pth"))
    text_encoder = ref.t5.T5EncoderModel.__new__(ref.t5.T5EncoderModel)
    text_encoder.text_len, text_encoder.dtype, text_encoder.device = 512, torch.float32, device
    text_encoder.model = t5_model.to(device)
    text_encoder.tokenizer = ref.tokenizers.HuggingfaceTokenizer(name=tok_dir, seq_len=512, clean="whitespace")
    # What the reference's cleaning makes of the prompt, and what it would be without ftfy: the fixture only
    # proves talkgen's cleaning end to end if ftfy changes the tokens.
    def cleanings(text):
        cleaned = text_encoder.tokenizer._clean(text)
        without_ftfy = ref.tokenizers.whitespace_clean(html.unescape(html.unescape(text)).strip())
        tokens = text_encoder.tokenizer.tokenizer
        changed = tokens(cleaned)["input_ids"] != tokens(without_ftfy)["input_ids"]
        print(f"{text!r} -> {cleaned!r} (without ftfy: {without_ftfy!r}); ftfy changes the tokens: {changed}")
        return cleaned, without_ftfy, changed
    prompt_cleaned, prompt_without_ftfy, ftfy_changes_tokens = cleanings(args.prompt)
    if args.prompt == PROMPT and not ftfy_changes_tokens:
        sys.exit("PROMPT must be one whose tokens ftfy.fix_text changes")

    # The reference pipeline object without its checkpoint-loading __init__.
    cfg = importlib.import_module("wan.configs.wan_multitalk_14B").multitalk_14B
    pipe = multitalk.InfiniteTalkPipeline.__new__(multitalk.InfiniteTalkPipeline)
    pipe.device, pipe.config, pipe.rank, pipe.use_usp, pipe.t5_cpu = device, cfg, 0, False, False
    pipe.num_train_timesteps, pipe.param_dtype = cfg.num_train_timesteps, torch.float32
    pipe.text_encoder, pipe.vae, pipe.clip, pipe.model = text_encoder, vae, clip, dit.to(device)
    pipe.vae_stride, pipe.patch_size, pipe.sp_size = cfg.vae_stride, cfg.patch_size, 1
    pipe.sample_neg_prompt, pipe.num_timesteps, pipe.use_timestep_transform = cfg.sample_neg_prompt, 1000, True
    # How the negative prompt the reference uses (multitalk_14B's default, English) is cleaned: talkgen's
    # kDefaultNegativePrompt must clean to the same text.
    negative_cleaned, _, _ = cleanings(NEG_PROMPT or cfg.sample_neg_prompt)
    pipe.cpu_offload, pipe.model_names, pipe.vram_management = False, ["model"], False

    portrait = os.path.join(out_dir, "portrait.png")
    make_portrait(portrait)
    tensors = {}
    work = tempfile.mkdtemp(prefix="pipeline-parity-")
    for name, run in RUNS.items():
        emb = torch.randn(run["audio_frames"], DIT["audio_blocks"], DIT["audio_channels"], generator=g)
        emb_path = os.path.join(work, f"{name}.pt")
        torch.save(emb, emb_path)
        extra = types.SimpleNamespace(use_teacache=False, teacache_thresh=0.2, size="infinitetalk-480",
                                      use_apg=run["use_apg"], apg_momentum=-0.75, apg_norm_threshold=55)
        draws = []
        with torch.no_grad(), record_noise(draws):
            video = pipe.generate_infinitetalk(
                {"prompt": args.prompt, "cond_video": portrait, "cond_audio": {"person1": emb_path}},
                size_buckget="infinitetalk-480", motion_frame=run["motion_frame"], frame_num=run["frame_num"],
                shift=run["shift"], sampling_steps=run["steps"], text_guide_scale=run["text_scale"],
                audio_guide_scale=run["audio_scale"], n_prompt=NEG_PROMPT, seed=SEED, offload_model=False,
                max_frames_num=run["frame_num"] if run["mode"] == "clip" else run["max_frames"],
                progress=False, color_correction_strength=run["color"], extra_args=extra)
        tensors[f"embedding_{name}"] = emb
        tensors[f"frames_{name}"] = video.float().cpu()
        for k, t in enumerate(draws):
            tensors[f"noise_{name}_{k:03d}"] = t
        print(f"pipeline/{name}: frames {tuple(video.shape)}, {len(draws)} noise draws, "
              f"max |frame| {video.abs().max().item():.3f}")

    common.save_safetensors(tensors, os.path.join(out_dir, "io.safetensors"), metadata=meta)
    config = {"dit": DIT, "vae": VAE, "clip": CLIP, "t5": T5, "bucket_divisor": BUCKET_DIVISOR,
              "prompt": args.prompt, "prompt_cleaned": prompt_cleaned,
              "prompt_cleaned_without_ftfy": prompt_without_ftfy, "negative_prompt": NEG_PROMPT,
              "negative_prompt_cleaned": negative_cleaned, "seed": SEED, "runs": RUNS,
              "clip_mean": CLIP_MEAN, "clip_std": CLIP_STD, "provenance": meta}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out_dir) for fn in fns)
    print(f"wrote {out_dir} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
