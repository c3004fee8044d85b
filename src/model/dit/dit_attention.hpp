// The three attentions of a DiT block: video self-attention (3-D RoPE), text+image cross-attention,
// and the InfiniteTalk audio cross-attention (each latent frame attends to its own audio tokens).
// Module and parameter names mirror the checkpoint: blocks.N.{self_attn,cross_attn,audio_cross_attn}.*
#pragma once

#include <memory>

#include "distributed/sequence_parallel.hpp"
#include "model/dit/dit_config.hpp"
#include "model/dit/dit_layers.hpp"
#include "model/dit/dit_rope.hpp"
#include "model/dit/dit_speed.hpp"

namespace talkgen::model::dit {

/// WanSelfAttention: q, k, v, o linears; RMS-norm on q and k (over all heads); 3-D RoPE.
class SelfAttention : public torch::nn::Module {
 public:
  SelfAttention(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, L, dim] -> [B, L, dim]; `rope` holds the angles of the L tokens.
  at::Tensor forward(const at::Tensor& x, const RopeGrid& rope,
                     const DitSpeedOptions& speed = DitSpeedOptions::from_env()) const;
  /// Sequence-parallel: x [B, s, dim] is this rank's shard of `sp` (s = sp.shard_tokens()) and `rope` its
  /// angles. q/k/v go to all L tokens of this rank's heads (all-to-all), attention runs, and the output
  /// comes back to the shard: [B, s, dim]. A collective; at world size 1 the same as forward(x, rope).
  at::Tensor forward(const at::Tensor& x, const RopeGrid& rope, const distributed::SequenceParallel& sp,
                     const DitSpeedOptions& speed = DitSpeedOptions::from_env()) const;

 private:
  int64_t heads_;
  double eps_;
  std::shared_ptr<Linear> q_, k_, v_, o_;
  std::shared_ptr<NormParams> norm_q_, norm_k_;
};

/// WanI2VCrossAttention: queries from the video, keys/values from the text tokens and (k_img, v_img)
/// from the CLIP image tokens; the two attention outputs are summed before `o`.
class CrossAttention : public torch::nn::Module {
 public:
  CrossAttention(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, L, dim]; context [B, clip_tokens + text_len, dim] (image tokens first) -> [B, L, dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context,
                     const DitSpeedOptions& speed = DitSpeedOptions::from_env()) const;

 private:
  int64_t heads_, clip_tokens_;
  double eps_;
  std::shared_ptr<Linear> q_, k_, v_, o_, k_img_, v_img_;
  std::shared_ptr<NormParams> norm_q_, norm_k_, norm_k_img_;
};

/// SingleStreamMutiAttention for one speaker: the tokens of latent frame i attend to the audio tokens
/// of frame i only. No qk norm (qk_norm=False in the reference), biases on q and kv.
class AudioCrossAttention : public torch::nn::Module {
 public:
  AudioCrossAttention(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, N_t * S, dim] (S tokens per latent frame), audio [B, N_t, tokens, audio_output_dim] -> x's shape.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio) const;
  /// Sequence-parallel: x [B, s, dim] is this rank's shard of `sp`, of a sequence of latent frames of
  /// `tokens_per_frame` tokens each; each run of one frame's tokens attends to that frame's audio. The
  /// shard's padding rows come out zero. Local (no collective); at world size 1 the same as forward(x, audio).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio, const distributed::SequenceParallel& sp,
                     int64_t tokens_per_frame) const;

 private:
  int64_t heads_;
  std::shared_ptr<Linear> q_linear_, kv_linear_, proj_;
};

}  // namespace talkgen::model::dit
