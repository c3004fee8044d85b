"""Parity data for the wav2vec2 audio encoder (src/model/wav2vec2): the reference's get_embedding().

Builds tiny Wav2Vec2Configs with seeded random weights, saves each as a Hugging Face folder
(config.json + model.safetensors via save_pretrained, preprocessor_config.json of the feature
extractor), runs the reference (src/audio_analysis/wav2vec2.py, eager attention, fp32) the way
generate_infinitetalk.py's get_embedding does, and writes io.safetensors beside the model:
  speech     [N]            the raw 16 kHz samples fed to the feature extractor
  features   [1, C, T]      the conv feature encoder's output (before resampling), for debugging
  embedding  [F, L, H]      get_embedding's result: hidden_states[1:] stacked, "b s d -> s b d"

    python3 tools/parity/gen_wav2vec2.py --ref .ref/infinitetalk             # -> tests/data/parity/wav2vec2/{group,layer}
    python3 tools/parity/gen_wav2vec2.py --ref .ref/infinitetalk --full --out /tmp/full --device cuda
                                                                           # -> /tmp/full/wav2vec2/full (base size)
"""
import os

import numpy as np
import torch

from common import harness, parse_args, provenance, save_safetensors

SEED = 1234

# Two tiny variants that between them exercise every config switch the C++ reads.
TINY = {
    # chinese-wav2vec2-base's layout: GroupNorm on the first conv only, no conv bias, even pos kernel.
    "group": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                  conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), conv_bias=False,
                  feat_extract_norm="group", num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                  hidden_act="gelu", feat_extract_activation="gelu"),
    # LayerNorm after every conv, conv bias, odd pos kernel, tanh GELU in the feed-forward.
    "layer": dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=48,
                  conv_dim=(12, 16, 16), conv_stride=(4, 2, 2), conv_kernel=(8, 3, 2), conv_bias=True,
                  feat_extract_norm="layer", num_conv_pos_embeddings=9, num_conv_pos_embedding_groups=3,
                  hidden_act="gelu_new", feat_extract_activation="gelu"),
}
SAMPLES = {"group": 12320, "layer": 17777, "full": 5 * 16000 + 1234}  # 19, 27 and 126 video frames


def randomize(model, seed):
    """Weights at the scale of a trained model (HF's init uses std 0.02, which makes every layer near
    the identity and parity weak): 1/sqrt(fan_in) for matrices, 1 + noise for norm scales."""
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
            p.copy_(value.to(p.dtype))


def speech(n, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / 16000
    x = 0.3 * torch.sin(2 * np.pi * 220 * t) + 0.2 * torch.sin(2 * np.pi * 1370 * t * (1 + t))
    return (x + 0.05 * torch.randn(n, generator=g, dtype=torch.float64)).float()


def get_embedding(speech_array, feature_extractor, audio_encoder, device, sr=16000):
    """generate_infinitetalk.get_embedding, line for line (that module imports the whole app)."""
    audio_duration = len(speech_array) / sr
    video_length = audio_duration * 25  # Assume the video fps is 25
    audio_feature = np.squeeze(feature_extractor(speech_array, sampling_rate=sr).input_values)
    audio_feature = torch.from_numpy(audio_feature).float().to(device=device).unsqueeze(0)
    with torch.no_grad():
        hooked = harness.wav2vec2_hidden_states(audio_encoder, audio_feature, seq_len=int(video_length))
        try:
            hs = audio_encoder(audio_feature, seq_len=int(video_length), output_hidden_states=True).hidden_states
        except Exception as e:  # transformers 5 may reject the reference's keyword plumbing
            print(f"note: output_hidden_states path unavailable ({type(e).__name__}); using the layer hooks")
            hs = None
        features = audio_encoder.feature_extractor(audio_feature)
    stacked = hooked
    if hs is not None and len(hs) == audio_encoder.config.num_hidden_layers + 1:
        # transformers 4 fills hidden_states: check the hooks see the same tensors.
        stacked = torch.stack(hs[1:], dim=1)
        assert torch.equal(stacked, hooked), "hooked layer outputs differ from hidden_states[1:]"
    audio_emb = stacked.squeeze(0).permute(1, 0, 2)  # rearrange "b s d -> s b d"
    return audio_emb.cpu().detach(), features.cpu()


def build(args, name, cfg_kwargs, seed):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor
    ref = harness.import_reference(args.ref, names=("wav2vec2",))
    # eager attention: the reference's forward sets config.output_attentions = True.
    config = Wav2Vec2Config(**cfg_kwargs, attn_implementation="eager")
    torch.manual_seed(seed)
    model = ref.wav2vec2.Wav2Vec2Model(config).eval()
    randomize(model, seed)
    out_dir = os.path.join(args.out, "wav2vec2", name)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    feature_extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                                 do_normalize=True, return_attention_mask=False)
    feature_extractor.save_pretrained(out_dir)

    model = model.to(args.device)
    wave = speech(SAMPLES[name], seed + 1)
    emb, features = get_embedding(wave.numpy(), feature_extractor, model, args.device)
    frames = int(len(wave) / 16000 * 25)
    assert emb.shape == (frames, config.num_hidden_layers, config.hidden_size), emb.shape
    meta = provenance(args, "wav2vec2/" + name, cfg_kwargs, seed)
    save_safetensors({"speech": wave, "features": features, "embedding": emb},
                     os.path.join(out_dir, "io.safetensors"), metadata=meta)
    print(f"wav2vec2/{name}: speech {tuple(wave.shape)} -> embedding {tuple(emb.shape)}, "
          f"max |emb| {emb.abs().max().item():.4g} -> {out_dir}")


def main():
    args = parse_args(__doc__)
    # Exact fp32 on CUDA: no TF32 in convolutions (cuDNN's default) or matmuls.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    if args.full:
        # Base size (chinese-wav2vec2-base shapes: Wav2Vec2Config defaults), random weights.
        build(args, "full", dict(feat_extract_norm="group", conv_bias=False), SEED)
    else:
        for i, (name, cfg) in enumerate(TINY.items()):
            build(args, name, cfg, SEED + 10 * i)


if __name__ == "__main__":
    main()
