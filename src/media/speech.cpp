// Text to speech with the espeak-ng library (synchronous mode), resampled to the requested rate.
//
// espeak-ng keeps its voice, parameters and callback in process-wide state, so every use of it here holds
// one mutex: concurrent synthesize_speech() calls are serialised, never interleaved.
#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <vector>

#include <espeak-ng/espeak_ng.h>

#include "media/ffmpeg_resample.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

std::mutex& espeak_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::string status_message(espeak_ng_STATUS status) {
  char buffer[512] = {};
  espeak_ng_GetStatusCodeMessage(status, buffer, sizeof(buffer));
  return buffer;
}

// Called with espeak_mutex() held. Initialises espeak-ng once per process; a failure is remembered so that
// every later call reports it instead of retrying on a half-initialised library.
int ensure_initialized() {
  static bool attempted = false;
  static espeak_ng_STATUS init_status = ENS_OK;
  static int sample_rate = 0;
  if (!attempted) {
    attempted = true;
    espeak_ng_InitializePath(nullptr);  // ESPEAK_DATA_PATH, else the compiled-in data folder
    espeak_ng_ERROR_CONTEXT context = nullptr;
    init_status = espeak_ng_Initialize(&context);
    espeak_ng_ClearErrorContext(&context);
    if (init_status == ENS_OK) init_status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nullptr);
    if (init_status == ENS_OK) sample_rate = espeak_ng_GetSampleRate();
  }
  if (init_status != ENS_OK)
    fail(ErrorCode::unsupported,
         "espeak-ng could not start: {}; install its voice data (Debian: espeak-ng-data) or point ESPEAK_DATA_PATH "
         "at the folder that holds espeak-ng-data",
         status_message(init_status));
  return sample_rate;
}

struct Collector {
  std::vector<std::int16_t> samples;
};

int collect_samples(short* wav, int count, espeak_EVENT* events) {
  if (wav != nullptr && count > 0 && events != nullptr && events->user_data != nullptr) {
    auto* collector = static_cast<Collector*>(events->user_data);
    collector->samples.insert(collector->samples.end(), wav, wav + count);
  }
  return 0;  // continue synthesis
}

void check_options(const std::string& text, const SpeechOptions& options) {
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); }))
    fail(ErrorCode::invalid_argument, "the text to speak is empty; pass the words to synthesise");
  if (options.voice.empty())
    fail(ErrorCode::invalid_argument, "the voice name is empty; pass an espeak-ng voice such as \"en\" or \"en-us\"");
  if (options.words_per_minute < espeakRATE_MINIMUM || options.words_per_minute > espeakRATE_MAXIMUM)
    fail(ErrorCode::invalid_argument, "words_per_minute {} is out of range; espeak-ng speaks at {}..{}",
         options.words_per_minute, espeakRATE_MINIMUM, espeakRATE_MAXIMUM);
  if (options.sample_rate < 8000 || options.sample_rate > 192000)
    fail(ErrorCode::invalid_argument, "sample_rate {} Hz is out of range; expected 8000..192000 (16000 for wav2vec2)",
         options.sample_rate);
}

}  // namespace

Audio synthesize_speech(const std::string& text, const SpeechOptions& options) {
  check_options(text, options);
  Collector collector;
  int native_rate = 0;
  {
    std::lock_guard<std::mutex> lock(espeak_mutex());
    native_rate = ensure_initialized();
    espeak_ng_STATUS status = espeak_ng_SetVoiceByName(options.voice.c_str());
    if (status != ENS_OK)
      fail(ErrorCode::invalid_argument, "espeak-ng has no voice '{}' ({}); list the voices with `espeak-ng --voices`",
           options.voice, status_message(status));
    status = espeak_ng_SetParameter(espeakRATE, options.words_per_minute, 0);
    if (status != ENS_OK)
      fail(ErrorCode::invalid_argument, "espeak-ng rejected the rate {}: {}", options.words_per_minute,
           status_message(status));
    espeak_SetSynthCallback(&collect_samples);
    // Plain UTF-8 text (no SSML: markup in user text is spoken or skipped, never interpreted).
    status = espeak_ng_Synthesize(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr,
                                  &collector);
    if (status == ENS_OK) status = espeak_ng_Synchronize();
    if (status != ENS_OK) fail(ErrorCode::internal, "espeak-ng failed to synthesise the text: {}", status_message(status));
  }
  if (collector.samples.empty())
    fail(ErrorCode::invalid_argument, "espeak-ng produced no sound for the text \"{:.40}\"; it holds nothing speakable",
         text);

  Audio audio;
  audio.sample_rate = options.sample_rate;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  ffmpeg::MonoResampler resampler(mono, AV_SAMPLE_FMT_S16, native_rate, options.sample_rate);
  const auto* data = reinterpret_cast<const std::uint8_t*>(collector.samples.data());
  resampler.push(&data, static_cast<int>(collector.samples.size()), audio.samples);
  resampler.flush(audio.samples);
  return audio;
}

}  // namespace talkgen
