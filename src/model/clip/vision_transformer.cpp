#include "model/clip/vision_transformer.hpp"

#include <cmath>
#include <string>

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

SelfAttention::SelfAttention(int64_t dim, int64_t heads_) : heads(heads_) {
  to_qkv = register_module("to_qkv", std::make_shared<Linear>(dim, 3 * dim));
  proj = register_module("proj", std::make_shared<Linear>(dim, dim));
}

at::Tensor SelfAttention::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), s = x.size(1), c = x.size(2), d = c / heads;
  // to_qkv's output is laid out [3, heads, d] per token.
  const auto qkv = to_qkv->forward(x).view({b, s, 3, heads, d}).permute({2, 0, 3, 1, 4});  // [3, B, heads, S, d]
  const auto out = layers::attention(qkv[0], qkv[1], qkv[2]);
  return proj->forward(out.transpose(1, 2).reshape({b, s, c}));
}

Mlp::Mlp(int64_t dim, int64_t hidden, bool quick_gelu_) : quick_gelu(quick_gelu_) {
  fc1 = register_module("0", std::make_shared<Linear>(dim, hidden));
  fc2 = register_module("2", std::make_shared<Linear>(hidden, dim));
}

at::Tensor Mlp::forward(const at::Tensor& x) const {
  auto h = fc1->forward(x);
  h = quick_gelu ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return fc2->forward(h);
}

AttentionBlock::AttentionBlock(const ClipVisionConfig& c) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.dim, c.norm_eps));
  attn = register_module("attn", std::make_shared<SelfAttention>(c.dim, c.num_heads));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.dim, c.norm_eps));
  mlp = register_module("mlp", std::make_shared<Mlp>(c.dim, c.mlp_dim(), c.activation == "quick_gelu"));
}

at::Tensor AttentionBlock::forward(const at::Tensor& x) const {
  const auto h = x + attn->forward(norm1->forward(x));
  return h + mlp->forward(norm2->forward(h));
}

VisionTransformer::VisionTransformer(const ClipVisionConfig& c) : config(c) {
  config.validate();
  patch_embedding_weight = register_module("patch_embedding", std::make_shared<WeightOnly>(
      at::IntArrayRef{c.dim, 3, c.patch_size, c.patch_size}))->weight;
  cls_embedding = register_parameter("cls_embedding", empty_param({1, 1, c.dim}));
  pos_embedding = register_parameter("pos_embedding", empty_param({1, c.tokens(), c.dim}));
  pre_norm = register_module("pre_norm", std::make_shared<LayerNorm>(c.dim, c.norm_eps));
  auto list = register_module("transformer", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < c.blocks_used(); ++i) {
    blocks.push_back(list->register_module(std::to_string(i), std::make_shared<AttentionBlock>(c)));
  }
}

at::Tensor VisionTransformer::forward(const at::Tensor& pixels) const {
  const int64_t b = pixels.size(0);
  const auto x = pixels.to(patch_embedding_weight.scalar_type());
  auto h = at::conv2d(x, patch_embedding_weight, {}, {config.patch_size}).flatten(2).transpose(1, 2);  // [B, P, dim]
  h = at::cat({cls_embedding.expand({b, -1, -1}), h}, 1) + pos_embedding;
  h = pre_norm->forward(h);
  for (const auto& block : blocks) h = block->forward(h);
  return h;
}

}  // namespace talkgen::model::clip
