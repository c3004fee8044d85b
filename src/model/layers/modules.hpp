// The parameter layers every model shares, in the PyTorch C++ frontend's style: an options struct
// (TORCH_ARG setters), an Impl whose public members are named as the checkpoint keys (`weight`, `bias`), and
// a TORCH_MODULE holder. Parameters start uninitialised (Linear) or at their identity (norms) in the options'
// dtype and device, so a 14B model never materialises a float32 copy: the loader (or a random fill)
// overwrites every one. None of them keeps gradients (talkgen only runs inference).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace talkgen::model::layers {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  /// Whether there is a `bias` [out] (a T5 linear has none).
  TORCH_ARG(bool, bias) = true;
  /// dtype and device of the parameters.
  TORCH_ARG(at::TensorOptions, tensor_options) = at::TensorOptions().dtype(at::kFloat);
};

/// nn.Linear: y = x W^T + b with `weight` [out, in] and `bias` [out].
class LinearImpl : public torch::nn::Module {
 public:
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}

  /// In the inputs' dtype (bf16 x bf16 on the fast path).
  at::Tensor forward(const at::Tensor& x) const;
  /// In float32 with the weights upcast: the reference's `amp.autocast(dtype=torch.float32)` blocks.
  at::Tensor forward_fp32(const at::Tensor& x) const;

  LinearOptions options;
  at::Tensor weight, bias;  ///< bias undefined without options.bias()
};
TORCH_MODULE(Linear);

struct LayerNormOptions {
  explicit LayerNormOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(double, eps) = 1e-5;
  /// `weight` and `bias` [dim]; without them (WanLayerNorm(elementwise_affine=False)) there is no key at all.
  TORCH_ARG(bool, elementwise_affine) = true;
  /// Statistics and affine in float32 whatever the activation dtype, the result cast back to x's dtype:
  /// what the reference's float32 LayerNorm subclasses do (WanLayerNorm, CLIP's and wav2vec2's LayerNorm).
  /// false: nn.LayerNorm in x's dtype (the parameters must have it).
  TORCH_ARG(bool, float32) = true;
  TORCH_ARG(at::TensorOptions, tensor_options) = at::TensorOptions().dtype(at::kFloat);
};

/// LayerNorm over the last dimension.
class LayerNormImpl : public torch::nn::Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  LayerNormImpl(int64_t dim, double eps) : LayerNormImpl(LayerNormOptions(dim).eps(eps)) {}
  at::Tensor forward(const at::Tensor& x) const;

  LayerNormOptions options;
  at::Tensor weight, bias;  ///< undefined without options.elementwise_affine()
};
TORCH_MODULE(LayerNorm);

/// Where RMSNorm rounds its float32 normalised values before the product with `weight`.
enum class RMSNormRounding {
  input_dtype,   ///< to x's dtype (WanRMSNorm: `self._norm(x.float()).type_as(x) * self.weight`)
  weight_dtype,  ///< to the weight's dtype if that is half precision, else kept float32 (T5LayerNorm)
};

struct RMSNormOptions {
  explicit RMSNormOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(RMSNormRounding, rounding) = RMSNormRounding::input_dtype;
  TORCH_ARG(at::TensorOptions, tensor_options) = at::TensorOptions().dtype(at::kFloat);
};

/// x * rsqrt(mean(x^2) + eps) over the last dimension with float32 statistics, times `weight` [dim].
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(const RMSNormOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  RMSNormOptions options;
  at::Tensor weight;
};
TORCH_MODULE(RMSNorm);

/// LayerNorm over the last dimension in float32 (the affine too, if given), cast back to x's dtype:
/// LayerNorm's float32 form, for callers holding the parameters elsewhere (the DiT's fused paths, tests).
at::Tensor float32_layer_norm(const at::Tensor& x, double eps, const at::Tensor& weight = {},
                              const at::Tensor& bias = {});

/// RMSNorm's function: x * rsqrt(mean(x^2) + eps) in float32, rounded as `rounding` says, times `weight`.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps,
                    RMSNormRounding rounding = RMSNormRounding::input_dtype);

}  // namespace talkgen::model::layers
