#include "model/vae/wan_vae.hpp"

#include <algorithm>
#include <cmath>

#include <c10/core/GradMode.h>
#include <c10/util/StringUtil.h>
#include <fmt/ranges.h>

#include "model/io/load_module.hpp"
#include "model/io/tensor_source.hpp"
#include "model/layers/attention.hpp"
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

// ---------------------------------------------------------------------------------------------------------
// Leaf layers

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

// ---------------------------------------------------------------------------------------------------------
// Blocks

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

// ---------------------------------------------------------------------------------------------------------
// Encoder3d

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

// ---------------------------------------------------------------------------------------------------------
// Decoder3d

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

// ---------------------------------------------------------------------------------------------------------
// WanVae and its loader

namespace {

std::string describe(const at::Tensor& t) {
  return t.defined() ? c10::str(t.sizes(), " ", t.scalar_type()) : std::string("no tensor");
}

}  // namespace

WanVae::WanVae(VaeConfig config, LatentScale scale) : config_(std::move(config)), scale_(std::move(scale)) {
  config_.validate();
  scale_.validate(config_.z_dim);
  mean_ = at::tensor(scale_.mean, at::kFloat);
  // The reference keeps 1/std and divides by it when decoding; the same two roundings here.
  inv_std_ = 1.0 / at::tensor(scale_.std, at::kFloat);

  encoder_ = register_module("encoder", std::make_shared<Encoder3d>(config_));
  conv1_ = register_module("conv1", std::make_shared<CausalConv3d>(config_.z_dim * 2, config_.z_dim * 2,
                                                                   std::array<int64_t, 3>{1, 1, 1}));
  conv2_ = register_module("conv2", std::make_shared<CausalConv3d>(config_.z_dim, config_.z_dim,
                                                                   std::array<int64_t, 3>{1, 1, 1}));
  decoder_ = register_module("decoder", std::make_shared<Decoder3d>(config_));
}

at::Device WanVae::device() const { return conv1_->parameters().front().device(); }
at::ScalarType WanVae::dtype() const { return conv1_->parameters().front().scalar_type(); }

at::Tensor WanVae::encode(const at::Tensor& video) const {
  const int64_t stride = config_.spatial_stride(), chunk = VaeConfig::temporal_stride();
  if (!video.defined() || video.dim() != 5 || video.size(1) != 3 || !at::isFloatingType(video.scalar_type())) {
    fail(ErrorCode::invalid_argument, "VAE encode: expected a floating-point video [B, 3, T, H, W], found {}",
         describe(video));
  }
  const int64_t frames = video.size(2), h = video.size(3), w = video.size(4);
  if (video.size(0) < 1 || frames < 1 || (frames - 1) % chunk != 0 || h < stride || w < stride || h % stride != 0 ||
      w % stride != 0) {
    fail(ErrorCode::invalid_argument,
         "VAE encode: expected T = 1 + {}k frames and H, W multiples of {}, found {}; pad or trim the clip "
         "(the pipeline uses 81 frames at 480x832)", chunk, stride, describe(video));
  }
  c10::AutoGradMode no_grad(false);  // no graph (the outputs stay ordinary tensors, unlike InferenceMode)
  const at::Tensor x = video.to(device(), dtype());
  FeatureCache cache;
  std::vector<at::Tensor> latents;
  for (int64_t begin = 0; begin < frames;) {
    const int64_t length = begin == 0 ? 1 : chunk;  // the first frame alone, then 4 at a time
    cache.begin_chunk();
    latents.push_back(encoder_->forward(x.narrow(2, begin, length), cache));
    cache.end_chunk();
    begin += length;
  }
  // conv1 gives [mu, log_var]; encoding keeps mu, normalised per channel.
  const at::Tensor mu = conv1_->forward(at::cat(latents, 2)).narrow(1, 0, config_.z_dim);
  const at::Tensor mean = mean_.to(mu.device()).view({1, -1, 1, 1, 1});
  const at::Tensor inv_std = inv_std_.to(mu.device()).view({1, -1, 1, 1, 1});
  return ((mu - mean) * inv_std).to(at::kFloat);
}

void WanVae::check_latents(const at::Tensor& latents) const {
  if (!latents.defined() || latents.dim() != 5 || latents.size(1) != config_.z_dim || latents.size(0) < 1 ||
      latents.size(2) < 1 || latents.size(3) < 1 || latents.size(4) < 1 ||
      !at::isFloatingType(latents.scalar_type())) {
    fail(ErrorCode::invalid_argument, "VAE decode: expected floating-point latents [B, {}, t >= 1, h, w], found {}",
         config_.z_dim,
         describe(latents));
  }
}

