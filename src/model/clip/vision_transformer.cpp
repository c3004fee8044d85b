#include "model/clip/vision_transformer.hpp"

#include <cmath>

#include "model/layers/attention.hpp"

namespace talkgen::model::clip {
namespace {

// Parameters start empty: load_strict overwrites them all, and ViT-H has 630 M of them.
at::Tensor empty_param(at::IntArrayRef shape) { return at::empty(shape, at::kFloat); }

/// A submodule holding just a `weight` parameter (the bias-free patch_embedding conv).
struct WeightOnly : torch::nn::Module {
  explicit WeightOnly(at::IntArrayRef shape) { weight = register_parameter("weight", empty_param(shape)); }
  at::Tensor weight;
};

}  // namespace

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  to_qkv = register_module("to_qkv", Linear(dim, 3 * dim));
  proj = register_module("proj", Linear(dim, dim));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), s = x.size(1), c = x.size(2), d = c / heads;
  // to_qkv's output is laid out [3, heads, d] per token.
  const auto qkv = to_qkv->forward(x).view({b, s, 3, heads, d}).permute({2, 0, 3, 1, 4});  // [3, B, heads, S, d]
  const auto out = layers::attention(qkv[0], qkv[1], qkv[2]);
  return proj->forward(out.transpose(1, 2).reshape({b, s, c}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden, bool quick_gelu_) : quick_gelu(quick_gelu_) {
  fc1 = register_module("0", Linear(dim, hidden));
  fc2 = register_module("2", Linear(hidden, dim));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) const {
  auto h = fc1->forward(x);
  h = quick_gelu ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return fc2->forward(h);
}

AttentionBlockImpl::AttentionBlockImpl(const ClipVisionConfig& c) {
  norm1 = register_module("norm1", LayerNorm(c.dim, c.norm_eps));
  attn = register_module("attn", SelfAttention(c.dim, c.num_heads));
  norm2 = register_module("norm2", LayerNorm(c.dim, c.norm_eps));
  mlp = register_module("mlp", Mlp(c.dim, c.mlp_dim(), c.activation == "quick_gelu"));
}

at::Tensor AttentionBlockImpl::forward(const at::Tensor& x) const {
  const auto h = x + attn->forward(norm1->forward(x));
  return h + mlp->forward(norm2->forward(h));
}

VisionTransformer::VisionTransformer(const ClipVisionConfig& c) : config(c) {
  config.validate();
  patch_embedding_weight = register_module("patch_embedding", std::make_shared<WeightOnly>(
      at::IntArrayRef{c.dim, 3, c.patch_size, c.patch_size}))->weight;
  cls_embedding = register_parameter("cls_embedding", empty_param({1, 1, c.dim}));
  pos_embedding = register_parameter("pos_embedding", empty_param({1, c.tokens(), c.dim}));
  pre_norm = register_module("pre_norm", LayerNorm(c.dim, c.norm_eps));
  transformer = register_module("transformer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.blocks_used(); ++i) transformer->push_back(AttentionBlock(c));
}

at::Tensor VisionTransformer::forward(const at::Tensor& pixels) const {
  const int64_t b = pixels.size(0);
  const auto x = pixels.to(patch_embedding_weight.scalar_type());
  auto h = at::conv2d(x, patch_embedding_weight, {}, {config.patch_size}).flatten(2).transpose(1, 2);  // [B, P, dim]
  h = at::cat({cls_embedding.expand({b, -1, -1}), h}, 1) + pos_embedding;
  h = pre_norm->forward(h);
  for (const auto& block : *transformer) h = block->as<AttentionBlockImpl>()->forward(h);
  return h;
}

}  // namespace talkgen::model::clip
