// Sizes of the InfiniteTalk DiT: Wan2.1-I2V-14B plus the audio modules (audio_proj, audio_cross_attn).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace talkgen::model::dit {

struct DitConfig {
  // Wan2.1 transformer (the checkpoint's config.json keys).
  int64_t dim = 5120;
  int64_t ffn_dim = 13824;
  int64_t num_heads = 40;
  int64_t num_layers = 40;
  int64_t in_dim = 36;     // 16 noisy-latent channels + 4 mask + 16 reference-latent channels
  int64_t out_dim = 16;
  int64_t freq_dim = 256;  // sinusoidal time embedding width
  int64_t text_dim = 4096; // umT5-XXL hidden size
  int64_t text_len = 512;  // the text context is zero-padded to this many tokens
  std::array<int64_t, 3> patch_size{1, 2, 2};
  double eps = 1e-6;
  // Image conditioning: CLIP ViT-H/14 penultimate tokens (fixed in the reference: 1280 wide, 257 tokens).
  int64_t clip_dim = 1280;
  int64_t clip_tokens = 257;
  // Audio conditioning (AudioProjModel defaults in the reference; wav2vec2-base: 12 layers x 768).
  int64_t audio_window = 5;      // wav2vec2 frames around each video frame
  int64_t vae_scale = 4;         // video frames per latent frame (after the first)
  int64_t audio_blocks = 12;     // wav2vec2 hidden-state layers stacked per frame
  int64_t audio_channels = 768;
  int64_t audio_intermediate_dim = 512;
  int64_t audio_output_dim = 768;  // width of the audio context tokens
  int64_t audio_context_tokens = 32;  // audio tokens per latent frame per speaker

  int64_t head_dim() const { return dim / num_heads; }
  /// Window of the audio frames that share one later latent frame: audio_window + vae_scale - 1.
  int64_t audio_window_vf() const { return audio_window + vae_scale - 1; }

  /// Wan2.1-I2V-14B + InfiniteTalk (the defaults above).
  static DitConfig wan_14b();
  /// A tiny model for tests (the same shape as tools/parity/gen_dit.py's tiny config).
  static DitConfig tiny();
  /// Reads a checkpoint's config.json ("dim", "ffn_dim", "num_heads", ...); absent keys keep the
  /// 14B defaults. Throws Error(not_found / invalid_argument).
  static DitConfig from_json_file(const std::string& path);

  /// Throws Error(invalid_argument) when the sizes cannot work (e.g. a head dim RoPE cannot split).
  void validate() const;
};

}  // namespace talkgen::model::dit
