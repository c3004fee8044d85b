// wav2vec2 as torch::nn modules whose parameter names are the Hugging Face Wav2Vec2Model keys
// (`feature_extractor.conv_layers.0.conv.weight`, `encoder.layers.3.attention.q_proj.bias`, ...), so
// loading a checkpoint is a name lookup. Parameters are allocated empty; load_strict fills them.
//
// Shapes: waveform [B, N] -> feature_extractor [B, C_conv, T] -> (resampled to the video frame rate
// by the caller) [B, F, C_conv] -> feature_projection [B, F, H] -> encoder: one [B, F, H] per layer.
#pragma once

#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/layers/linear.hpp"
#include "model/wav2vec2/activation.hpp"
#include "model/wav2vec2/config.hpp"

namespace talkgen::model::wav2vec2 {

using layers::LayerNorm;
using layers::Linear;

/// A Conv1d's parameters: `weight` [out, in / groups, k] and, when `bias`, `bias` [out].
struct Conv1d : torch::nn::Module {
  Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t groups, bool bias);
  at::Tensor weight, bias;  // bias undefined when absent
};

/// One conv of the feature encoder: `conv`, then an optional `layer_norm` (GroupNorm with one group
/// per channel for the first layer of a "group" encoder, LayerNorm over channels for "layer"), then
/// the activation.
struct FeatureConvLayer : torch::nn::Module {
  enum class Norm { none, group, layer };
  FeatureConvLayer(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias, Norm norm, Activation act);
  at::Tensor forward(const at::Tensor& x) const;  // [B, in, N] -> [B, out, N']

  std::shared_ptr<Conv1d> conv;
  std::shared_ptr<LayerNorm> layer_norm;  // null for Norm::none
  int64_t stride;
  Norm norm;
  Activation act;
};

struct FeatureEncoder : torch::nn::Module {
  explicit FeatureEncoder(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& wave) const;  // [B, N] -> [B, C_conv, T]
  std::vector<std::shared_ptr<FeatureConvLayer>> conv_layers;
};

struct FeatureProjection : torch::nn::Module {
  explicit FeatureProjection(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, C_conv] -> [B, F, H]
  std::shared_ptr<LayerNorm> layer_norm;
  std::shared_ptr<Linear> projection;
};

/// Grouped conv over time whose weight is weight-normalised along the kernel axis (dim 2):
/// weight = weight_g * weight_v / ||weight_v||, stored as `conv.weight_g` [1, 1, K] and
/// `conv.weight_v` [H, H / groups, K] (newer checkpoints name them parametrizations.weight.original0/1;
/// the loader renames those).
struct PositionalConvEmbedding : torch::nn::Module {
  explicit PositionalConvEmbedding(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, H] -> [B, F, H]
  struct WeightNormConv : torch::nn::Module {
    WeightNormConv(int64_t channels, int64_t kernel, int64_t groups);
    at::Tensor weight_g, weight_v, bias;
  };
  std::shared_ptr<WeightNormConv> conv;
  int64_t kernel, groups;
  Activation act;
};

struct SelfAttention : torch::nn::Module {
  SelfAttention(int64_t hidden, int64_t heads);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, H]
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  int64_t heads;
};

struct FeedForward : torch::nn::Module {
  FeedForward(int64_t hidden, int64_t intermediate, Activation act);
  at::Tensor forward(const at::Tensor& x) const;
  std::shared_ptr<Linear> intermediate_dense, output_dense;
  Activation act;
};

/// Post-norm transformer layer (do_stable_layer_norm = false).
struct EncoderLayer : torch::nn::Module {
  explicit EncoderLayer(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;
  std::shared_ptr<SelfAttention> attention;
  std::shared_ptr<LayerNorm> layer_norm;
  std::shared_ptr<FeedForward> feed_forward;
  std::shared_ptr<LayerNorm> final_layer_norm;
};

struct Encoder : torch::nn::Module {
  explicit Encoder(const Wav2Vec2Config& c);
  /// The output of every layer, in order (what Hugging Face returns as hidden_states[1:]).
  std::vector<at::Tensor> forward(const at::Tensor& x) const;
  std::shared_ptr<PositionalConvEmbedding> pos_conv_embed;
  std::shared_ptr<LayerNorm> layer_norm;
  std::vector<std::shared_ptr<EncoderLayer>> layers;
};

/// The Hugging Face Wav2Vec2Model tree (without the training-only masked_spec_embed).
struct Wav2Vec2Model : torch::nn::Module {
  explicit Wav2Vec2Model(const Wav2Vec2Config& c);
  Wav2Vec2Config config;
  std::shared_ptr<FeatureEncoder> feature_extractor;
  std::shared_ptr<FeatureProjection> feature_projection;
  std::shared_ptr<Encoder> encoder;
};

}  // namespace talkgen::model::wav2vec2
