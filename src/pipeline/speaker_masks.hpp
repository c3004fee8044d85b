// Where each of two speakers is: the reference's ref_target_masks (wan/multitalk.py, generate_infinitetalk),
// which the DiT uses to route each video token to one speaker's audio (model/dit/dit_speakers.hpp).
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/ATen.h>

#include "talkgen/generate.hpp"
#include "talkgen/media.hpp"

namespace talkgen::pipeline {

/// The reference's face_scale: default boxes keep this margin of each half of the image.
constexpr double kDefaultFaceMargin = 0.05;

/// [3, lat_h, lat_w] float32 0/1 masks (speaker 1, speaker 2, background = neither), built as the
/// reference builds them: at the image's own size (`source`), from the boxes (rows y0..y1, columns x0..x1,
/// each coordinate truncated to an integer) or, without boxes, the left and right halves inside a 5% margin;
/// then resized (nearest) to cover `target` and centre-cropped like the portrait, then resized (nearest) to
/// the latent grid and binarised.
at::Tensor speaker_masks(Size source, const std::optional<PixelBox>& speaker1, const std::optional<PixelBox>& speaker2,
                         Size target, int64_t lat_h, int64_t lat_w);

}  // namespace talkgen::pipeline
