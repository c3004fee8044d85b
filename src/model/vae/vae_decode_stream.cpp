// VaeDecodeStream (declared in wan_vae.hpp): chunk-by-chunk decoding, untiled or tiled.
#include <c10/core/GradMode.h>
#include <fmt/ranges.h>

#include "model/vae/wan_vae.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::vae {

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
