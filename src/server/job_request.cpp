#include "server/job_request.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "client/job_json.hpp"
#include "pipeline/job_inputs.hpp"
#include "server/base64.hpp"
#include "server/http_error.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

constexpr int kMinImageSide = 64;         // the pipeline's minimum (GenerateOptions::image_path)
constexpr double kMinAudioSeconds = 0.1;  // shorter speech makes no frame

[[noreturn]] void bad_request(const std::string& message) { throw HttpError(400, "bad_request", message); }

std::string get_string(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_string()) bad_request(fmt::format("'{}' must be a string, found {}", key, it->type_name()));
  return it->get<std::string>();
}

template <typename T>
std::optional<T> get_number(const json& body, const char* key, bool integer) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (integer ? !it->is_number_integer() : !it->is_number())
    bad_request(fmt::format("'{}' must be {}, found {}", key, integer ? "an integer" : "a number",
                            it->dump().substr(0, 40)));
  return it->get<T>();
}

// [x0, y0, x1, y1] in pixels of the image as sent.
std::optional<PixelBox> get_box(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  const auto box = client::pixel_box_from_json(*it);
  if (!box)
    bad_request(fmt::format("'{}' must be [x0, y0, x1, y1] (4 numbers, pixels of the image; x counts columns), "
                            "found {}", key, it->dump().substr(0, 60)));
  return box;
}

// The two-speaker fields: a second recorded speech, its timing and the people's boxes.
void read_second_speaker(const json& body, JobRequest& r) {
  const std::string timing = get_string(body, "speaker_timing");
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

// The fields both body kinds share; the media bytes are already decoded by the caller.
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
  if (r.audio.empty() == r.script_text.empty())
    bad_request(r.audio.empty() ? "no speech: send 'audio_b64' (or an 'audio' file part) or 'script_text'"
                                : "both audio and 'script_text' were sent; send exactly one of them");
  if (!r.voice.empty() && r.script_text.empty()) bad_request("'voice' applies to 'script_text' only");
  read_second_speaker(body, r);

  r.client_key = get_string(body, "job_id");
  if (!r.client_key.empty()) check_client_key(r.client_key);
  if (const auto res = get_string(body, "resolution"); !res.empty()) r.resolution = parse_resolution(res);
  if (const auto q = get_string(body, "quality"); !q.empty()) r.quality = parse_quality(q);
  if (const auto seed = get_number<std::int64_t>(body, "seed", true)) r.seed = *seed;
  if (const auto gpus = get_number<std::int64_t>(body, "num_gpus", true)) {
    if (*gpus < 1 || *gpus > 1024)
      fail(ErrorCode::invalid_argument, "'num_gpus' is {}; expected 1 or more (or leave it out: the Planner "
           "decides)", *gpus);
    r.num_gpus = static_cast<int>(*gpus);
  }
  if (const auto d = get_number<double>(body, "max_duration_sec", false)) {
    if (!(std::isfinite(*d) && *d > 0))
      fail(ErrorCode::invalid_argument, "'max_duration_sec' is {}; expected a positive number of seconds", *d);
    r.max_duration_sec = *d;
  }
  if (body.contains("prompt") && !body["prompt"].is_null()) r.prompt = get_string(body, "prompt");
  return r;
}

// Decodes one speech track: its length, at least kMinAudioSeconds.
double speech_seconds(const std::vector<std::uint8_t>& bytes, const char* what) {
  const double seconds = decode_audio_bytes(bytes.data(), bytes.size()).duration_seconds();
  if (seconds < kMinAudioSeconds)
    fail(ErrorCode::invalid_argument, "{} is {:.3f} s long; expected at least {} s of speech", what, seconds,
         kMinAudioSeconds);
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
  json body = json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded())
    bad_request("the body is not valid JSON; send a JSON object (Content-Type: application/json) or "
                "multipart/form-data");
  if (!body.is_object()) bad_request(fmt::format("the body is JSON {}; expected an object", body.type_name()));
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
      json value = json::parse(content, nullptr, false);
      if (value.is_discarded())
        bad_request(fmt::format("form field '{}' is {:?}; expected {}", name, content.substr(0, 40),
                                name.find("box") != std::string::npos ? "[x0, y0, x1, y1]" : "a number"));
      if (!value.is_number() && name.find("box") == std::string::npos)
        bad_request(fmt::format("form field '{}' is {:?}; expected a number", name, content.substr(0, 40)));
      body[name] = value;
    } else {
      body[name] = content;
    }
  }
  return from_fields(body, std::move(image), std::move(audio), std::move(audio2));
}

MediaFacts validate_job_request(const JobRequest& r, const Limits& limits) {
  MediaFacts facts;
  const Image image = decode_image_bytes(r.image.data(), r.image.size());
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
    facts.audio_seconds = speech_seconds(r.audio, r.audio2.empty() ? "the audio" : "speaker 1's audio");
    double video_seconds = facts.audio_seconds;
    if (!r.audio2.empty()) {
      facts.audio2_seconds = speech_seconds(r.audio2, "speaker 2's audio");
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
  // FNV-1a over the parameters and bytes: tells a retry from a different request, not a security measure.
  std::uint64_t h = 1469598103934665603ULL;
  auto feed = [&h](const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    const std::uint64_t n = size;  // lengths too, so field boundaries cannot shift
    for (int i = 0; i < 8; ++i) h = (h ^ ((n >> (8 * i)) & 0xff)) * 1099511628211ULL;
  };
  const std::string params = request_parameters(r, {}).dump();
  feed(params.data(), params.size());
  feed(r.image.data(), r.image.size());
  feed(r.audio.data(), r.audio.size());
  feed(r.audio2.data(), r.audio2.size());
  return fmt::format("{:016x}", h);
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
