// Encoder3d: video chunk [B, 3, T, H, W] -> [B, 2*z_dim, T', H/8, W/8] (mean and log-variance).
#pragma once

#include <memory>

#include "model/vae/vae_blocks.hpp"
#include "model/vae/vae_config.hpp"

namespace talkgen::model::vae {

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

}  // namespace talkgen::model::vae
