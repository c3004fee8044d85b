// The three attentions of a DiT block: video self-attention (3-D RoPE), text+image cross-attention,
// and the InfiniteTalk audio cross-attention (each latent frame attends to its own audio tokens).
// Module and parameter names mirror the checkpoint: blocks.N.{self_attn,cross_attn,audio_cross_attn}.*
#pragma once

#include <memory>

#include "distributed/sequence_parallel.hpp"
#include "model/dit/dit_config.hpp"
#include "model/dit/dit_layers.hpp"
#include "model/dit/dit_rope.hpp"
#include "model/dit/dit_speakers.hpp"
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
  ///
  /// With `speakers` (two-speaker forwards), also writes the speaker map of the whole sequence to
  /// `*speaker_map`: [B, L, M] float32, the same on every rank (see dit_speakers.hpp). It comes from this
  /// attention's q and the keys of latent frame 0 (the reference frame), which is why it lives here.
  at::Tensor forward(const at::Tensor& x, const RopeGrid& rope, const distributed::SequenceParallel& sp,
                     const DitSpeedOptions& speed = DitSpeedOptions::from_env(),
                     const SpeakerRouting* speakers = nullptr, at::Tensor* speaker_map = nullptr) const;

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

/// SingleStreamMutiAttention: the tokens of latent frame i attend to the audio tokens of frame i only.
/// No qk norm (qk_norm=False in the reference), biases on q and kv. One speaker: plain attention. Two
/// speakers (audio tokens of both side by side): queries rotated by each token's speaker position and keys
/// by their person's (1-D RoPE, dit_speakers.hpp) -- pass `positions`.
class AudioCrossAttention : public torch::nn::Module {
 public:
  AudioCrossAttention(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, N_t * S, dim] (S tokens per latent frame), audio [B, N_t, tokens, audio_output_dim] -> x's shape.
  /// `positions` (two speakers only): [B, N_t * S] float32 speaker positions of x's tokens; `speakers`: how
  /// many persons' tokens audio holds side by side (1 or 2).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio, const at::Tensor& positions = {},
                     int64_t speakers = 1) const;
  /// Sequence-parallel: x [B, s, dim] is this rank's shard of `sp`, of a sequence of latent frames of
  /// `tokens_per_frame` tokens each; each run of one frame's tokens attends to that frame's audio. The
  /// shard's padding rows come out zero. Local (no collective); at world size 1 the same as forward(x, audio).
  /// `positions`: as above, this shard's rows ([B, s]).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio, const distributed::SequenceParallel& sp,
                     int64_t tokens_per_frame, const at::Tensor& positions = {}, int64_t speakers = 1) const;

 private:
  /// Keys and values of audio [..., speakers * tokens, C] as [..., tokens, H, D] each (k rotated by the
  /// speakers' positions when speakers > 1), in the layout the attention kernels take.
  std::pair<at::Tensor, at::Tensor> keys_values(const at::Tensor& audio, int64_t speakers) const;
  at::Tensor queries(const at::Tensor& x, const at::Tensor& positions) const;  // [B, L, H, D]

  int64_t heads_;
  std::shared_ptr<Linear> q_linear_, kv_linear_, proj_;
};

}  // namespace talkgen::model::dit
