#include "model/vae/vae_layers.hpp"

#include <cmath>

namespace talkgen::model::vae {
namespace {

// PyTorch's default conv init (kaiming_uniform with a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
// weight and bias. Only random-weight models (tests, benchmarks) keep these values.
std::pair<at::Tensor, at::Tensor> default_conv_init(at::IntArrayRef weight_shape) {
  int64_t fan_in = 1;
  for (size_t i = 1; i < weight_shape.size(); ++i) fan_in *= weight_shape[i];
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return {at::empty(weight_shape).uniform_(-bound, bound), at::empty({weight_shape[0]}).uniform_(-bound, bound)};
}

}  // namespace

CausalConv3d::CausalConv3d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 3> kernel,
                           std::array<int64_t, 3> stride, std::array<int64_t, 3> padding)
    : stride_(stride), padding_(padding) {
  auto [w, b] = default_conv_init({out_channels, in_channels, kernel[0], kernel[1], kernel[2]});
  weight_ = register_parameter("weight", w, /*requires_grad=*/false);
  bias_ = register_parameter("bias", b, /*requires_grad=*/false);
}

at::Tensor CausalConv3d::forward(const at::Tensor& x, const at::Tensor& history) const {
  const int64_t time_pad = 2 * padding_[0];
  at::Tensor input = x;
  int64_t zeros_in_front = time_pad;
  if (history.defined() && time_pad > 0) {
    input = at::cat({history.to(x.device(), x.scalar_type()), x}, 2);
    zeros_in_front -= history.size(2);
  }
  if (zeros_in_front > 0) input = at::constant_pad_nd(input, {0, 0, 0, 0, zeros_in_front, 0});
  // H/W padding goes to the convolution itself (zeros either way; saves a padded copy).
  return at::conv3d(input, weight_, bias_, {stride_[0], stride_[1], stride_[2]}, {0, padding_[1], padding_[2]});
}

at::Tensor CausalConv3d::forward_cached(const at::Tensor& x, FeatureCache& cache) const {
  auto& slot = cache.next();
  at::Tensor keep = last_frames(x, kCacheFrames);
  if (keep.size(2) < kCacheFrames && slot.kind == FeatureCache::Slot::Kind::frames) {
    // A one-frame chunk: keep the previous chunk's last frame in front of it.
    keep = at::cat({last_frames(slot.frames, 1), keep}, 2);
  }
  at::Tensor out = forward(x, slot.kind == FeatureCache::Slot::Kind::frames ? slot.frames : at::Tensor());
  slot.store(std::move(keep));
  return out;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding)
    : stride_(stride), padding_(padding) {
  auto [w, b] = default_conv_init({out_channels, in_channels, kernel, kernel});
  weight_ = register_parameter("weight", w, /*requires_grad=*/false);
  bias_ = register_parameter("bias", b, /*requires_grad=*/false);
}

at::Tensor Conv2d::forward(const at::Tensor& x) const {
  return at::conv2d(x, weight_, bias_, {stride_, stride_}, {padding_, padding_});
}

RmsNorm::RmsNorm(int64_t channels, bool images) : scale_(std::sqrt(static_cast<double>(channels))) {
  gamma_ = register_parameter("gamma", images ? at::ones({channels, 1, 1}) : at::ones({channels, 1, 1, 1}),
                              /*requires_grad=*/false);
}

at::Tensor RmsNorm::forward(const at::Tensor& x) const {
  // F.normalize(x, dim=1): x / max(||x||, 1e-12), then * sqrt(C) * gamma, in that order.
  at::Tensor denom = x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
  return x / denom * scale_ * gamma_;
}

}  // namespace talkgen::model::vae
