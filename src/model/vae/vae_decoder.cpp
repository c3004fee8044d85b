#include "model/vae/vae_decoder.hpp"

namespace talkgen::model::vae {

Decoder3d::Decoder3d(const VaeConfig& config) {
  // Widths from the deepest stage outwards: [d*m_last, d*m_last, ..., d*m_0].
  std::vector<int64_t> dims{config.dim * config.dim_mult.back()};
  for (auto it = config.dim_mult.rbegin(); it != config.dim_mult.rend(); ++it) dims.push_back(config.dim * *it);

  conv1_ = register_module("conv1", std::make_shared<CausalConv3d>(config.z_dim, dims[0], std::array<int64_t, 3>{3, 3, 3},
                                                                   std::array<int64_t, 3>{1, 1, 1},
                                                                   std::array<int64_t, 3>{1, 1, 1}));
  middle_ = register_module("middle", std::make_shared<BlockSequence>());
  middle_->append(std::make_shared<ResidualBlock>(dims[0], dims[0]));
  middle_->append(std::make_shared<AttentionBlock>(dims[0]));
  middle_->append(std::make_shared<ResidualBlock>(dims[0], dims[0]));

  upsamples_ = register_module("upsamples", std::make_shared<BlockSequence>());
  const size_t stages = config.dim_mult.size();
  for (size_t i = 0; i < stages; ++i) {
    // Every upsample before this stage halved its channels (its 2-D conv maps C -> C/2).
    int64_t in = i == 0 ? dims[i] : dims[i] / 2;
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks + 1; ++r) {
      upsamples_->append(std::make_shared<ResidualBlock>(in, out));
      in = out;
    }
    if (i + 1 != stages) {
      // temporal_upsample is temporal_downsample reversed.
      const bool temporal = config.temporal_downsample[stages - 2 - i];
      upsamples_->append(std::make_shared<Resample>(out, temporal ? Resample::Mode::upsample3d : Resample::Mode::upsample2d));
    }
  }
  head_ = register_module("head", std::make_shared<OutputHead>(dims.back(), 3));
}

at::Tensor Decoder3d::forward(const at::Tensor& z, FeatureCache& cache) const {
  at::Tensor h = conv1_->forward_cached(z, cache);
  h = middle_->forward(h, cache);
  h = upsamples_->forward(h, cache);
  return head_->forward(h, cache);
}

}  // namespace talkgen::model::vae
