// Image decoding: formats, exact pixels, EXIF orientation, errors. Inputs are made with the ffmpeg CLI.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using media_test::error_message_of;
using media_test::ffmpeg;
using media_test::scratch;
using talkgen::ErrorCode;
using talkgen::Image;

namespace {

// A pattern with every byte value in each channel somewhere, at odd dimensions.
Image pattern(int w, int h) {
  Image image;
  image.width = w;
  image.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      image.rgb.push_back(static_cast<std::uint8_t>((x * 37 + y * 11) & 255));
      image.rgb.push_back(static_cast<std::uint8_t>((x * 5 + y * 29 + x * y) & 255));
      image.rgb.push_back(static_cast<std::uint8_t>((x ^ (y * 7)) & 255));
    }
  return image;
}

// Writes `image` as raw RGB24 and converts it with ffmpeg (`codec_args` pick the encoder).
std::string encode(const Image& image, const std::string& name, const std::string& codec_args = "") {
  std::string raw = scratch(name + ".rgb");
  media_test::write_bytes(raw, image.rgb);
  std::string out = scratch(name);
  ffmpeg("-f rawvideo -pix_fmt rgb24 -s " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " -i '" + raw + "' -frames:v 1 " + codec_args + " '" + out + "'");
  return out;
}

double mean_abs_diff(const Image& a, const Image& b) {
  REQUIRE(a.rgb.size() == b.rgb.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  return sum / a.rgb.size();
}

// A smooth picture (lossy codecs keep it close) for the JPEG / WebP checks.
Image gradient(int w, int h) {
  Image image;
  image.width = w;
  image.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      image.rgb.push_back(static_cast<std::uint8_t>(255 * x / (w - 1)));
      image.rgb.push_back(static_cast<std::uint8_t>(255 * y / (h - 1)));
      image.rgb.push_back(static_cast<std::uint8_t>(128));
    }
  return image;
}

// ---- EXIF orientation, described independently of the decoder: mirror and quarter turns ----

Image mirror(const Image& in) {
  Image out = in;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.rgb[(y * in.width + x) * 3 + c] = in.rgb[(y * in.width + (in.width - 1 - x)) * 3 + c];
  return out;
}

Image rotate_clockwise(const Image& in) {
  Image out;
  out.width = in.height;
  out.height = in.width;
  out.rgb.resize(in.rgb.size());
  // The stored pixel (x, y) moves to column (height - 1 - y), row x.
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.rgb[(x * out.width + (in.height - 1 - y)) * 3 + c] = in.rgb[(y * in.width + x) * 3 + c];
  return out;
}

Image rotate_clockwise(const Image& in, int quarter_turns) {
  Image out = in;
  for (int i = 0; i < quarter_turns; ++i) out = rotate_clockwise(out);
  return out;
}

// What a viewer shows for a stored image with EXIF orientation o (the TIFF/EXIF 2.3 definition).
Image upright(const Image& stored, int o) {
  switch (o) {
    case 2: return mirror(stored);
    case 3: return rotate_clockwise(stored, 2);
    case 4: return rotate_clockwise(mirror(stored), 2);
    case 5: return rotate_clockwise(mirror(stored), 3);
    case 6: return rotate_clockwise(stored, 1);
    case 7: return rotate_clockwise(mirror(stored), 1);
    case 8: return rotate_clockwise(stored, 3);
    default: return stored;
  }
}

// Inserts an EXIF APP1 segment (big-endian TIFF, IFD0 with one Orientation entry) after the JPEG's SOI.
std::vector<std::uint8_t> with_exif_orientation(const std::vector<std::uint8_t>& jpeg, int orientation) {
  REQUIRE(jpeg.size() > 2);
  REQUIRE(jpeg[0] == 0xFF);
  REQUIRE(jpeg[1] == 0xD8);
  const std::vector<std::uint8_t> payload = {
      'E', 'x', 'i', 'f', 0, 0,                     // EXIF identifier
      'M', 'M', 0, 42, 0, 0, 0, 8,                  // TIFF header, IFD0 at offset 8
      0, 1,                                         // one entry
      0x01, 0x12, 0, 3, 0, 0, 0, 1,                 // tag 0x0112 Orientation, SHORT, count 1
      0, static_cast<std::uint8_t>(orientation), 0, 0,  // value (left-justified in 4 bytes)
      0, 0, 0, 0,                                   // no next IFD
  };
  const std::size_t length = payload.size() + 2;
  std::vector<std::uint8_t> out = {0xFF, 0xD8, 0xFF, 0xE1, static_cast<std::uint8_t>(length >> 8),
                                   static_cast<std::uint8_t>(length & 0xFF)};
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

// Four flat quadrants (red, green, blue, white) so a lossy JPEG still shows where each corner went.
Image quadrants(int w, int h) {
  Image image;
  image.width = w;
  image.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      bool right = x >= w / 2, bottom = y >= h / 2;
      std::uint8_t r = (!right && !bottom) || (right && bottom) ? 255 : 0;
      std::uint8_t g = (right && !bottom) || (right && bottom) ? 255 : 0;
      std::uint8_t b = (!right && bottom) || (right && bottom) ? 255 : 0;
      image.rgb.insert(image.rgb.end(), {r, g, b});
    }
  return image;
}

