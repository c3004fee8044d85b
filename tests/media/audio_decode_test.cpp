// Audio decoding: every format, resampling, downmix, memory input, errors. Inputs made with the ffmpeg CLI.
#include <cmath>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using media_test::error_message_of;
using media_test::ffmpeg;
using media_test::scratch;
using talkgen::Audio;
using talkgen::ErrorCode;

namespace {

// Frequency estimated from the rising zero crossings of the middle of the signal (edges skipped, where
// codec priming and resampler filters act).
double frequency_hz(const Audio& audio) {
  const std::size_t begin = audio.samples.size() / 5, end = audio.samples.size() * 4 / 5;
  std::size_t first = 0, last = 0, count = 0;
  for (std::size_t i = begin + 1; i < end; ++i) {
    if (audio.samples[i - 1] < 0.0f && audio.samples[i] >= 0.0f) {
      if (count == 0) first = i;
      last = i;
      ++count;
    }
  }
  REQUIRE(count > 10);
  return double(count - 1) * audio.sample_rate / double(last - first);
}

double middle_rms(const Audio& audio) {
  const std::size_t begin = audio.samples.size() / 5, end = audio.samples.size() * 4 / 5;
  double sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += double(audio.samples[i]) * audio.samples[i];
  return std::sqrt(sum / double(end - begin));
}

float peak(const Audio& audio) {
  float p = 0;
  for (float s : audio.samples) p = std::max(p, std::fabs(s));
  return p;
}

std::string sine_file(const std::string& name, const std::string& codec_args, int rate = 44100,
                      double seconds = 2.5, int frequency = 440) {
  std::string path = scratch(name);
  ffmpeg("-f lavfi -i sine=frequency=" + std::to_string(frequency) + ":sample_rate=" + std::to_string(rate) +
         ":duration=" + std::to_string(seconds) + " " + codec_args + " '" + path + "'");
  return path;
}

}  // namespace

