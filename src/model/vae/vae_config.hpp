// Shape of the Wan2.1 video VAE and the per-channel statistics that normalise its latents.
#pragma once

#include <cstdint>
#include <vector>

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

}  // namespace talkgen::model::vae
