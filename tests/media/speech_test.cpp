// Text to speech through espeak-ng.
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"
#include "talkgen/speech.hpp"

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

TEST_CASE("issue 22: a voice is a name from espeak-ng's list, never a path", "[media][tts][errors]") {
  for (const std::string voice : {"../../../../etc/passwd", "/etc/passwd", "gmw/en", "en\\de", "..", "en..",
                                  "en+../../x", "en\n"}) {
    INFO(voice);
    CHECK(error_code_of([&] { talkgen::check_speech_voice(voice); }) == ErrorCode::invalid_argument);
    CHECK_THAT(error_message_of([&] { talkgen::check_speech_voice(voice); }), Catch::Contains("never by path"));
    SpeechOptions options;
    options.voice = voice;
    CHECK(error_code_of([&] { talkgen::synthesize_speech("hello", options); }) == ErrorCode::invalid_argument);
  }
  CHECK(error_code_of([] { talkgen::check_speech_voice(std::string("en\0../x", 7)); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([] { talkgen::check_speech_voice(std::string(65, 'e')); }) == ErrorCode::invalid_argument);
  CHECK(error_code_of([] { talkgen::check_speech_voice(""); }) == ErrorCode::invalid_argument);
  // Not in the list: the hint names installed voices and how to list them all.
  const std::string unknown = error_message_of([] { talkgen::check_speech_voice("xx-no-such-voice"); });
  CHECK_THAT(unknown, Catch::Contains("xx-no-such-voice") && Catch::Contains("espeak-ng --voices"));
  CHECK_THAT(error_message_of([] { talkgen::check_speech_voice("enn"); }), Catch::Contains("en-US"));
  CHECK(error_code_of([] { talkgen::check_speech_voice("en+no-such-variant"); }) == ErrorCode::invalid_argument);
}

TEST_CASE("issue 22: a path-like voice never reaches espeak-ng (no file is opened)", "[media][tts][errors]") {
  // espeak-ng lowercases a voice name (keeping 39 bytes of it) and looks for it as a file under its data
  // folder first: without the check, this lowercase path, climbing 6 or more levels (root from Debian's
  // voices/ folder is 5), makes espeak-ng open this file and load it as a voice. inotify tells whether
  // anything opened it.
  static int counter = 0;
  const std::string folder = "/tmp/tgv" + std::to_string(::getpid()) + "x" + std::to_string(counter++);
  std::filesystem::create_directories(folder);
  const std::string target = folder + "/v";
  std::ofstream(target) << "name sentinel\nlanguage en\n";
  std::string climb;
  while (climb.size() + 3 + target.size() - 1 < 40) climb += "../";  // whole within espeak-ng's name buffer
  REQUIRE(climb.size() >= 6 * 3);
  const std::string voice = climb + target.substr(1);

  const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(inotify_add_watch(watch, target.c_str(), IN_OPEN | IN_ACCESS) >= 0);
  char events[4096];
  CHECK(error_code_of([&] { talkgen::check_speech_voice(voice); }) == ErrorCode::invalid_argument);
  SpeechOptions options;
  options.voice = voice;
  CHECK(error_code_of([&] { talkgen::synthesize_speech("hello", options); }) == ErrorCode::invalid_argument);
  errno = 0;
  CHECK(::read(watch, events, sizeof(events)) < 0);
  CHECK(errno == EAGAIN);  // nothing opened the file
  { std::ifstream open_it(target); }
  CHECK(::read(watch, events, sizeof(events)) > 0);  // the watch itself works
  ::close(watch);
  std::filesystem::remove_all(folder);
}

TEST_CASE("voices by file name, full name, language and variant, all from the list", "[media][tts]") {
  const auto voices = talkgen::list_speech_voices();
  REQUIRE(voices.size() > 10);
  const auto en = std::find_if(voices.begin(), voices.end(), [](const auto& v) { return v.identifier == "gmw/en"; });
  REQUIRE(en != voices.end());
  CHECK(std::find(en->languages.begin(), en->languages.end(), "en") != en->languages.end());
  for (const auto& v : voices) CHECK(v.identifier.find("..") == std::string::npos);

  for (const char* voice : {"en", "en-us", "EN-US", "de", "cmn", "English (America)", "English_(America)", "zh",
                            "en-gb", "en+f3", "en+female3", "de+Alex"})
    CHECK_NOTHROW(talkgen::check_speech_voice(voice));
  // A language code resolves to the voice espeak-ng prefers for it ("zh" alone is no voice file).
  SpeechOptions chinese;
  chinese.voice = "zh";
  CHECK(rms(talkgen::synthesize_speech("\xe4\xbd\xa0\xe5\xa5\xbd", chinese)) > 0.01);
  SpeechOptions variant;
  variant.voice = "en+f3";
  CHECK(rms(talkgen::synthesize_speech("hello", variant)) > 0.01);
}
