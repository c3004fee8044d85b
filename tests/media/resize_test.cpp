// Resolution buckets and resize_and_center_crop against the reference (wan/multitalk.py + PIL).
#include <cstdint>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using talkgen::ErrorCode;
using talkgen::Image;
using talkgen::Resolution;
using talkgen::Size;

namespace {

// Same formula as pattern() in tests/data/media/pil_resize/make_fixtures.py.
Image pattern(int w, int h) {
  Image image;
  image.width = w;
  image.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      image.rgb.push_back(static_cast<std::uint8_t>((x * 37 + y * 11) & 255));
      image.rgb.push_back(static_cast<std::uint8_t>((x * x + 3 * y * y + x * y) & 255));
      image.rgb.push_back(static_cast<std::uint8_t>((255 * (x + y)) / (w + h - 2)));
    }
  return image;
}

}  // namespace

TEST_CASE("choose_bucket picks the reference's closest-ratio bucket", "[media][resize]") {
  struct Case {
    int width, height;
    Resolution resolution;
    int bucket_width, bucket_height;
  };
  // Generated from ASPECT_RATIO_627 / ASPECT_RATIO_960 with the reference's own expression:
  //   sorted(keys, key=lambda x: abs(float(x) - h / w))[0]
  const Case cases[] = {
      {1920, 1080, Resolution::p480, 896, 448},   // ratio 0.5625 -> 0.50
      {1920, 1080, Resolution::p720, 1280, 704},  // ratio 0.5625 -> 0.55
      {1080, 1920, Resolution::p480, 448, 832},   // ratio 1.7778 -> 1.86
      {1080, 1920, Resolution::p720, 704, 1280},  // ratio 1.7778 -> 1.82
      {512, 512, Resolution::p480, 640, 640},     // ratio 1.0000 -> 1.00
      {512, 512, Resolution::p720, 960, 960},     // ratio 1.0000 -> 1.00
      {1000, 440, Resolution::p480, 1024, 384},   // ratio 0.4400 -> 0.38 (a tie with 0.50 in decimal)
      {1000, 440, Resolution::p720, 1408, 640},   // ratio 0.4400 -> 0.45
      {440, 1000, Resolution::p480, 384, 960},    // ratio 2.2727 -> 2.50
      {440, 1000, Resolution::p720, 640, 1472},   // ratio 2.2727 -> 2.30
      {768, 1024, Resolution::p480, 576, 704},    // ratio 1.3333 -> 1.22
      {768, 1024, Resolution::p720, 832, 1088},   // ratio 1.3333 -> 1.31
      {1024, 768, Resolution::p480, 704, 576},    // ratio 0.7500 -> 0.82
      {1024, 768, Resolution::p720, 1088, 832},   // ratio 0.7500 -> 0.76
      {3000, 1000, Resolution::p480, 1024, 384},  // ratio 0.3333 -> 0.38
      {3000, 1000, Resolution::p720, 1600, 576},  // ratio 0.3333 -> 0.36
      {100, 400, Resolution::p480, 320, 1280},    // ratio 4.0000 -> 4.00
      {100, 400, Resolution::p720, 512, 1920},    // ratio 4.0000 -> 3.75
      {400, 100, Resolution::p480, 1216, 320},    // ratio 0.2500 -> 0.26
      {400, 100, Resolution::p720, 2048, 448},    // ratio 0.2500 -> 0.22
      {10, 1000, Resolution::p480, 320, 1280},    // ratio 100 -> 4.00
      {1000, 10, Resolution::p720, 2048, 448},    // ratio 0.01 -> 0.22
      {900, 1100, Resolution::p480, 576, 704},    // ratio 1.2222 -> 1.22
      {900, 1100, Resolution::p720, 896, 1024},   // ratio 1.2222 -> 1.14
      {1100, 900, Resolution::p480, 704, 576},    // ratio 0.8182 -> 0.82
      {1100, 900, Resolution::p720, 1088, 832},   // ratio 0.8182 -> 0.76
      {25, 11, Resolution::p480, 1024, 384},      // ratio 0.4400 -> 0.38
  };
  for (const Case& c : cases) {
    INFO(c.width << "x" << c.height << (c.resolution == Resolution::p480 ? " 480p" : " 720p"));
    Size bucket = talkgen::choose_bucket(c.width, c.height, c.resolution);
    CHECK(bucket.width == c.bucket_width);
    CHECK(bucket.height == c.bucket_height);
  }
}

TEST_CASE("resize_and_center_crop is bit-identical to the reference's PIL bilinear resize + crop",
          "[media][resize]") {
  struct Case {
    const char* name;
    int width, height, target_width, target_height;
  };
  // CASES of tests/data/media/pil_resize/make_fixtures.py.
  const Case cases[] = {
      {"down_97x61_to_40x24", 97, 61, 40, 24}, {"up_13x9_to_32x20", 13, 9, 32, 20},
      {"down_50x80_to_20x44", 50, 80, 20, 44}, {"down_120x90_to_56x40", 120, 90, 56, 40},
      {"tall_31x100_to_24x64", 31, 100, 24, 64},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<std::uint8_t> expected =
        media_test::read_bytes(std::string(TALKGEN_TEST_DATA_DIR) + "/media/pil_resize/" + c.name + ".rgb");
    Image out = talkgen::resize_and_center_crop(pattern(c.width, c.height), Size{c.target_width, c.target_height});
    REQUIRE(out.width == c.target_width);
    REQUIRE(out.height == c.target_height);
    REQUIRE(out.rgb.size() == expected.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) mismatches += out.rgb[i] != expected[i];
    CHECK(mismatches == 0);
  }
}

TEST_CASE("resize_and_center_crop crops the centre with Python's round-half-to-even", "[media][resize]") {
  // Scale 1 (the target width equals the input width): no resampling, only the crop offset matters.
  Image in = pattern(20, 15);
  auto row_of = [&](const Image& image, int y) {
    return std::vector<std::uint8_t>(image.rgb.begin() + y * image.width * 3,
                                     image.rgb.begin() + (y + 1) * image.width * 3);
  };
  SECTION("odd excess 1: round(0.5) = 0") {
    Image out = talkgen::resize_and_center_crop(in, Size{20, 14});
    CHECK(media_test::mismatches(row_of(out, 0), row_of(in, 0)) == 0);
  }
  SECTION("odd excess 3: round(1.5) = 2") {
    Image out = talkgen::resize_and_center_crop(in, Size{20, 12});
    CHECK(media_test::mismatches(row_of(out, 0), row_of(in, 2)) == 0);
    CHECK(media_test::mismatches(row_of(out, 11), row_of(in, 13)) == 0);
  }
  SECTION("same size is an exact copy") {
    Image out = talkgen::resize_and_center_crop(in, Size{20, 15});
    CHECK(media_test::mismatches(out.rgb, in.rgb) == 0);
  }
}

TEST_CASE("resize helpers reject bad sizes", "[media][resize][errors]") {
  using media_test::error_code_of;
  CHECK(error_code_of([] { talkgen::choose_bucket(0, 100, Resolution::p480); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([] { talkgen::choose_bucket(100, -1, Resolution::p720); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([] { talkgen::resize_and_center_crop(pattern(8, 8), Size{0, 4}); }) ==
        ErrorCode::invalid_argument);
  Image broken = pattern(8, 8);
  broken.rgb.pop_back();
  CHECK(error_code_of([&] { talkgen::resize_and_center_crop(broken, Size{4, 4}); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([] { talkgen::resize_and_center_crop(Image{}, Size{4, 4}); }) == ErrorCode::invalid_argument);
}
