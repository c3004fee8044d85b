// What goes in comes out: chunks of both layouts, odd sizes and the audio track, each MP4 decoded
// back and compared with its input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "encoder/mp4_probe.hpp"
#include "encoder/frame_fixtures.hpp"
#include "talkgen/encoder.hpp"

using talkgen::Encoder;
using talkgen::EncoderOptions;
using talkgen::FrameChunk;
namespace test = talkgen::test;

namespace {

constexpr double kMinPsnr = 35.0;

// The worst PSNR over all frames of the top-left height×width of `info`'s frames against `expected`.
double worst_psnr(const test::Mp4Info& info, const std::vector<std::uint8_t>& expected, int height, int width) {
  REQUIRE(!info.rgb.empty());
  double worst = 1e9;
  const std::size_t frame_bytes = std::size_t(height) * width * 3;
  for (std::size_t t = 0; t < info.rgb.size(); ++t) {
    worst = std::min(worst, test::psnr(expected.data() + t * frame_bytes, info.rgb[t], height, width, info.width));
  }
  return worst;
}

// The container's audio duration (what players show) is checked to ±1 frame by the callers. Decoding
// yields whole AAC frames of 1024 samples: FFmpeg's MP4 demuxer drops the encoder's priming samples
// at the start (edit list) but not the padding of the last frame, so the decoded count may exceed the
// track's length by up to one AAC frame more.
void check_decoded_audio(const test::Mp4Info& info, double seconds, double frame_seconds) {
  REQUIRE(info.audio_rate > 0);
  const double decoded = double(info.audio_samples) / info.audio_rate;
  CHECK(decoded >= seconds - frame_seconds);
  CHECK(decoded <= seconds + frame_seconds + 1024.0 / info.audio_rate);
}

void check_moov_before_mdat(const std::vector<std::uint8_t>& bytes) {
  const auto boxes = test::top_level_boxes(bytes);
  INFO("top-level boxes: " << Catch::Detail::stringify(boxes));
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  REQUIRE(moov != boxes.end());
  REQUIRE(mdat != boxes.end());
  CHECK(moov < mdat);
  CHECK(boxes.front() == "ftyp");
}

}  // namespace

TEST_CASE("uint8 chunks and a longer speech track stream into a faststart H.264/AAC MP4", "[encoder]") {
  const int width = 192, height = 128, frames = 50;
  const auto dir = test::fresh_scratch_dir("uint8_chunks");
  const auto path = dir + "/out.mp4";
  const auto pixels = test::make_frames_thwc(frames, height, width);

  auto encoder = Encoder::to_file(path);
  encoder.set_audio(test::make_tone(2.3, 16000));  // 0.3 s longer than the video: trimmed
  int start = 0;
  for (int count : {20, 20, 10}) {
    encoder.append(FrameChunk::uint8_thwc(pixels.data() + std::size_t(start) * height * width * 3, count, height, width));
    start += count;
  }
  CHECK(encoder.frames_written() == frames);
  CHECK_FALSE(std::filesystem::exists(path));  // published only by finish()
  encoder.finish();

  CHECK(test::list_dir(dir) == std::vector<std::string>{"out.mp4"});
  const auto info = test::probe_mp4_file(path, true);
  CHECK(info.video_codec == "h264");
  CHECK(info.audio_codec == "aac");
  CHECK(info.pixel_format == "yuv420p");
  CHECK(info.color_space == "bt709");
  CHECK(info.width == width);
  CHECK(info.height == height);
  CHECK(info.frames == frames);
  CHECK(info.fps_num == 25);
  CHECK(info.fps_den == 1);
  CHECK(info.video_seconds == Approx(2.0).margin(0.001));
  CHECK(info.audio_rate == 16000);
  CHECK(info.audio_channels == 1);
  CHECK(info.audio_seconds == Approx(2.0).margin(1.0 / 25));
  check_decoded_audio(info, 2.0, 1.0 / 25);
  CHECK(worst_psnr(info, pixels, height, width) >= kMinPsnr);
  check_moov_before_mdat(test::read_file_bytes(path));
}

