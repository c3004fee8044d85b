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
// Builds configured with FlashAttention-3 (-DTALKGEN_FLASH_ATTENTION3_DIR, model/layers/attention_fa3.hpp)
// prefer it instead: on H100 at the DiT's shape it runs at ~717 TFLOP/s where cuDNN gives ~555-575, and a
// 480p forward of the 14B DiT takes 2.75 s instead of 3.04 s. It takes bf16 with head dim 128 on Hopper;
// other problems (the encoders' smaller heads, fp32, other GPUs) keep the cuDNN rules above.
// The caller picks the preference (an AttentionBackend argument; the DiT takes it from DitRuntimeOptions, which
// the embedding application sets, e.g. the CLI from TALKGEN_ATTENTION): the library reads no environment.
// Other inputs always take the dispatcher.
#pragma once

#include <optional>
#include <string_view>

#include <ATen/ATen.h>

namespace talkgen::model::layers {

/// The preferred kernel for unmasked half-precision attention on CUDA. `automatic` leaves the choice to
/// at::scaled_dot_product_attention; `fa3` is FlashAttention-3 where it fits, else as `cudnn`.
enum class AttentionBackend { automatic, cudnn, flash, efficient, fa3 };

/// The fastest preference of this build: fa3 in builds that have FlashAttention-3, cudnn in the others.
AttentionBackend default_attention_backend() noexcept;

/// q: [B, H, Lq, D], k/v: [B, H, Lk, D]. `mask`, if given, is additive (float, broadcastable to
/// [B, H, Lq, Lk]) or boolean (true = attend). Returns [B, H, Lq, D] in q's dtype. `backend` is the
/// preferred kernel where one applies (see above); the result is the same function whichever runs.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask = std::nullopt,
                     std::optional<double> scale = std::nullopt,
                     AttentionBackend backend = default_attention_backend());
/// "auto", "fa3", "cudnn", "flash", "efficient"; throws Error(invalid_argument) for anything else and
/// Error(unsupported) for "fa3" in a build without FlashAttention-3.
AttentionBackend parse_attention_backend(std::string_view name);
const char* to_string(AttentionBackend backend) noexcept;

}  // namespace talkgen::model::layers
