#include "model/wav2vec2/modules.hpp"

#include <cmath>
#include <string>

#include "model/layers/attention.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::wav2vec2 {
namespace {

// Parameters start empty: load_strict overwrites every one of them, and empty allocation keeps
// building the full model cheap.
at::Tensor empty_param(at::IntArrayRef shape) { return at::empty(shape, at::kFloat); }

// The eps nn.GroupNorm / nn.LayerNorm use by default: the feature-encoder norms never pass one.
constexpr double kConvNormEps = 1e-5;

}  // namespace

Conv1dImpl::Conv1dImpl(int64_t in, int64_t out, int64_t kernel, int64_t groups, bool has_bias) {
  weight = register_parameter("weight", empty_param({out, in / groups, kernel}));
  if (has_bias) bias = register_parameter("bias", empty_param({out}));
}

FeatureConvLayerImpl::FeatureConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride_, bool bias,
                                           Norm norm_, Activation act_)
    : stride(stride_), norm(norm_), act(act_) {
  conv = register_module("conv", Conv1d(in, out, kernel, 1, bias));
  if (norm != Norm::none) layer_norm = register_module("layer_norm", LayerNorm(out, kConvNormEps));
}

at::Tensor FeatureConvLayerImpl::forward(const at::Tensor& x) const {
  auto y = at::conv1d(x, conv->weight, conv->bias, {stride});
  if (norm == Norm::group) {
    // One group per channel: each channel is normalised over time on its own.
    y = at::group_norm(y, y.size(1), layer_norm->weight, layer_norm->bias, kConvNormEps);
  } else if (norm == Norm::layer) {
    y = layer_norm->forward(y.transpose(-2, -1)).transpose(-2, -1);
  }
  return apply_activation(act, y);
}

FeatureEncoderImpl::FeatureEncoderImpl(const Wav2Vec2Config& c) {
  conv_layers = register_module("conv_layers", torch::nn::ModuleList());
  const Activation act = parse_activation(c.feat_extract_activation, "feat_extract_activation");
  for (size_t i = 0; i < c.conv_dim.size(); ++i) {
    using Norm = FeatureConvLayerImpl::Norm;
    const Norm norm = c.feat_extract_norm == "layer" ? Norm::layer : (i == 0 ? Norm::group : Norm::none);
    const int64_t in = i == 0 ? 1 : c.conv_dim[i - 1];
    conv_layers->push_back(
        FeatureConvLayer(in, c.conv_dim[i], c.conv_kernel[i], c.conv_stride[i], c.conv_bias, norm, act));
  }
}

at::Tensor FeatureEncoderImpl::forward(const at::Tensor& wave) const {
  auto x = wave.unsqueeze(1);  // [B, 1, N]
  for (const auto& layer : *conv_layers) x = layer->as<FeatureConvLayerImpl>()->forward(x);
  return x;
}

FeatureProjectionImpl::FeatureProjectionImpl(const Wav2Vec2Config& c) {
  layer_norm = register_module("layer_norm", LayerNorm(c.conv_dim.back(), c.layer_norm_eps));
  projection = register_module("projection", Linear(c.conv_dim.back(), c.hidden_size));
}

at::Tensor FeatureProjectionImpl::forward(const at::Tensor& x) const {
  return projection->forward(layer_norm->forward(x));
}

WeightNormConvImpl::WeightNormConvImpl(int64_t channels, int64_t kernel, int64_t groups) {
  weight_g = register_parameter("weight_g", empty_param({1, 1, kernel}));
  weight_v = register_parameter("weight_v", empty_param({channels, channels / groups, kernel}));
  bias = register_parameter("bias", empty_param({channels}));
}

PositionalConvEmbeddingImpl::PositionalConvEmbeddingImpl(const Wav2Vec2Config& c)
    : kernel(c.num_conv_pos_embeddings), groups(c.num_conv_pos_embedding_groups),
      act(parse_activation(c.feat_extract_activation, "feat_extract_activation")) {
  conv = register_module("conv", WeightNormConv(c.hidden_size, kernel, groups));
}

