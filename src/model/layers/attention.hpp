// Scaled dot-product attention shared by every model.
//
// On libtorch >= 2 this is at::scaled_dot_product_attention (flash / cuDNN / memory-efficient kernels
// on CUDA); on libtorch 1.13 (Debian's CPU build) it is the exact math: softmax(q k^T * scale) v,
// computed in float32 for half inputs.
//
// Backend choice on CUDA (libtorch >= 2.5, half-precision q/k/v, no mask): cuDNN's kernel is ~1.6x
// faster than flash on H100 at the DiT's shape (591 vs 367 TFLOP/s at 32,760 tokens, 40 heads of 128),
// but the SDPA dispatcher prefers it only in recent builds (CUDA 13 wheels with cuDNN >= 9.15.1 on
// sm90/sm100) and tries flash first elsewhere. So by default the cuDNN kernel is called directly where
// its layout rules are met and libtorch's cuDNN is >= 9.15.1; if the call throws, a warning names the
// error once and that problem shape goes through the dispatcher from then on.
// TALKGEN_ATTENTION=auto|cudnn|flash|efficient (read once) or set_attention_backend() picks another
// preference, for A/B runs. Other inputs always take the dispatcher.
#pragma once

#include <optional>
#include <string_view>

#include <ATen/ATen.h>

namespace talkgen::model::layers {

/// q: [B, H, Lq, D], k/v: [B, H, Lk, D]. `mask`, if given, is additive (float, broadcastable to
/// [B, H, Lq, Lk]) or boolean (true = attend). Returns [B, H, Lq, D] in q's dtype.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask = std::nullopt,
                     std::optional<double> scale = std::nullopt);

/// The preferred kernel for unmasked half-precision attention on CUDA. `automatic` leaves the choice to
/// at::scaled_dot_product_attention.
enum class AttentionBackend { automatic, cudnn, flash, efficient };

/// The current preference: set_attention_backend's, else TALKGEN_ATTENTION's, else cudnn.
AttentionBackend attention_backend();
/// Process-wide; takes effect for the next call (for benchmarks comparing backends in one process).
void set_attention_backend(AttentionBackend backend);
/// "auto", "cudnn", "flash", "efficient"; throws Error(invalid_argument) for anything else.
AttentionBackend parse_attention_backend(std::string_view name);
const char* to_string(AttentionBackend backend) noexcept;

}  // namespace talkgen::model::layers
