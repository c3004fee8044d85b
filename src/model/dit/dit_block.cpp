#include "model/dit/dit_block.hpp"

namespace talkgen::model::dit {

FeedForward::FeedForward(int64_t dim, int64_t hidden, const at::TensorOptions& o) {
  fc1_ = register_module("0", std::make_shared<Linear>(dim, hidden, o));
  fc2_ = register_module("2", std::make_shared<Linear>(hidden, dim, o));
}

at::Tensor FeedForward::forward(const at::Tensor& x) const { return (*fc2_)(at::gelu((*fc1_)(x), "tanh")); }

DitBlock::DitBlock(const DitConfig& c, const at::TensorOptions& o) : eps_(c.eps) {
  // Registration order follows the reference's __init__ (it only matters for listings).
  self_attn_ = register_module("self_attn", std::make_shared<SelfAttention>(c, o));
  norm3_ = register_module("norm3", std::make_shared<NormParams>(c.dim, o, /*with_bias=*/true));
  cross_attn_ = register_module("cross_attn", std::make_shared<CrossAttention>(c, o));
  ffn_ = register_module("ffn", std::make_shared<FeedForward>(c.dim, c.ffn_dim, o));
  modulation = register_parameter("modulation", at::empty({1, 6, c.dim}, o), /*requires_grad=*/false);
  audio_cross_attn_ = register_module("audio_cross_attn", std::make_shared<AudioCrossAttention>(c, o));
  norm_x_ = register_module("norm_x", std::make_shared<NormParams>(c.dim, o, /*with_bias=*/true));
}

at::Tensor DitBlock::forward(const at::Tensor& x_in, const at::Tensor& e0, const RopeGrid& rope,
                             const at::Tensor& context, const at::Tensor& audio,
                             const distributed::SequenceParallel& sp, int64_t tokens_per_frame) const {
  const auto dtype = x_in.scalar_type();
  // The reference adds the (model-dtype) modulation to the float32 time projection under
  // autocast(float32): shift/scale/gate stay float32 and so do the modulated sums below.
  const auto e = (modulation.to(at::kFloat) + e0).chunk(6, 1);  // each [B, 1, dim]
  auto x = x_in;

  // norm1 returns the model dtype (WanLayerNorm casts back), then the modulation runs in float32.
  auto h = (wan_layer_norm(x, eps_).to(at::kFloat) * (1 + e[1]) + e[0]).to(dtype);
  x = (x.to(at::kFloat) + self_attn_->forward(h, rope, sp) * e[2]).to(dtype);

  x = x + cross_attn_->forward(wan_layer_norm(x, eps_, norm3_->weight, norm3_->bias), context);
  x = x + audio_cross_attn_->forward(wan_layer_norm(x, eps_, norm_x_->weight, norm_x_->bias), audio, sp,
                                     tokens_per_frame);

  h = (wan_layer_norm(x, eps_).to(at::kFloat) * (1 + e[4]) + e[3]).to(dtype);
  return (x.to(at::kFloat) + ffn_->forward(h) * e[5]).to(dtype);
}

}  // namespace talkgen::model::dit
