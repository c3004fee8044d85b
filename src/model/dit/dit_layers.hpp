// Parameter holders and the small numeric helpers of the DiT, with the reference's precision rules.
//
// Parameters are created uninitialised (at::empty) in the final dtype and device, so a 14B model never
// materialises a float32 copy: the loader (or randomize_parameters) fills them in place.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

namespace talkgen::model::dit {

/// nn.Linear: `weight` [out, in], `bias` [out].
class Linear : public torch::nn::Module {
 public:
  Linear(int64_t in, int64_t out, const at::TensorOptions& options, bool with_bias = true);
  /// In the inputs' dtype (bf16 x bf16 on the fast path).
  at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
  /// In float32 with the weights upcast: the reference's `amp.autocast(dtype=torch.float32)` blocks.
  at::Tensor fp32(const at::Tensor& x) const;

  at::Tensor weight, bias;
};

/// nn.LayerNorm(elementwise_affine=True) / WanLayerNorm(affine) / WanRMSNorm: `weight` (and `bias`).
class NormParams : public torch::nn::Module {
 public:
  NormParams(int64_t dim, const at::TensorOptions& options, bool with_bias);
  at::Tensor weight, bias;
};

/// WanLayerNorm: normalises in float32 (affine too, if given), returns x's dtype.
at::Tensor wan_layer_norm(const at::Tensor& x, double eps, const at::Tensor& weight = {}, const at::Tensor& bias = {});

/// WanRMSNorm: x * rsqrt(mean(x^2) + eps) in float32, cast back to x's dtype, then * weight.
at::Tensor wan_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace talkgen::model::dit
