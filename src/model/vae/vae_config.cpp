#include "model/vae/vae_config.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "talkgen/error.hpp"

namespace talkgen::model::vae {

void VaeConfig::validate() const {
  if (dim <= 0 || z_dim <= 0 || num_res_blocks <= 0) {
    fail(ErrorCode::invalid_argument,
         "VAE config: dim, z_dim and num_res_blocks must be positive, found dim={} z_dim={} num_res_blocks={}",
         dim, z_dim, num_res_blocks);
  }
  if (dim_mult.size() != 4 || std::any_of(dim_mult.begin(), dim_mult.end(), [](int64_t m) { return m <= 0; })) {
    fail(ErrorCode::unsupported,
         "VAE config: dim_mult must have 4 positive entries (the Wan decoder halves channels at every "
         "upsample of a 4-stage layout), found [{}]; use the layout of VaeConfig::wan21()",
         fmt::join(dim_mult, ", "));
  }
  if (temporal_downsample.size() != dim_mult.size() - 1) {
    fail(ErrorCode::invalid_argument, "VAE config: temporal_downsample needs {} entries (one per stage transition), found {}",
         dim_mult.size() - 1, temporal_downsample.size());
  }
  if (std::count(temporal_downsample.begin(), temporal_downsample.end(), true) != 2) {
    fail(ErrorCode::unsupported,
         "VAE config: exactly 2 temporal downsamples are supported (encode/decode work in chunks of 4 frames as "
         "the reference does), found {}", std::count(temporal_downsample.begin(), temporal_downsample.end(), true));
  }
  // Decoder upsample3d doubles channels in its time conv and halves them in the 2-D conv: channel counts
  // must stay even where that happens.
  for (size_t i = 0; i + 1 < dim_mult.size(); ++i) {
    if ((dim * dim_mult[dim_mult.size() - 1 - i]) % 2 != 0) {
      fail(ErrorCode::invalid_argument, "VAE config: dim * dim_mult must be even for every upsampled stage, found dim={}", dim);
    }
  }
}

LatentScale LatentScale::wan21() {
  return {{-0.7571f, -0.7089f, -0.9113f, 0.1075f, -0.1745f, 0.9653f, -0.1517f, 1.5508f,
           0.4134f, -0.0715f, 0.5517f, -0.3632f, -0.1922f, -0.9497f, 0.2503f, -0.2921f},
          {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
           3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f}};
}

LatentScale LatentScale::identity(int64_t channels) {
  return {std::vector<float>(static_cast<size_t>(channels), 0.0f), std::vector<float>(static_cast<size_t>(channels), 1.0f)};
}

void LatentScale::validate(int64_t z_dim) const {
  if (static_cast<int64_t>(mean.size()) != z_dim || static_cast<int64_t>(std.size()) != z_dim) {
    fail(ErrorCode::invalid_argument,
         "VAE latent scale: expected {} means and {} stds (one per latent channel), found {} and {}; "
         "pass LatentScale::wan21() for the official 16-channel VAE",
         z_dim, z_dim, mean.size(), std.size());
  }
  for (int64_t c = 0; c < z_dim; ++c) {
    if (!std::isfinite(mean[c]) || !std::isfinite(std[c]) || !(std[c] > 0.0f)) {
      fail(ErrorCode::invalid_argument, "VAE latent scale: channel {} has mean {} std {}; means must be finite and stds > 0",
           c, mean[c], std[c]);
    }
  }
}

}  // namespace talkgen::model::vae
