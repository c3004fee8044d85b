// Text to speech with the espeak-ng library (synchronous mode), resampled to the requested rate.
//
// espeak-ng keeps its voice, parameters and callback in process-wide state, so every use of it here holds
// one mutex: concurrent synthesize_speech() calls are serialised, never interleaved.
//
// Voices are resolved against espeak-ng's installed list before espeak-ng sees them (speech.hpp has the
// rules): given a name, espeak-ng first tries it as a file path under its data folder, so
// "../../../../etc/passwd" made it parse an arbitrary file (and crash). It only ever receives identifiers
// taken from its own list.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <espeak-ng/espeak_ng.h>

#include "media/ffmpeg_resample.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "talkgen/speech.hpp"

namespace talkgen {
namespace {

constexpr std::size_t kMaxVoiceBytes = 64;  // the longest listed name is under 40 bytes

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

// ---- the installed voices ----

struct ListedVoice {
  SpeechVoice voice;
  std::vector<int> priorities;  // beside voice.languages: espeak-ng's preference, lower is better
  std::string file_name;        // the identifier's last part: "en-US" for "gmw/en-US"
};

struct VoiceCatalog {
  std::vector<ListedVoice> voices;
  std::vector<ListedVoice> variants;  // "+VARIANT" suffixes (identifiers "!v/<file>")
};

std::string last_part(const std::string& identifier) {
  const auto slash = identifier.rfind('/');
  return slash == std::string::npos ? identifier : identifier.substr(slash + 1);
}

// espeak_ListVoices() frees the previous call's list, so everything is copied out at once.
std::vector<ListedVoice> copy_voices(const espeak_VOICE** list) {
  std::vector<ListedVoice> out;
  for (int i = 0; list != nullptr && list[i] != nullptr; ++i) {
    const espeak_VOICE& v = *list[i];
    if (v.identifier == nullptr) continue;
    ListedVoice listed;
    listed.voice.name = v.name != nullptr ? v.name : "";
    listed.voice.identifier = v.identifier;
    listed.file_name = last_part(listed.voice.identifier);
    // languages: a sequence of (priority byte, NUL-terminated code), ended by a zero priority byte.
    for (const char* p = v.languages; p != nullptr && *p != 0;) {
      const int priority = static_cast<unsigned char>(*p);
      const std::string code = p + 1;
      listed.voice.languages.push_back(code);
      listed.priorities.push_back(priority);
      p += 1 + code.size() + 1;
    }
    out.push_back(std::move(listed));
  }
  return out;
}

// Called with espeak_mutex() held. Voices are read once: installing voices needs a restart to be seen.
const VoiceCatalog& voice_catalog() {
  ensure_initialized();
  static std::optional<VoiceCatalog> catalog;
  if (!catalog) {
    VoiceCatalog c;
    c.voices = copy_voices(espeak_ListVoices(nullptr));
    espeak_VOICE variant_spec{};
    char variant_language[] = "variant";
    variant_spec.languages = variant_language;
    c.variants = copy_voices(espeak_ListVoices(&variant_spec));
    // Back to the full list, which espeak_ng_SetVoiceByName() searches.
    espeak_ListVoices(nullptr);
    if (c.voices.empty())
      fail(ErrorCode::unsupported, "espeak-ng lists no voices; install its voice data (Debian: espeak-ng-data) or "
           "point ESPEAK_DATA_PATH at the folder that holds espeak-ng-data");
    catalog = std::move(c);
  }
  return *catalog;
}

bool same_ascii_case_insensitive(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A full name as `espeak-ng --voices` prints it: spaces as '_'.
bool same_name(std::string_view given, const std::string& name) {
  std::string underscored = name;
  std::replace(underscored.begin(), underscored.end(), ' ', '_');
  return same_ascii_case_insensitive(given, name) || same_ascii_case_insensitive(given, underscored);
}

// The voice `given` names (name, then file name, then language code, as espeak-ng itself prefers names
// over files); nullptr when none.
const ListedVoice* find_voice(const std::vector<ListedVoice>& voices, std::string_view given, bool by_language) {
  for (const ListedVoice& v : voices)
    if (same_name(given, v.voice.name)) return &v;
  for (const ListedVoice& v : voices)
    if (same_ascii_case_insensitive(given, v.file_name)) return &v;
  if (!by_language) return nullptr;
  const ListedVoice* best = nullptr;
  int best_priority = 0;
  for (const ListedVoice& v : voices)
    for (std::size_t i = 0; i < v.voice.languages.size(); ++i)
      if (same_ascii_case_insensitive(given, v.voice.languages[i]) && (best == nullptr || v.priorities[i] < best_priority)) {
        best = &v;
        best_priority = v.priorities[i];
      }
  return best;
}

// A few installed names to show in an error: those sharing the first two letters of what was given, else
// common ones.
std::string voice_examples(const VoiceCatalog& catalog, std::string_view given) {
  std::vector<std::string> picks;
  if (given.size() >= 2 && std::isalpha(static_cast<unsigned char>(given[0])) &&
      std::isalpha(static_cast<unsigned char>(given[1])))
    for (const ListedVoice& v : catalog.voices)
      if (same_ascii_case_insensitive(v.file_name.substr(0, 2), given.substr(0, 2))) picks.push_back(v.file_name);
  // The plainest first ("en", "en-US" before "en-GB-x-gbcwmd").
  std::stable_sort(picks.begin(), picks.end(), [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  if (picks.size() > 6) picks.resize(6);
  if (picks.empty())
    for (const char* common : {"en", "en-US", "de", "fr", "es", "it", "pt", "cmn", "ja"})
      if (picks.size() < 6 && find_voice(catalog.voices, common, false) != nullptr) picks.push_back(common);
  std::string out;
  for (const std::string& p : picks) out += (out.empty() ? "" : ", ") + p;
  return fmt::format("installed voices include {} ({} in all; `espeak-ng --voices` lists them)", out,
                     catalog.voices.size());
}

// Refuses what can never be a voice name before any list is consulted.
void check_voice_text(const std::string& voice) {
  if (voice.empty())
    fail(ErrorCode::invalid_argument, "the voice name is empty; pass an espeak-ng voice such as \"en\" or \"en-us\"");
  if (voice.size() > kMaxVoiceBytes)
    fail(ErrorCode::invalid_argument, "the voice name has {} bytes; espeak-ng voice names are short, such as \"en\" "
         "or \"en-us\" (`espeak-ng --voices` lists them)", voice.size());
  const bool control = std::any_of(voice.begin(), voice.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (control || voice.find_first_of("/\\") != std::string::npos || voice.find("..") != std::string::npos)
    fail(ErrorCode::invalid_argument, "the voice {:?} is not a voice name: a voice is chosen by name from "
         "espeak-ng's installed list (such as \"en\", \"en-us\", \"de\"), never by path; `espeak-ng --voices` "
         "lists them", voice);
}

// Called with espeak_mutex() held. What to hand espeak_ng_SetVoiceByName(): the listed identifier and the
// listed variant's file name, so espeak-ng never looks for a file named by the caller.
std::string resolve_voice(const std::string& voice) {
  check_voice_text(voice);
  const VoiceCatalog& catalog = voice_catalog();
  const auto plus = voice.find('+');
  const std::string base = voice.substr(0, plus);
  const ListedVoice* found = find_voice(catalog.voices, base, true);
  if (found == nullptr)
    fail(ErrorCode::invalid_argument, "espeak-ng has no voice {:?}; {}", base, voice_examples(catalog, base));
  if (plus == std::string::npos) return found->voice.identifier;
  const std::string variant = voice.substr(plus + 1);
  const ListedVoice* listed_variant = find_voice(catalog.variants, variant, false);
  if (listed_variant == nullptr) {
    std::string examples;
    for (std::size_t i = 0; i < catalog.variants.size() && i < 6; ++i)
      examples += (i ? ", " : "") + catalog.variants[i].file_name;
    fail(ErrorCode::invalid_argument, "espeak-ng has no voice variant {:?} (after '+' in {:?}); variants include {} "
         "({} in all; `espeak-ng --voices=variant` lists them)", variant, voice, examples, catalog.variants.size());
  }
  return found->voice.identifier + "+" + listed_variant->file_name;
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
  check_voice_text(options.voice);
  if (options.words_per_minute < espeakRATE_MINIMUM || options.words_per_minute > espeakRATE_MAXIMUM)
    fail(ErrorCode::invalid_argument, "words_per_minute {} is out of range; espeak-ng speaks at {}..{}",
         options.words_per_minute, espeakRATE_MINIMUM, espeakRATE_MAXIMUM);
  if (options.sample_rate < 8000 || options.sample_rate > 192000)
    fail(ErrorCode::invalid_argument, "sample_rate {} Hz is out of range; expected 8000..192000 (16000 for wav2vec2)",
         options.sample_rate);
}

}  // namespace

std::vector<SpeechVoice> list_speech_voices() {
  std::lock_guard<std::mutex> lock(espeak_mutex());
  std::vector<SpeechVoice> out;
  for (const ListedVoice& v : voice_catalog().voices) out.push_back(v.voice);
  return out;
}

void check_speech_voice(const std::string& voice) {
  check_voice_text(voice);  // before the lock: a path never waits for a synthesis to finish
  std::lock_guard<std::mutex> lock(espeak_mutex());
  resolve_voice(voice);
}

Audio synthesize_speech(const std::string& text, const SpeechOptions& options) {
  check_options(text, options);
  Collector collector;
  int native_rate = 0;
  {
    std::lock_guard<std::mutex> lock(espeak_mutex());
    native_rate = ensure_initialized();
    const std::string voice = resolve_voice(options.voice);
    espeak_ng_STATUS status = espeak_ng_SetVoiceByName(voice.c_str());
    if (status != ENS_OK)
      fail(ErrorCode::invalid_argument, "espeak-ng could not load the voice {:?} ({}): {}; list the voices with "
           "`espeak-ng --voices`", options.voice, voice, status_message(status));
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