TEST_CASE("float C×T×H×W chunks (the VAE's output) encode like the uint8 frames they stand for", "[encoder]") {
  const int width = 160, height = 96, frames = 45;
  const auto expected = test::make_frames_thwc(frames, height, width);

  EncoderOptions options;
  options.fps = 29.97;  // kept exact as 30000/1001
  auto encoder = Encoder::to_memory(options);
  int start = 0;
  for (int count : {15, 15, 15}) {
    const auto chunk = test::make_frames_cthw(count, height, width, start);
    encoder.append(FrameChunk::float_cthw(chunk.data(), count, height, width));
    start += count;
    // Audio arrives after the first chunk: the video packets wait for the header until then.
    if (start == 15) encoder.set_audio(test::make_tone(0.5, 16000));  // shorter: padded with silence
  }
  encoder.finish();
  const auto bytes = encoder.take_buffer();

  const auto info = test::probe_mp4_bytes(bytes, true);
  const double seconds = frames * 1001.0 / 30000.0;
  CHECK(info.video_codec == "h264");
  CHECK(info.audio_codec == "aac");
  CHECK(info.frames == frames);
  CHECK(info.fps_num == 30000);
  CHECK(info.fps_den == 1001);
  CHECK(info.audio_seconds == Approx(seconds).margin(1001.0 / 30000));
  check_decoded_audio(info, seconds, 1001.0 / 30000);
  CHECK(worst_psnr(info, expected, height, width) >= kMinPsnr);
  check_moov_before_mdat(bytes);
}

TEST_CASE("chunks of both layouts can follow each other in one video", "[encoder]") {
  const int width = 128, height = 96;
  const auto expected = test::make_frames_thwc(30, height, width);
  const auto floats = test::make_frames_cthw(10, height, width, 10);

  auto encoder = Encoder::to_memory();
  encoder.append(FrameChunk::uint8_thwc(expected.data(), 10, height, width));
  encoder.append(FrameChunk::float_cthw(floats.data(), 10, height, width));
  encoder.append(FrameChunk::uint8_thwc(expected.data() + std::size_t(20) * height * width * 3, 10, height, width));
  encoder.finish();

  const auto info = test::probe_mp4_bytes(encoder.take_buffer(), true);
  CHECK(info.frames == 30);
  CHECK(info.audio_codec.empty());  // never given audio: a video-only MP4
  CHECK(worst_psnr(info, expected, height, width) >= kMinPsnr);
}

TEST_CASE("odd frame sizes are padded to even by repeating the last column and row", "[encoder]") {
  const int frames = 12;
  const auto [width, height] = GENERATE(std::make_pair(161, 97), std::make_pair(160, 97), std::make_pair(161, 96));
  CAPTURE(width, height);
  const auto pixels = test::make_frames_thwc(frames, height, width);

  auto encoder = Encoder::to_memory();
  encoder.set_audio(test::make_tone(0.48, 16000));
  encoder.append(FrameChunk::uint8_thwc(pixels.data(), frames, height, width));
  encoder.finish();
  const auto info = test::probe_mp4_bytes(encoder.take_buffer(), true);

  CHECK(info.width == width + width % 2);
  CHECK(info.height == height + height % 2);
  CHECK(info.frames == frames);
  CHECK(worst_psnr(info, pixels, height, width) >= kMinPsnr);
  // The padding repeats the edge: the extra column / row looks like its neighbour, not black.
  double worst_gap = 0;
  for (const auto& rgb : info.rgb) {
    const std::size_t stride = std::size_t(info.width) * 3;
    double column_gap = 0, row_gap = 0;
    for (int y = 0; y < height; ++y) {
      for (int c = 0; c < 3; ++c) {
        column_gap += std::abs(int(rgb[y * stride + (info.width - 1) * 3 + c]) - int(rgb[y * stride + (width - 1) * 3 + c]));
      }
    }
    for (int x = 0; x < width * 3; ++x) {
      row_gap += std::abs(int(rgb[(info.height - 1) * stride + x]) - int(rgb[(height - 1) * stride + x]));
    }
    worst_gap = std::max({worst_gap, column_gap / (height * 3), row_gap / (width * 3)});
  }
  CHECK(worst_gap < 6.0);
}

TEST_CASE("audio at another rate is resampled to the rate asked for", "[encoder]") {
  const int width = 64, height = 48, frames = 25;
  const auto pixels = test::make_frames_thwc(frames, height, width);
  EncoderOptions options;
  options.audio_sample_rate = 48000;
  auto encoder = Encoder::to_memory(options);
  encoder.set_audio(test::make_tone(1.0, 44100));
  encoder.append(FrameChunk::uint8_thwc(pixels.data(), frames, height, width));
  encoder.finish();
  const auto info = test::probe_mp4_bytes(encoder.take_buffer(), false);
  CHECK(info.audio_rate == 48000);
  CHECK(info.audio_seconds == Approx(1.0).margin(1.0 / 25));
  CHECK(info.frames == frames);
}
