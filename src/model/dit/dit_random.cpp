// randomize_parameters (declared in dit_model.hpp): random weights for tests and benchmarks.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "model/dit/dit_model.hpp"

namespace talkgen::model::dit {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void randomize_parameters(torch::nn::Module& module, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    const auto cpu = at::TensorOptions().dtype(at::kFloat);
    at::Tensor value;
    if (ends_with(name, "modulation")) {  // [1, n, dim], scaled as the reference initialises it
      value = at::randn(p.sizes(), gen, cpu) / std::sqrt(static_cast<double>(p.size(-1)));
    } else if (p.dim() >= 2) {
      value = at::randn(p.sizes(), gen, cpu) / std::sqrt(static_cast<double>(p[0].numel()));
    } else if (name.find("norm") != std::string::npos && ends_with(name, "weight")) {
      value = 1.0 + 0.2 * at::randn(p.sizes(), gen, cpu);
    } else {
      value = 0.1 * at::randn(p.sizes(), gen, cpu);
    }
    p.copy_(value);
  }
}

}  // namespace talkgen::model::dit
