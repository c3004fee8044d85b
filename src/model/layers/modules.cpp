#include "model/layers/modules.hpp"

namespace talkgen::model::layers {

LinearImpl::LinearImpl(const LinearOptions& o) : options(o) {
  const auto& t = o.tensor_options();
  weight = register_parameter("weight", at::empty({o.out_features(), o.in_features()}, t), /*requires_grad=*/false);
  if (o.bias()) bias = register_parameter("bias", at::empty({o.out_features()}, t), /*requires_grad=*/false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return at::linear(x, weight, bias); }

at::Tensor LinearImpl::forward_fp32(const at::Tensor& x) const {
  return at::linear(x.to(at::kFloat), weight.to(at::kFloat), bias.defined() ? bias.to(at::kFloat) : at::Tensor());
}

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : options(o) {
  if (!o.elementwise_affine()) return;
  weight = register_parameter("weight", at::ones({o.dim()}, o.tensor_options()), /*requires_grad=*/false);
  bias = register_parameter("bias", at::zeros({o.dim()}, o.tensor_options()), /*requires_grad=*/false);
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const {
  if (!options.float32()) return at::layer_norm(x, {options.dim()}, weight, bias, options.eps());
  return float32_layer_norm(x, options.eps(), weight, bias);
}

RMSNormImpl::RMSNormImpl(const RMSNormOptions& o) : options(o) {
  weight = register_parameter("weight", at::ones({o.dim()}, o.tensor_options()), /*requires_grad=*/false);
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  return rms_norm(x, weight, options.eps(), options.rounding());
}

at::Tensor float32_layer_norm(const at::Tensor& x, double eps, const at::Tensor& weight, const at::Tensor& bias) {
  // .to() is free where x (and the parameters) are float32 already.
  const auto w = weight.defined() ? weight.to(at::kFloat) : at::Tensor();
  const auto b = bias.defined() ? bias.to(at::kFloat) : at::Tensor();
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, w, b, eps).to(x.scalar_type());
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, RMSNormRounding rounding) {
  const auto xf = x.to(at::kFloat);
  auto y = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  if (rounding == RMSNormRounding::input_dtype) {
    y = y.to(x.scalar_type());
  } else if (weight.scalar_type() == at::kHalf || weight.scalar_type() == at::kBFloat16) {
    y = y.to(weight.scalar_type());
  }
  return y * weight;
}

}  // namespace talkgen::model::layers
