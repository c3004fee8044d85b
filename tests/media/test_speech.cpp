// Text to speech through espeak-ng.
#include <cmath>
#include <future>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using media_test::error_message_of;
using talkgen::Audio;
using talkgen::ErrorCode;
using talkgen::SpeechOptions;

namespace {

const char* const kSentence = "Hello there. This is a short test of the speech synthesizer.";

double rms(const Audio& audio) {
  double sum = 0;
  for (float s : audio.samples) sum += double(s) * s;
  return std::sqrt(sum / std::max<std::size_t>(audio.samples.size(), 1));
}

}  // namespace

TEST_CASE("synthesize_speech produces audible speech of plausible length", "[media][tts]") {
  Audio audio = talkgen::synthesize_speech(kSentence);
  CHECK(audio.sample_rate == 16000);
  // 11 words at 160 words per minute: about 4 s; allow pauses and espeak's own timing.
  CHECK(audio.duration_seconds() > 2.0);
  CHECK(audio.duration_seconds() < 8.0);
  CHECK(rms(audio) > 0.01);
  for (float s : audio.samples) REQUIRE(std::isfinite(s));
}

TEST_CASE("speech options: rate, sample rate and voice", "[media][tts]") {
  SpeechOptions slow, fast;
  slow.words_per_minute = 100;
  fast.words_per_minute = 300;
  const double slow_seconds = talkgen::synthesize_speech(kSentence, slow).duration_seconds();
  const double fast_seconds = talkgen::synthesize_speech(kSentence, fast).duration_seconds();
  CHECK(slow_seconds > 1.8 * fast_seconds);

  SpeechOptions at24k;
  at24k.sample_rate = 24000;
  Audio a16 = talkgen::synthesize_speech(kSentence);
  Audio a24 = talkgen::synthesize_speech(kSentence, at24k);
  CHECK(a24.sample_rate == 24000);
  CHECK(a24.duration_seconds() == Approx(a16.duration_seconds()).epsilon(0.02));

  SpeechOptions german;
  german.voice = "de";
  CHECK(rms(talkgen::synthesize_speech("Guten Tag, wie geht es Ihnen?", german)) > 0.01);
}

TEST_CASE("concurrent synthesis is serialised and gives whole utterances", "[media][tts]") {
  // espeak-ng draws from libc rand() (durations vary by a few ms run to run), so compare lengths and
  // levels, not samples: interleaved synthesis would splice or truncate utterances.
  Audio expected = talkgen::synthesize_speech(kSentence);
  std::vector<std::future<Audio>> jobs;
  for (int i = 0; i < 4; ++i)
    jobs.push_back(std::async(std::launch::async, [] { return talkgen::synthesize_speech(kSentence); }));
  for (auto& job : jobs) {
    Audio audio = job.get();
    CHECK(audio.duration_seconds() == Approx(expected.duration_seconds()).epsilon(0.02));
    CHECK(rms(audio) == Approx(rms(expected)).epsilon(0.05));
  }
}

TEST_CASE("bad speech requests give invalid_argument", "[media][tts][errors]") {
  SpeechOptions unknown;
  unknown.voice = "xx-no-such-voice";
  CHECK(error_code_of([&] { talkgen::synthesize_speech("hello", unknown); }) == ErrorCode::invalid_argument);
  CHECK(error_message_of([&] { talkgen::synthesize_speech("hello", unknown); }).find("xx-no-such-voice") !=
        std::string::npos);
  // The voice is still usable after a failure.
  CHECK(rms(talkgen::synthesize_speech("hello")) > 0.01);

  CHECK(error_code_of([] { talkgen::synthesize_speech("   "); }) == ErrorCode::invalid_argument);
  SpeechOptions too_fast;
  too_fast.words_per_minute = 1000;
  CHECK(error_code_of([&] { talkgen::synthesize_speech("hello", too_fast); }) == ErrorCode::invalid_argument);
  SpeechOptions bad_rate;
  bad_rate.sample_rate = 0;
  CHECK(error_code_of([&] { talkgen::synthesize_speech("hello", bad_rate); }) == ErrorCode::invalid_argument);
}
