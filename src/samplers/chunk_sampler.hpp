// The sampling loop of one chunk (wan/multitalk.py, "evaluation mode" block): Euler steps of the
// flow-matching ODE from noise to a clean latent, with guidance, the condition (motion) latent frames
// held fixed, and the reference's motion-frame noise injection.
#pragma once

#include <functional>
#include <vector>

#include <ATen/ATen.h>

#include "samplers/flow_schedule.hpp"
#include "samplers/guidance.hpp"
#include "samplers/noise_source.hpp"

namespace talkgen::samplers {

/// One model forward: the prediction for `kind` of conditions at latent x ([1, z, F, h, w]) and
/// timestep t ([1] float32). Returns float32 [1, z, F, h, w] on x's device.
using Denoiser = std::function<at::Tensor(ForwardKind kind, const at::Tensor& x, const at::Tensor& t)>;
/// All forwards of one step at once: the predictions for `kinds` (in that order) at x and t, each float32
/// [1, z, F, h, w]. Lets the caller run the guidance forwards as one batched model call.
using StepDenoiser =
    std::function<std::vector<at::Tensor>(const std::vector<ForwardKind>& kinds, const at::Tensor& x, const at::Tensor& t)>;

struct ChunkSamplerInputs {
  at::Tensor noise;           ///< [1, z, F, h, w] float32 on the device: the initial latent
  at::Tensor motion_latents;  ///< [1, z, Fm, h, w] float32: latent frames of the condition frames
  bool first_chunk = true;    ///< later chunks draw (and inject) motion-frame noise as the reference
  int chunk_index = 0;        ///< for the step callback
};

/// Called after each step with the number of steps done; may throw (e.g. Error(cancelled)).
using StepCallback = std::function<void(int steps_done)>;

/// Runs all steps of `schedule` and returns the clean latent [1, z, F, h, w] float32.
at::Tensor sample_chunk(const Denoiser& denoise, const FlowSchedule& schedule, Guidance& guidance,
                        NoiseSource& noise, const ChunkSamplerInputs& inputs, const StepCallback& after_step = {});
/// The same with every step's forwards asked for together.
at::Tensor sample_chunk(const StepDenoiser& denoise, const FlowSchedule& schedule, Guidance& guidance,
                        NoiseSource& noise, const ChunkSamplerInputs& inputs, const StepCallback& after_step = {});

}  // namespace talkgen::samplers