const std::uint8_t* pixel(const Image& image, int x, int y) { return &image.rgb[(y * image.width + x) * 3]; }

}  // namespace

TEST_CASE("PNG decodes the exact pixels", "[media][image]") {
  Image expected = pattern(67, 41);
  SECTION("RGB") {
    Image got = talkgen::decode_image(encode(expected, "pattern_rgb.png"));
    CHECK(got.width == 67);
    CHECK(got.height == 41);
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
  }
  SECTION("RGBA: alpha is dropped, colour kept") {
    std::string out = encode(expected, "pattern_rgba.png", "-pix_fmt rgba");
    Image got = talkgen::decode_image(out);
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
  }
  SECTION("from memory") {
    std::vector<std::uint8_t> bytes = media_test::read_bytes(encode(expected, "pattern_mem.png"));
    Image got = talkgen::decode_image_bytes(bytes.data(), bytes.size());
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
  }
  SECTION("grey") {
    Image grey = pattern(16, 9);
    for (std::size_t i = 0; i < grey.rgb.size(); i += 3) grey.rgb[i + 1] = grey.rgb[i + 2] = grey.rgb[i];
    Image got = talkgen::decode_image(encode(grey, "pattern_grey.png", "-pix_fmt gray"));
    CHECK(media_test::mismatches(got.rgb, grey.rgb) == 0);
  }
}

TEST_CASE("BMP, WebP and JPEG decode with the right size and content", "[media][image]") {
  SECTION("BMP (lossless)") {
    Image expected = pattern(33, 17);
    Image got = talkgen::decode_image(encode(expected, "pattern.bmp"));
    CHECK(got.width == 33);
    CHECK(got.height == 17);
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
  }
  SECTION("WebP lossless") {
    Image expected = pattern(33, 17);
    Image got = talkgen::decode_image(encode(expected, "pattern_lossless.webp", "-c:v libwebp -lossless 1"));
    CHECK(got.width == 33);
    CHECK(got.height == 17);
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
  }
  SECTION("WebP lossy") {
    Image expected = gradient(96, 64);
    Image got = talkgen::decode_image(encode(expected, "gradient.webp", "-c:v libwebp -quality 90"));
    CHECK(got.width == 96);
    CHECK(got.height == 64);
    CHECK(mean_abs_diff(got, expected) < 4.0);
  }
  SECTION("JPEG") {
    Image expected = gradient(96, 64);
    std::string path = encode(expected, "gradient.jpg", "-q:v 2");
    Image got = talkgen::decode_image(path);
    CHECK(got.width == 96);
    CHECK(got.height == 64);
    CHECK(mean_abs_diff(got, expected) < 4.0);
    std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
    CHECK(media_test::mismatches(talkgen::decode_image_bytes(bytes.data(), bytes.size()).rgb, got.rgb) == 0);
  }
  SECTION("a PNG named .jpg is still read by its content") {
    Image expected = pattern(9, 7);
    std::string png = encode(expected, "misnamed.png");
    std::string jpg = scratch("misnamed_really_png.jpg");
    std::filesystem::copy_file(png, jpg, std::filesystem::copy_options::overwrite_existing);
    CHECK(media_test::mismatches(talkgen::decode_image(jpg).rgb, expected.rgb) == 0);
  }
}

