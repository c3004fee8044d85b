#include "media/image_header.hpp"

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

namespace talkgen::media {
namespace {

// JPEG: how many marker segments to walk before giving up on finding the frame header (EXIF, ICC, XMP and
// other APPn segments come first; real files have a handful).
constexpr int kMaxJpegSegments = 512;

std::uint32_t be16(const std::uint8_t* p) { return std::uint32_t(p[0]) << 8 | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return be16(p) << 16 | be16(p + 2); }
std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8; }
std::uint32_t le24(const std::uint8_t* p) { return le16(p) | std::uint32_t(p[2]) << 16; }
std::uint32_t le32(const std::uint8_t* p) { return le16(p) | le16(p + 2) << 16; }

std::optional<PictureSize> size_of(std::int64_t width, std::int64_t height) {
  if (width <= 0 || height <= 0) return std::nullopt;
  return PictureSize{width, height};
}

// Start of frame markers (SOF0..SOF15) other than DHT (C4), JPG (C8) and DAC (CC).
bool is_sof(std::uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

std::optional<PictureSize> jpeg_size(const ffmpeg::Input& input) {
  std::uint64_t pos = 2;  // after SOI
  for (int i = 0; i < kMaxJpegSegments; ++i) {
    std::array<std::uint8_t, 9> seg{};  // FF, marker, length, precision, height, width
    if (input.read_at(pos, seg.data(), seg.size()) < 4 || seg[0] != 0xFF) return std::nullopt;
    const std::uint8_t marker = seg[1];
    if (marker == 0xFF) {  // fill byte before a marker
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // TEM, RSTn: no length
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // scan data or end before any frame header
    if (is_sof(marker)) return size_of(be16(seg.data() + 7), be16(seg.data() + 5));  // height 0: set later (DNL)
    pos += 2 + be16(seg.data() + 2);
  }
  return std::nullopt;
}

std::optional<PictureSize> webp_size(const std::uint8_t* h) {
  // RIFF size WEBP, then the first chunk: its id at 12, its body from 20.
  const std::uint8_t* body = h + 20;
  if (std::memcmp(h + 12, "VP8 ", 4) == 0) {  // lossy: frame tag (3), start code 9D 01 2A, 14-bit sizes
    if (body[3] != 0x9D || body[4] != 0x01 || body[5] != 0x2A) return std::nullopt;
    return size_of(le16(body + 6) & 0x3FFF, le16(body + 8) & 0x3FFF);
  }
  if (std::memcmp(h + 12, "VP8L", 4) == 0) {  // lossless: signature 2F, then 14-bit width-1 and height-1
    if (body[0] != 0x2F) return std::nullopt;
    const std::uint32_t bits = le32(body + 1);
    return size_of((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (std::memcmp(h + 12, "VP8X", 4) == 0)  // extended: flags (4), 24-bit canvas width-1 and height-1
    return size_of(std::int64_t(le24(body + 4)) + 1, std::int64_t(le24(body + 7)) + 1);
  return std::nullopt;
}

}  // namespace

bool is_still_image(const ffmpeg::Input& input) {
  const std::string name = input.format()->iformat->name;
  const std::string pipe = "_pipe";
  return name == "image2" ||
         (name.size() > pipe.size() && name.compare(name.size() - pipe.size(), pipe.size(), pipe) == 0);
}

std::optional<PictureSize> read_picture_size(const ffmpeg::Input& input) {
  std::array<std::uint8_t, 32> h{};
  const std::size_t got = input.read_at(0, h.data(), h.size());
  if (got >= 24 && std::memcmp(h.data(), "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(h.data() + 12, "IHDR", 4) == 0)
    return size_of(be32(h.data() + 16), be32(h.data() + 20));
  if (got >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return jpeg_size(input);
  if (got >= 10 && (std::memcmp(h.data(), "GIF87a", 6) == 0 || std::memcmp(h.data(), "GIF89a", 6) == 0))
    return size_of(le16(h.data() + 6), le16(h.data() + 8));
  if (got >= 26 && h[0] == 'B' && h[1] == 'M') {
    if (le32(h.data() + 14) == 12) return size_of(le16(h.data() + 18), le16(h.data() + 20));  // OS/2 core header
    // BITMAPINFOHEADER and later: signed 32-bit sizes, a negative height meaning top-down rows.
    const auto width = static_cast<std::int32_t>(le32(h.data() + 18));
    const auto height = static_cast<std::int32_t>(le32(h.data() + 22));
    return size_of(std::llabs(width), std::llabs(height));
  }
  if (got >= 30 && std::memcmp(h.data(), "RIFF", 4) == 0 && std::memcmp(h.data() + 8, "WEBP", 4) == 0)
    return webp_size(h.data());
  return std::nullopt;
}

}  // namespace talkgen::media
