#include "samplers/flow_schedule.hpp"

#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::samplers {

std::vector<float> linspace_timesteps(int steps, int num_train_timesteps) {
  if (steps < 1) fail(ErrorCode::invalid_argument, "sampling steps must be at least 1, got {}", steps);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(steps) + 1);
  const double start = num_train_timesteps, stop = 1.0;
  if (steps == 1) {
    out.push_back(static_cast<float>(start));  // numpy: a single sample is `start`
  } else {
    // numpy's linspace: arange(num) * step + start in float64, the last sample set to `stop`, then cast.
    const double step = (stop - start) / static_cast<double>(steps - 1);
    for (int i = 0; i < steps; ++i) {
      const double product = static_cast<double>(i) * step;
      out.push_back(static_cast<float>(product + start));
    }
    out.back() = static_cast<float>(stop);
  }
  out.push_back(0.0f);
  return out;
}

FlowSchedule::FlowSchedule(int steps, double shift, const at::Device& device, int num_train_timesteps)
    : steps_(steps), num_train_(num_train_timesteps) {
  if (!std::isfinite(shift) || shift <= 0.0)
    fail(ErrorCode::invalid_argument, "sampling shift must be a positive number, got {}", shift);
  const auto values = linspace_timesteps(steps, num_train_timesteps);
  at::Tensor t = at::tensor(at::ArrayRef<float>(values), at::TensorOptions().dtype(at::kFloat)).to(device);
  // timestep_transform, operation by operation as the reference writes it (float32 tensor ops).
  t = t / num_train_timesteps;
  at::Tensor shifted = (t * shift) / ((t * (shift - 1.0)) + 1.0);
  timesteps_ = shifted * num_train_timesteps;
}

at::Tensor FlowSchedule::timestep(int i) const { return timesteps_.narrow(0, i, 1); }

at::Tensor FlowSchedule::euler_step(const at::Tensor& latent, const at::Tensor& velocity, int i) const {
  at::Tensor dt = (timestep(i) - timestep(i + 1)) / num_train_;
  std::vector<int64_t> shape(static_cast<size_t>(latent.dim()), 1);
  return latent + velocity * dt.view(shape);
}

at::Tensor FlowSchedule::add_noise(const at::Tensor& original, const at::Tensor& noise, int i) const {
  at::Tensor t = timestep(i) / num_train_;
  std::vector<int64_t> shape(static_cast<size_t>(noise.dim()), 1);
  t = t.view(shape);
  return (1 - t) * original + t * noise;
}

}  // namespace talkgen::samplers
