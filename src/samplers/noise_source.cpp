#include "samplers/noise_source.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>

#include "talkgen/error.hpp"

namespace talkgen::samplers {
namespace {

class SeededNoise final : public NoiseSource {
 public:
  explicit SeededNoise(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}
  at::Tensor next(at::IntArrayRef shape) override {
    return at::randn(shape, generator_, at::TensorOptions().dtype(at::kFloat));
  }

 private:
  at::Generator generator_;
};

class ReplayedNoise final : public NoiseSource {
 public:
  explicit ReplayedNoise(std::vector<at::Tensor> tensors) : tensors_(std::move(tensors)) {}
  at::Tensor next(at::IntArrayRef shape) override {
    if (index_ >= tensors_.size())
      fail(ErrorCode::invalid_argument,
           "injected noise ran out: draw {} (shape [{}]) asked for, but only {} tensors were given; record the "
           "noise of a job with the same length, steps and size",
           index_, fmt::join(shape, ", "), tensors_.size());
    at::Tensor t = tensors_[index_];
    if (t.sizes() != shape)
      fail(ErrorCode::invalid_argument, "injected noise draw {} has shape [{}], the sampler asks for [{}]", index_,
           fmt::join(t.sizes(), ", "), fmt::join(shape, ", "));
    ++index_;
    return t.to(at::kCPU, at::kFloat).contiguous();
  }

 private:
  std::vector<at::Tensor> tensors_;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<NoiseSource> make_seeded_noise(uint64_t seed) { return std::make_unique<SeededNoise>(seed); }

std::unique_ptr<NoiseSource> make_replayed_noise(std::vector<at::Tensor> tensors) {
  return std::make_unique<ReplayedNoise>(std::move(tensors));
}

}  // namespace talkgen::samplers
