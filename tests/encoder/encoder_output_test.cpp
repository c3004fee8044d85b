// Where the MP4 goes: memory vs file, faststart, data reaching the disk while frames arrive, and the
// temporary file never outliving the Encoder.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "encoder/mp4_probe.hpp"
#include "encoder/frame_fixtures.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"

using talkgen::Encoder;
using talkgen::EncoderOptions;
using talkgen::FrameChunk;
namespace fs = std::filesystem;
namespace test = talkgen::test;

namespace {

// The size of the one temporary file in `dir` (there must be exactly one entry, a hidden .tmp).
std::uintmax_t temp_file_size(const std::string& dir) {
  const auto names = test::list_dir(dir);
  REQUIRE(names.size() == 1);
  REQUIRE(names[0].rfind(".out.mp4.", 0) == 0);
  REQUIRE(names[0].size() > 4);
  REQUIRE(names[0].substr(names[0].size() - 4) == ".tmp");
  return fs::file_size(fs::path(dir) / names[0]);
}

}  // namespace

TEST_CASE("memory output is the same MP4 as file output, byte for byte, and decodes from memory", "[encoder]") {
  // 128 wide on purpose: at widths that are not a multiple of 64, libx264 on AVX-512 machines was seen
  // to produce slightly different (valid) streams from identical input depending on its heap's earlier
  // contents, which would make a byte comparison flaky for reasons outside talkgen.
  const int width = 128, height = 64, frames = 20;
  const auto pixels = test::make_frames_thwc(frames, height, width);
  const auto audio = test::make_tone(0.8, 16000);
  const auto dir = test::fresh_scratch_dir("memory_vs_file");
  EncoderOptions options;
  options.preset = "fast";

  auto to_file = Encoder::to_file(dir + "/out.mp4", options);
  auto to_memory = Encoder::to_memory(options);
  for (Encoder* encoder : {&to_file, &to_memory}) {
    encoder->set_audio(audio);
    encoder->append(FrameChunk::uint8_thwc(pixels.data(), frames, height, width));
    encoder->finish();
  }
  const auto bytes = to_memory.take_buffer();
  const auto file_bytes = test::read_file_bytes(dir + "/out.mp4");
  CHECK(bytes.size() == file_bytes.size());
  const auto mismatch = std::mismatch(bytes.begin(), bytes.end(), file_bytes.begin(), file_bytes.end());
  CHECK(mismatch.first - bytes.begin() == static_cast<std::ptrdiff_t>(bytes.size()));  // first differing byte

  const auto info = test::probe_mp4_bytes(bytes, false);
  CHECK(info.video_codec == "h264");
  CHECK(info.audio_codec == "aac");
  CHECK(info.frames == frames);
  const auto boxes = test::top_level_boxes(bytes);
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  REQUIRE(moov != boxes.end());
  REQUIRE(mdat != boxes.end());
  CHECK(moov < mdat);

  SECTION("the buffer is handed over once; file encoders have none") {
    CHECK_THROWS_MATCHES(to_memory.take_buffer(), talkgen::Error,
                         Catch::Predicate<talkgen::Error>([](const auto& e) {
                           return e.code() == talkgen::ErrorCode::invalid_argument;
                         }));
    CHECK_THROWS_MATCHES(to_file.take_buffer(), talkgen::Error,
                         Catch::Predicate<talkgen::Error>([](const auto& e) {
                           return e.code() == talkgen::ErrorCode::invalid_argument;
                         }));
  }
}

TEST_CASE("with the audio set first, encoded video reaches the disk while frames arrive", "[encoder]") {
  const int width = 320, height = 192, chunk = 25;
  const auto dir = test::fresh_scratch_dir("streaming");
  // FFmpeg's file writer buffers 256 KiB, so this test makes a high-rate video (CRF 8) to see the
  // file grow; the point is that it grows chunk by chunk rather than all at finish().
  EncoderOptions options;
  options.preset = "ultrafast";
  options.crf = 8;
  auto encoder = Encoder::to_file(dir + "/out.mp4", options);
  encoder.set_audio(test::make_tone(4.0, 16000));
  std::vector<std::uintmax_t> sizes;
  for (int k = 0; k < 4; ++k) {
    const auto pixels = test::make_frames_thwc(chunk, height, width, k * chunk);
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), chunk, height, width));
    sizes.push_back(temp_file_size(dir));
  }
  INFO("temporary file sizes after each chunk: " << Catch::Detail::stringify(sizes));
  // The encoder's lookahead and the muxer's interleaving hold back a second or two; beyond that, the
  // encoded video leaves memory as it is made.
  CHECK(sizes[1] > 256 * 1024);
  CHECK(sizes[2] > sizes[1]);
  CHECK(sizes[3] > sizes[2]);
  encoder.finish();
  CHECK(test::list_dir(dir) == std::vector<std::string>{"out.mp4"});
  CHECK(test::probe_mp4_file(dir + "/out.mp4", false).frames == 4 * chunk);
}

TEST_CASE("an Encoder destroyed before finish() leaves no file behind", "[encoder]") {
  const int width = 64, height = 48;
  const auto pixels = test::make_frames_thwc(10, height, width);
  const auto dir = test::fresh_scratch_dir("destroyed");

  SECTION("dropped after some frames") {
    auto encoder = Encoder::to_file(dir + "/out.mp4");
    encoder.set_audio(test::make_tone(1.0, 16000));
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, height, width));
    CHECK(test::list_dir(dir).size() == 1);  // the temporary file, while encoding
  }
  SECTION("unwound by an exception of the caller") {
    CHECK_THROWS_AS(
        [&] {
          auto encoder = Encoder::to_file(dir + "/out.mp4");
          encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, height, width));
          throw std::runtime_error("the sampler failed");
        }(),
        std::runtime_error);
  }
  SECTION("moved into another Encoder that is then dropped") {
    Encoder target = Encoder::to_memory();
    {
      auto encoder = Encoder::to_file(dir + "/out.mp4");
      encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, height, width));
      target = std::move(encoder);
      CHECK(encoder.frames_written() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state
    }
    CHECK(target.frames_written() == 10);
    CHECK(test::list_dir(dir).size() == 1);
    target = Encoder::to_memory();
  }
  CHECK(test::list_dir(dir).empty());
}

TEST_CASE("finish() replaces an existing file at the path", "[encoder]") {
  const auto dir = test::fresh_scratch_dir("replace");
  const auto path = dir + "/out.mp4";
  { std::ofstream(path) << "old contents"; }
  const auto pixels = test::make_frames_thwc(5, 32, 32);
  auto encoder = Encoder::to_file(path);
  encoder.append(FrameChunk::uint8_thwc(pixels.data(), 5, 32, 32));
  CHECK(test::read_file_bytes(path).size() == 12);  // untouched until finish()
  encoder.finish();
  CHECK(test::probe_mp4_file(path, false).frames == 5);
  CHECK(test::list_dir(dir) == std::vector<std::string>{"out.mp4"});
}
