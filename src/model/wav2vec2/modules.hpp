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
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "model/layers/modules.hpp"
#include "model/wav2vec2/activation.hpp"
#include "model/wav2vec2/config.hpp"

namespace talkgen::model::wav2vec2 {

using layers::LayerNorm;
using layers::Linear;

/// A Conv1d's parameters: `weight` [out, in / groups, k] and, when `bias`, `bias` [out].
struct Conv1dImpl : torch::nn::Module {
  Conv1dImpl(int64_t in, int64_t out, int64_t kernel, int64_t groups, bool bias);
  at::Tensor weight, bias;  // bias undefined when absent
};
TORCH_MODULE(Conv1d);

/// One conv of the feature encoder: `conv`, then an optional `layer_norm` (GroupNorm with one group
/// per channel for the first layer of a "group" encoder, LayerNorm over channels for "layer"), then
/// the activation.
struct FeatureConvLayerImpl : torch::nn::Module {
  enum class Norm { none, group, layer };
  FeatureConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias, Norm norm, Activation act);
  at::Tensor forward(const at::Tensor& x) const;  // [B, in, N] -> [B, out, N']

  Conv1d conv{nullptr};
  LayerNorm layer_norm{nullptr};  // null for Norm::none
  int64_t stride;
  Norm norm;
  Activation act;
};
TORCH_MODULE(FeatureConvLayer);

struct FeatureEncoderImpl : torch::nn::Module {
  explicit FeatureEncoderImpl(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& wave) const;  // [B, N] -> [B, C_conv, T]
  torch::nn::ModuleList conv_layers{nullptr};  // of FeatureConvLayer
};
TORCH_MODULE(FeatureEncoder);

struct FeatureProjectionImpl : torch::nn::Module {
  explicit FeatureProjectionImpl(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, C_conv] -> [B, F, H]
  LayerNorm layer_norm{nullptr};
  Linear projection{nullptr};
};
TORCH_MODULE(FeatureProjection);

/// Grouped conv over time whose weight is weight-normalised along the kernel axis (dim 2):
/// weight = weight_g * weight_v / ||weight_v||, stored as `conv.weight_g` [1, 1, K] and
/// `conv.weight_v` [H, H / groups, K] (newer checkpoints name them parametrizations.weight.original0/1;
/// the loader renames those).
struct WeightNormConvImpl : torch::nn::Module {
  WeightNormConvImpl(int64_t channels, int64_t kernel, int64_t groups);
  at::Tensor weight_g, weight_v, bias;
};
TORCH_MODULE(WeightNormConv);

struct PositionalConvEmbeddingImpl : torch::nn::Module {
  explicit PositionalConvEmbeddingImpl(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, H] -> [B, F, H]
  WeightNormConv conv{nullptr};
  int64_t kernel, groups;
  Activation act;
};
TORCH_MODULE(PositionalConvEmbedding);

struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(int64_t hidden, int64_t heads);
  at::Tensor forward(const at::Tensor& x) const;  // [B, F, H]
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  int64_t heads;
};
TORCH_MODULE(SelfAttention);

struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(int64_t hidden, int64_t intermediate, Activation act);
  at::Tensor forward(const at::Tensor& x) const;
  Linear intermediate_dense{nullptr}, output_dense{nullptr};
  Activation act;
};
TORCH_MODULE(FeedForward);

/// Post-norm transformer layer (do_stable_layer_norm = false).
struct EncoderLayerImpl : torch::nn::Module {
  explicit EncoderLayerImpl(const Wav2Vec2Config& c);
  at::Tensor forward(const at::Tensor& x) const;
  SelfAttention attention{nullptr};
  LayerNorm layer_norm{nullptr};
  FeedForward feed_forward{nullptr};
  LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(EncoderLayer);

struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(const Wav2Vec2Config& c);
  /// The output of every layer, in order (what Hugging Face returns as hidden_states[1:]).
  std::vector<at::Tensor> forward(const at::Tensor& x) const;
  PositionalConvEmbedding pos_conv_embed{nullptr};
  LayerNorm layer_norm{nullptr};
  torch::nn::ModuleList layers{nullptr};  // of EncoderLayer
};
TORCH_MODULE(Encoder);

/// The Hugging Face Wav2Vec2Model tree (without the training-only masked_spec_embed). Held by
/// std::shared_ptr (AudioEncoder shares it), so a plain module rather than a TORCH_MODULE holder.
struct Wav2Vec2Model : torch::nn::Module {
  explicit Wav2Vec2Model(const Wav2Vec2Config& c);
  Wav2Vec2Config config;
  FeatureEncoder feature_extractor{nullptr};
  FeatureProjection feature_projection{nullptr};
  Encoder encoder{nullptr};
};

}  // namespace talkgen::model::wav2vec2
