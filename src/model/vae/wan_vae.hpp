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
//
// One file for the model, bottom-up: its sizes (VaeConfig, LatentScale), the leaf layers, the blocks,
// Encoder3d and Decoder3d, then WanVae and its streaming decoder. Tiling (vae_tiling.hpp) and the causal
// feature cache (feature_cache.hpp) have files of their own.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/vae/feature_cache.hpp"
#include "model/vae/vae_tiling.hpp"

namespace talkgen::model::vae {

/// Architecture of the causal 3-D VAE (the reference's WanVAE_ arguments). The official
/// `Wan2.1_VAE.pth` is `wan21()`; tests build small configs with the same structure.
struct VaeConfig {
  int64_t dim = 96;                              // base channel width
  int64_t z_dim = 16;                            // latent channels
  std::vector<int64_t> dim_mult{1, 2, 4, 4};     // channel multiplier per resolution stage
  int64_t num_res_blocks = 2;                    // residual blocks per encoder stage (decoder: one more)
  std::vector<bool> temporal_downsample{false, true, true};  // per stage transition, encoder side

  static VaeConfig wan21() { return {}; }

  /// Throws Error(invalid_argument / unsupported) for a config the encoder/decoder cannot build
  /// (the reference hard-codes 4 frames per latent frame and an 8x spatial stride at 4 stages).
  void validate() const;
  /// Pixels per latent pixel along H and W (8 for Wan2.1).
  int64_t spatial_stride() const { return int64_t{1} << (dim_mult.size() - 1); }
  /// Frames per latent frame after the first one (4 for Wan2.1).
  static constexpr int64_t temporal_stride() { return 4; }
};

/// Latent normalisation: normalised = (mu - mean) / std per channel (the reference's WanVAE.scale).
struct LatentScale {
  std::vector<float> mean;
  std::vector<float> std;

  /// The 16-channel statistics hard-coded in the reference's WanVAE.
  static LatentScale wan21();
  /// mean 0, std 1 (no normalisation), for `channels` channels.
  static LatentScale identity(int64_t channels);
  /// Throws Error(invalid_argument) unless both lists have `z_dim` finite entries and std > 0.
  void validate(int64_t z_dim) const;
};

// ---------------------------------------------------------------------------------------------------------
// The VAE's leaf layers, with the parameter names and shapes of the official checkpoint:
// CausalConv3d (weight, bias), Conv2d (weight, bias), RmsNorm (gamma).
/// Frames of history a cached causal conv keeps (the reference's CACHE_T).
inline constexpr int64_t kCacheFrames = 2;

/// 3-D convolution that pads only the past along time: 2*pt zero frames in front (or cached frames of
/// the previous chunk in their place), the usual symmetric padding along H and W.
class CausalConv3d : public torch::nn::Module {
 public:
  CausalConv3d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 3> kernel,
               std::array<int64_t, 3> stride = {1, 1, 1}, std::array<int64_t, 3> padding = {0, 0, 0});

  /// x: [B, Cin, T, H, W]. `history` (optional, [B, Cin, t, H, W]) stands in for the first t of the
  /// 2*pt zero frames, as in the reference's forward(x, cache_x).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& history = {}) const;
  /// The reference's cached call: convolve with the history kept in the next cache slot, then keep
  /// the last kCacheFrames frames of the input stream there for the next chunk.
  at::Tensor forward_cached(const at::Tensor& x, FeatureCache& cache) const;

  int64_t out_channels() const { return weight_.size(0); }

 private:
  at::Tensor weight_, bias_;
  std::array<int64_t, 3> stride_, padding_;
};

/// Plain 2-D convolution applied frame by frame ([N, C, H, W]).
class Conv2d : public torch::nn::Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_, bias_;
  int64_t stride_, padding_;
};

/// x / ||x||_2 over channels (dim 1) * sqrt(C) * gamma: the reference's RMS_norm(channel_first=True,
/// bias=False). `images` selects gamma's shape: [C, 1, 1] for [N, C, H, W] input, [C, 1, 1, 1] for video.
class RmsNorm : public torch::nn::Module {
 public:
  RmsNorm(int64_t channels, bool images);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor gamma_;
  double scale_;
};

// ---------------------------------------------------------------------------------------------------------
// The VAE's building blocks (wan/modules/vae.py): ResidualBlock, AttentionBlock, Resample and the
// output head, each run on one chunk of frames with the stream's FeatureCache.
/// A block of the encoder/decoder stacks: [B, C, T, H, W] in and out, temporal context in the cache.
class CachedBlock : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const = 0;
};

