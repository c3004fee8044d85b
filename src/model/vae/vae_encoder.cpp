#include "model/vae/vae_encoder.hpp"

namespace talkgen::model::vae {

Encoder3d::Encoder3d(const VaeConfig& config) {
  std::vector<int64_t> dims{config.dim};
  for (int64_t m : config.dim_mult) dims.push_back(config.dim * m);

  conv1_ = register_module("conv1", std::make_shared<CausalConv3d>(3, dims[0], std::array<int64_t, 3>{3, 3, 3},
                                                                   std::array<int64_t, 3>{1, 1, 1},
                                                                   std::array<int64_t, 3>{1, 1, 1}));
  downsamples_ = register_module("downsamples", std::make_shared<BlockSequence>());
  const size_t stages = config.dim_mult.size();
  for (size_t i = 0; i < stages; ++i) {
    int64_t in = dims[i];
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks; ++r) {
      downsamples_->append(std::make_shared<ResidualBlock>(in, out));
      in = out;
    }
    if (i + 1 != stages) {
      downsamples_->append(std::make_shared<Resample>(
          out, config.temporal_downsample[i] ? Resample::Mode::downsample3d : Resample::Mode::downsample2d));
    }
  }
  const int64_t out = dims.back();
  middle_ = register_module("middle", std::make_shared<BlockSequence>());
  middle_->append(std::make_shared<ResidualBlock>(out, out));
  middle_->append(std::make_shared<AttentionBlock>(out));
  middle_->append(std::make_shared<ResidualBlock>(out, out));
  head_ = register_module("head", std::make_shared<OutputHead>(out, config.z_dim * 2));
}

at::Tensor Encoder3d::forward(const at::Tensor& x, FeatureCache& cache) const {
  at::Tensor h = conv1_->forward_cached(x, cache);
  h = downsamples_->forward(h, cache);
  h = middle_->forward(h, cache);
  return head_->forward(h, cache);
}

}  // namespace talkgen::model::vae
