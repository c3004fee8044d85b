// The flow-matching schedule and Euler update of the reference sampler (wan/multitalk.py).
//
//   timesteps = linspace(1000, 1, steps) (numpy, float64 -> float32) + [0], then per value
//   timestep_transform: t' = shift * (t / 1000) / (1 + (shift - 1) * (t / 1000)) * 1000, in float32.
//   x_{i+1} = x_i + v_i * (t_i - t_{i+1}) / 1000,  v = -(guided model output).
// The transform, dt and add_noise run as tensor ops on the pipeline's device, exactly as the reference
// does them (on CUDA a division by a scalar is a multiplication by its reciprocal, on the CPU a true
// division, so each device matches the reference run on that device bit for bit).
#pragma once

#include <vector>

#include <ATen/ATen.h>

namespace talkgen::samplers {

/// The reference's num_train_timesteps (wan/configs/shared_config.py).
constexpr int kNumTrainTimesteps = 1000;

/// np.linspace(num_train_timesteps, 1, steps, dtype=float32) followed by 0: steps + 1 values.
/// Throws Error(invalid_argument) for steps < 1.
std::vector<float> linspace_timesteps(int steps, int num_train_timesteps = kNumTrainTimesteps);

class FlowSchedule {
 public:
  /// steps >= 1, shift > 0 (finite). `device` is where the timesteps live (the DiT's device).
  FlowSchedule(int steps, double shift, const at::Device& device, int num_train_timesteps = kNumTrainTimesteps);

  int steps() const { return steps_; }
  /// Timestep i (0..steps) as a float32 [1] tensor on the device, the DiT's `t`.
  at::Tensor timestep(int i) const;
  /// All steps + 1 timesteps, float32 [steps + 1], on the device.
  const at::Tensor& timesteps() const { return timesteps_; }
  /// One Euler step: latent + velocity * (t_i - t_{i+1}) / num_train_timesteps (velocity = -prediction).
  at::Tensor euler_step(const at::Tensor& latent, const at::Tensor& velocity, int i) const;
  /// The reference's add_noise: (1 - t/1000) * original + (t/1000) * noise at timestep i.
  at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise, int i) const;

 private:
  int steps_;
  int num_train_;
  at::Tensor timesteps_;  // [steps + 1] float32
};

}  // namespace talkgen::samplers
