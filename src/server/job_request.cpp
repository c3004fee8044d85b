#include "server/job_request.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "client/job_json.hpp"
#include "pipeline/job_inputs.hpp"
#include "server/base64.hpp"
#include "server/digest.hpp"
#include "server/http_error.hpp"
#include "server/request_json.hpp"
#include "server/webhooks.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "talkgen/speech.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

constexpr int kMinImageSide = 64;         // the pipeline's minimum (GenerateOptions::image_path)
constexpr double kMinAudioSeconds = 0.1;  // shorter speech makes no frame
constexpr int kMaxGpus = 1024;
constexpr double kMaxDurationSeconds = 24 * 3600;  // the Client's own bound on max_duration_seconds
constexpr std::int64_t kMaxSeed = std::numeric_limits<std::int64_t>::max();  // the pipeline takes 0 and up
// Below -80 dBFS (under a 16-bit LSB of dither) a track holds no speech: the lips would never move.
constexpr double kSilentRms = 1e-4;
// Error messages show at most this much of what a client sent (names, values), never all of it.
constexpr std::size_t kShownBytes = 40;
// Enumerated values (quality, resolution, speaker_timing) are short; longer text is refused unread.
constexpr std::size_t kMaxChoiceBytes = 32;

// The fields of POST /v1/jobs (docs/server-api.md); a form may also send the media as file parts.
constexpr std::array<std::string_view, 16> kFields = {
    "ref_image_b64", "audio_b64", "script_text", "voice", "resolution", "quality", "seed", "num_gpus",
    "max_duration_sec", "job_id", "prompt", "audio2_b64", "speaker_timing", "speaker1_box", "speaker2_box",
    "webhook_url"};
constexpr std::array<std::string_view, 3> kFileParts = {"ref_image", "audio", "audio2"};

[[noreturn]] void bad_request(const std::string& message) { throw HttpError(400, "bad_request", message); }

std::string shown(std::string_view text) { return std::string(text.substr(0, kShownBytes)); }

// A value of request origin in a message: its type and, for scalars, a bounded rendering; never dump()ed
// whole (a value can be megabytes, or nested deep enough that printing it recurses for long).
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::string: return fmt::format("the string {:?}", shown(value.get_ref<const std::string&>()));
    case json::value_t::array: return fmt::format("an array of {} item(s)", value.size());
    case json::value_t::object: return fmt::format("an object of {} field(s)", value.size());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
    case json::value_t::boolean:
    case json::value_t::null: return value.dump();  // a few characters at most
    default: return value.type_name();
  }
}

// Every field of a request is one the API knows: a misspelt or unsupported field is refused by name
// instead of being dropped (the job would silently run without it).
void check_field_name(std::string_view name, bool form) {
  if (name == "voice_prompt_wav_b64" || name == "voice_prompt_wav")
    bad_request(fmt::format("'{}': voice cloning from a voice prompt is not supported yet; send recorded speech "
                            "('audio_b64' or an 'audio' file part) or 'script_text' with an espeak-ng 'voice'",
                            name));
  for (const std::string_view known : kFields)
    if (name == known) return;
  if (form)
    for (const std::string_view known : kFileParts)
      if (name == known) return;
  std::string list;
  for (const std::string_view known : kFields) list += fmt::format("{}{}", list.empty() ? "" : ", ", known);
  bad_request(fmt::format("unknown field {:?}{}; a job takes {}{} (docs/server-api.md)", shown(name),
                          name.size() > kShownBytes ? fmt::format(" ({} bytes)", name.size()) : "", list,
                          form ? ", and the file parts ref_image, audio, audio2" : ""));
}

std::string get_string(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_string()) bad_request(fmt::format("'{}' must be a string, found {}", key, describe(*it)));
  return it->get<std::string>();
}

// A field naming one of a few choices: long text is refused before the library's parser echoes it.
std::string get_choice(const json& body, const char* key, const char* expected) {
  std::string value = get_string(body, key);
  if (value.size() > kMaxChoiceBytes)
    bad_request(fmt::format("'{}' is {} bytes long; expected {}", key, value.size(), expected));
  return value;
}

std::optional<std::int64_t> get_integer(const json& body, const char* key, std::int64_t min, std::int64_t max,
                                        const char* meaning) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) bad_request(fmt::format("'{}' must be an integer, found {}", key, describe(*it)));
  const bool above = it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max);
  if (above || it->get<std::int64_t>() < min || it->get<std::int64_t>() > max)
    bad_request(fmt::format("'{}' is {}; expected an integer from {} to {} ({})", key, it->dump(), min, max, meaning));
  return it->get<std::int64_t>();
}

std::optional<double> get_number(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad_request(fmt::format("'{}' must be a number, found {}", key, describe(*it)));
  return it->get<double>();
}

