// The DiT forwards of one chunk's guidance: the conditions of each forward kind (cond, drop_text,
// drop_audio, uncond) embedded once per chunk, and the per-step call that runs them, one by one as the
// reference does, or as one DiT call with a batch of 2-3 (same arithmetic per sample, fewer and larger
// kernels; GenerateOptions::batch_guidance). With a communicator the forwards are sequence-parallel.
#pragma once

#include <map>
#include <vector>

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"
#include "model/dit/dit_model.hpp"
#include "samplers/chunk_sampler.hpp"
#include "samplers/guidance.hpp"

namespace talkgen::samplers {

/// What the forward kinds of one chunk are made of, each [1, ...] on the DiT's device.
struct GuidanceConditions {
  at::Tensor prompt;    ///< umT5 context of the prompt [1, Lt, text_dim]
  at::Tensor negative;  ///< ... of the negative prompt (the "null text" of drop_text / uncond)
  at::Tensor clip;      ///< CLIP tokens [1, clip_tokens, clip_dim]
  at::Tensor audio;     ///< audio windows [1, speakers, frames, window, blocks, channels]
  at::Tensor y;         ///< mask + reference latent [1, in_dim - out_dim, F, h, w]
  /// Two speakers: the DiT's ref_target_masks [3, lat_h, lat_w] (speaker_masks.hpp); undefined for one.
  at::Tensor speaker_regions;
};

class GuidedDenoiser {
 public:
  /// Embeds the conditions of `kinds` (in that order). The "null audio" of drop_audio / uncond is one
  /// speaker's zeros, whatever the speakers (the reference's zeros_like(audio_embs)[-1:]). `batched`: one
  /// forward of batch kinds.size() per step; two-speaker jobs run one by one all the same (their forwards
  /// differ in audio tokens, which a batch cannot). `comm`: every rank of it runs the forwards together (nullptr: this device alone). Keeps
  /// references to `dit` and `comm`.
  GuidedDenoiser(const model::dit::DitModel& dit, const std::vector<ForwardKind>& kinds,
                 const GuidanceConditions& conditions, bool batched, Communicator* comm);

  /// The predictions for `kinds` (a subset of the constructor's, in any order) at latent x [1, z, F, h, w] and
  /// timestep t [1]: float32 [1, z, F, h, w] each.
  std::vector<at::Tensor> operator()(const std::vector<ForwardKind>& kinds, const at::Tensor& x,
                                     const at::Tensor& t) const;
  /// As a StepDenoiser for sample_chunk (refers to this object).
  StepDenoiser step_denoiser() const;

 private:
  at::Tensor forward(const model::dit::DitConditions& conditions, const at::Tensor& x, const at::Tensor& t) const;

  const model::dit::DitModel& dit_;
  Communicator* comm_;
  at::Tensor y_;
  std::vector<ForwardKind> kinds_;
  std::map<ForwardKind, model::dit::DitConditions> single_;  // one by one
  model::dit::DitConditions batch_;                          // batched: sample k is kinds_[k]
  bool batched_;
};

}  // namespace talkgen::samplers
