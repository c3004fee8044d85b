// Where the sampler's Gaussian noise comes from.
//
// The reference seeds torch once per job and draws, per chunk and in this order: the initial latent
// noise [16, F, h, w]; then, for every chunk after the first, one motion-frame noise [16, Fm, h, w]
// before the first step and one after every step. talkgen draws the same tensors in the same order,
// but always from a CPU generator (then moves them to the device), so a seed gives the same video on
// any GPU type and count. Tests inject the reference's recorded noise instead.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::samplers {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  /// The next float32 standard-normal tensor of `shape`, on the CPU.
  virtual at::Tensor next(at::IntArrayRef shape) = 0;
};

/// at::randn on a CPU generator seeded once (torch.manual_seed(seed) followed by torch.randn on the CPU).
std::unique_ptr<NoiseSource> make_seeded_noise(uint64_t seed);

/// Replays `tensors` in order; each must have the asked-for shape. Running out, or a shape mismatch,
/// throws Error(invalid_argument) naming the draw (injected noise that does not fit the job).
std::unique_ptr<NoiseSource> make_replayed_noise(std::vector<at::Tensor> tensors);

}  // namespace talkgen::samplers
