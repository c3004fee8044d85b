#include "model/dit/dit_block.hpp"

#include "model/dit/dit_fused.hpp"
#include "model/dit/dit_profile.hpp"

namespace talkgen::model::dit {

FeedForward::FeedForward(int64_t dim, int64_t hidden, const at::TensorOptions& o) {
  fc1_ = register_module("0", std::make_shared<Linear>(dim, hidden, o));
  fc2_ = register_module("2", std::make_shared<Linear>(hidden, dim, o));
}

at::Tensor FeedForward::forward(const at::Tensor& x, const DitSpeedOptions& speed) const {
  if (speed.gelu_in_gemm) return (*fc2_)(linear_gelu(*fc1_, x));
  // In place on the fused path: the same values without a second 906 MB activation at 480p.
  if (speed.fused_elementwise) {
    auto h = (*fc1_)(x);
    at::gelu_(h, "tanh");
    return (*fc2_)(h);
  }
  return (*fc2_)(at::gelu((*fc1_)(x), "tanh"));
}

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
                             const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                             const DitSpeedOptions& speed, const SpeakerRouting* speakers) const {
  auto x = speed.fused_elementwise ? x_in.clone(at::MemoryFormat::Contiguous) : x_in;  // the caller keeps x_in
  return forward_in_place(x, e0, rope, context, audio, sp, tokens_per_frame, speed, speakers);
}

at::Tensor DitBlock::forward_in_place(at::Tensor& x, const at::Tensor& e0, const RopeGrid& rope,
                                      const at::Tensor& context, const at::Tensor& audio,
                                      const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                                      const DitSpeedOptions& speed, const SpeakerRouting* speakers) const {
  // The reference adds the (model-dtype) modulation to the float32 time projection under
  // autocast(float32): shift/scale/gate stay float32 and so do the modulated sums below.
  const auto e = (modulation.to(at::kFloat) + e0).chunk(6, 1);  // each [B, 1, dim]
  if (speed.fused_elementwise) {
    forward_fused_(x, e, rope, context, audio, sp, tokens_per_frame, speed, speakers);
  } else {
    x = forward_plain(x, e, rope, context, audio, sp, tokens_per_frame, speed, speakers);
  }
  return x;
}

std::pair<at::Tensor, at::Tensor> DitBlock::self_attention(const at::Tensor& h, const RopeGrid& rope,
                                                           const distributed::SequenceParallel& sp,
                                                           const DitSpeedOptions& speed,
                                                           const SpeakerRouting* speakers) const {
  if (!speakers) return {self_attn_->forward(h, rope, sp, speed), at::Tensor()};
  at::Tensor map;  // [B, L, M], the whole sequence on every rank
  auto y = self_attn_->forward(h, rope, sp, speed, speakers, &map);
  // Positions from the whole sequence (the same min/max on every rank), then this shard's rows.
  auto positions = distributed::split_sequence(speaker_positions(map, h.scalar_type()), sp);
  return {y, positions};
}

// The reference's block line by line: every float32 step a separate pass.
at::Tensor DitBlock::forward_plain(const at::Tensor& x_in, const std::vector<at::Tensor>& e, const RopeGrid& rope,
                                   const at::Tensor& context, const at::Tensor& audio,
                                   const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                                   const DitSpeedOptions& speed, const SpeakerRouting* speakers) const {
  const auto dtype = x_in.scalar_type();
  auto x = x_in;
  // norm1 returns the model dtype (WanLayerNorm casts back), then the modulation runs in float32.
  auto h = (wan_layer_norm(x, eps_).to(at::kFloat) * (1 + e[1]) + e[0]).to(dtype);
  profile_phase(h, "norm + modulation");
  const auto [y, positions] = self_attention(h, rope, sp, speed, speakers);
  x = (x.to(at::kFloat) + y * e[2]).to(dtype);
  profile_phase(x, "gated residual");

  x = x + cross_attn_->forward(wan_layer_norm(x, eps_, norm3_->weight, norm3_->bias), context, speed);
  profile_phase(x, "cross_attn (norm3, text + image)");
  x = x + audio_cross_attn_->forward(wan_layer_norm(x, eps_, norm_x_->weight, norm_x_->bias), audio, sp,
                                     tokens_per_frame, positions, speakers ? speakers->speakers : 1);
  profile_phase(x, "audio_cross_attn (norm_x)");

  h = (wan_layer_norm(x, eps_).to(at::kFloat) * (1 + e[4]) + e[3]).to(dtype);
  profile_phase(h, "norm + modulation");
  const auto f = ffn_->forward(h, speed);
  profile_phase(f, "ffn");
  x = (x.to(at::kFloat) + f * e[5]).to(dtype);
  profile_phase(x, "gated residual");
  return x;
}

// The same steps with the fused forms of dit_fused.hpp; the residual stream x is updated in place, and
// each residual update runs together with the norm that reads its result (one CUDA kernel each where
// the row kernels take x).
void DitBlock::forward_fused_(at::Tensor& x, const std::vector<at::Tensor>& e, const RopeGrid& rope,
                              const at::Tensor& context, const at::Tensor& audio,
                              const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                              const DitSpeedOptions& speed, const SpeakerRouting* speakers) const {
  const bool kernels = speed.row_kernels;
  auto h = residual_then_norm(x, {}, {}, RowNorm::modulated(e[1] + 1, e[0], eps_), kernels);
  profile_phase(h, "norm + modulation");
  at::Tensor positions;
  {  // y dies here, before the cross-attentions and the FFN allocate (peak memory)
    auto [y, pos] = self_attention(h, rope, sp, speed, speakers);
    h = residual_then_norm(x, y, e[2], RowNorm::affine(norm3_->weight, norm3_->bias, eps_), kernels);
    positions = pos;
  }
  profile_phase(h, "gated residual + norm3");

  const auto c = cross_attn_->forward(h, context, speed);
  profile_phase(c, "cross_attn (text + image)");
  h = residual_then_norm(x, c, {}, RowNorm::affine(norm_x_->weight, norm_x_->bias, eps_), kernels);
  profile_phase(h, "residual + norm_x");
  const auto a = audio_cross_attn_->forward(h, audio, sp, tokens_per_frame, positions, speakers ? speakers->speakers : 1);
  profile_phase(a, "audio_cross_attn");

  h = residual_then_norm(x, a, {}, RowNorm::modulated(e[4] + 1, e[3], eps_), kernels);
  profile_phase(h, "residual + norm + modulation");
  const auto f = ffn_->forward(h, speed);
  profile_phase(f, "ffn");
  residual_then_norm(x, f, e[5], RowNorm{}, kernels);
  profile_phase(x, "gated residual");
}

}  // namespace talkgen::model::dit
