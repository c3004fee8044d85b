"""Time the reference generation pipeline stage by stage, on random weights of the real sizes.

Runs InfiniteTalk's own InfiniteTalkPipeline.generate_infinitetalk (wan/multitalk.py) unchanged, on the same
kind of job as `talkgen bench pipeline`: a portrait, speech, N steps, text and audio guidance, one 81-frame
chunk (or more with --frames > 81). The pipeline object is made without reading checkpoints (the way
gen_pipeline.py does: __new__ + the attributes its __init__ sets) from components built with random weights
directly on the GPU: the 14B DiT with the audio modules (bf16), the umT5-XXL encoder (bf16), the whole
open-clip XLM-R ViT-H/14 (float16, as the reference loads it), the Wan VAE (float32) and wav2vec2-base
(float32, on the CPU, as generate_infinitetalk.py runs it).

Stages (the device is synchronised at each boundary; hooks on the DiT time every forward):
  preparing   wav2vec2 embedding (generate_infinitetalk.get_embedding), then in generate_infinitetalk
              everything before the first DiT forward: image, umT5 on both prompts, CLIP, VAE encodes
  sampling    from each chunk's first DiT forward to its VAE decode
  decoding    VAE decode, plus what the reference does between chunks (colour matching on the CPU, the next
              chunk's CLIP and 81-frame VAE encode) — the same work talkgen's "decoding" stage holds
  encoding    the reference's save_video_ffmpeg (needs the ffmpeg CLI; null where it is missing)
One DiT forward at the job's shapes runs first (untimed in the job, reported as warmup): it compiles the
reference's @torch.compile'd attention map, a once-per-process cost a long-lived server would not pay.

Not reproduced: pyloudnorm's -23 LUFS normalisation (not installed on the GPU machine; a gain, no speed
effect) and librosa's soxr resampling (scipy's polyphase resampler instead).

    python3 tools/parity/bench_ref_pipeline.py --ref .ref/infinitetalk --steps 4 --text-guidance 1 \
        --audio-guidance 2 [--resolution 480p] [--frames 81] [--json-out ref.json]
    python3 tools/parity/bench_ref_pipeline.py --ref .ref/infinitetalk --tiny --device cpu   # a smoke run

Prints a summary and one JSON line (prefix "{"), the same stage names as `talkgen bench pipeline --json`.
"""
import argparse, contextlib, importlib, json, math, os, shutil, sys, tempfile, time, types, wave, zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import gen_pipeline  # noqa: E402  (ensure_importable, the tiny configs, randomize)

FPS = 25
CHUNK_FRAMES = 81
MOTION_FRAMES = 9
PROMPT = "A person is talking to the camera."  # talkgen's default prompt
DIT_14B = dict(model_type="i2v", patch_size=(1, 2, 2), text_len=512, in_dim=36, dim=5120, ffn_dim=13824,
               freq_dim=256, text_dim=4096, out_dim=16, num_heads=40, num_layers=40, window_size=(-1, -1),
               qk_norm=True, cross_attn_norm=True, eps=1e-6)
VAE_CFG = dict(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
               temperal_downsample=[False, True, True], dropout=0.0)
WAN_VAE_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
WAN_VAE_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
               3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ref", required=True, help="reference checkout (wan/ and src/)")
    p.add_argument("--image", default=os.path.join(REPO, "examples", "portrait.png"))
    p.add_argument("--audio", default=os.path.join(REPO, "examples", "speech.wav"), help="16-bit PCM WAV")
    p.add_argument("--resolution", default="480p", choices=["480p", "720p"])
    p.add_argument("--frames", type=int, default=CHUNK_FRAMES, help="video frames (81: one chunk, 153: two)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--text-guidance", type=float, default=1.0)
    p.add_argument("--audio-guidance", type=float, default=2.0)
    p.add_argument("--shift", type=float, default=None, help="default: 7 at 480p, 11 at 720p (the reference's)")
    p.add_argument("--color-correction", type=float, default=1.0, help="the reference CLI's default")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--offload-model", action="store_true",
                   help="the reference CLI's one-GPU default: move the DiT to the CPU after each chunk (off here, "
                        "as talkgen keeps its models on the GPU)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="gen_pipeline.py's tiny models (a smoke run on a CPU)")
    p.add_argument("--json-out", help="also write the JSON result here")
    return p.parse_args()


