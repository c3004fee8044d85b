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
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "model/clip/vision_config.hpp"
#include "model/layers/modules.hpp"

namespace talkgen::model::clip {

using layers::LayerNorm;  // the reference's LayerNorm: float32 whatever the activation dtype
using layers::Linear;

struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(int64_t dim, int64_t heads);
  at::Tensor forward(const at::Tensor& x) const;  // [B, L, dim]
  Linear to_qkv{nullptr}, proj{nullptr};
  int64_t heads;
};
TORCH_MODULE(SelfAttention);

/// nn.Sequential(Linear, GELU, Linear, Dropout): parameters at indices 0 and 2.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t dim, int64_t hidden, bool quick_gelu);
  at::Tensor forward(const at::Tensor& x) const;
  Linear fc1{nullptr}, fc2{nullptr};  // keys "0" and "2"
  bool quick_gelu;
};
TORCH_MODULE(Mlp);

/// Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)).
struct AttentionBlockImpl : torch::nn::Module {
  explicit AttentionBlockImpl(const ClipVisionConfig& c);
  at::Tensor forward(const at::Tensor& x) const;
  LayerNorm norm1{nullptr};
  SelfAttention attn{nullptr};
  LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(AttentionBlock);

/// The tower. Held by std::shared_ptr (ClipVisionEncoder shares it), so a plain module rather than a
/// TORCH_MODULE holder.
struct VisionTransformer : torch::nn::Module {
  explicit VisionTransformer(const ClipVisionConfig& c);
  /// Normalised pixels [B, 3, S, S] -> the output of block num_layers - 2: [B, tokens, dim], in the
  /// parameters' dtype.
  at::Tensor forward(const at::Tensor& pixels) const;

  ClipVisionConfig config;
  at::Tensor patch_embedding_weight;  // registered as patch_embedding.weight
  at::Tensor cls_embedding, pos_embedding;
  LayerNorm pre_norm{nullptr};
  torch::nn::ModuleList transformer{nullptr};  // of AttentionBlock: transformer.<i>
};

}  // namespace talkgen::model::clip
