#include "samplers/chunk_sampler.hpp"

#include "talkgen/error.hpp"

namespace talkgen::samplers {
namespace {

// latent[:, :, :Fm] = frames (the reference writes the [z, F, h, w] latent's leading frames).
void hold_frames(at::Tensor& latent, const at::Tensor& frames) {
  latent.narrow(2, 0, frames.size(2)).copy_(frames);
}

// The reference's injection: add_noise(motion latents, fresh noise, t) into the leading frames. The
// next hold_frames overwrites them again, but the draw keeps the noise sequence in the reference's order.
void inject_motion_noise(at::Tensor& latent, const at::Tensor& motion, NoiseSource& noise,
                         const FlowSchedule& schedule, int timestep_index) {
  at::Tensor fresh = noise.next(motion.squeeze(0).sizes()).unsqueeze(0).to(latent.device());
  at::Tensor noisy = schedule.add_noise(motion, fresh, timestep_index);
  hold_frames(latent, noisy);
}

}  // namespace

at::Tensor sample_chunk(const Denoiser& denoise, const FlowSchedule& schedule, Guidance& guidance,
                        NoiseSource& noise, const ChunkSamplerInputs& in, const StepCallback& after_step) {
  const StepDenoiser one_by_one = [&](const std::vector<ForwardKind>& kinds, const at::Tensor& x, const at::Tensor& t) {
    std::vector<at::Tensor> predictions;
    predictions.reserve(kinds.size());
    for (ForwardKind kind : kinds) predictions.push_back(denoise(kind, x, t));
    return predictions;
  };
  return sample_chunk(one_by_one, schedule, guidance, noise, in, after_step);
}

at::Tensor sample_chunk(const StepDenoiser& denoise, const FlowSchedule& schedule, Guidance& guidance,
                        NoiseSource& noise, const ChunkSamplerInputs& in, const StepCallback& after_step) {
  if (in.noise.dim() != 5 || in.motion_latents.dim() != 5 || in.motion_latents.size(2) > in.noise.size(2))
    fail(ErrorCode::internal, "sample_chunk: noise [1, z, F, h, w] and motion latents [1, z, Fm <= F, h, w] expected");
  at::Tensor latent = in.noise.to(at::kFloat).clone();
  const at::Tensor motion = in.motion_latents.to(latent.device(), at::kFloat);
  if (!in.first_chunk) inject_motion_noise(latent, motion, noise, schedule, 0);

  const auto& kinds = guidance.forwards();
  for (int i = 0; i < schedule.steps(); ++i) {
    hold_frames(latent, motion);
    const at::Tensor t = schedule.timestep(i);
    const std::vector<at::Tensor> predictions = denoise(kinds, latent, t);
    if (predictions.size() != kinds.size())
      fail(ErrorCode::internal, "sample_chunk: the denoiser returned {} predictions for {} forwards",
           predictions.size(), kinds.size());
    at::Tensor velocity = -guidance.combine(predictions);
    latent = schedule.euler_step(latent, velocity, i);
    if (!in.first_chunk) inject_motion_noise(latent, motion, noise, schedule, i + 1);
    hold_frames(latent, motion);
    if (after_step) after_step(i + 1);
  }
  return latent;
}

}  // namespace talkgen::samplers
