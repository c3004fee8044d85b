// WanAttentionBlock with the InfiniteTalk audio cross-attention: blocks.N.* of the checkpoint.
//
//   x += self_attn(norm1(x) * (1 + scale_msa) + shift_msa) * gate_msa     (modulation: float32)
//   x += cross_attn(norm3(x), text + image context)
//   x += audio_cross_attn(norm_x(x), audio tokens of each latent frame)
//        (two speakers: routed by the speaker map of this block's self-attention, dit_speakers.hpp)
//   x += ffn(norm2(x) * (1 + scale_mlp) + shift_mlp) * gate_mlp           (modulation: float32)
//
// Two transcriptions of the same block (DitSpeedOptions::fused_elementwise): the plain one, step by step
// as the reference, and the fused one (dit_fused.hpp), which adds the residuals into x in place.
#pragma once

#include <memory>
#include <vector>

#include "model/dit/dit_attention.hpp"

namespace talkgen::model::dit {

/// ffn.0 (dim -> ffn_dim), tanh-GELU, ffn.2 (ffn_dim -> dim): the indices of the reference's nn.Sequential.
class FeedForward : public torch::nn::Module {
 public:
  FeedForward(int64_t dim, int64_t hidden, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const DitSpeedOptions& speed = DitSpeedOptions::from_env()) const;

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
};

class DitBlock : public torch::nn::Module {
 public:
  DitBlock(const DitConfig& config, const at::TensorOptions& options);
  /// x in the model dtype; e0 [B, 6, dim] float32 (time_projection output);
  /// context [B, clip_tokens + text_len, dim]; audio [B, N_t, tokens, audio_output_dim].
  /// x [B, s, dim] and `rope` are this rank's shard of `sp` (all L tokens at world size 1), a sequence of
  /// latent frames of `tokens_per_frame` tokens. Only the self-attention talks to the other ranks.
  /// `speakers`: the per-person masks of a two-speaker forward (audio then holds both persons' tokens side
  /// by side); null for one speaker.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& e0, const RopeGrid& rope, const at::Tensor& context,
                     const at::Tensor& audio, const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                     const DitSpeedOptions& speed = DitSpeedOptions::from_env(),
                     const SpeakerRouting* speakers = nullptr) const;
  /// The same, updating x in place where `speed` allows (the fused path adds the residuals into x):
  /// for callers that own x and do not need its old value. Returns the new x (x itself, or a new tensor).
  at::Tensor forward_in_place(at::Tensor& x, const at::Tensor& e0, const RopeGrid& rope, const at::Tensor& context,
                              const at::Tensor& audio, const distributed::SequenceParallel& sp,
                              int64_t tokens_per_frame, const DitSpeedOptions& speed,
                              const SpeakerRouting* speakers = nullptr) const;

  at::Tensor modulation;  // [1, 6, dim]

 private:
  at::Tensor forward_plain(const at::Tensor& x, const std::vector<at::Tensor>& e, const RopeGrid& rope,
                           const at::Tensor& context, const at::Tensor& audio, const distributed::SequenceParallel& sp,
                           int64_t tokens_per_frame, const DitSpeedOptions& speed,
                           const SpeakerRouting* speakers) const;
  void forward_fused_(at::Tensor& x, const std::vector<at::Tensor>& e, const RopeGrid& rope,
                      const at::Tensor& context, const at::Tensor& audio, const distributed::SequenceParallel& sp,
                      int64_t tokens_per_frame, const DitSpeedOptions& speed, const SpeakerRouting* speakers) const;
  /// Self-attention, plus this shard's speaker positions ([B, s] float32) when `speakers` is set.
  std::pair<at::Tensor, at::Tensor> self_attention(const at::Tensor& h, const RopeGrid& rope,
                                                   const distributed::SequenceParallel& sp,
                                                   const DitSpeedOptions& speed, const SpeakerRouting* speakers) const;

  double eps_;
  std::shared_ptr<SelfAttention> self_attn_;
  std::shared_ptr<CrossAttention> cross_attn_;
  std::shared_ptr<AudioCrossAttention> audio_cross_attn_;
  std::shared_ptr<NormParams> norm3_, norm_x_;
  std::shared_ptr<FeedForward> ffn_;
};

}  // namespace talkgen::model::dit
