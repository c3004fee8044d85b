// FlashAttention-3 (Hopper) for the attention problems it is built for, in builds configured with
// -DTALKGEN_FLASH_ATTENTION3_DIR (cmake/TalkgenFlashAttention3.cmake). model/layers/attention.cpp tries it
// first when the backend is `fa3` (the default in such builds) and uses cuDNN where it does not apply.
#pragma once

#include <optional>

#include <ATen/ATen.h>

namespace talkgen::model::layers {

/// Whether this build has FlashAttention-3 in it.
bool flash_attention3_built() noexcept;

/// Whether FA3 can take this problem: this build has it, q/k/v are bf16 on one Hopper (sm 9.0) GPU, head
/// dim 128, as many key/value heads as query heads, last dimension contiguous, 16-byte-aligned
/// pointers and strides.
bool flash_attention3_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

/// softmax(q k^T * scale) v for q: [B, H, Lq, 128], k/v: [B, H, Lk, 128] (strided views are fine);
/// returns [B, H, Lq, 128] (a view of [B, Lq, H, 128] memory). Call only where flash_attention3_fits;
/// throws Error(internal) if the launch fails.
at::Tensor flash_attention3(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            std::optional<double> scale);

}  // namespace talkgen::model::layers
