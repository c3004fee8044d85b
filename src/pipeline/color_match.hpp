// Colour correction between chunks: the reference's match_and_blend_colors (wan/utils/multitalk_utils.py).
//
// Each frame is converted to CIE Lab (skimage's rgb2lab: sRGB, D65, 2° observer), each of L, a, b is
// shifted and scaled to the reference image's mean and standard deviation, converted back, clipped to
// [0, 1] and blended with the original frame: (1 - strength) * frame + strength * corrected. Without it,
// colours drift over a long video (every chunk starts from the previous chunk's last frames).
#pragma once

#include <ATen/ATen.h>

namespace talkgen::pipeline {

/// sRGB in [0, 1], channels last [..., 3] -> Lab [..., 3] (skimage.color.rgb2lab), in rgb's dtype.
at::Tensor rgb_to_lab(const at::Tensor& rgb);
/// Lab [..., 3] -> sRGB [..., 3] clipped to [0, 1] (skimage.color.lab2rgb).
at::Tensor lab_to_rgb(const at::Tensor& lab);

/// frames: [1, 3, T, H, W] (or [3, T, H, W]) in [-1, 1]; reference: [1, 3, 1, H, W] (or [3, H, W]) in
/// [-1, 1]; strength in [0, 1] (Error(invalid_argument) otherwise). Returns frames of the same shape, dtype
/// and device; strength 0 returns `frames` itself.
at::Tensor match_and_blend_colors(const at::Tensor& frames, const at::Tensor& reference, double strength);

}  // namespace talkgen::pipeline
