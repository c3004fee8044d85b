// Per-chunk audio conditioning: the wav2vec2 embedding of the whole speech, [L, layers, channels] (one
// row per video frame), cut into one window of 5 rows (frames i-2 .. i+2, clamped) per video frame.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace talkgen::pipeline {

/// Rows on each side of a frame's own row (the reference's indices = arange(-2, 3)).
constexpr int64_t kAudioWindowRadius = 2;

/// The reference's end-of-audio extension: `padding` rows taken from the end in reverse order are
/// appended (torch.flip(emb[-padding:])); at most L rows are taken. padding 0 returns `embedding`.
at::Tensor extend_audio_embedding(const at::Tensor& embedding, int64_t padding);

/// Windows for frames [start, end): [end - start, 2 * radius + 1, layers, channels], row indices
/// clamped to [0, L - 1].
at::Tensor audio_windows(const at::Tensor& embedding, int64_t start, int64_t end,
                         int64_t radius = kAudioWindowRadius);

}  // namespace talkgen::pipeline
