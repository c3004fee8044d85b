// Every bad input is a typed talkgen::Error, and none leaves a file or a temporary file behind.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cmath>
#include <limits>

#include "encoder/frame_fixtures.hpp"
#include "support/skip.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"

using talkgen::Encoder;
using talkgen::EncoderOptions;
using talkgen::ErrorCode;
using talkgen::FrameChunk;
using talkgen::FrameLayout;
namespace test = talkgen::test;

namespace {

// Runs `call`, which must throw talkgen::Error with `code`; returns its message.
template <typename Call>
std::string error_of(Call&& call, ErrorCode code) {
  try {
    call();
  } catch (const talkgen::Error& error) {
    INFO("message: " << error.what());
    CHECK(talkgen::to_string(error.code()) == std::string(talkgen::to_string(code)));
    return error.what();
  }
  FAIL("expected talkgen::Error(" << talkgen::to_string(code) << ")");
  return {};
}

}  // namespace

TEST_CASE("an unwritable output path is an io_error at to_file(), naming the path", "[encoder]") {
  const auto dir = test::fresh_scratch_dir("unwritable");
  SECTION("missing folder") {
    const auto path = dir + "/missing/out.mp4";
    const auto message = error_of([&] { Encoder::to_file(path); }, ErrorCode::io_error);
    CHECK_THAT(message, Catch::Contains(path));
  }
  SECTION("the path is a folder") {
    const auto message = error_of([&] { Encoder::to_file(dir); }, ErrorCode::io_error);
    CHECK_THAT(message, Catch::Contains(dir));
    CHECK_THAT(message, Catch::Contains("folder"));
  }
  SECTION("a folder nobody may create files in, even root") {
    error_of([&] { Encoder::to_file("/proc/talkgen-test-out.mp4"); }, ErrorCode::io_error);
  }
  CHECK(test::list_dir(dir).empty());
}

TEST_CASE("bad options are invalid_argument before any file is created", "[encoder]") {
  const auto dir = test::fresh_scratch_dir("bad_options");
  EncoderOptions options;
  SECTION("fps") { options.fps = GENERATE(0.0, -25.0, 1000.0, std::numeric_limits<double>::quiet_NaN()); }
  SECTION("crf") { options.crf = GENERATE(-1, 52); }
  SECTION("preset") { options.preset = GENERATE(std::string("bogus"), std::string(""), std::string("p4")); }
  SECTION("audio bitrate") { options.audio_bitrate = 0; }
  SECTION("audio sample rate") { options.audio_sample_rate = 12345; }
  SECTION("codec") { options.codec = static_cast<talkgen::VideoCodec>(9); }
  error_of([&] { Encoder::to_file(dir + "/out.mp4", options); }, ErrorCode::invalid_argument);
  error_of([&] { Encoder::to_memory(options); }, ErrorCode::invalid_argument);
  CHECK(test::list_dir(dir).empty());
}

TEST_CASE("bad chunks are invalid_argument, the Encoder stays usable or, dropped, leaves nothing", "[encoder]") {
  const int width = 64, height = 48;
  const auto pixels = test::make_frames_thwc(4, height, width);
  auto floats = test::make_frames_cthw(4, height, width);
  const auto dir = test::fresh_scratch_dir("bad_chunks");
  auto encoder = Encoder::to_file(dir + "/out.mp4");

  SECTION("before the first chunk") {
    FrameChunk chunk = FrameChunk::uint8_thwc(pixels.data(), 4, height, width);
    SECTION("null data") { chunk.data = nullptr; }
    SECTION("no frames") { chunk.frames = 0; }
    SECTION("negative width") { chunk.width = -64; }
    SECTION("zero height") { chunk.height = 0; }
    SECTION("too large") { chunk.width = 10000; }
    SECTION("unknown layout") { chunk.layout = static_cast<FrameLayout>(7); }
    SECTION("NaN in float frames") {
      floats[floats.size() / 2] = std::numeric_limits<float>::quiet_NaN();
      chunk = FrameChunk::float_cthw(floats.data(), 4, height, width);
    }
    error_of([&] { encoder.append(chunk); }, ErrorCode::invalid_argument);
    CHECK(encoder.frames_written() == 0);
  }
  SECTION("a chunk whose size differs from the first") {
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), 4, height, width));
    const auto message = error_of([&] { encoder.append(FrameChunk::uint8_thwc(pixels.data(), 2, height / 2, width * 2)); },
                                  ErrorCode::invalid_argument);
    CHECK_THAT(message, Catch::Contains("first chunk"));
    CHECK(encoder.frames_written() == 4);
  }

  SECTION("dropped after the error: nothing remains") {
    encoder = Encoder::to_memory();  // destroys the file encoder
    CHECK(test::list_dir(dir).empty());
  }
  SECTION("still usable after the error") {
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), 4, height, width));
    encoder.finish();
    CHECK(test::list_dir(dir) == std::vector<std::string>{"out.mp4"});
  }
}

