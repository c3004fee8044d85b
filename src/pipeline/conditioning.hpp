// The image-side conditions of one chunk (wan/multitalk.py): the first-frame mask and the `y` latent
// the DiT reads beside the noisy latent, and the portrait as a [-1, 1] tensor.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

#include "talkgen/media.hpp"

namespace talkgen::pipeline {

/// An RGB image already at the bucket size -> float32 [1, 3, 1, H, W] in [-1, 1] ((x / 255 - 0.5) * 2).
at::Tensor image_to_condition(const Image& image);

/// The reference's `msk`: 1 for the first (given) frame, 0 for the rest, folded 4 frames per latent
/// frame: [1, 4, (frame_num - 1) / 4 + 1, lat_h, lat_w], float32.
at::Tensor first_frame_mask(int64_t frame_num, int64_t lat_h, int64_t lat_w,
                            const at::TensorOptions& options = at::kFloat);

/// The condition frames for the VAE: the portrait then frame_num - 1 black (zero) frames,
/// [1, 3, frame_num, H, W].
at::Tensor padded_condition_video(const at::Tensor& cond_image, int64_t frame_num);

/// y = cat([mask, latent], channels): [1, 4 + z, F, h, w].
at::Tensor make_y(const at::Tensor& mask, const at::Tensor& image_latent);

}  // namespace talkgen::pipeline
