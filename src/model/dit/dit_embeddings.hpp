// The DiT's input embeddings, named as in the checkpoint: time_embedding.{0,2}, time_projection.1,
// text_embedding.{0,2}, img_emb.proj.{0,1,3,4} (CLIP tokens) and audio_proj.* (InfiniteTalk).
#pragma once

#include <memory>

#include "model/dit/dit_config.hpp"
#include "model/dit/dit_layers.hpp"

namespace talkgen::model::dit {

/// sinusoidal_embedding_1d: [cos(t * f_i), sin(t * f_i)] with f_i = 10000^(-i/half), computed in
/// float64 like the reference (timesteps near 1000 need it at fp32 tolerance), returned as float32.
/// t [B] -> [B, dim].
at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim);

/// time_embedding (Linear, SiLU, Linear) and time_projection (SiLU, Linear to 6 * dim), both in
/// float32 as the reference's autocast(float32) block.
class TimeEmbedding : public torch::nn::Module {
 public:
  TimeEmbedding(const DitConfig& config, const at::TensorOptions& options);
  std::shared_ptr<Linear> fc1, fc2;  // time_embedding.0, time_embedding.2
};
class TimeProjection : public torch::nn::Module {
 public:
  TimeProjection(const DitConfig& config, const at::TensorOptions& options);
  std::shared_ptr<Linear> fc;  // time_projection.1
};

/// text_embedding: Linear(text_dim, dim), tanh-GELU, Linear(dim, dim), in the model dtype.
class TextEmbedding : public torch::nn::Module {
 public:
  TextEmbedding(const DitConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& context) const;

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
};

/// img_emb (MLPProj): LayerNorm, Linear, GELU, Linear, LayerNorm (eps 1e-5), in the model dtype.
class ImageEmbedding : public torch::nn::Module {
 public:
  ImageEmbedding(const DitConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& clip_tokens) const;

 private:
  std::shared_ptr<torch::nn::Module> proj_;
  std::shared_ptr<NormParams> norm_in_, norm_out_;
  std::shared_ptr<Linear> fc1_, fc2_;
};

/// AudioProjModel: turns the wav2vec2 windows of each latent frame into audio context tokens.
/// The first latent frame sees `audio_window` frames (proj1); each later one sees the frames of its
/// vae_scale video frames, audio_window + vae_scale - 1 in all (proj1_vf). Then proj2, proj3 and a
/// LayerNorm (float32, as the reference's autocast block).
class AudioProjection : public torch::nn::Module {
 public:
  AudioProjection(const DitConfig& config, const at::TensorOptions& options);
  /// audio [N, frames, audio_window, audio_blocks, audio_channels] with frames = 1 + vae_scale * (N_t - 1)
  /// -> [N, N_t, audio_context_tokens, audio_output_dim] in the audio's dtype.
  at::Tensor forward(const at::Tensor& audio) const;

 private:
  DitConfig config_;
  std::shared_ptr<Linear> proj1_, proj1_vf_, proj2_, proj3_;
  std::shared_ptr<NormParams> norm_;
};

}  // namespace talkgen::model::dit