class Timer:
    """Wall-clock marks taken after the device has finished its queued work."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def now(self):
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


# ---------------------------------------------------------------------------------------------------------
# Inputs


def read_speech(path, seconds):
    """16 kHz mono float32 of `seconds`, looped or cut (as talkgen bench pipeline's speech_of_length)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            sys.exit(f"{path}: expected 16-bit PCM WAV, found {8 * w.getsampwidth()}-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    pcm = pcm.reshape(-1, channels).mean(axis=1)
    if rate != 16000:
        try:
            from scipy.signal import resample_poly
            g = math.gcd(16000, rate)
            pcm = resample_poly(pcm, 16000 // g, rate // g).astype(np.float32)
        except ImportError:
            t = np.arange(int(len(pcm) * 16000 / rate)) * rate / 16000
            pcm = np.interp(t, np.arange(len(pcm)), pcm).astype(np.float32)
    n = int(round(seconds * 16000))
    return np.resize(pcm, n)  # np.resize repeats the array cyclically


class WordTokenizer:
    """Stand-in for HuggingfaceTokenizer('google/umt5-xxl', seq_len=512, clean='whitespace') with a random
    vocabulary: one id per word (a CRC of it), then </s> (1), padded with 0. The encoder's work is the same:
    it runs all seq_len positions whatever the ids."""

    def __init__(self, seq_len, vocab):
        self.seq_len, self.vocab = seq_len, vocab

    def __call__(self, sequence, return_mask=False, add_special_tokens=True):
        texts = [sequence] if isinstance(sequence, str) else sequence
        ids = torch.zeros(len(texts), self.seq_len, dtype=torch.long)
        for i, text in enumerate(texts):
            row = [3 + zlib.crc32(w.encode()) % (self.vocab - 3) for w in text.split()][: self.seq_len - 1] + [1]
            ids[i, : len(row)] = torch.tensor(row)
        mask = ids.gt(0).long()
        return (ids, mask) if return_mask else ids


# ---------------------------------------------------------------------------------------------------------
# Models


def fill_random(module):
    """Every parameter drawn on its own device: matrices N(0, 1/fan_in), norm gains near 1, small vectors
    (the DiT is built with weight_init=False, i.e. uninitialised memory that may hold NaNs)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.normal_(1.0, 0.2)
            else:
                p.normal_(0.0, 0.1)


def build_full(ref, multitalk, dev):
    """The 14B pipeline's components, built on `dev` the way InfiniteTalkPipeline.__init__ leaves them."""
    times = {}
    t0 = time.perf_counter()
    with torch.device(dev):
        dit = ref.multitalk_model.WanModel(weight_init=False, **DIT_14B)
    fill_random(dit)
    dit.eval().requires_grad_(False)
    multitalk.to_param_dtype_fp32only(dit, torch.bfloat16)
    times["dit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    t5_model = ref.t5.umt5_xxl(encoder_only=True, return_tokenizer=False, dtype=torch.bfloat16,
                               device=dev).eval().requires_grad_(False)
    text_encoder = ref.t5.T5EncoderModel.__new__(ref.t5.T5EncoderModel)
    text_encoder.text_len, text_encoder.dtype, text_encoder.device = 512, torch.bfloat16, dev
    text_encoder.model = t5_model
    text_encoder.tokenizer = WordTokenizer(512, 256384)
    times["umt5"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    clip_model, transforms = ref.clip.clip_xlm_roberta_vit_h_14(pretrained=False, return_transforms=True,
                                                                return_tokenizer=False, dtype=torch.float16,
                                                                device=dev)
    clip = ref.clip.CLIPModel.__new__(ref.clip.CLIPModel)
    clip.dtype, clip.device = torch.float16, dev
    clip.model, clip.transforms = clip_model.eval().requires_grad_(False), transforms
    times["clip"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    vae = ref.vae.WanVAE.__new__(ref.vae.WanVAE)
    vae.dtype, vae.device = torch.float, dev
    vae.mean = torch.tensor(WAN_VAE_MEAN, dtype=torch.float, device=dev)
    vae.std = torch.tensor(WAN_VAE_STD, dtype=torch.float, device=dev)
    vae.scale = [vae.mean, 1.0 / vae.std]
    with torch.device(dev):
        vae.model = ref.vae.WanVAE_(**VAE_CFG).eval().requires_grad_(False)
    times["vae"] = time.perf_counter() - t0
    dims = dict(text_dim=4096, clip_dim=1280, audio_blocks=12, audio_channels=768, in_dim=36, out_dim=16)
    return dit, text_encoder, clip, vae, torch.bfloat16, dims, times


def build_tiny(ref, dev):
    """gen_pipeline.py's tiny components (float32), for a CPU smoke run of this harness."""
    import gen_dit
    g = torch.Generator().manual_seed(gen_pipeline.SEED)
    t0 = time.perf_counter()
    dit = gen_dit.build_model(ref.multitalk_model, gen_pipeline.DIT)
    gen_pipeline.randomize(dit, g)
    vae = ref.vae.WanVAE.__new__(ref.vae.WanVAE)
    vae.dtype, vae.device = torch.float, dev
    vae.mean, vae.std = torch.zeros(16, device=dev), torch.ones(16, device=dev)
    vae.scale = [vae.mean, 1.0 / vae.std]
    vae.model = ref.vae.WanVAE_(**gen_pipeline.VAE).eval().requires_grad_(False)
    gen_pipeline.randomize(vae.model, g, norm_std=0.25)
    vae.model.to(dev)
    vit = ref.clip.VisionTransformer(**gen_pipeline.CLIP).eval()
    gen_pipeline.randomize(vit, g, norm_std=0.1)
    clip = ref.clip.CLIPModel.__new__(ref.clip.CLIPModel)
    clip.model = gen_pipeline._ClipHolder(vit.to(dev), gen_pipeline.CLIP["image_size"])
    clip.dtype = torch.float32
    clip.transforms = ref.clip.T.Compose([ref.clip.T.Normalize(mean=gen_pipeline.CLIP_MEAN,
                                                               std=gen_pipeline.CLIP_STD)])
    vocab = 300
    t5_model = ref.t5.T5Encoder(shared_pos=False, dropout=0.0, vocab=vocab, **gen_pipeline.T5).eval()
    gen_pipeline.randomize(t5_model, g)
    text_encoder = ref.t5.T5EncoderModel.__new__(ref.t5.T5EncoderModel)
    text_encoder.text_len, text_encoder.dtype, text_encoder.device = 512, torch.float32, dev
    text_encoder.model = t5_model.to(dev)
    text_encoder.tokenizer = WordTokenizer(512, vocab)
    d = gen_pipeline.DIT
    dims = dict(text_dim=d["text_dim"], clip_dim=d["clip_dim"], audio_blocks=d["audio_blocks"],
                audio_channels=d["audio_channels"], in_dim=d["in_dim"], out_dim=d["out_dim"])
    return dit.to(dev), text_encoder, clip, vae, torch.float32, dims, {"all": time.perf_counter() - t0}


def audio_embedding(ref, speech, dims, tiny):
    """generate_infinitetalk.get_embedding on the CPU (its default device); [frames, blocks, channels]."""
    frames = int(len(speech) / 16000 * FPS)
    try:
        from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor
    except ImportError:
        if not tiny:
            raise
        print("note: transformers is not installed: a random audio embedding stands in for wav2vec2", file=sys.stderr)
        return torch.randn(frames, dims["audio_blocks"], dims["audio_channels"]), None
    w2v = harness.import_reference(ref, names=("wav2vec2",)).wav2vec2
    kwargs = {} if not tiny else dict(hidden_size=dims["audio_channels"], num_hidden_layers=dims["audio_blocks"],
                                      num_attention_heads=2, intermediate_size=16, conv_dim=(16,) * 7,
                                      num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    config = Wav2Vec2Config(**kwargs, attn_implementation="eager")  # the reference sets output_attentions
    model = w2v.Wav2Vec2Model(config).eval()
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=False)
    t0 = time.perf_counter()
    feature = torch.from_numpy(np.squeeze(extractor(speech, sampling_rate=16000).input_values)).float().unsqueeze(0)
    with torch.no_grad():
        hidden = harness.wav2vec2_hidden_states(model, feature, seq_len=int(len(speech) / 16000 * FPS))
    emb = hidden.squeeze(0).permute(1, 0, 2).contiguous()  # "b s d -> s b d"
    return emb, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------------------
# Timing the reference's own run


class Instrument:
    """Times the reference's calls without changing them: DiT forwards through module hooks, the encoders
    and the VAE through thin proxies that synchronise before and after."""

    def __init__(self, pipe, timer):
        self.timer, self.events = timer, []  # (what, start, end)
        self._fwd_start = None
        pipe.model.register_forward_pre_hook(lambda m, a: self._start())
        pipe.model.register_forward_hook(lambda m, a, o: self._end("dit"))
        pipe.text_encoder = self._proxy(pipe.text_encoder, {"__call__": "umt5"})
        pipe.clip = self._proxy(pipe.clip, {"visual": "clip"})
        pipe.vae = self._proxy(pipe.vae, {"encode": "vae_encode", "decode": "vae_decode"})

    def _start(self):
        self._fwd_start = self.timer.now()

    def _end(self, what):
        self.events.append((what, self._fwd_start, self.timer.now()))

    def _proxy(self, inner, timed):
        instrument = self

        class Proxy:
            def __getattr__(self, name):
                attr = getattr(inner, name)
                if name not in timed:
                    return attr

                def call(*a, **k):
                    t0 = instrument.timer.now()
                    out = attr(*a, **k)
                    instrument.events.append((timed[name], t0, instrument.timer.now()))
                    return out
                return call

            def __call__(self, *a, **k):
                return self.__getattr__("__call__")(*a, **k)
        return Proxy()

    def seconds(self, what):
        return [e - s for w, s, e in self.events if w == what]


def bucket_size(multitalk_utils, image_path, resolution):
    """generate_infinitetalk's bucket choice for the image (its aspect ratio against the table)."""
    from PIL import Image
    w, h = Image.open(image_path).size
    table = multitalk_utils.ASPECT_RATIO_627 if resolution == "480p" else multitalk_utils.ASPECT_RATIO_960
    key = sorted(table.keys(), key=lambda x: abs(float(x) - h / w))[0]
    return table[key][0]


def warmup_forward(pipe, dims, size, frame_num, dtype, dev):
    """One DiT forward at the job's shapes (compiles the reference's @torch.compile'd attention map)."""
    th, tw = size
    lat_t, lat_h, lat_w = (frame_num - 1) // 4 + 1, th // 8, tw // 8
    seq_len = lat_t * lat_h * lat_w // 4
    x = [torch.randn(dims["out_dim"], lat_t, lat_h, lat_w, device=dev)]
    args = dict(context=[torch.randn(16, dims["text_dim"], device=dev).to(dtype)],
                clip_fea=torch.randn(1, 257, dims["clip_dim"], device=dev).to(dtype),
                y=torch.randn(1, dims["in_dim"] - dims["out_dim"], lat_t, lat_h, lat_w, device=dev).to(dtype),
                audio=torch.randn(1, frame_num, 5, dims["audio_blocks"], dims["audio_channels"], device=dev).to(dtype),
                ref_target_masks=torch.ones(3, lat_h, lat_w, device=dev), seq_len=seq_len)
    pipe.model.disable_teacache()  # generate_infinitetalk sets this up itself; the bare model has no flag yet
    with torch.no_grad():
        pipe.model(x, t=torch.tensor([999.0], device=dev), **args)


def encode_video(multitalk_utils, video, speech, work):
    """The reference's save_video_ffmpeg (imageio writer + ffmpeg CLI mux); (seconds, note)."""
    if shutil.which("ffmpeg") is None:
        return None, "not measured: the reference muxes with the ffmpeg CLI, which this machine lacks"
    wav_path = os.path.join(work, "speech.wav")
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes())
    t0 = time.perf_counter()
    try:
        multitalk_utils.save_video_ffmpeg(video, os.path.join(work, "out"), [wav_path], high_quality_save=False)
    except Exception as e:  # noqa: BLE001 - report, do not fail the timing run
        return None, f"not measured: save_video_ffmpeg failed ({type(e).__name__}: {e})"
    return time.perf_counter() - t0, "save_video_ffmpeg"


def main():
    a = parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda but torch sees no CUDA device (use --tiny --device cpu for a smoke run)")
    ref_dir = os.path.abspath(a.ref)
    ref = harness.import_reference(ref_dir, names=("multitalk_model", "attention", "vae", "clip", "t5",
                                                   "multitalk_utils"))
    gen_pipeline.ensure_importable(ref_dir)
    multitalk = importlib.import_module("wan.multitalk")
    if dev.type != "cuda":  # torch_gc's ipc_collect() initialises CUDA
        multitalk.torch_gc = ref.multitalk_utils.torch_gc = lambda: None
    if a.tiny:
        harness.exact_attention(ref)  # the reference's flash_attention casts to bf16 (slow or absent on CPUs)
        ref.multitalk_utils.ASPECT_RATIO_627 = {k: ([gen_pipeline.scaled(h), gen_pipeline.scaled(w)], n)
                                                for k, ([h, w], n) in ref.multitalk_utils.ASPECT_RATIO_627.items()}
        ref.multitalk_utils.ASPECT_RATIO_960 = {k: ([gen_pipeline.scaled(h), gen_pipeline.scaled(w)], n)
                                                for k, ([h, w], n) in ref.multitalk_utils.ASPECT_RATIO_960.items()}
    timer = Timer(dev)
    streaming = a.frames > CHUNK_FRAMES
    shift = a.shift if a.shift is not None else (7.0 if a.resolution == "480p" else 11.0)

    t0 = time.perf_counter()
    if a.tiny:
        dit, text_encoder, clip, vae, dtype, dims, build = build_tiny(ref, dev)
    else:
        dit, text_encoder, clip, vae, dtype, dims, build = build_full(ref, multitalk, dev)
    cfg = importlib.import_module("wan.configs.wan_multitalk_14B").multitalk_14B
    pipe = multitalk.InfiniteTalkPipeline.__new__(multitalk.InfiniteTalkPipeline)
    pipe.device, pipe.config, pipe.rank, pipe.use_usp, pipe.t5_cpu = dev, cfg, 0, False, False
    pipe.num_train_timesteps, pipe.param_dtype = cfg.num_train_timesteps, dtype
    pipe.text_encoder, pipe.vae, pipe.clip, pipe.model = text_encoder, vae, clip, dit
    pipe.vae_stride, pipe.patch_size, pipe.sp_size = cfg.vae_stride, cfg.patch_size, 1
    pipe.sample_neg_prompt, pipe.num_timesteps, pipe.use_timestep_transform = cfg.sample_neg_prompt, 1000, True
    pipe.cpu_offload, pipe.model_names, pipe.vram_management = False, ["model"], False
    build_s = timer.now() - t0
    params = sum(p.numel() for p in dit.parameters())

    # The speech: generate_infinitetalk needs more embedding frames than frame_num for one clip; a streamed
    # job of F frames needs exactly F (its last chunk then ends on the audio's last frame, as talkgen's).
    emb_frames = a.frames if streaming else CHUNK_FRAMES + 1
    speech = read_speech(a.audio, (emb_frames + 0.5) / FPS)
    emb, audio_s = audio_embedding(ref_dir, speech, dims, a.tiny)
    work = tempfile.mkdtemp(prefix="bench-ref-pipeline-")
    emb_path = os.path.join(work, "person1.pt")
    torch.save(emb, emb_path)

    size = bucket_size(ref.multitalk_utils, a.image, a.resolution)
    t0 = timer.now()
    warmup_forward(pipe, dims, size, CHUNK_FRAMES, dtype, dev)
    warmup_s = timer.now() - t0

    inst = Instrument(pipe, timer)
    extra = types.SimpleNamespace(use_teacache=False, teacache_thresh=0.2, size=f"infinitetalk-{a.resolution[:3]}",
                                  use_apg=False, apg_momentum=-0.75, apg_norm_threshold=55)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = timer.now()
    with torch.no_grad():
        video = pipe.generate_infinitetalk(
            {"prompt": PROMPT, "cond_video": a.image, "cond_audio": {"person1": emb_path}},
            size_buckget=f"infinitetalk-{a.resolution[:3]}", motion_frame=MOTION_FRAMES, frame_num=CHUNK_FRAMES,
            shift=shift, sampling_steps=a.steps, text_guide_scale=a.text_guidance,
            audio_guide_scale=a.audio_guidance, n_prompt="", seed=a.seed, offload_model=a.offload_model,
            max_frames_num=1000 if streaming else CHUNK_FRAMES, progress=False,
            color_correction_strength=a.color_correction, extra_args=extra)
    end = timer.now()
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else None
    encoding_s, encoding_note = encode_video(ref.multitalk_utils, video, speech, work)

    # Stages from the recorded calls.
    fwd = [(s, e) for w, s, e in inst.events if w == "dit"]
    decodes = [(s, e) for w, s, e in inst.events if w == "vae_decode"]
    fpp = 2 if math.isclose(a.text_guidance, 1.0) else 3
    per_chunk = a.steps * fpp
    chunks = len(fwd) // per_chunk
    sampling = sum(decodes[c][0] - fwd[c * per_chunk][0] for c in range(chunks))
    step_starts = [fwd[i][0] for i in range(0, len(fwd), fpp)]
    steps = []
    for c in range(chunks):
        starts = step_starts[c * a.steps:(c + 1) * a.steps] + [decodes[c][0]]
        steps += [starts[i + 1] - starts[i] for i in range(a.steps)]
    in_generate_before = fwd[0][0] - start
    preparing = (audio_s or 0.0) + in_generate_before
    decoding = (end - start) - in_generate_before - sampling  # VAE decode + colour match + next-chunk encodes
    forward_s = sorted(e - s for s, e in fwd)[len(fwd) // 2]
    total = preparing + sampling + decoding + (encoding_s or 0.0)
    frames = int(video.shape[1])
    result = {
        "what": "reference_pipeline", "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__, "tiny": a.tiny, "offload_model": a.offload_model,
        "job": {"width": int(video.shape[3]), "height": int(video.shape[2]), "frames": frames,
                "video_seconds": frames / FPS, "chunks": chunks, "steps": a.steps, "text_guidance": a.text_guidance,
                "audio_guidance": a.audio_guidance, "forwards_per_step": fpp, "forwards": len(fwd),
                "mode": "streaming" if streaming else "clip", "dit_params": params},
        "seconds": {"model_build": build_s, "build_parts": build, "warmup_forward": warmup_s,
                    "preparing": preparing, "audio_embedding": audio_s, "umt5": sum(inst.seconds("umt5")),
                    "clip": sum(inst.seconds("clip")), "vae_encode": sum(inst.seconds("vae_encode")),
                    "sampling": sampling, "decoding": decoding, "vae_decode": sum(e - s for s, e in decodes),
                    "encoding": encoding_s, "total": total, "per_forward": forward_s, "steps": steps},
        "encoding_note": encoding_note,
        "seconds_per_video_second": total / (frames / FPS),
        "peak_gpu_gib": peak_gib,
        "finite": bool(torch.isfinite(video).all()),
    }
    s = result["seconds"]
    print(f"reference pipeline on {result['gpu']}: {result['job']['width']}x{result['job']['height']}, {frames} frames, "
          f"{chunks} chunk(s), {a.steps} steps x {fpp} forwards, DiT {params / 1e9:.2f} B params", file=sys.stderr)
    print(f"  build {build_s:.1f} s, warm-up forward {warmup_s:.1f} s; preparing {preparing:.2f} s (wav2vec2 "
          f"{audio_s if audio_s is not None else float('nan'):.2f}; over all chunks: umT5 {s['umt5']:.2f}, CLIP "
          f"{s['clip']:.2f}, VAE encodes {s['vae_encode']:.2f}), sampling {sampling:.2f} s ({forward_s:.3f} s per forward), decoding "
          f"{decoding:.2f} s (VAE decode {s['vae_decode']:.2f}), encoding "
          f"{'n/a' if encoding_s is None else f'{encoding_s:.2f} s'}; total {total:.2f} s = "
          f"{result['seconds_per_video_second']:.2f} s per video-second; peak "
          f"{'n/a' if peak_gib is None else f'{peak_gib:.1f} GiB'}", file=sys.stderr)
    line = json.dumps(result)
    print(line, flush=True)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
