#include "model/dit/dit_layers.hpp"

namespace talkgen::model::dit {

Linear::Linear(int64_t in, int64_t out, const at::TensorOptions& options, bool with_bias) {
  weight = register_parameter("weight", at::empty({out, in}, options), /*requires_grad=*/false);
  if (with_bias) bias = register_parameter("bias", at::empty({out}, options), /*requires_grad=*/false);
}

at::Tensor Linear::fp32(const at::Tensor& x) const {
  return at::linear(x.to(at::kFloat), weight.to(at::kFloat), bias.defined() ? bias.to(at::kFloat) : at::Tensor());
}

NormParams::NormParams(int64_t dim, const at::TensorOptions& options, bool with_bias) {
  weight = register_parameter("weight", at::empty({dim}, options), /*requires_grad=*/false);
  if (with_bias) bias = register_parameter("bias", at::empty({dim}, options), /*requires_grad=*/false);
}

at::Tensor wan_layer_norm(const at::Tensor& x, double eps, const at::Tensor& weight, const at::Tensor& bias) {
  const auto w = weight.defined() ? weight.to(at::kFloat) : at::Tensor();
  const auto b = bias.defined() ? bias.to(at::kFloat) : at::Tensor();
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, w, b, eps).to(x.scalar_type());
}

at::Tensor wan_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const auto xf = x.to(at::kFloat);
  return (xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type()) * weight;
}

}  // namespace talkgen::model::dit
