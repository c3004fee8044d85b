// Frame chunks -> packed RGB frames at the encoded (even) size.
//
// The encoder works on packed RGB24 of even width and height (yuv420p needs both even). Odd sizes are
// padded by repeating the last column / row, so every input pixel reaches the encoder unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "talkgen/encoder.hpp"

namespace talkgen::media {

/// Rejects (invalid_argument) a null pointer, an unknown layout, non-positive or oversized dimensions,
/// a chunk whose size differs from `expected` (when `expected` has frames > 0: the first chunk's
/// size), and, for float chunks, NaN or infinite values. Checks everything before any frame is used,
/// so a rejected chunk leaves the Encoder as it was.
void validate_chunk(const FrameChunk& chunk, const FrameChunk* expected);

/// Rounds up to even.
inline int even_size(int n) { return n + (n & 1); }

/// Bytes after the last pixel that swscale may read (its SIMD loads overshoot; FFmpeg pads its own
/// buffers by AV_INPUT_BUFFER_PADDING_SIZE for the same reason).
constexpr std::size_t kStagingSlack = 64;

/// Frame `t` of `chunk` as packed RGB24 of even_size(width) × even_size(height), row stride
/// 3 × even_size(width), readable for kStagingSlack bytes past its end. Returns a pointer into the
/// chunk itself when no conversion or padding is needed and a later frame of the chunk follows,
/// otherwise into `staging` (resized as needed).
const std::uint8_t* chunk_frame_rgb(const FrameChunk& chunk, int t, std::vector<std::uint8_t>& staging);

/// Largest width or height accepted (H.264 level 6.2 allows 8192 × 4320).
constexpr int kMaxFrameSide = 8192;

}  // namespace talkgen::media
