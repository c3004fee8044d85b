#include "model/layers/attention.hpp"

#include <cmath>

#include <torch/version.h>

namespace talkgen::model::layers {

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask, std::optional<double> scale) {
#if TORCH_VERSION_MAJOR >= 2
  c10::optional<at::Tensor> attn_mask;
  if (mask) attn_mask = *mask;
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          scale ? c10::optional<double>(*scale) : c10::nullopt);
#else
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const auto compute = q.scalar_type() == at::kFloat || q.scalar_type() == at::kDouble ? q.scalar_type() : at::kFloat;
  auto scores = at::matmul(q.to(compute), k.to(compute).transpose(-2, -1)) * s;
  if (mask) {
    if (mask->scalar_type() == at::kBool) {
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<float>::infinity());
    } else {
      scores = scores + mask->to(compute);
    }
  }
  return at::matmul(at::softmax(scores, -1), v.to(compute)).to(q.scalar_type());
#endif
}

}  // namespace talkgen::model::layers