TEST_CASE("JPEG EXIF orientation is applied for all 8 values", "[media][image][exif]") {
  const int w = 48, h = 32;
  std::vector<std::uint8_t> jpeg = media_test::read_bytes(encode(quadrants(w, h), "quadrants.jpg", "-q:v 2"));
  Image stored = talkgen::decode_image_bytes(jpeg.data(), jpeg.size());
  REQUIRE(stored.width == w);
  // The red quadrant is stored top-left.
  REQUIRE(pixel(stored, 4, 4)[0] > 200);
  REQUIRE(pixel(stored, 4, 4)[1] < 60);

  for (int o = 1; o <= 8; ++o) {
    INFO("orientation " << o);
    std::vector<std::uint8_t> tagged = with_exif_orientation(jpeg, o);
    std::string path = scratch("quadrants_o" + std::to_string(o) + ".jpg");
    media_test::write_bytes(path, tagged);
    Image got = talkgen::decode_image(path);
    Image expected = upright(stored, o);
    CHECK(got.width == expected.width);
    CHECK(got.height == expected.height);
    CHECK(media_test::mismatches(got.rgb, expected.rgb) == 0);
    CHECK(media_test::mismatches(talkgen::decode_image_bytes(tagged.data(), tagged.size()).rgb, got.rgb) == 0);
  }

  // A concrete anchor: orientation 6 (rotate 90 clockwise) shows the red top-left corner at the top right.
  std::vector<std::uint8_t> six = with_exif_orientation(jpeg, 6);
  Image rotated = talkgen::decode_image_bytes(six.data(), six.size());
  REQUIRE(rotated.width == h);
  REQUIRE(rotated.height == w);
  CHECK(pixel(rotated, h - 4, 4)[0] > 200);
  CHECK(pixel(rotated, h - 4, 4)[1] < 60);
  CHECK(pixel(rotated, h - 4, 4)[2] < 60);
}

TEST_CASE("bad image inputs give typed errors that name the file", "[media][image][errors]") {
  SECTION("missing file: not_found") {
    std::string path = scratch("does_not_exist.png");
    CHECK(error_code_of([&] { talkgen::decode_image(path); }) == ErrorCode::not_found);
    CHECK(error_message_of([&] { talkgen::decode_image(path); }).find(path) != std::string::npos);
  }
  SECTION("empty file: invalid_argument") {
    std::string path = scratch("empty.png");
    media_test::write_bytes(path, {});
    CHECK(error_code_of([&] { talkgen::decode_image(path); }) == ErrorCode::invalid_argument);
    CHECK(error_message_of([&] { talkgen::decode_image(path); }).find("empty") != std::string::npos);
  }
  SECTION("a directory: invalid_argument") {
    CHECK(error_code_of([&] { talkgen::decode_image(TALKGEN_TEST_SCRATCH_DIR); }) == ErrorCode::invalid_argument);
  }
  SECTION("garbage: invalid_argument") {
    std::string path = scratch("garbage.png");
    std::vector<std::uint8_t> garbage(4096);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>((i * 7919u) >> 3);
    media_test::write_bytes(path, garbage);
    CHECK(error_code_of([&] { talkgen::decode_image(path); }) == ErrorCode::invalid_argument);
    CHECK(error_message_of([&] { talkgen::decode_image(path); }).find(path) != std::string::npos);
    CHECK(error_code_of([&] { talkgen::decode_image_bytes(garbage.data(), garbage.size()); }) ==
          ErrorCode::invalid_argument);
  }
  SECTION("truncated PNG and JPEG: invalid_argument") {
    for (const std::string name : {"trunc.png", "trunc.jpg"}) {
      INFO(name);
      std::vector<std::uint8_t> bytes = media_test::read_bytes(encode(pattern(64, 48), "full_" + name));
      bytes.resize(bytes.size() / 2);
      std::string path = scratch(name);
      media_test::write_bytes(path, bytes);
      CHECK(error_code_of([&] { talkgen::decode_image(path); }) == ErrorCode::invalid_argument);
      CHECK(error_code_of([&] { talkgen::decode_image_bytes(bytes.data(), bytes.size()); }) ==
            ErrorCode::invalid_argument);
    }
  }
  SECTION("no bytes: invalid_argument") {
    CHECK(error_code_of([] { talkgen::decode_image_bytes(nullptr, 0); }) == ErrorCode::invalid_argument);
  }
  SECTION("audio or video instead of an image: unsupported") {
    std::string wav = scratch("not_an_image.wav");
    ffmpeg("-f lavfi -i sine=frequency=440:duration=0.5 '" + wav + "'");
    CHECK(error_code_of([&] { talkgen::decode_image(wav); }) == ErrorCode::unsupported);
    std::string mp4 = scratch("not_an_image.mp4");
    ffmpeg("-f lavfi -i testsrc2=size=64x48:duration=0.2 -pix_fmt yuv420p '" + mp4 + "'");
    CHECK(error_code_of([&] { talkgen::decode_image(mp4); }) == ErrorCode::unsupported);
    CHECK(error_message_of([&] { talkgen::decode_image(mp4); }).find(mp4) != std::string::npos);
  }
}
