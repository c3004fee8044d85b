#include "model/vae/vae_blocks.hpp"

#include "model/layers/attention.hpp"

namespace talkgen::model::vae {
namespace {

// A plain holder for children whose checkpoint names are positions ("residual.2.weight").
std::shared_ptr<torch::nn::Module> holder(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace

at::Tensor frames_to_images(const at::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}

at::Tensor images_to_frames(const at::Tensor& x, int64_t batch) {
  return x.reshape({batch, x.size(0) / batch, x.size(1), x.size(2), x.size(3)}).permute({0, 2, 1, 3, 4});
}

void BlockSequence::append(std::shared_ptr<CachedBlock> block) {
  register_module(std::to_string(blocks_.size()), block);
  blocks_.push_back(std::move(block));
}

at::Tensor BlockSequence::forward(const at::Tensor& x, FeatureCache& cache) const {
  at::Tensor h = x;
  for (const auto& block : blocks_) h = block->forward(h, cache);
  return h;
}

ResidualBlock::ResidualBlock(int64_t in_channels, int64_t out_channels) {
  auto residual = holder(*this, "residual");
  norm1_ = residual->register_module("0", std::make_shared<RmsNorm>(in_channels, /*images=*/false));
  conv1_ = residual->register_module(
      "2", std::make_shared<CausalConv3d>(in_channels, out_channels, std::array<int64_t, 3>{3, 3, 3},
                                          std::array<int64_t, 3>{1, 1, 1}, std::array<int64_t, 3>{1, 1, 1}));
  norm2_ = residual->register_module("3", std::make_shared<RmsNorm>(out_channels, /*images=*/false));
  conv2_ = residual->register_module(
      "6", std::make_shared<CausalConv3d>(out_channels, out_channels, std::array<int64_t, 3>{3, 3, 3},
                                          std::array<int64_t, 3>{1, 1, 1}, std::array<int64_t, 3>{1, 1, 1}));
  if (in_channels != out_channels) {
    shortcut_ = register_module(
        "shortcut", std::make_shared<CausalConv3d>(in_channels, out_channels, std::array<int64_t, 3>{1, 1, 1}));
  }
}

at::Tensor ResidualBlock::forward(const at::Tensor& x, FeatureCache& cache) const {
  const at::Tensor skip = shortcut_ ? shortcut_->forward(x) : x;
  at::Tensor h = conv1_->forward_cached(at::silu(norm1_->forward(x)), cache);
  h = conv2_->forward_cached(at::silu(norm2_->forward(h)), cache);  // dropout is 0 at inference
  return h + skip;
}

AttentionBlock::AttentionBlock(int64_t channels) {
  norm_ = register_module("norm", std::make_shared<RmsNorm>(channels, /*images=*/true));
  to_qkv_ = register_module("to_qkv", std::make_shared<Conv2d>(channels, channels * 3, 1));
  proj_ = register_module("proj", std::make_shared<Conv2d>(channels, channels, 1));
}

at::Tensor AttentionBlock::forward(const at::Tensor& x, FeatureCache& /*cache*/) const {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(3), w = x.size(4);
  at::Tensor images = norm_->forward(frames_to_images(x));  // [N, C, H, W], N = B*T
  const int64_t n = images.size(0);
  // [N, 3C, H, W] -> [N, 1, H*W, 3C] -> q, k, v: [N, 1 head, H*W, C]
  auto qkv = to_qkv_->forward(images).reshape({n, 1, c * 3, h * w}).permute({0, 1, 3, 2}).contiguous().chunk(3, -1);
  at::Tensor out = layers::attention(qkv[0], qkv[1], qkv[2]);
  out = out.squeeze(1).permute({0, 2, 1}).reshape({n, c, h, w});
  return images_to_frames(proj_->forward(out), b) + x;
}

Resample::Resample(int64_t channels, Mode mode) : mode_(mode) {
  auto resample = holder(*this, "resample");
  const bool up = mode == Mode::upsample2d || mode == Mode::upsample3d;
  // Up: nearest x2 then a 3x3 conv halving the channels; down: pad right/bottom by 1, 3x3 conv stride 2.
  conv_ = resample->register_module("1", up ? std::make_shared<Conv2d>(channels, channels / 2, 3, 1, 1)
                                            : std::make_shared<Conv2d>(channels, channels, 3, 2, 0));
  if (mode == Mode::upsample3d) {
    time_conv_ = register_module("time_conv", std::make_shared<CausalConv3d>(channels, channels * 2,
                                                                             std::array<int64_t, 3>{3, 1, 1},
                                                                             std::array<int64_t, 3>{1, 1, 1},
                                                                             std::array<int64_t, 3>{1, 0, 0}));
  } else if (mode == Mode::downsample3d) {
    time_conv_ = register_module("time_conv", std::make_shared<CausalConv3d>(channels, channels,
                                                                             std::array<int64_t, 3>{3, 1, 1},
                                                                             std::array<int64_t, 3>{2, 1, 1}));
  }
}

at::Tensor Resample::forward(const at::Tensor& x, FeatureCache& cache) const {
  switch (mode_) {
    case Mode::upsample3d: return resample_space(upsample_time(x, cache));
    case Mode::downsample3d: return downsample_time(resample_space(x), cache);
    default: return resample_space(x);
  }
}

at::Tensor Resample::resample_space(const at::Tensor& x) const {
  at::Tensor images = frames_to_images(x);
  if (mode_ == Mode::upsample2d || mode_ == Mode::upsample3d) {
    // The reference's nearest-exact x2 picks the same source pixel as nearest x2.
    images = at::upsample_nearest2d(images, {images.size(2) * 2, images.size(3) * 2});
  } else {
    images = at::constant_pad_nd(images, {0, 1, 0, 1});
  }
  return images_to_frames(conv_->forward(images), x.size(0));
}

// Decoder side. The first chunk passes through (one latent frame -> one frame) and marks the slot as
// zero history ('Rep'); later chunks double their frames: time_conv makes 2C channels that are
// interleaved as frames 2t and 2t+1.
at::Tensor Resample::upsample_time(const at::Tensor& x, FeatureCache& cache) const {
  using Kind = FeatureCache::Slot::Kind;
  auto& slot = cache.next();
  if (slot.kind == Kind::empty) {
    slot.kind = Kind::zero_history;
    return x;
  }
  at::Tensor keep = last_frames(x, kCacheFrames);
  if (keep.size(2) < kCacheFrames) {
    at::Tensor previous = slot.kind == Kind::frames ? last_frames(slot.frames, 1) : at::zeros_like(keep);
    keep = at::cat({previous, keep}, 2);
  }
  at::Tensor y = time_conv_->forward(x, slot.kind == Kind::frames ? slot.frames : at::Tensor());
  slot.store(std::move(keep));
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  // [B, 2, C, T, H, W] -> [B, C, T, 2, H, W] -> [B, C, 2T, H, W]
  return y.reshape({b, 2, c, t, h, w}).permute({0, 2, 3, 1, 4, 5}).reshape({b, c, t * 2, h, w});
}

// Encoder side. The first chunk (one frame) passes through; later chunks are convolved with stride 2
// after the previous chunk's last frame (4 frames -> 2 -> 1 over the two temporal stages).
at::Tensor Resample::downsample_time(const at::Tensor& x, FeatureCache& cache) const {
  auto& slot = cache.next();
  at::Tensor keep = last_frames(x, 1);
  if (slot.kind == FeatureCache::Slot::Kind::empty) {
    slot.store(std::move(keep));
    return x;
  }
  at::Tensor y = time_conv_->forward(at::cat({last_frames(slot.frames, 1), x}, 2));
  slot.store(std::move(keep));
  return y;
}

OutputHead::OutputHead(int64_t in_channels, int64_t out_channels) {
  norm_ = register_module("0", std::make_shared<RmsNorm>(in_channels, /*images=*/false));
  conv_ = register_module("2", std::make_shared<CausalConv3d>(in_channels, out_channels, std::array<int64_t, 3>{3, 3, 3},
                                                              std::array<int64_t, 3>{1, 1, 1},
                                                              std::array<int64_t, 3>{1, 1, 1}));
}

at::Tensor OutputHead::forward(const at::Tensor& x, FeatureCache& cache) const {
  return conv_->forward_cached(at::silu(norm_->forward(x)), cache);
}

}  // namespace talkgen::model::vae
