// Decoder3d: latent chunk [B, z_dim, t, h, w] -> video [B, 3, T, 8h, 8w] (before clamping).
#pragma once

#include <memory>

#include "model/vae/vae_blocks.hpp"
#include "model/vae/vae_config.hpp"

namespace talkgen::model::vae {

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

}  // namespace talkgen::model::vae
