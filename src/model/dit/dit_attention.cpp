#include "model/dit/dit_attention.hpp"

#include <vector>

#include "model/dit/dit_fused.hpp"
#include "model/dit/dit_profile.hpp"
#include "model/layers/attention.hpp"

namespace talkgen::model::dit {
namespace {

// [B, L, H*D] -> [B, H, L, D] (a view: SDPA takes strided inputs).
at::Tensor heads_first(const at::Tensor& x, int64_t heads) {
  return x.unflatten(-1, {heads, x.size(-1) / heads}).transpose(1, 2);
}

// [B, H, L, D] -> [B, L, H*D]
at::Tensor heads_merged(const at::Tensor& x) { return x.transpose(1, 2).flatten(2); }

}  // namespace

SelfAttention::SelfAttention(const DitConfig& c, const at::TensorOptions& o)
    : heads_(c.num_heads), eps_(c.eps) {
  q_ = register_module("q", std::make_shared<Linear>(c.dim, c.dim, o));
  k_ = register_module("k", std::make_shared<Linear>(c.dim, c.dim, o));
  v_ = register_module("v", std::make_shared<Linear>(c.dim, c.dim, o));
  o_ = register_module("o", std::make_shared<Linear>(c.dim, c.dim, o));
  norm_q_ = register_module("norm_q", std::make_shared<NormParams>(c.dim, o, /*with_bias=*/false));
  norm_k_ = register_module("norm_k", std::make_shared<NormParams>(c.dim, o, /*with_bias=*/false));
}

at::Tensor SelfAttention::forward(const at::Tensor& x, const RopeGrid& rope, const DitSpeedOptions& speed) const {
  return forward(x, rope, distributed::SequenceParallel(x.size(1)), speed);
}

at::Tensor SelfAttention::forward(const at::Tensor& x, const RopeGrid& rope, const distributed::SequenceParallel& sp,
                                  const DitSpeedOptions& speed, const SpeakerRouting* speakers,
                                  at::Tensor* speaker_map) const {
  const auto dtype = x.scalar_type();
  const auto split = [&](const at::Tensor& t) { return t.unflatten(-1, {heads_, t.size(-1) / heads_}); };
  const auto qx = (*q_)(x), kx = (*k_)(x);
  const auto v = split((*v_)(x));
  profile_phase(v, "self_attn q/k/v GEMMs");
  // RoPE runs in float32 (as the reference); attention then runs in the model dtype, like the
  // reference's flash_attention, which casts q and k back to v's dtype. Each [B, s, H, D].
  at::Tensor q, k;
  if (speed.fused_elementwise) {
    q = qk_norm_rope(qx, norm_q_->weight, eps_, &rope, heads_, speed.row_kernels);
    k = qk_norm_rope(kx, norm_k_->weight, eps_, &rope, heads_, speed.row_kernels);
  } else {
    q = apply_rope(split(wan_rms_norm(qx, norm_q_->weight, eps_)), rope).to(dtype);
    k = apply_rope(split(wan_rms_norm(kx, norm_k_->weight, eps_)), rope).to(dtype);
  }
  profile_phase(k, "self_attn qk norm + RoPE");
  const int64_t ref_tokens = speakers ? speakers->masks.size(1) : 0;  // latent frame 0's tokens
  if (sp.world() == 1) {
    if (speakers) {
      *speaker_map = speaker_map_mean(
          speaker_map_per_head(q.transpose(1, 2), k.narrow(1, 0, ref_tokens).transpose(1, 2), *speakers));
      profile_phase(*speaker_map, "self_attn speaker map");
    }
    const auto out = layers::attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
    profile_phase(out, "self_attn attention");
    auto y = (*o_)(heads_merged(out));
    profile_phase(y, "self_attn o GEMM");
    return y;
  }
  // Ulysses: one all-to-all moves q, k and v to [3, B, L, H_loc, D] (all tokens, this rank's heads);
  // the attention of a head needs every token, nothing else does.
  const auto qkv = distributed::all_to_all_seq_to_heads(at::stack({q, k, v}), sp, /*seq_dim=*/2, /*head_dim=*/3)
                       .transpose(2, 3);  // [3, B, H_loc, L, D]
  if (speakers) {
    // Each rank maps its heads over all L tokens; the per-head maps go back to the token shards (small:
    // M values per head and token), are averaged over all heads there, and gathered so that every rank
    // normalises over the same whole sequence (the reference all-gathers the keys and the min/max).
    const auto per_head = speaker_map_per_head(qkv[0], qkv[1].narrow(2, 0, ref_tokens), *speakers);
    const auto shard = distributed::all_to_all_heads_to_seq(per_head.contiguous(), sp, heads_);  // [B, s, H, M]
    *speaker_map = distributed::gather_sequence(speaker_map_mean(shard), sp);
    profile_phase(*speaker_map, "self_attn speaker map (with all-to-all)");
  }
  const auto out = layers::attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2);  // [B, L, H_loc, D]
  profile_phase(out, "self_attn attention (with all-to-all)");
  auto y = (*o_)(distributed::all_to_all_heads_to_seq(out, sp, heads_).flatten(2));
  profile_phase(y, "self_attn o GEMM (with all-to-all)");
  return y;
}

