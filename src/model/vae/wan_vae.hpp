// WanVae: the Wan2.1 causal video VAE, checkpoint-compatible with `Wan2.1_VAE.pth`.
//
//   VaeLoadOptions options;
//   options.device = at::Device(at::kCUDA, 0);
//   auto vae = load_wan_vae("Wan2.1_VAE.pth", options);
//   at::Tensor z = vae->encode(video);            // [B,3,1+4k,H,W] in [-1,1] -> [B,16,1+k,H/8,W/8]
//   at::Tensor frames = vae->decode(z);           // -> [B,3,1+4(t-1),8h,8w] in [-1,1]
//   VaeDecodeStream stream(vae);                  // or chunk by chunk: 1 frame, then 4 per latent frame
//   for (int64_t i = 0; i < z.size(2); ++i) sink(stream.push(z.narrow(2, i, 1)));
//
// Mirrors wan/modules/vae.py (WanVAE_ + the WanVAE wrapper): encoding runs the first frame, then
// chunks of 4 frames, decoding one latent frame at a time, each with the feature cache carrying the
// causal context, so memory is bounded by one chunk whatever the video length.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/vae/feature_cache.hpp"
#include "model/vae/vae_config.hpp"
#include "model/vae/vae_decoder.hpp"
#include "model/vae/vae_encoder.hpp"
#include "model/vae/vae_tiling.hpp"

namespace talkgen::model::vae {

struct DecodeOptions {
  /// Clamp the frames to [-1, 1], as the reference's WanVAE.decode does.
  bool clamp = true;
  /// Decode in overlapping spatial tiles (less memory, approximate; see vae_tiling.hpp). Set it to
  /// TileOptions{} for 256 px tiles, 64 px overlap and 64 px of context.
  std::optional<TileOptions> tiling;
};

/// Checkpoint names: encoder.*, conv1.*, conv2.*, decoder.* (the keys of Wan2.1_VAE.pth).
class WanVae : public torch::nn::Module {
 public:
  explicit WanVae(VaeConfig config = VaeConfig::wan21(), LatentScale scale = LatentScale::wan21());

  /// video: [B, 3, T, H, W] in [-1, 1], T = 1 + 4k, H and W multiples of 8 (moved to the model's
  /// device and dtype). Returns normalised latents (mu - mean) / std, float32, [B, z, 1 + k, H/8, W/8].
  at::Tensor encode(const at::Tensor& video) const;
  /// latents: normalised, [B, z, t, h, w]. Returns float32 frames [B, 3, 1 + 4(t-1), 8h, 8w] on the
  /// model's device.
  at::Tensor decode(const at::Tensor& latents, const DecodeOptions& options = {}) const;

  /// Decoding pieces used by VaeDecodeStream: normalised latents -> decoder input (mean/std undone,
  /// then conv2), and one decoder step on one latent frame.
  at::Tensor decoder_input(const at::Tensor& latents) const;
  at::Tensor decode_frame(const at::Tensor& decoder_input_frame, FeatureCache& cache) const;

  const VaeConfig& config() const { return config_; }
  const LatentScale& scale() const { return scale_; }
  at::Device device() const;
  at::ScalarType dtype() const;
  /// Throws Error(invalid_argument) unless `latents` is [B, z_dim, t >= 1, h, w] floating point.
  void check_latents(const at::Tensor& latents) const;

 private:
  VaeConfig config_;
  LatentScale scale_;
  at::Tensor mean_, inv_std_;  // float32, CPU; moved next to the data when used
  std::shared_ptr<Encoder3d> encoder_;
  std::shared_ptr<CausalConv3d> conv1_, conv2_;
  std::shared_ptr<Decoder3d> decoder_;
};

struct VaeLoadOptions {
  VaeConfig config = VaeConfig::wan21();
  LatentScale scale = LatentScale::wan21();
  /// float32 is what the reference runs; bfloat16 halves memory and time at some accuracy cost.
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
};

/// Builds the VAE and loads `checkpoint` (Wan2.1_VAE.pth or any format open_checkpoint reads)
/// strictly: a missing, extra or mis-shaped key is an Error(checkpoint_mismatch) naming it.
std::shared_ptr<WanVae> load_wan_vae(const std::string& checkpoint, const VaeLoadOptions& options = {});

/// Decodes latents chunk by chunk, in order, keeping the causal context between pushes: the frames
/// a push returns are final, so the pipeline can encode them to video before sampling more.
class VaeDecodeStream {
 public:
  explicit VaeDecodeStream(std::shared_ptr<const WanVae> vae, DecodeOptions options = {});

  /// latents: the next t >= 1 normalised latent frames [B, z, t, h, w] (same B, h, w every time).
  /// Returns their frames, float32 [B, 3, n, 8h, 8w]: n = 1 + 4(t-1) on the first push, 4t later.
  at::Tensor push(const at::Tensor& latents);
  /// Latent frames pushed so far.
  int64_t latent_frames() const { return latent_frames_; }
  /// Bytes of causal context held between pushes (all tiles).
  int64_t cache_bytes() const;

 private:
  at::Tensor decode_tile(const at::Tensor& latents, FeatureCache& cache) const;

  std::shared_ptr<const WanVae> vae_;
  DecodeOptions options_;
  std::vector<FeatureCache> caches_;       // one per tile (one when untiled)
  std::optional<TileBlender> blender_;     // tiled decoding only
  std::vector<int64_t> latent_shape_;      // [B, z, h, w] of the first push
  int64_t latent_frames_ = 0;
};

}  // namespace talkgen::model::vae