TEST_CASE("every audio format decodes to mono 16 kHz with the right duration and pitch", "[media][audio]") {
  struct Case {
    const char* name;
    const char* codec_args;
  };
  const Case cases[] = {
      {"sine.wav", "-c:a pcm_s16le"},       {"sine.mp3", "-c:a libmp3lame -b:a 128k"},
      {"sine.flac", "-c:a flac"},           {"sine.m4a", "-c:a aac -b:a 128k"},
      {"sine.ogg", "-c:a libopus -b:a 64k"},
      // Both channels carry the sine, so their mean does too.
      {"sine_stereo.wav", "-af \"pan=stereo|c0=c0|c1=c0\" -c:a pcm_f32le"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Audio audio = talkgen::decode_audio(sine_file(c.name, c.codec_args), 16000);
    CHECK(audio.sample_rate == 16000);
    CHECK(audio.duration_seconds() == Approx(2.5).margin(0.03));
    CHECK(frequency_hz(audio) == Approx(440.0).epsilon(0.005));
    // lavfi's sine has amplitude 1/8: RMS 0.0884, measured away from the edges (where AAC rings); LAME
    // encodes it 0.45 dB lower.
    CHECK(middle_rms(audio) == Approx(0.125 / std::sqrt(2.0)).epsilon(0.07));
  }
}

TEST_CASE("the audio track of a video file is decoded", "[media][audio]") {
  std::string path = scratch("talk.mp4");
  ffmpeg("-f lavfi -i testsrc2=size=64x48:duration=1.5 -f lavfi -i sine=frequency=440:sample_rate=48000:duration=1.5 "
         "-pix_fmt yuv420p -c:a aac -shortest '" + path + "'");
  Audio audio = talkgen::decode_audio(path, 16000);
  CHECK(audio.duration_seconds() == Approx(1.5).margin(0.05));
  CHECK(frequency_hz(audio) == Approx(440.0).epsilon(0.005));
}

TEST_CASE("resampling keeps a sine's frequency and the duration", "[media][audio]") {
  std::string path = sine_file("sine_1k_44k.wav", "-c:a pcm_s16le", 44100, 2.0, 1000);
  for (int rate : {8000, 16000, 22050, 44100, 48000}) {
    INFO(rate << " Hz");
    Audio audio = talkgen::decode_audio(path, rate);
    CHECK(audio.sample_rate == rate);
    CHECK(std::abs(double(audio.samples.size()) - 2.0 * rate) <= 2.0);
    CHECK(frequency_hz(audio) == Approx(1000.0).epsilon(0.002));
  }
}

TEST_CASE("downmix to mono is the mean of the channels (as librosa)", "[media][audio]") {
  // Left: a sine of amplitude 0.8; right: silence. The mean has amplitude 0.4 (swresample's default
  // stereo->mono matrix would give 0.8 * 0.707).
  std::string path = scratch("left_only.wav");
  ffmpeg("-f lavfi -i \"aevalsrc=0.8*sin(2*PI*440*t)|0:s=16000:d=1\" -c:a pcm_f32le '" + path + "'");
  Audio audio = talkgen::decode_audio(path, 16000);
  CHECK(audio.samples.size() == 16000);
  CHECK(peak(audio) == Approx(0.4).epsilon(0.01));
}

TEST_CASE("decode_audio_bytes equals decode_audio of the same file", "[media][audio]") {
  for (const std::string name : {"mem.m4a", "mem.mp3", "mem.wav"}) {
    INFO(name);
    std::string path = sine_file(name, "", 48000, 1.0);
    std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
    Audio from_file = talkgen::decode_audio(path, 16000);
    Audio from_memory = talkgen::decode_audio_bytes(bytes.data(), bytes.size(), 16000);
    CHECK(from_memory.sample_rate == 16000);
    CHECK(media_test::mismatches(from_memory.samples, from_file.samples) == 0);
  }
}

TEST_CASE("bad audio inputs give typed errors that name the file", "[media][audio][errors]") {
  SECTION("missing: not_found") {
    std::string path = scratch("no_such_audio.wav");
    CHECK(error_code_of([&] { talkgen::decode_audio(path); }) == ErrorCode::not_found);
    CHECK(error_message_of([&] { talkgen::decode_audio(path); }).find(path) != std::string::npos);
  }
  SECTION("empty: invalid_argument") {
    std::string path = scratch("empty.wav");
    media_test::write_bytes(path, {});
    CHECK(error_code_of([&] { talkgen::decode_audio(path); }) == ErrorCode::invalid_argument);
    CHECK(error_code_of([] { talkgen::decode_audio_bytes(nullptr, 0); }) == ErrorCode::invalid_argument);
  }
  SECTION("garbage: invalid_argument") {
    std::vector<std::uint8_t> garbage(8192);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
    std::string path = scratch("garbage.mp3");
    media_test::write_bytes(path, garbage);
    CHECK(error_code_of([&] { talkgen::decode_audio(path); }) == ErrorCode::invalid_argument);
    CHECK(error_message_of([&] { talkgen::decode_audio(path); }).find(path) != std::string::npos);
    CHECK(error_code_of([&] { talkgen::decode_audio_bytes(garbage.data(), garbage.size()); }) ==
          ErrorCode::invalid_argument);
  }
  SECTION("truncated M4A (index lost): invalid_argument") {
    std::vector<std::uint8_t> bytes = media_test::read_bytes(sine_file("full.m4a", "-c:a aac"));
    bytes.resize(bytes.size() / 3);
    std::string path = scratch("truncated.m4a");
    media_test::write_bytes(path, bytes);
    CHECK(error_code_of([&] { talkgen::decode_audio(path); }) == ErrorCode::invalid_argument);
  }
  SECTION("truncated FLAC header: invalid_argument") {
    std::vector<std::uint8_t> bytes = media_test::read_bytes(sine_file("full.flac", "-c:a flac"));
    bytes.resize(20);
    CHECK(error_code_of([&] { talkgen::decode_audio_bytes(bytes.data(), bytes.size()); }) ==
          ErrorCode::invalid_argument);
  }
  SECTION("an image or a silent video: unsupported") {
    std::string png = scratch("not_audio.png");
    ffmpeg("-f lavfi -i testsrc2=size=32x32 -frames:v 1 '" + png + "'");
    CHECK(error_code_of([&] { talkgen::decode_audio(png); }) == ErrorCode::unsupported);
    CHECK(error_message_of([&] { talkgen::decode_audio(png); }).find(png) != std::string::npos);
    std::string mp4 = scratch("video_only.mp4");
    ffmpeg("-f lavfi -i testsrc2=size=64x48:duration=0.2 -pix_fmt yuv420p '" + mp4 + "'");
    CHECK(error_code_of([&] { talkgen::decode_audio(mp4); }) == ErrorCode::unsupported);
  }
  SECTION("bad sample rate: invalid_argument") {
    std::string path = sine_file("rate.wav", "", 16000, 0.5);
    CHECK(error_code_of([&] { talkgen::decode_audio(path, 0); }) == ErrorCode::invalid_argument);
    CHECK(error_code_of([&] { talkgen::decode_audio(path, -16000); }) == ErrorCode::invalid_argument);
  }
}