at::Tensor WanVae::decoder_input(const at::Tensor& latents) const {
  const at::Tensor z = latents.to(device(), at::kFloat);
  const at::Tensor mean = mean_.to(z.device()).view({1, -1, 1, 1, 1});
  const at::Tensor inv_std = inv_std_.to(z.device()).view({1, -1, 1, 1, 1});
  return conv2_->forward((z / inv_std + mean).to(dtype()));
}

at::Tensor WanVae::decode_frame(const at::Tensor& decoder_input_frame, FeatureCache& cache) const {
  cache.begin_chunk();
  at::Tensor frames = decoder_->forward(decoder_input_frame, cache);
  cache.end_chunk();
  return frames;
}

at::Tensor WanVae::decode(const at::Tensor& latents, const DecodeOptions& options) const {
  // A non-owning handle: the stream lives only for this call.
  VaeDecodeStream stream(std::shared_ptr<const WanVae>(std::shared_ptr<const WanVae>(), this), options);
  return stream.push(latents);
}

std::shared_ptr<WanVae> load_wan_vae(const std::string& checkpoint, const VaeLoadOptions& options) {
  if (!at::isFloatingType(options.dtype)) {
    fail(ErrorCode::invalid_argument, "VAE load: dtype must be floating point (float32 or bfloat16), found {}",
         c10::toString(options.dtype));
  }
  auto vae = std::make_shared<WanVae>(options.config, options.scale);
  const auto source = io::open_checkpoint(checkpoint);
  io::LoadOptions load;
  load.dtype = options.dtype;
  load.device = options.device;
  io::load_strict(*vae, *source, load);
  return vae;
}

// ---------------------------------------------------------------------------------------------------------
// VaeDecodeStream: chunk-by-chunk decoding, untiled or tiled.

VaeDecodeStream::VaeDecodeStream(std::shared_ptr<const WanVae> vae, DecodeOptions options)
    : vae_(std::move(vae)), options_(std::move(options)) {
  if (!vae_) fail(ErrorCode::invalid_argument, "VaeDecodeStream: no VAE given");
  if (options_.tiling) options_.tiling->validate();
}

int64_t VaeDecodeStream::cache_bytes() const {
  int64_t total = 0;
  for (const auto& c : caches_) total += c.bytes();
  return total;
}

at::Tensor VaeDecodeStream::decode_tile(const at::Tensor& latents, FeatureCache& cache) const {
  const at::Tensor x = vae_->decoder_input(latents);
  std::vector<at::Tensor> frames;
  for (int64_t t = 0; t < x.size(2); ++t) frames.push_back(vae_->decode_frame(x.narrow(2, t, 1), cache));
  return at::cat(frames, 2).to(at::kFloat);
}

at::Tensor VaeDecodeStream::push(const at::Tensor& latents) {
  vae_->check_latents(latents);
  const std::vector<int64_t> shape{latents.size(0), latents.size(1), latents.size(3), latents.size(4)};
  if (latent_frames_ == 0) {
    latent_shape_ = shape;
    if (options_.tiling) {
      blender_.emplace(shape[2], shape[3], vae_->config().spatial_stride(), *options_.tiling);
      blender_->to(vae_->device());
    }
    caches_.assign(blender_ ? blender_->tiles() : 1, FeatureCache());
  } else if (shape != latent_shape_) {
    fail(ErrorCode::invalid_argument,
         "VaeDecodeStream: every push must have the batch, channels and size of the first one ([B, z, h, w] = [{}]), "
         "found [{}]; start a new stream for a different video", fmt::join(latent_shape_, ", "), fmt::join(shape, ", "));
  }
  c10::AutoGradMode no_grad(false);  // no graph (the outputs stay ordinary tensors, unlike InferenceMode)
  at::Tensor out;
  if (!blender_) {
    out = decode_tile(latents, caches_[0]);
  } else {
    for (size_t tile = 0; tile < blender_->tiles(); ++tile) {
      const at::Tensor frames = decode_tile(blender_->crop(latents, tile), caches_[tile]);
      if (!out.defined()) {
        const int64_t stride = vae_->config().spatial_stride();
        out = at::zeros({frames.size(0), frames.size(1), frames.size(2), shape[2] * stride, shape[3] * stride},
                        frames.options());
      }
      blender_->accumulate(out, tile, frames);
    }
  }
  latent_frames_ += latents.size(2);
  if (options_.clamp) out.clamp_(-1.0, 1.0);
  return out;
}

}  // namespace talkgen::model::vae
