// append_still_video (`talkgen encode`, the C ABI's still video): speech shorter than one frame is refused
// instead of being rounded up to a one-frame video that passes a cut or empty file off as a result.
#include <catch2/catch.hpp>

#include <string>

#include "encoder/frame_fixtures.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/still_video.hpp"

using talkgen::Encoder;
using talkgen::ErrorCode;
namespace test = talkgen::test;

namespace {

talkgen::Image grey(int w, int h) {
  talkgen::Image image;
  image.width = w;
  image.height = h;
  image.rgb.assign(static_cast<std::size_t>(w) * h * 3, 128);
  return image;
}

}  // namespace

TEST_CASE("a still video needs at least one frame of speech", "[encoder][still]") {
  const talkgen::Image image = grey(64, 48);
  SECTION("shorter than 1/25 s: invalid_argument naming the frame length") {
    auto encoder = Encoder::to_memory();
    try {
      talkgen::append_still_video(encoder, image, test::make_tone(0.03, 48000), 25.0);
      FAIL("expected invalid_argument");
    } catch (const talkgen::Error& e) {
      INFO(e.what());
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find("shorter than one video frame") != std::string::npos);
      CHECK(std::string(e.what()).find("0.040 s") != std::string::npos);
    }
  }
  SECTION("one frame's worth makes one frame; longer speech its rounded number of frames") {
    auto one = Encoder::to_memory();
    CHECK(talkgen::append_still_video(one, image, test::make_tone(0.04, 48000), 25.0) == 1);
    auto more = Encoder::to_memory();
    CHECK(talkgen::append_still_video(more, image, test::make_tone(1.0, 48000), 25.0) == 25);
  }
}
