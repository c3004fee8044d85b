// Loudness measurement (libebur128) and the reference's normalisation to -23 LUFS.
#include <cmath>
#include <limits>
#include <random>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using talkgen::Audio;
using talkgen::ErrorCode;

namespace {

constexpr double kPi = 3.14159265358979323846;

Audio sine(double frequency, double amplitude, double seconds, int rate) {
  Audio audio;
  audio.sample_rate = rate;
  audio.samples.resize(static_cast<std::size_t>(seconds * rate));
  for (std::size_t i = 0; i < audio.samples.size(); ++i)
    audio.samples[i] = static_cast<float>(amplitude * std::sin(2 * kPi * frequency * double(i) / rate));
  return audio;
}

// Speech-like: noise bursts with syllable-rate amplitude modulation and pauses.
Audio speechlike(double seconds, int rate, float level) {
  Audio audio;
  audio.sample_rate = rate;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  audio.samples.resize(static_cast<std::size_t>(seconds * rate));
  for (std::size_t i = 0; i < audio.samples.size(); ++i) {
    double t = double(i) / rate;
    double envelope = std::max(0.0, std::sin(2 * kPi * 3.0 * t)) * (std::fmod(t, 2.0) < 1.6 ? 1.0 : 0.0);
    audio.samples[i] = static_cast<float>(level * envelope * noise(rng));
  }
  return audio;
}

}  // namespace

TEST_CASE("a full-scale 997 Hz sine measures -3.01 LUFS (BS.1770 calibration)", "[media][loudness]") {
  CHECK(talkgen::measure_loudness_lufs(sine(997.0, 1.0, 5.0, 48000)) == Approx(-3.01).margin(0.05));
  // -20 dB of amplitude is -20 LU.
  CHECK(talkgen::measure_loudness_lufs(sine(997.0, 0.1, 5.0, 48000)) == Approx(-23.01).margin(0.05));
}

TEST_CASE("normalize_loudness reaches the target within 0.5 LU by a uniform gain", "[media][loudness]") {
  for (double target : {-23.0, -16.0, -30.0}) {
    for (float level : {0.01f, 0.3f}) {
      INFO("target " << target << " level " << level);
      Audio audio = speechlike(6.0, 16000, level);
      const Audio original = audio;
      const double before = talkgen::measure_loudness_lufs(audio);
      talkgen::normalize_loudness(audio, target);
      CHECK(talkgen::measure_loudness_lufs(audio) == Approx(target).margin(0.5));
      const double gain = std::pow(10.0, (target - before) / 20.0);
      // Same gain on every sample, no clipping (pyloudnorm keeps peaks above 1.0 too).
      for (std::size_t i = 0; i < audio.samples.size(); i += 997)
        CHECK(audio.samples[i] == Approx(original.samples[i] * gain).margin(1e-6));
    }
  }
}

TEST_CASE("silence and audio shorter than one 400 ms block are left unchanged", "[media][loudness]") {
  Audio silence;
  silence.sample_rate = 16000;
  silence.samples.assign(32000, 0.0f);
  CHECK(talkgen::measure_loudness_lufs(silence) == -std::numeric_limits<double>::infinity());
  talkgen::normalize_loudness(silence);
  CHECK(media_test::mismatches(silence.samples, std::vector<float>(32000, 0.0f)) == 0);

  // Below the -70 LUFS absolute gate: the reference's |loudness| > 100 branch, unchanged.
  Audio whisper = sine(440.0, 1e-5, 2.0, 16000);
  const Audio whisper_before = whisper;
  talkgen::normalize_loudness(whisper);
  CHECK(media_test::mismatches(whisper.samples, whisper_before.samples) == 0);

  Audio short_clip = sine(440.0, 0.5, 0.3, 16000);
  const Audio short_before = short_clip;
  talkgen::normalize_loudness(short_clip);
  CHECK(media_test::mismatches(short_clip.samples, short_before.samples) == 0);

  Audio empty;
  empty.sample_rate = 16000;
  talkgen::normalize_loudness(empty);
  CHECK(empty.samples.empty());
}

TEST_CASE("loudness rejects bad arguments", "[media][loudness][errors]") {
  Audio no_rate;
  no_rate.samples.assign(100, 0.1f);
  CHECK(error_code_of([&] { talkgen::measure_loudness_lufs(no_rate); }) == ErrorCode::invalid_argument);
  Audio audio = sine(440.0, 0.5, 1.0, 16000);
  CHECK(error_code_of([&] { talkgen::normalize_loudness(audio, std::nan("")); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([&] { talkgen::normalize_loudness(audio, 6.0); }) == ErrorCode::invalid_argument);
}
