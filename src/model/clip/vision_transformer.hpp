// The CLIP vision tower as torch::nn modules named like the official checkpoint's `visual.*` keys
// (without the prefix): patch_embedding, cls_embedding, pos_embedding, pre_norm,
// transformer.<i>.{norm1, attn.to_qkv, attn.proj, norm2, mlp.0, mlp.2}. Only the blocks that run
// are built (all but the last); post_norm and head are never used by InfiniteTalk.
//
// Shapes: pixels [B, 3, S, S] -> patches [B, (S/p)^2, dim] -> + class token, + positions
// [B, tokens, dim] -> pre_norm -> blocks -> [B, tokens, dim].
#pragma once

#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/clip/vision_config.hpp"
#include "model/layers/linear.hpp"

namespace talkgen::model::clip {

using layers::LayerNorm;  // the reference's LayerNorm: float32 whatever the activation dtype
using layers::Linear;

struct SelfAttention : torch::nn::Module {
  SelfAttention(int64_t dim, int64_t heads);
  at::Tensor forward(const at::Tensor& x) const;  // [B, L, dim]
  std::shared_ptr<Linear> to_qkv, proj;
  int64_t heads;
};

/// nn.Sequential(Linear, GELU, Linear, Dropout): parameters at indices 0 and 2.
struct Mlp : torch::nn::Module {
  Mlp(int64_t dim, int64_t hidden, bool quick_gelu);
  at::Tensor forward(const at::Tensor& x) const;
  std::shared_ptr<Linear> fc1, fc2;
  bool quick_gelu;
};

/// Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)).
struct AttentionBlock : torch::nn::Module {
  explicit AttentionBlock(const ClipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x) const;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<SelfAttention> attn;
  std::shared_ptr<Mlp> mlp;
};

struct VisionTransformer : torch::nn::Module {
  explicit VisionTransformer(const ClipVisionConfig& c);
  /// Normalised pixels [B, 3, S, S] -> the output of block num_layers - 2: [B, tokens, dim], in the
  /// parameters' dtype.
  at::Tensor forward(const at::Tensor& pixels) const;

  ClipVisionConfig config;
  at::Tensor patch_embedding_weight;  // registered as patch_embedding.weight
  at::Tensor cls_embedding, pos_embedding;
  std::shared_ptr<LayerNorm> pre_norm;
  std::vector<std::shared_ptr<AttentionBlock>> blocks;  // registered as transformer.<i>
};

}  // namespace talkgen::model::clip