/// An ordered list of blocks whose checkpoint names are their positions ("downsamples.3....").
class BlockSequence : public torch::nn::Module {
 public:
  void append(std::shared_ptr<CachedBlock> block);
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const;

 private:
  std::vector<std::shared_ptr<CachedBlock>> blocks_;
};

/// residual: RMS_norm, SiLU, CausalConv3d(3), RMS_norm, SiLU, Dropout, CausalConv3d(3) (checkpoint
/// indices 0, 2, 3, 6), plus a 1x1x1 `shortcut` conv when the channel count changes.
class ResidualBlock : public CachedBlock {
 public:
  ResidualBlock(int64_t in_channels, int64_t out_channels);
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const override;

 private:
  std::shared_ptr<RmsNorm> norm1_, norm2_;
  std::shared_ptr<CausalConv3d> conv1_, conv2_, shortcut_;
};

/// Single-head self-attention over the H*W positions of each frame (no temporal mixing, no cache).
class AttentionBlock : public CachedBlock {
 public:
  explicit AttentionBlock(int64_t channels);
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const override;

 private:
  std::shared_ptr<RmsNorm> norm_;
  std::shared_ptr<Conv2d> to_qkv_, proj_;
};

/// Spatial x2 up/down-sampling, optionally with the causal temporal x2 the reference implements
/// through `time_conv` and the feature cache.
class Resample : public CachedBlock {
 public:
  enum class Mode { upsample2d, upsample3d, downsample2d, downsample3d };
  Resample(int64_t channels, Mode mode);
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const override;

 private:
  at::Tensor upsample_time(const at::Tensor& x, FeatureCache& cache) const;
  at::Tensor downsample_time(const at::Tensor& x, FeatureCache& cache) const;
  at::Tensor resample_space(const at::Tensor& x) const;

  Mode mode_;
  std::shared_ptr<Conv2d> conv_;             // "resample.1"
  std::shared_ptr<CausalConv3d> time_conv_;  // "time_conv" (3d modes only)
};

/// head: RMS_norm, SiLU, CausalConv3d(3) (checkpoint indices 0 and 2).
class OutputHead : public CachedBlock {
 public:
  OutputHead(int64_t in_channels, int64_t out_channels);
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const override;

 private:
  std::shared_ptr<RmsNorm> norm_;
  std::shared_ptr<CausalConv3d> conv_;
};

/// [B, C, T, H, W] <-> [B*T, C, H, W], for the layers that work frame by frame.
at::Tensor frames_to_images(const at::Tensor& x);
at::Tensor images_to_frames(const at::Tensor& x, int64_t batch);

// ---------------------------------------------------------------------------------------------------------
// Encoder3d: video chunk [B, 3, T, H, W] -> [B, 2*z_dim, T', H/8, W/8] (mean and log-variance).
/// Checkpoint names under "encoder.": conv1, downsamples.N, middle.{0,1,2}, head.{0,2}.
class Encoder3d : public torch::nn::Module {
 public:
  explicit Encoder3d(const VaeConfig& config);
  /// One chunk: the first chunk of a stream is 1 frame (-> 1 latent frame), later ones 4 frames each.
  at::Tensor forward(const at::Tensor& x, FeatureCache& cache) const;

 private:
  std::shared_ptr<CausalConv3d> conv1_;
  std::shared_ptr<BlockSequence> downsamples_, middle_;
  std::shared_ptr<OutputHead> head_;
};

// ---------------------------------------------------------------------------------------------------------
// Decoder3d: latent chunk [B, z_dim, t, h, w] -> video [B, 3, T, 8h, 8w] (before clamping).
/// Checkpoint names under "decoder.": conv1, middle.{0,1,2}, upsamples.N, head.{0,2}.
class Decoder3d : public torch::nn::Module {
 public:
  explicit Decoder3d(const VaeConfig& config);
  /// One latent frame per call, as the reference decodes: the stream's first latent frame gives
  /// 1 frame, every later one 4 frames.
  at::Tensor forward(const at::Tensor& z, FeatureCache& cache) const;

 private:
  std::shared_ptr<CausalConv3d> conv1_;
  std::shared_ptr<BlockSequence> middle_, upsamples_;
  std::shared_ptr<OutputHead> head_;
};

// ---------------------------------------------------------------------------------------------------------
// WanVae, its loader and its streaming decoder.
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