// [x0, y0, x1, y1] in pixels of the image as sent.
std::optional<PixelBox> get_box(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  const auto box = client::pixel_box_from_json(*it);
  if (!box)
    bad_request(fmt::format("'{}' must be [x0, y0, x1, y1] (4 numbers, pixels of the image; x counts columns), "
                            "found {}", key, describe(*it)));
  return box;
}

// Unicode White_Space, and the invisible format characters that speak nothing either (zero-width space and
// joiners, word joiner, byte order mark).
bool blank_code_point(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200d) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x2060 ||
         c == 0x3000 || c == 0xfeff;
}

// True when the UTF-8 text holds nothing but blanks (invalid UTF-8 is not blank: espeak-ng has its say).
bool is_blank_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    char32_t c = length == 1 ? lead : lead & (0x7f >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return false;
      c = (c << 6) | (next & 0x3f);
    }
    if (!blank_code_point(c)) return false;
    i += length;
  }
  return true;
}

// The two-speaker fields: a second recorded speech, its timing and the people's boxes.
void read_second_speaker(const json& body, JobRequest& r) {
  const std::string timing = get_choice(body, "speaker_timing", "together or one-after-another");
  r.speaker1_box = get_box(body, "speaker1_box");
  r.speaker2_box = get_box(body, "speaker2_box");
  if (r.audio2.empty()) {
    if (!timing.empty() || r.speaker1_box || r.speaker2_box)
      bad_request("'speaker_timing' and the speaker boxes are for two speakers: send the second speaker's speech "
                  "as 'audio2_b64' (or an 'audio2' file part)");
    return;
  }
  if (r.audio.empty())
    bad_request("two speakers need recorded speech for both: send 'audio_b64' (speaker 1) with 'audio2_b64'; "
                "'script_text' is for one speaker");
  if (!timing.empty()) r.speaker_timing = parse_speaker_timing(timing);
  if (r.speaker1_box.has_value() != r.speaker2_box.has_value())
    bad_request("send both 'speaker1_box' and 'speaker2_box' or neither (then speaker 1 is the left half of the "
                "image and speaker 2 the right half)");
}

// The fields both body kinds share (their names already checked); the media bytes are decoded by the caller.
JobRequest from_fields(const json& body, std::vector<std::uint8_t> image, std::vector<std::uint8_t> audio,
                       std::vector<std::uint8_t> audio2) {
  JobRequest r;
  r.image = std::move(image);
  r.audio = std::move(audio);
  r.audio2 = std::move(audio2);
  r.script_text = get_string(body, "script_text");
  r.voice = get_string(body, "voice");
  if (r.image.empty())
    bad_request("no portrait: send 'ref_image_b64' (base64 PNG/JPEG/WebP/BMP) or a 'ref_image' file part");
  if (!r.script_text.empty() && is_blank_text(r.script_text))
    bad_request("'script_text' holds only whitespace; send the words to speak (or recorded speech as 'audio_b64')");
  if (r.audio.empty() == r.script_text.empty())
    bad_request(r.audio.empty() ? "no speech: send 'audio_b64' (or an 'audio' file part) or 'script_text'"
                                : "both audio and 'script_text' were sent; send exactly one of them");
  if (!r.voice.empty() && r.script_text.empty()) bad_request("'voice' applies to 'script_text' only");
  // A name from espeak-ng's list, never a path (espeak-ng would open it): refused here, before anything is stored.
  if (!r.voice.empty()) check_speech_voice(r.voice);
  read_second_speaker(body, r);

  r.client_key = get_string(body, "job_id");
  if (!r.client_key.empty()) check_client_key(r.client_key);
  if (const auto res = get_choice(body, "resolution", "480p or 720p"); !res.empty()) r.resolution = parse_resolution(res);
  if (const auto q = get_choice(body, "quality", "draft, balanced or quality"); !q.empty()) r.quality = parse_quality(q);
  if (const auto seed = get_integer(body, "seed", 0, kMaxSeed, "the same seed makes the same video")) r.seed = *seed;
  if (const auto gpus = get_integer(body, "num_gpus", 1, kMaxGpus, "or leave it out: the Planner decides"))
    r.num_gpus = static_cast<int>(*gpus);
  if (const auto d = get_number(body, "max_duration_sec")) {
    if (!(std::isfinite(*d) && *d > 0 && *d <= kMaxDurationSeconds))
      bad_request(fmt::format("'max_duration_sec' is {}; expected seconds of speech, more than 0 and at most {:g}",
                              *d, kMaxDurationSeconds));
    r.max_duration_sec = *d;
  }
  if (const auto it = body.find("prompt"); it != body.end() && !it->is_null()) r.prompt = get_string(body, "prompt");
  // Its form here; whether this server sends webhooks, and to which addresses, is the JobService's to say.
  r.webhook_url = get_string(body, "webhook_url");
  if (!r.webhook_url.empty()) parse_webhook_url(r.webhook_url, true);
  return r;
}

