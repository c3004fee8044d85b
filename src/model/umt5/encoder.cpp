#include "model/umt5/encoder.hpp"

#include <cmath>
#include <limits>

#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>

#include "model/layers/attention.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::umt5 {
namespace {
std::string shape_text(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Linear linear(int64_t in, int64_t out, const at::TensorOptions& options) {
  return Linear(layers::LinearOptions(in, out).bias(false).tensor_options(options));
}

// T5LayerNorm: x * rsqrt(mean(x^2) + eps) in float32, times "weight", in the weight's dtype.
RMSNorm t5_norm(int64_t dim, const at::TensorOptions& options) {
  return RMSNorm(layers::RMSNormOptions(dim).eps(1e-6).rounding(layers::RMSNormRounding::weight_dtype)
                     .tensor_options(options));
}
}  // namespace

EmbeddingTableImpl::EmbeddingTableImpl(int64_t rows, int64_t dim, const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({rows, dim}, options), /*requires_grad=*/false);
}
at::Tensor EmbeddingTableImpl::forward(const at::Tensor& index) { return at::embedding(weight, index); }

RelativePositionImpl::RelativePositionImpl(const EncoderConfig& c, const at::TensorOptions& options)
    : num_buckets(c.num_buckets), max_dist(c.max_dist) {
  embedding = register_module("embedding", EmbeddingTable(c.num_buckets, c.num_heads, options));
}

at::Tensor RelativePositionImpl::buckets(int64_t lq, int64_t lk, const at::Device& device) const {
  // T5RelativeEmbedding._relative_position_bucket, bidirectional, op for op (the float32 log and the
  // truncating cast decide which bucket a far position lands in).
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor rel = at::arange(lk, opts).unsqueeze(0) - at::arange(lq, opts).unsqueeze(1);
  const int64_t half = num_buckets / 2;
  at::Tensor out = rel.gt(0).to(at::kLong) * half;
  rel = rel.abs();
  const int64_t max_exact = half / 2;
  at::Tensor large = (at::log(rel.to(at::kFloat) / max_exact) /
                          std::log(static_cast<double>(max_dist) / static_cast<double>(max_exact)) *
                          static_cast<double>(half - max_exact))
                         .to(at::kLong) +
                     max_exact;
  large = at::minimum(large, at::full_like(large, half - 1));
  return out + at::where(rel.lt(max_exact), rel, large);
}

at::Tensor RelativePositionImpl::forward(const at::Tensor& b) {
  return embedding(b).permute({2, 0, 1}).unsqueeze(0).contiguous();  // [1, H, Lq, Lk]
}

SelfAttentionImpl::SelfAttentionImpl(const EncoderConfig& c, const at::TensorOptions& options)
    : num_heads(c.num_heads) {
  q = register_module("q", linear(c.dim, c.dim_attn, options));
  k = register_module("k", linear(c.dim, c.dim_attn, options));
  v = register_module("v", linear(c.dim, c.dim_attn, options));
  o = register_module("o", linear(c.dim_attn, c.dim, options));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  const int64_t b = x.size(0), l = x.size(1);
  const auto heads = [&](const at::Tensor& t) { return t.view({b, l, num_heads, -1}).transpose(1, 2); };
  // T5 does not scale the logits by 1/sqrt(head_dim).
  at::Tensor y = layers::attention(heads(q(x)), heads(k(x)), heads(v(x)), bias, /*scale=*/1.0);
  return o(y.transpose(1, 2).reshape({b, l, -1}));
}

FeedForwardImpl::FeedForwardImpl(const EncoderConfig& c, const at::TensorOptions& options) {
  // The reference's gate is nn.Sequential(Linear, GELU): its weight is "gate.0.weight".
  gate = linear(c.dim, c.dim_ffn, options);
  torch::nn::ModuleList gate_list;
  gate_list->push_back(gate);
  register_module("gate", gate_list);
  fc1 = register_module("fc1", linear(c.dim, c.dim_ffn, options));
  fc2 = register_module("fc2", linear(c.dim_ffn, c.dim, options));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  return fc2(fc1(x) * at::gelu(gate(x), "tanh"));  // the reference's GELU is the tanh approximation
}