at::Tensor PositionalConvEmbeddingImpl::forward(const at::Tensor& x) const {
  const auto weight = at::_weight_norm(conv->weight_v, conv->weight_g, /*dim=*/2);
  auto y = at::conv1d(x.transpose(1, 2), weight, conv->bias, /*stride=*/{1}, /*padding=*/{kernel / 2},
                      /*dilation=*/{1}, groups);
  // "Same" padding for an even kernel leaves one frame too many at the end.
  if (kernel % 2 == 0) y = y.narrow(2, 0, y.size(2) - 1);
  return apply_activation(act, y).transpose(1, 2);
}

SelfAttentionImpl::SelfAttentionImpl(int64_t hidden, int64_t heads_) : heads(heads_) {
  q_proj = register_module("q_proj", Linear(hidden, hidden));
  k_proj = register_module("k_proj", Linear(hidden, hidden));
  v_proj = register_module("v_proj", Linear(hidden, hidden));
  out_proj = register_module("out_proj", Linear(hidden, hidden));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), f = x.size(1), h = x.size(2), d = h / heads;
  auto split = [&](const at::Tensor& t) { return t.view({b, f, heads, d}).transpose(1, 2); };  // [B, heads, F, d]
  auto out = layers::attention(split(q_proj->forward(x)), split(k_proj->forward(x)), split(v_proj->forward(x)),
                               std::nullopt, 1.0 / std::sqrt(static_cast<double>(d)));
  return out_proj->forward(out.transpose(1, 2).reshape({b, f, h}));
}

FeedForwardImpl::FeedForwardImpl(int64_t hidden, int64_t intermediate, Activation act_) : act(act_) {
  intermediate_dense = register_module("intermediate_dense", Linear(hidden, intermediate));
  output_dense = register_module("output_dense", Linear(intermediate, hidden));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) const {
  return output_dense->forward(apply_activation(act, intermediate_dense->forward(x)));
}

EncoderLayerImpl::EncoderLayerImpl(const Wav2Vec2Config& c) {
  attention = register_module("attention", SelfAttention(c.hidden_size, c.num_attention_heads));
  layer_norm = register_module("layer_norm", LayerNorm(c.hidden_size, c.layer_norm_eps));
  feed_forward = register_module("feed_forward", FeedForward(
      c.hidden_size, c.intermediate_size, parse_activation(c.hidden_act, "hidden_act")));
  final_layer_norm = register_module("final_layer_norm", LayerNorm(c.hidden_size, c.layer_norm_eps));
}

at::Tensor EncoderLayerImpl::forward(const at::Tensor& x) const {
  auto h = layer_norm->forward(x + attention->forward(x));
  return final_layer_norm->forward(h + feed_forward->forward(h));
}

EncoderImpl::EncoderImpl(const Wav2Vec2Config& c) {
  pos_conv_embed = register_module("pos_conv_embed", PositionalConvEmbedding(c));
  layer_norm = register_module("layer_norm", LayerNorm(c.hidden_size, c.layer_norm_eps));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(EncoderLayer(c));
}

std::vector<at::Tensor> EncoderImpl::forward(const at::Tensor& x) const {
  auto h = layer_norm->forward(x + pos_conv_embed->forward(x));
  std::vector<at::Tensor> outputs;
  outputs.reserve(layers->size());
  for (const auto& layer : *layers) {
    h = layer->as<EncoderLayerImpl>()->forward(h);
    outputs.push_back(h);
  }
  return outputs;
}

Wav2Vec2Model::Wav2Vec2Model(const Wav2Vec2Config& c) : config(c) {
  config.validate("wav2vec2 config");
  feature_extractor = register_module("feature_extractor", FeatureEncoder(c));
  feature_projection = register_module("feature_projection", FeatureProjection(c));
  encoder = register_module("encoder", Encoder(c));
}

}  // namespace talkgen::model::wav2vec2
