// The VAE's building blocks (wan/modules/vae.py): ResidualBlock, AttentionBlock, Resample and the
// output head, each run on one chunk of frames with the stream's FeatureCache.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/vae/feature_cache.hpp"
#include "model/vae/vae_layers.hpp"

namespace talkgen::model::vae {

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

}  // namespace talkgen::model::vae
