// The picture size stated in the header of the common image formats, read without decoding anything.
//
// FFmpeg learns an image's size only by decoding it (its image demuxers state none: ffprobe on a 16000x16000
// PNG allocates the whole 768 MB picture), so a 800 KB file could cost gigabytes before any limit applies.
// These few header fields let decode_image refuse such a picture first. Formats not read here are still held
// to the limit by the decoder's max_pixels, which refuses before allocating.
#pragma once

#include <cstdint>
#include <optional>

#include "media/ffmpeg_input.hpp"

namespace talkgen::media {

struct PictureSize {
  std::int64_t width = 0;
  std::int64_t height = 0;
};

/// Whether FFmpeg reads `input` as a still image: through image2 (a file with an image extension) or an
/// "<codec>_pipe" demuxer (found by probing the bytes). Anything else (mp4, wav, ...) is a container.
bool is_still_image(const ffmpeg::Input& input);

/// The size a PNG (IHDR), JPEG (first SOF marker), GIF (logical screen), BMP (DIB header) or WebP (VP8, VP8L
/// or VP8X) header states; nullopt for other formats and for headers too short or damaged to say (the decoder
/// then reports them). Reads at most a few hundred small chunks of the input.
std::optional<PictureSize> read_picture_size(const ffmpeg::Input& input);

}  // namespace talkgen::media
