// The work of one job, from the model's sizes alone: DiT FLOPs per forward, parameter counts, frames,
// chunks and forwards. No hardware here (that is rates.hpp / time_model.hpp).
#pragma once

#include <cstdint>
#include <optional>

#include "talkgen/generate.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

/// InfiniteTalk = Wan2.1-I2V-14B (wan/configs/wan_multitalk_14B.py) + the audio modules
/// (wan/modules/multitalk_model.py: AudioProjModel, SingleStreamMutiAttention, one speaker).
struct ModelDims {
  double dim = 5120, ffn_dim = 13824, heads = 40, layers = 40;
  double in_dim = 36, out_dim = 16, freq_dim = 256;
  double text_dim = 4096, text_len = 512;          // umT5 context, zero-padded to 512 tokens
  double clip_dim = 1280, clip_tokens = 257;       // CLIP ViT-H/14 penultimate tokens
  double audio_tokens = 32, audio_dim = 768;       // audio context tokens per latent frame (one speaker)
  double audio_window = 5, audio_window_vf = 8, audio_blocks = 12, audio_channels = 768, audio_hidden = 512;
  int patch_t = 1, patch_h = 2, patch_w = 2;       // patch (1, 2, 2)
  int vae_stride_t = 4, vae_stride_hw = 8;         // VAE stride (4, 8, 8)
};

/// FLOPs (multiply-add = 2) of one DiT forward, batch 1, split by how each term scales.
struct ForwardFlops {
  double per_token = 0;       ///< linears + text/image/audio cross-attention: proportional to tokens
  double fixed = 0;           ///< embeddings of text, image, audio and time: independent of tokens
  double self_attention = 0;  ///< QK^T and PV over all tokens: proportional to tokens^2
  double total() const { return per_token + fixed + self_attention; }
};

/// Tokens of a forward: latent frames (1 + (frames - 1) / 4) x (height / 16) x (width / 16).
std::int64_t dit_tokens(const ModelDims& m, std::int64_t frames, int height, int width);
/// `tokens` video tokens in `latent_frames` latent frames.
ForwardFlops dit_forward_flops(const ModelDims& m, double tokens, double latent_frames);
/// Parameters of the DiT with the audio modules (~18.9e9).
double dit_parameters(const ModelDims& m);
/// Parameters of one transformer block (~464e6; the 40 blocks are 98% of the DiT).
double dit_block_parameters(const ModelDims& m);
/// The Linear layers of one block: what an FP8 / int8 checkpoint stores in 8 bits (one scale per output
/// channel); the block's biases, norms and modulation stay bf16.
struct BlockLinears {
  double weights = 0;          ///< weight-matrix elements
  double output_channels = 0;  ///< rows of those matrices (one scale each)
};
BlockLinears dit_block_linears(const ModelDims& m);

/// The other models (parameter counts from their reference configs).
constexpr double kUmt5EncoderParams = 5.68e9;        // umT5-XXL encoder, 24 layers x 4096, vocab 256384
constexpr double kUmt5EncoderMatmulParams = 4.63e9;  // ... without the embedding table (what a token costs)
constexpr double kClipVisionParams = 0.632e9;        // ViT-H/14 visual tower
constexpr double kVaeParams = 0.127e9;               // Wan2.1 VAE, kept in float32 as the reference does
constexpr double kWav2vec2Params = 0.095e9;          // chinese-wav2vec2-base
/// Wan VAE FLOPs per output pixel-frame, counted conv by conv from wan/modules/vae.py (dim 96, mult
/// 1,2,4,4, 2 res blocks): decoder ~8.4 MFLOP (full-resolution 96- and 192-channel 3x3x3 convs dominate),
/// encoder ~5.0 MFLOP.
constexpr double kVaeDecodeFlopsPerPixel = 8.4e6;
constexpr double kVaeEncodeFlopsPerPixel = 5.0e6;

constexpr double kFps = 25.0;      // the model's frame rate
constexpr int kChunkFrames = 81;   // frames per chunk (4k + 1)
constexpr int kMotionFrames = 9;   // frames carried into the next chunk


/// Frame size of a resolution's landscape bucket: 480p 480x832, 720p 720x1280.
void resolution_size(Resolution resolution, int* height, int* width);
/// Streaming chunks for `frames` frames: 1 + ceil((frames - 81) / 72).
int chunk_count(std::int64_t frames);

/// Everything the time and memory models need about one job.
struct Workload {
  PlanWorkload summary;
  ForwardFlops flops;
  double latent_frames = 0;
  double pixels_per_frame = 0;
};
/// The output frame size: `frame` when given (width x height, e.g. a square portrait's 640x640 bucket),
/// else the resolution's landscape bucket.
struct FrameSize {
  int width = 0, height = 0;
};
/// Throws Error(invalid_argument) for a duration <= 0 or not finite, settings with steps < 1, or a frame
/// size that is not a positive multiple of 16.
Workload describe_workload(double duration_seconds, const QualitySettings& settings, Resolution resolution,
                           const ModelDims& m = {}, std::optional<FrameSize> frame = std::nullopt);

}  // namespace talkgen::planner