TEST_CASE("calls out of order are invalid_argument", "[encoder]") {
  const auto pixels = test::make_frames_thwc(2, 32, 32);
  const auto dir = test::fresh_scratch_dir("order");
  auto encoder = Encoder::to_file(dir + "/out.mp4");

  error_of([&] { encoder.finish(); }, ErrorCode::invalid_argument);  // no frames yet
  error_of([&] { encoder.take_buffer(); }, ErrorCode::invalid_argument);
  encoder.set_audio(test::make_tone(0.1, 16000));
  error_of([&] { encoder.set_audio(test::make_tone(0.1, 16000)); }, ErrorCode::invalid_argument);
  encoder.append(FrameChunk::uint8_thwc(pixels.data(), 2, 32, 32));
  encoder.finish();
  error_of([&] { encoder.append(FrameChunk::uint8_thwc(pixels.data(), 2, 32, 32)); }, ErrorCode::invalid_argument);
  error_of([&] { encoder.finish(); }, ErrorCode::invalid_argument);

  Encoder moved = std::move(encoder);
  error_of([&] { encoder.finish(); }, ErrorCode::invalid_argument);  // NOLINT(bugprone-use-after-move)
  CHECK(test::list_dir(dir) == std::vector<std::string>{"out.mp4"});
}

TEST_CASE("bad audio is invalid_argument", "[encoder]") {
  auto encoder = Encoder::to_memory();
  talkgen::Audio audio = test::make_tone(0.5, 16000);
  SECTION("no sample rate") { audio.sample_rate = 0; }
  SECTION("NaN sample") { audio.samples[100] = std::nanf(""); }
  error_of([&] { encoder.set_audio(audio); }, ErrorCode::invalid_argument);
}

TEST_CASE("h264_nvenc where it cannot run is device_unavailable, pointing at libx264", "[encoder]") {
  std::string why_not;
  CHECK(talkgen::encoder_available(talkgen::VideoCodec::libx264, &why_not));
  if (talkgen::encoder_available(talkgen::VideoCodec::h264_nvenc, &why_not))
    TALKGEN_SKIP("this machine can open h264_nvenc sessions: the device_unavailable path is unreachable here");
  CHECK_THAT(why_not, Catch::Contains("libx264"));
  const auto dir = test::fresh_scratch_dir("nvenc");
  EncoderOptions options;
  options.codec = talkgen::VideoCodec::h264_nvenc;
  const auto message = error_of([&] { Encoder::to_file(dir + "/out.mp4", options); }, ErrorCode::device_unavailable);
  CHECK_THAT(message, Catch::Contains("libx264"));
  CHECK_THAT(message, Catch::Contains("GPU") || Catch::Contains("NVIDIA"));
  CHECK(test::list_dir(dir).empty());
}

TEST_CASE("a write failure mid-video is an io_error that removes the temporary file", "[encoder]") {
  // A file size limit (RLIMIT_FSIZE) makes write() fail with EFBIG once the temporary file reaches it,
  // like a full disk would. SIGXFSZ, which would otherwise end the process, is ignored meanwhile.
  struct FileSizeLimit {
    rlimit saved{};
    void (*saved_handler)(int) = nullptr;
    explicit FileSizeLimit(rlim_t bytes) {
      getrlimit(RLIMIT_FSIZE, &saved);
      saved_handler = std::signal(SIGXFSZ, SIG_IGN);
      rlimit limited = saved;
      limited.rlim_cur = bytes;
      setrlimit(RLIMIT_FSIZE, &limited);
    }
    ~FileSizeLimit() {
      setrlimit(RLIMIT_FSIZE, &saved);
      std::signal(SIGXFSZ, saved_handler);
    }
  };
  const int width = 320, height = 192, chunk = 25;
  const auto dir = test::fresh_scratch_dir("write_failure");
  EncoderOptions options;
  options.preset = "ultrafast";
  options.crf = 8;  // about 40 KB a frame: the limit is reached within a few chunks
  auto encoder = Encoder::to_file(dir + "/out.mp4", options);
  encoder.set_audio(test::make_tone(8.0, 16000));
  {
    FileSizeLimit limit(512 * 1024);
    const auto message = error_of(
        [&] {
          for (int k = 0; k < 8; ++k) {
            const auto pixels = test::make_frames_thwc(chunk, height, width, k * chunk);
            encoder.append(FrameChunk::uint8_thwc(pixels.data(), chunk, height, width));
          }
          encoder.finish();
        },
        ErrorCode::io_error);
    CHECK_THAT(message, Catch::Contains("out.mp4"));
  }
  CHECK(test::list_dir(dir).empty());
  const auto pixels = test::make_frames_thwc(1, height, width);
  const auto message = error_of([&] { encoder.append(FrameChunk::uint8_thwc(pixels.data(), 1, height, width)); },
                                ErrorCode::invalid_argument);
  CHECK_THAT(message, Catch::Contains("failed earlier"));
}
