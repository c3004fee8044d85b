// Still images (PNG, JPEG, WebP, BMP, anything FFmpeg's image demuxers read) to upright RGB24.
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "media/ffmpeg_input.hpp"
#include "media/image_header.hpp"
#include "media/media_limits.hpp"
#include "media/rgb_convert.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

const char* const kWhat = "an image (PNG, JPEG, WebP or BMP)";

// The EXIF display matrices FFmpeg attaches for orientations 1..8 (same construction as its decoders).
std::array<std::int32_t, 9> orientation_matrix(int orientation) {
  std::array<std::int32_t, 9> m{};
  switch (orientation) {
    case 2: av_display_rotation_set(m.data(), 0.0); av_display_matrix_flip(m.data(), 1, 0); break;
    case 3: av_display_rotation_set(m.data(), 180.0); break;
    case 4: av_display_rotation_set(m.data(), 180.0); av_display_matrix_flip(m.data(), 1, 0); break;
    case 5: av_display_rotation_set(m.data(), 90.0); av_display_matrix_flip(m.data(), 1, 0); break;
    case 6: av_display_rotation_set(m.data(), 90.0); break;
    case 7: av_display_rotation_set(m.data(), -90.0); av_display_matrix_flip(m.data(), 1, 0); break;
    case 8: av_display_rotation_set(m.data(), -90.0); break;
    default: av_display_rotation_set(m.data(), 0.0); break;
  }
  return m;
}

// EXIF orientation 1..8 of a decoded frame. FFmpeg exports the EXIF tag as frame metadata "Orientation"
// (JPEG, WebP); newer versions may attach only a display matrix, which we map back to the tag.
int frame_orientation(const AVFrame& frame, const std::string& name) {
  if (const AVDictionaryEntry* tag = av_dict_get(frame.metadata, "Orientation", nullptr, 0)) {
    char* end = nullptr;
    long value = std::strtol(tag->value, &end, 10);  // FFmpeg pads the value with spaces: "    6"
    if (end != tag->value && value >= 1 && value <= 8) return static_cast<int>(value);
    log_warn("{}: ignoring invalid EXIF orientation '{}' (expected 1..8)", name, tag->value);
    return 1;
  }
  if (const AVFrameSideData* side = av_frame_get_side_data(&frame, AV_FRAME_DATA_DISPLAYMATRIX)) {
    if (side->size >= sizeof(std::int32_t) * 9) {
      std::array<std::int32_t, 9> m{};
      std::memcpy(m.data(), side->data, sizeof(m));
      for (int orientation = 1; orientation <= 8; ++orientation)
        if (orientation_matrix(orientation) == m) return orientation;
      log_warn("{}: ignoring a display matrix that is no EXIF orientation (rotation {:.1f} degrees)", name,
               av_display_rotation_get(m.data()));
    }
  }
  return 1;
}

// Applies EXIF orientation `o` (how the stored pixels must be transformed to be shown upright):
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
Image apply_orientation(const Image& in, int o) {
  if (o == 1) return in;
  const int w = in.width, h = in.height;
  const bool swap = o >= 5;
  Image out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.rgb.resize(in.rgb.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;  // the stored pixel shown at (x, y)
      switch (o) {
        case 2: sx = w - 1 - x; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        case 8: sx = w - 1 - y; sy = x; break;
      }
      const std::uint8_t* src = &in.rgb[(static_cast<std::size_t>(sy) * w + sx) * 3];
      std::uint8_t* dst = &out.rgb[(static_cast<std::size_t>(y) * out.width + x) * 3];
      dst[0] = src[0];
      dst[1] = src[1];
      dst[2] = src[2];
    }
  }
  return out;
}


// No stream probing: the decoder reads everything from the picture, and probing would decode it once more.
ffmpeg::OpenOptions open_options(const DecodeLimits& limits) {
  media::check_limits(limits);
  ffmpeg::OpenOptions options;
  options.max_pixels = limits.max_pixels;
  options.find_stream_info = false;
  return options;
}

Image decode(ffmpeg::Input& input, const DecodeLimits& limits) {
  const AVInputFormat* format = input.format()->iformat;
  int stream = av_find_best_stream(input.format(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (!media::is_still_image(input) || stream < 0)
    fail(ErrorCode::unsupported, "{} is not an image: FFmpeg reads it as '{}'{}; expected {}", input.name(),
         format->long_name ? format->long_name : format->name, stream < 0 ? " without a picture" : "", kWhat);
  // The size from the header, before a byte of the picture is decoded (a small file can claim gigapixels).
  if (const auto size = media::read_picture_size(input))
    media::check_pixels(input.name(), size->width, size->height, limits);
  // AV_EF_EXPLODE: without it a truncated JPEG decodes "successfully" with its lower part grey. max_pixels holds
  // the formats whose header we do not read (and any picture larger than its header said) to the limit.
  ffmpeg::CodecContextPtr decoder = ffmpeg::open_decoder(input, stream, AV_EF_EXPLODE, limits.max_pixels);
  Image image;
  int orientation = 1;
  bool decoded = false;
  ffmpeg::decode_stream(input, stream, decoder.get(), ffmpeg::OnCorruptPacket::fail, [&](const AVFrame& frame) {
    if (frame.decode_error_flags != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT))
      fail(ErrorCode::invalid_argument, "{} is corrupt or truncated: the {} decoder flagged damaged pixels; re-save it",
           input.name(), decoder->codec->name);
    image = media::frame_to_rgb(frame, input.name(), "re-save it as PNG");
    orientation = frame_orientation(frame, input.name());
    decoded = true;
    return false;  // the first picture is the image (an animated WebP gives its first frame)
  });
  if (!decoded)
    fail(ErrorCode::invalid_argument, "{} holds no decodable picture; the file is truncated or corrupt", input.name());
  return apply_orientation(image, orientation);
}

}  // namespace

Image decode_image(const std::string& path, const DecodeLimits& limits) {
  ffmpeg::Input input = ffmpeg::Input::open_file(path, kWhat, open_options(limits));
  return decode(input, limits);
}

Image decode_image_bytes(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits) {
  ffmpeg::Input input = ffmpeg::Input::open_bytes(data, size, kWhat, open_options(limits));
  return decode(input, limits);
}

}  // namespace talkgen