// Decodes one speech track: its length, at least kMinAudioSeconds, and not silent.
// Decoding stops at the server's --max-audio-seconds (read from the header where it states a length), so a
// few kilobytes that hold hours of silence cost no more than the limit.
double speech_seconds(const std::vector<std::uint8_t>& bytes, const char* what, const Limits& limits) {
  DecodeLimits decode_limits;
  decode_limits.max_seconds = limits.max_audio_seconds;
  decode_limits.max_pixels = limits.max_image_pixels;  // a video file's picture track is probed too
  decode_limits.setting = "--max-audio-seconds";
  const Audio audio = decode_audio_bytes(bytes.data(), bytes.size(), 16000, decode_limits);
  const double seconds = audio.duration_seconds();
  if (seconds < kMinAudioSeconds)
    fail(ErrorCode::invalid_argument, "{} is {:.3f} s long; expected at least {} s of speech", what, seconds,
         kMinAudioSeconds);
  double sum = 0;
  for (const float s : audio.samples) sum += double(s) * s;
  const double rms = std::sqrt(sum / double(audio.samples.size()));
  if (!(rms >= kSilentRms))
    bad_request(fmt::format("{} is silent ({}); send recorded speech: the video's lips follow the sound", what,
                            rms > 0 ? fmt::format("level {:.0f} dBFS, below {:.0f} dBFS", 20 * std::log10(rms),
                                                  20 * std::log10(kSilentRms))
                                    : std::string("every sample is zero")));
  return seconds;
}

}  // namespace

void check_client_key(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 128;
  for (const char c : key)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-');
  if (!ok)
    fail(ErrorCode::invalid_argument, "'job_id' is {:?}; expected 1 to 128 characters of A-Z a-z 0-9 . _ : -",
         key.substr(0, 160));
}

JobRequest parse_job_json(std::string_view text) {
  json body = parse_request_object(text);  // bounded depth; never echoes the body
  for (const auto& item : body.items()) check_field_name(item.key(), false);
  std::vector<std::uint8_t> image, audio, audio2;
  if (const auto s = get_string(body, "ref_image_b64"); !s.empty()) image = decode_base64(s, "ref_image_b64");
  if (const auto s = get_string(body, "audio_b64"); !s.empty()) audio = decode_base64(s, "audio_b64");
  if (const auto s = get_string(body, "audio2_b64"); !s.empty()) audio2 = decode_base64(s, "audio2_b64");
  // The base64 text can be most of the body: drop it before the job keeps the decoded bytes.
  body.erase("ref_image_b64");
  body.erase("audio_b64");
  body.erase("audio2_b64");
  return from_fields(body, std::move(image), std::move(audio), std::move(audio2));
}

JobRequest parse_job_form(const FormParts& parts) {
  for (const auto& part : parts) check_field_name(part.first, true);
  json body = json::object();
  std::vector<std::uint8_t> image, audio, audio2;
  for (const auto& [name, content] : parts) {
    if (name == "ref_image") {
      image.assign(content.begin(), content.end());
    } else if (name == "audio") {
      audio.assign(content.begin(), content.end());
    } else if (name == "audio2") {
      audio2.assign(content.begin(), content.end());
    } else if (name == "ref_image_b64") {
      image = decode_base64(content, name);
    } else if (name == "audio_b64") {
      audio = decode_base64(content, name);
    } else if (name == "audio2_b64") {
      audio2 = decode_base64(content, name);
    } else if (name == "seed" || name == "num_gpus" || name == "max_duration_sec" || name == "speaker1_box" ||
               name == "speaker2_box") {
      if (content.empty()) continue;  // an empty form field means "not given"
      // Form fields are text: read numbers and boxes as JSON so both body kinds share one set of rules.
      const bool box = name.find("box") != std::string::npos;
      json value = parse_request_value(content);  // bounded depth
      if (value.is_discarded())
        bad_request(fmt::format("form field '{}' is {:?}; expected {}", name, shown(content),
                                box ? "[x0, y0, x1, y1]" : "a number"));
      if (!value.is_number() && !box)
        bad_request(fmt::format("form field '{}' is {:?}; expected a number", name, shown(content)));
      body[name] = std::move(value);
    } else {
      body[name] = content;
    }
  }
  return from_fields(body, std::move(image), std::move(audio), std::move(audio2));
}

