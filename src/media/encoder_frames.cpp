#include "media/encoder_frames.hpp"

#include <cmath>
#include <cstring>

#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

const char* layout_name(FrameLayout layout) {
  switch (layout) {
    case FrameLayout::uint8_thwc: return "uint8 T×H×W×3";
    case FrameLayout::float_cthw_signed: return "float 3×T×H×W";
  }
  return "unknown";
}

// The signed float range [-1, 1] -> [0, 255], rounded to nearest (clamped first: the VAE overshoots).
inline std::uint8_t signed_unit_to_byte(float v) {
  float scaled = (v + 1.0f) * 127.5f;
  scaled = scaled < 0.0f ? 0.0f : (scaled > 255.0f ? 255.0f : scaled);
  return static_cast<std::uint8_t>(scaled + 0.5f);
}

// Repeats the last real column of each row and the last real row, in place, for odd sizes.
void pad_edges(std::uint8_t* rgb, int width, int height) {
  const int padded_width = even_size(width);
  const std::size_t stride = static_cast<std::size_t>(padded_width) * 3;
  if (padded_width != width) {
    for (int y = 0; y < height; ++y) {
      std::uint8_t* row = rgb + y * stride;
      std::memcpy(row + 3 * width, row + 3 * (width - 1), 3);
    }
  }
  if (even_size(height) != height) std::memcpy(rgb + height * stride, rgb + (height - 1) * stride, stride);
}

}  // namespace

void validate_chunk(const FrameChunk& chunk, const FrameChunk* expected) {
  if (chunk.layout != FrameLayout::uint8_thwc && chunk.layout != FrameLayout::float_cthw_signed) {
    fail(ErrorCode::invalid_argument,
         "frame chunk has an unknown layout (value {}); expected FrameLayout::uint8_thwc or "
         "FrameLayout::float_cthw_signed",
         static_cast<int>(chunk.layout));
  }
  if (chunk.frames <= 0 || chunk.height <= 0 || chunk.width <= 0) {
    fail(ErrorCode::invalid_argument,
         "frame chunk has {} frames of {}×{} (height×width); expected at least one frame of at least 1×1", chunk.frames,
         chunk.height, chunk.width);
  }
  if (chunk.height > kMaxFrameSide || chunk.width > kMaxFrameSide) {
    fail(ErrorCode::invalid_argument, "frame size {}×{} (height×width) is larger than H.264 allows; keep each side <= {}",
         chunk.height, chunk.width, kMaxFrameSide);
  }
  if (chunk.data == nullptr) {
    fail(ErrorCode::invalid_argument, "frame chunk of {} frames has no data (null pointer)", chunk.frames);
  }
  if (expected != nullptr && (chunk.height != expected->height || chunk.width != expected->width)) {
    fail(ErrorCode::invalid_argument,
         "frame chunk is {}×{} (height×width) but the first chunk of this video was {}×{}; every chunk of one video "
         "must have the same size",
         chunk.height, chunk.width, expected->height, expected->width);
  }
  if (chunk.layout == FrameLayout::float_cthw_signed) {
    const auto* values = static_cast<const float*>(chunk.data);
    const std::size_t count = std::size_t(3) * chunk.frames * chunk.height * chunk.width;
    for (std::size_t i = 0; i < count; ++i) {
      if (!std::isfinite(values[i])) {
        const std::size_t plane = std::size_t(chunk.height) * chunk.width;
        fail(ErrorCode::invalid_argument,
             "frame chunk ({}) holds {} at channel {}, frame {}; expected finite values in [-1, 1]. The frames "
             "upstream (VAE decode) went wrong",
             layout_name(chunk.layout), values[i], i / (plane * chunk.frames), (i / plane) % chunk.frames);
      }
    }
  }
}

const std::uint8_t* chunk_frame_rgb(const FrameChunk& chunk, int t, std::vector<std::uint8_t>& staging) {
  const int width = chunk.width;
  const int height = chunk.height;
  const int padded_width = even_size(width);
  const int padded_height = even_size(height);
  const std::size_t plane = std::size_t(width) * height;
  const bool needs_padding = padded_width != width || padded_height != height;

  // swscale's SIMD loads read up to 16 bytes past the last pixel. Inside a chunk that lands in the next
  // frame; past the chunk's last frame it would read the caller's memory beyond the buffer (garbage
  // that changes the output, or a crash at a page end), so the last frame always goes through
  // `staging`, which has slack at its end.
  const bool last_frame = t == chunk.frames - 1;
  if (chunk.layout == FrameLayout::uint8_thwc && !needs_padding && !last_frame) {
    return static_cast<const std::uint8_t*>(chunk.data) + plane * 3 * t;
  }
  staging.resize(std::size_t(padded_width) * padded_height * 3 + kStagingSlack);
  const std::size_t stride = std::size_t(padded_width) * 3;

  if (chunk.layout == FrameLayout::uint8_thwc) {
    const auto* frame = static_cast<const std::uint8_t*>(chunk.data) + plane * 3 * t;
    for (int y = 0; y < height; ++y) std::memcpy(staging.data() + y * stride, frame + std::size_t(y) * width * 3, width * 3);
  } else {
    // Channel c of frame t starts at (c × T + t) × H × W.
    const auto* values = static_cast<const float*>(chunk.data);
    const float* planes[3];
    for (int c = 0; c < 3; ++c) planes[c] = values + (std::size_t(c) * chunk.frames + t) * plane;
    for (int y = 0; y < height; ++y) {
      std::uint8_t* row = staging.data() + y * stride;
      const std::size_t offset = std::size_t(y) * width;
      for (int x = 0; x < width; ++x) {
        row[3 * x + 0] = signed_unit_to_byte(planes[0][offset + x]);
        row[3 * x + 1] = signed_unit_to_byte(planes[1][offset + x]);
        row[3 * x + 2] = signed_unit_to_byte(planes[2][offset + x]);
      }
    }
  }
  if (needs_padding) pad_edges(staging.data(), width, height);
  return staging.data();
}

}  // namespace talkgen::media
