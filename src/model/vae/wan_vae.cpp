#include "model/vae/wan_vae.hpp"

#include <c10/core/GradMode.h>
#include <c10/util/StringUtil.h>

#include "model/io/load_module.hpp"
#include "model/io/tensor_source.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::vae {
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

}  // namespace talkgen::model::vae