CrossAttention::CrossAttention(const DitConfig& c, const at::TensorOptions& o)
    : heads_(c.num_heads), clip_tokens_(c.clip_tokens), eps_(c.eps) {
  q_ = register_module("q", std::make_shared<Linear>(c.dim, c.dim, o));
  k_ = register_module("k", std::make_shared<Linear>(c.dim, c.dim, o));
  v_ = register_module("v", std::make_shared<Linear>(c.dim, c.dim, o));
  o_ = register_module("o", std::make_shared<Linear>(c.dim, c.dim, o));
  norm_q_ = register_module("norm_q", std::make_shared<NormParams>(c.dim, o, false));
  norm_k_ = register_module("norm_k", std::make_shared<NormParams>(c.dim, o, false));
  k_img_ = register_module("k_img", std::make_shared<Linear>(c.dim, c.dim, o));
  v_img_ = register_module("v_img", std::make_shared<Linear>(c.dim, c.dim, o));
  norm_k_img_ = register_module("norm_k_img", std::make_shared<NormParams>(c.dim, o, false));
}

at::Tensor CrossAttention::forward(const at::Tensor& x, const at::Tensor& context,
                                   const DitSpeedOptions& speed) const {
  const auto image = context.slice(1, 0, clip_tokens_);
  const auto text = context.slice(1, clip_tokens_);
  const auto qx = (*q_)(x);
  const auto q = speed.fused_elementwise
                     ? qk_norm_rope(qx, norm_q_->weight, eps_, nullptr, heads_, speed.row_kernels).transpose(1, 2)
                     : heads_first(wan_rms_norm(qx, norm_q_->weight, eps_), heads_);
  const auto k = heads_first(wan_rms_norm((*k_)(text), norm_k_->weight, eps_), heads_);
  const auto v = heads_first((*v_)(text), heads_);
  const auto k_img = heads_first(wan_rms_norm((*k_img_)(image), norm_k_img_->weight, eps_), heads_);
  const auto v_img = heads_first((*v_img_)(image), heads_);
  auto out = heads_merged(layers::attention(q, k, v));
  const auto image_out = heads_merged(layers::attention(q, k_img, v_img));
  // The sum into the text attention's own output on the fused path (no third [L, dim] tensor).
  out = speed.fused_elementwise ? out.add_(image_out) : out + image_out;
  return (*o_)(out);
}

AudioCrossAttention::AudioCrossAttention(const DitConfig& c, const at::TensorOptions& o) : heads_(c.num_heads) {
  q_linear_ = register_module("q_linear", std::make_shared<Linear>(c.dim, c.dim, o));
  kv_linear_ = register_module("kv_linear", std::make_shared<Linear>(c.audio_output_dim, 2 * c.dim, o));
  proj_ = register_module("proj", std::make_shared<Linear>(c.dim, c.dim, o));
}

std::pair<at::Tensor, at::Tensor> AudioCrossAttention::keys_values(const at::Tensor& audio, int64_t speakers) const {
  const int64_t dim = q_linear_->weight.size(0);
  const auto kv = (*kv_linear_)(audio).unflatten(-1, {2, heads_, dim / heads_});
  // k and v copied out of the packed [.., 2, H, D] rows into the [B, L, H, D] memory layout the cuDNN
  // kernel takes (7 MB at 480p).
  auto k = kv.select(-3, 0).contiguous();
  if (speakers > 1) k = rope_1d(k, audio_key_positions(speakers, audio.size(-2) / speakers, audio.device()));
  return {k, kv.select(-3, 1).contiguous()};
}

at::Tensor AudioCrossAttention::queries(const at::Tensor& x, const at::Tensor& positions) const {
  const auto q = (*q_linear_)(x).unflatten(-1, {heads_, x.size(-1) / heads_});
  return positions.defined() ? rope_1d(q, positions) : q;
}

at::Tensor AudioCrossAttention::forward(const at::Tensor& x, const at::Tensor& audio, const at::Tensor& positions,
                                        int64_t speakers) const {
  const int64_t batch = x.size(0), frames = audio.size(1), dim = x.size(2);
  // One attention problem per (batch, latent frame): [B * N_t, S, dim] against [B * N_t, tokens, C_a].
  // Two speakers: the queries are rotated per token before the split into frames.
  const auto q = queries(x, positions).reshape({batch * frames, -1, heads_, dim / heads_}).transpose(1, 2);
  const auto [k, v] = keys_values(audio.flatten(0, 1), speakers);
  return (*proj_)(heads_merged(layers::attention(q, k.transpose(1, 2), v.transpose(1, 2)))).reshape({batch, -1, dim});
}

at::Tensor AudioCrossAttention::forward(const at::Tensor& x, const at::Tensor& audio,
                                        const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                                        const at::Tensor& positions, int64_t speakers) const {
  if (sp.world() == 1) return forward(x, audio, positions, speakers);  // whole frames: the batched path
  // A shard starts and ends mid-frame, so it cannot be reshaped into frames: attend each run of one
  // frame's tokens to that frame's audio. The runs cover the shard's real tokens [0, valid) in order.
  const auto segments = distributed::shard_frame_segments(sp, tokens_per_frame);
  if (segments.empty()) return at::zeros_like(x);  // a shard of padding only
  const auto q = queries(x, positions);  // [B, s, H, D]
  std::vector<at::Tensor> outs;
  outs.reserve(segments.size());
  for (const auto& seg : segments) {
    const auto [k, v] = keys_values(audio.select(1, seg.frame), speakers);
    outs.push_back(layers::attention(q.narrow(1, seg.begin, seg.length).transpose(1, 2), k.transpose(1, 2),
                                     v.transpose(1, 2)));
  }
  const auto real = (*proj_)(heads_merged(at::cat(outs, 2)));  // [B, valid, dim]
  // Padding rows stay zero (proj's bias would otherwise land there).
  return at::constant_pad_nd(real, {0, 0, 0, x.size(1) - real.size(1)});
}

}  // namespace talkgen::model::dit
