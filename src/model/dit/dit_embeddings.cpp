#include "model/dit/dit_embeddings.hpp"

namespace talkgen::model::dit {
namespace {
constexpr double kTorchLayerNormEps = 1e-5;  // nn.LayerNorm's default, used by img_emb and audio_proj
}

at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  const auto position = t.to(at::kDouble).reshape({-1});
  const auto freqs = at::pow(10000.0, -at::arange(half, position.options()) / static_cast<double>(half));
  const auto s = at::outer(position, freqs);
  return at::cat({at::cos(s), at::sin(s)}, 1).to(at::kFloat);
}

TimeEmbedding::TimeEmbedding(const DitConfig& c, const at::TensorOptions& o) {
  fc1 = register_module("0", std::make_shared<Linear>(c.freq_dim, c.dim, o));
  fc2 = register_module("2", std::make_shared<Linear>(c.dim, c.dim, o));
}

TimeProjection::TimeProjection(const DitConfig& c, const at::TensorOptions& o) {
  fc = register_module("1", std::make_shared<Linear>(c.dim, 6 * c.dim, o));
}

TextEmbedding::TextEmbedding(const DitConfig& c, const at::TensorOptions& o) {
  fc1_ = register_module("0", std::make_shared<Linear>(c.text_dim, c.dim, o));
  fc2_ = register_module("2", std::make_shared<Linear>(c.dim, c.dim, o));
}

at::Tensor TextEmbedding::forward(const at::Tensor& context) const {
  return (*fc2_)(at::gelu((*fc1_)(context), "tanh"));
}

ImageEmbedding::ImageEmbedding(const DitConfig& c, const at::TensorOptions& o) {
  proj_ = register_module("proj", std::make_shared<torch::nn::Module>());
  norm_in_ = proj_->register_module("0", std::make_shared<NormParams>(c.clip_dim, o, true));
  fc1_ = proj_->register_module("1", std::make_shared<Linear>(c.clip_dim, c.clip_dim, o));
  fc2_ = proj_->register_module("3", std::make_shared<Linear>(c.clip_dim, c.dim, o));
  norm_out_ = proj_->register_module("4", std::make_shared<NormParams>(c.dim, o, true));
}

at::Tensor ImageEmbedding::forward(const at::Tensor& clip) const {
  // nn.LayerNorm in the model dtype (the reference runs img_emb outside any autocast block).
  auto x = at::layer_norm(clip, {clip.size(-1)}, norm_in_->weight, norm_in_->bias, kTorchLayerNormEps);
  x = (*fc2_)(at::gelu((*fc1_)(x)));
  return at::layer_norm(x, {x.size(-1)}, norm_out_->weight, norm_out_->bias, kTorchLayerNormEps);
}

AudioProjection::AudioProjection(const DitConfig& c, const at::TensorOptions& o) : config_(c) {
  const int64_t per_frame = c.audio_blocks * c.audio_channels;
  proj1_ = register_module("proj1", std::make_shared<Linear>(c.audio_window * per_frame, c.audio_intermediate_dim, o));
  proj1_vf_ = register_module("proj1_vf",
                              std::make_shared<Linear>(c.audio_window_vf() * per_frame, c.audio_intermediate_dim, o));
  proj2_ = register_module("proj2", std::make_shared<Linear>(c.audio_intermediate_dim, c.audio_intermediate_dim, o));
  proj3_ = register_module(
      "proj3", std::make_shared<Linear>(c.audio_intermediate_dim, c.audio_context_tokens * c.audio_output_dim, o));
  norm_ = register_module("norm", std::make_shared<NormParams>(c.audio_output_dim, o, true));
}

at::Tensor AudioProjection::forward(const at::Tensor& audio) const {
  const int64_t scale = config_.vae_scale, mid = config_.audio_window / 2;
  const int64_t later = (audio.size(1) - 1) / scale;  // latent frames after the first
  // The first video frame's whole window.
  const auto first = audio.slice(1, 0, 1).flatten(2);  // [n, 1, window * blocks * channels]
  // Each later latent frame covers `scale` video frames: the first of them contributes the left half of
  // its window (up to the centre), the middle ones their centre frame, the last the right half.
  const auto groups = audio.slice(1, 1).unflatten(1, {later, scale});  // [n, later, scale, window, b, c]
  const auto head = groups.select(2, 0).slice(2, 0, mid + 1);
  const auto middle = groups.slice(2, 1, scale - 1).select(3, mid);
  const auto tail = groups.select(2, scale - 1).slice(2, mid);
  const auto rest = at::cat({head, middle, tail}, 2).flatten(2);  // [n, later, window_vf * b * c]

  const auto a = at::relu((*proj1_)(first));
  const auto b = at::relu((*proj1_vf_)(rest));
  const auto h = at::relu((*proj2_)(at::cat({a, b}, 1)));
  const auto tokens = (*proj3_)(h).unflatten(-1, {config_.audio_context_tokens, config_.audio_output_dim});
  return wan_layer_norm(tokens, kTorchLayerNormEps, norm_->weight, norm_->bias);
}

}  // namespace talkgen::model::dit