BlockImpl::BlockImpl(const EncoderConfig& c, const at::TensorOptions& options) {
  norm1 = register_module("norm1", t5_norm(c.dim, options));
  attn = register_module("attn", SelfAttention(c, options));
  norm2 = register_module("norm2", t5_norm(c.dim, options));
  ffn = register_module("ffn", FeedForward(c, options));
  pos_embedding = register_module("pos_embedding", RelativePosition(c, options));
}

at::Tensor BlockImpl::forward(const at::Tensor& x, const at::Tensor& buckets, const at::Tensor& key_mask) {
  const int64_t b = x.size(0), l = x.size(1);
  at::Tensor bias = pos_embedding(buckets).to(x.scalar_type());
  if (key_mask.defined()) {
    // Padded keys get the dtype's lowest value (filled, not added), as T5Attention does.
    const double lowest = x.scalar_type() == at::kBFloat16 ? -3.3895313892515355e38
                          : x.scalar_type() == at::kHalf   ? -65504.0
                                                           : static_cast<double>(std::numeric_limits<float>::lowest());
    bias = bias.expand({b, bias.size(1), l, l}).masked_fill(key_mask.eq(0).view({b, 1, 1, l}), lowest);
  }
  at::Tensor h = x + attn(norm1(x), bias);
  return h + ffn(norm2(h));
}

EncoderImpl::EncoderImpl(const EncoderConfig& c, const at::TensorOptions& options) : config_(c) {
  c.validate();
  token_embedding = register_module("token_embedding", EmbeddingTable(c.vocab, c.dim, options));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) blocks->push_back(Block(c, options));
  norm = register_module("norm", t5_norm(c.dim, options));
}

at::Tensor EncoderImpl::forward(const at::Tensor& ids, const at::Tensor& mask) {
  if (ids.dim() != 2 || ids.scalar_type() != at::kLong)
    fail(ErrorCode::invalid_argument, "umT5 encoder: ids must be [B, L] int64, got {} {}", shape_text(ids.sizes()),
         c10::toString(ids.scalar_type()));
  if (mask.defined() && mask.sizes() != ids.sizes())
    fail(ErrorCode::invalid_argument, "umT5 encoder: mask shape {} differs from ids shape {}",
         shape_text(mask.sizes()), shape_text(ids.sizes()));
  if (ids.numel() > 0) {
    const auto lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab)
      fail(ErrorCode::invalid_argument,
           "umT5 encoder: token ids span [{}, {}] but the vocabulary has {} entries: was the prompt tokenized with "
           "this model's tokenizer?", lo, hi, config_.vocab);
  }
  at::NoGradGuard no_grad;
  const at::Device device = token_embedding->weight.device();
  at::Tensor x = token_embedding(ids.to(device));
  const at::Tensor key_mask = mask.defined() ? mask.to(device) : at::Tensor();
  const at::Tensor buckets = blocks->ptr<BlockImpl>(0)->pos_embedding->buckets(ids.size(1), ids.size(1), device);
  for (size_t i = 0; i < blocks->size(); ++i) x = blocks->ptr<BlockImpl>(i)->forward(x, buckets, key_mask);
  return norm(x);
}

std::vector<at::Tensor> EncoderImpl::contexts(const at::Tensor& ids, const at::Tensor& mask) {
  if (!mask.defined()) fail(ErrorCode::invalid_argument, "umT5 encoder: contexts() needs the padding mask");
  const at::Tensor out = forward(ids, mask);
  const at::Tensor lens = mask.gt(0).sum(1).to(at::kCPU);
  std::vector<at::Tensor> result;
  for (int64_t i = 0; i < out.size(0); ++i) result.push_back(out[i].slice(0, 0, lens[i].item<int64_t>()));
  return result;
}

Encoder load_encoder(const io::TensorSource& source, const io::LoadOptions& options) {
  const EncoderConfig config = infer_encoder_config(source);
  // Created on the CPU uninitialised (pages untouched), then each tensor is swapped for the loaded one.
  Encoder encoder(config, at::TensorOptions().dtype(options.dtype));
  io::load_strict(*encoder, source, options);
  encoder->eval();
  return encoder;
}

Encoder load_encoder(const std::string& checkpoint, const io::LoadOptions& options) {
  return load_encoder(*io::open_checkpoint(checkpoint), options);
}

}  // namespace talkgen::model::umt5