MediaFacts validate_job_request(const JobRequest& r, const Limits& limits) {
  MediaFacts facts;
  // The picture size is checked from the header against --max-image-pixels before anything is decoded.
  DecodeLimits image_limits;
  image_limits.max_pixels = limits.max_image_pixels;
  image_limits.setting = "--max-image-pixels";
  const Image image = decode_image_bytes(r.image.data(), r.image.size(), image_limits);
  facts.image_width = image.width;
  facts.image_height = image.height;
  if (image.width < kMinImageSide || image.height < kMinImageSide)
    fail(ErrorCode::invalid_argument, "the portrait is {}x{} pixels; expected at least {} on each side",
         image.width, image.height, kMinImageSide);
  if (std::int64_t(image.width) * image.height > limits.max_image_pixels)
    fail(ErrorCode::invalid_argument, "the portrait is {}x{} = {} pixels, over the limit of {} pixels "
         "(--max-image-pixels); send a smaller image (the video is 480p or 720p anyway)",
         image.width, image.height, std::int64_t(image.width) * image.height, limits.max_image_pixels);
  if (!r.audio.empty()) {
    facts.audio_seconds = speech_seconds(r.audio, r.audio2.empty() ? "the audio" : "speaker 1's audio", limits);
    double video_seconds = facts.audio_seconds;
    if (!r.audio2.empty()) {
      facts.audio2_seconds = speech_seconds(r.audio2, "speaker 2's audio", limits);
      video_seconds = r.speaker_timing == SpeakerTiming::one_after_another
                          ? facts.audio_seconds + facts.audio2_seconds
                          : std::max(facts.audio_seconds, facts.audio2_seconds);
    }
    if (video_seconds > limits.max_audio_seconds)
      fail(ErrorCode::invalid_argument, "the {} is {:.1f} s long, over the limit of {:g} s "
           "(--max-audio-seconds); send shorter speech or split it into several jobs",
           r.audio2.empty() ? "audio" : fmt::format("speech of both speakers ({})", to_string(r.speaker_timing)),
           video_seconds, limits.max_audio_seconds);
    // The pipeline's own rule, applied before the job is queued.
    const Size portrait{image.width, image.height};
    if (r.speaker1_box) pipeline::check_speaker_box("speaker 1", *r.speaker1_box, portrait);
    if (r.speaker2_box) pipeline::check_speaker_box("speaker 2", *r.speaker2_box, portrait);
  } else if (r.script_text.size() > limits.max_text_chars) {
    fail(ErrorCode::invalid_argument, "'script_text' has {} bytes, over the limit of {} (--max-text-chars); "
         "send shorter text or split it into several jobs", r.script_text.size(), limits.max_text_chars);
  }
  if (r.prompt && r.prompt->size() > limits.max_prompt_chars)
    fail(ErrorCode::invalid_argument, "'prompt' has {} bytes, over the limit of {}", r.prompt->size(),
         limits.max_prompt_chars);
  return facts;
}

std::string request_fingerprint(const JobRequest& r) {
  // SHA-256 over the parameters and bytes (each with its length): tells a retry from a different request.
  Sha256 digest;
  const std::string params = request_parameters(r, {}).dump();
  digest.add_piece(params.data(), params.size());
  digest.add_piece(r.image.data(), r.image.size());
  digest.add_piece(r.audio.data(), r.audio.size());
  digest.add_piece(r.audio2.data(), r.audio2.size());
  return digest.hex_digest();
}

json request_parameters(const JobRequest& r, const MediaFacts& facts) {
  json j;
  j["resolution"] = r.resolution == Resolution::p720 ? "720p" : "480p";
  j["quality"] = to_string(r.quality);
  j["seed"] = r.seed;
  j["num_gpus"] = r.num_gpus ? json(*r.num_gpus) : json(nullptr);
  j["max_duration_sec"] = r.max_duration_sec ? json(*r.max_duration_sec) : json(nullptr);
  j["prompt"] = r.prompt ? json(*r.prompt) : json(nullptr);
  j["speech"] = r.audio.empty() ? "text" : "audio";
  if (!r.webhook_url.empty()) j["webhook_url"] = r.webhook_url;
  if (!r.script_text.empty()) j["script_text"] = r.script_text;
  if (!r.voice.empty()) j["voice"] = r.voice;
  if (facts.image_width > 0) {
    j["image_width"] = facts.image_width;
    j["image_height"] = facts.image_height;
  }
  if (facts.audio_seconds > 0) j["audio_seconds"] = facts.audio_seconds;
  if (!r.audio2.empty()) {
    j["speakers"] = 2;
    j["speaker_timing"] = to_string(r.speaker_timing);
    for (const auto& [key, box] : {std::pair{"speaker1_box", &r.speaker1_box}, std::pair{"speaker2_box", &r.speaker2_box}})
      if (*box) j[key] = client::pixel_box_to_json(**box);
    if (facts.audio2_seconds > 0) j["audio2_seconds"] = facts.audio2_seconds;
  }
  return j;
}

}  // namespace talkgen::server
