// Scaled dot-product attention shared by every model.
//
// On libtorch >= 2 this is at::scaled_dot_product_attention (flash / cuDNN / memory-efficient kernels
// on CUDA); on libtorch 1.13 (Debian's CPU build) it is the exact math: softmax(q k^T * scale) v,
// computed in float32 for half inputs.
#pragma once

#include <optional>

#include <ATen/ATen.h>

namespace talkgen::model::layers {

/// q: [B, H, Lq, D], k/v: [B, H, Lk, D]. `mask`, if given, is additive (float, broadcastable to
/// [B, H, Lq, Lk]) or boolean (true = attend). Returns [B, H, Lq, D] in q's dtype.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask = std::nullopt,
                     std::optional<double> scale = std::nullopt);

}  // namespace talkgen::model::layers
