// The VAE's leaf layers, with the parameter names and shapes of the official checkpoint:
// CausalConv3d (weight, bias), Conv2d (weight, bias), RmsNorm (gamma).
#pragma once

#include <array>
#include <cstdint>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/vae/feature_cache.hpp"

namespace talkgen::model::vae {

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

}  // namespace talkgen::model::vae
