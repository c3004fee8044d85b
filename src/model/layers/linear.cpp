#include "model/layers/linear.hpp"

namespace talkgen::model::layers {

Linear::Linear(int64_t in, int64_t out) {
  weight = register_parameter("weight", at::empty({out, in}, at::kFloat));
  bias = register_parameter("bias", at::empty({out}, at::kFloat));
}

at::Tensor Linear::forward(const at::Tensor& x) const { return at::linear(x, weight, bias); }

LayerNorm::LayerNorm(int64_t n, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::empty({n}, at::kFloat));
  bias = register_parameter("bias", at::empty({n}, at::kFloat));
}

at::Tensor LayerNorm::forward(const at::Tensor& x) const {
  if (x.scalar_type() == at::kFloat) return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
  return at::layer_norm(x.to(at::kFloat), {weight.size(0)}, weight.to(at::kFloat), bias.to(at::kFloat), eps)
      .to(x.scalar_type());
}

}  // namespace talkgen::model::layers
