// The two parameter-only layers several models share, named like torch.nn's so their keys are `weight`
// and `bias`. Parameters start empty (uninitialised): load_strict overwrites every one.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

namespace talkgen::model::layers {

/// y = x W^T + b with `weight` [out, in] and `bias` [out].
struct Linear : torch::nn::Module {
  Linear(int64_t in, int64_t out);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight, bias;
};

/// LayerNorm over the last dimension (`weight`, `bias` [n]), computed in float32 whatever the
/// activation dtype and cast back — what the reference's fp32 LayerNorm subclasses do.
struct LayerNorm : torch::nn::Module {
  LayerNorm(int64_t n, double eps);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight, bias;
  double eps;
};

}  // namespace talkgen::model::layers
