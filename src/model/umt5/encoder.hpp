// umT5-XXL encoder (wan/modules/t5.py: T5Encoder with shared_pos=False), as a module tree whose names are
// the keys of models_t5_umt5-xxl-enc-bf16.pth: token_embedding.weight, blocks.N.{norm1,attn.{q,k,v,o},
// norm2,ffn.{gate.0,fc1,fc2},pos_embedding.embedding}.weight, norm.weight.
//
// Per block (pre-norm): x += o(attention(q, k, v, bias = relative position bias + padding mask)), no 1/sqrt(d)
// scaling; x += fc2(fc1(n) * gelu_tanh(gate(n))). Every block has its own relative position embedding.
// RMS norms compute in float32 and return the weights' dtype, as the reference does in bf16.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "model/io/load_module.hpp"
#include "model/layers/modules.hpp"
#include "model/umt5/encoder_config.hpp"

namespace talkgen::model::umt5 {

using layers::Linear;  // bias-free here (LinearOptions::bias(false)): T5 linears have none
using layers::RMSNorm;  // T5LayerNorm: RMSNormRounding::weight_dtype

/// An embedding table ("weight" [rows, dim]), uninitialised; forward gathers rows.
class EmbeddingTableImpl : public torch::nn::Module {
 public:
  EmbeddingTableImpl(int64_t rows, int64_t dim, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& index);
  at::Tensor weight;
};
TORCH_MODULE(EmbeddingTable);

/// T5RelativeEmbedding (bidirectional): "embedding.weight" [num_buckets, num_heads].
class RelativePositionImpl : public torch::nn::Module {
 public:
  RelativePositionImpl(const EncoderConfig& config, const at::TensorOptions& options);
  /// Bucket index of key position j seen from query position i: [lq, lk] int64, on `device`.
  at::Tensor buckets(int64_t lq, int64_t lk, const at::Device& device) const;
  /// [1, num_heads, lq, lk] bias for the given buckets.
  at::Tensor forward(const at::Tensor& buckets);
  EmbeddingTable embedding{nullptr};
  int64_t num_buckets, max_dist;
};
TORCH_MODULE(RelativePosition);

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(const EncoderConfig& config, const at::TensorOptions& options);
  /// x: [B, L, dim]; bias: [B or 1, H, L, L] additive, in x's dtype.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  int64_t num_heads;
};
TORCH_MODULE(SelfAttention);

/// Gated GELU: fc2(fc1(x) * gelu_tanh(gate.0(x))).
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(const EncoderConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x);
  Linear gate{nullptr}, fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FeedForward);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const EncoderConfig& config, const at::TensorOptions& options);
  /// x: [B, L, dim]; buckets: [L, L]; key_mask: [B, L] (nonzero = real token) or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& buckets, const at::Tensor& key_mask);
  RMSNorm norm1{nullptr}, norm2{nullptr};
  SelfAttention attn{nullptr};
  FeedForward ffn{nullptr};
  RelativePosition pos_embedding{nullptr};
};
TORCH_MODULE(Block);

class EncoderImpl : public torch::nn::Module {
 public:
  /// Parameters are allocated (uninitialised) with `options`; load them with load_encoder().
  explicit EncoderImpl(const EncoderConfig& config, const at::TensorOptions& options = at::kFloat);
  /// ids: [B, L] int64; mask: [B, L] (1 = token, 0 = padding) or undefined for none. Returns [B, L, dim]
  /// in the weights' dtype. Padded positions are computed too (they attend to the real tokens).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask = {});
  /// The reference's T5EncoderModel.__call__: each row of forward() cut to its real length (mask sum).
  std::vector<at::Tensor> contexts(const at::Tensor& ids, const at::Tensor& mask);

  const EncoderConfig& config() const { return config_; }
  EmbeddingTable token_embedding{nullptr};
  torch::nn::ModuleList blocks;
  RMSNorm norm{nullptr};

 private:
  EncoderConfig config_;
};
TORCH_MODULE(Encoder);

/// Opens `checkpoint` (e.g. models_t5_umt5-xxl-enc-bf16.pth), reads the config from its shapes, and loads it
/// strictly with `options` (dtype: kBFloat16 as the reference runs, or kFloat; device).
Encoder load_encoder(const std::string& checkpoint, const io::LoadOptions& options = {});
Encoder load_encoder(const io::TensorSource& source, const io::LoadOptions& options = {});

}  // namespace talkgen::model::umt5
