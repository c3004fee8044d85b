#include "model/layers/random_fill.hpp"

#include <cmath>

#include <ATen/core/grad_mode.h>

namespace talkgen::model::layers {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool is_norm_scale(const std::string& name) {
  return (name.find("norm") != std::string::npos && ends_with(name, "weight")) || ends_with(name, "gamma");
}

void fill_random_on_device(torch::nn::Module& module) {
  at::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    at::Tensor& p = item.value();
    if (is_norm_scale(item.key())) {
      p.normal_(1.0, 0.2);
    } else if (p.dim() >= 2) {
      p.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(p[0].numel())));
    } else {
      p.normal_(0.0, 0.1);
    }
  }
}

}  // namespace talkgen::model::layers
