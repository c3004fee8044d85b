// A job as a client sends it (POST /v1/jobs): parsed from JSON (the original system's request shape) or
// multipart/form-data, then validated by decoding its media, all before anything is queued.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/limits.hpp"
#include "talkgen/generate.hpp"

namespace talkgen::server {

struct JobRequest {
  std::string client_key;             ///< the client's `job_id` (idempotency key); empty when none
  std::vector<std::uint8_t> image;    ///< encoded portrait (`ref_image_b64` / file part `ref_image`)
  std::vector<std::uint8_t> audio;    ///< encoded speech (`audio_b64` / file part `audio`), or empty ...
  std::string script_text;            ///< ... with this text spoken by espeak-ng instead
  std::string voice;                  ///< espeak-ng voice for script_text (empty: the default)
  /// A second speaker (`audio2_b64` / file part `audio2`; recorded speech only), how the two tracks are
  /// timed and, optionally, where each person is (GenerateOptions::audio2_path has the rules).
  std::vector<std::uint8_t> audio2;
  SpeakerTiming speaker_timing = SpeakerTiming::one_after_another;
  std::optional<PixelBox> speaker1_box, speaker2_box;
  Resolution resolution = Resolution::p480;
  Quality quality = default_quality;
  std::int64_t seed = 42;
  std::optional<int> num_gpus;        ///< nullopt: the Planner decides
  std::optional<double> max_duration_sec;
  std::optional<std::string> prompt;  ///< nullopt: the library's default prompt
  std::string webhook_url;            ///< POSTed the job when it finishes (webhooks.hpp); empty: none
};

/// Throws HttpError(400, "bad_request") for malformed JSON (or nested deeper than request_json.hpp allows), an
/// unknown field (named; `voice_prompt_wav_b64`: voice cloning is not supported yet), a missing image or
/// speech, whitespace-only `script_text`, wrong field types and numbers out of range (`seed` 0..2^63-1,
/// `num_gpus` 1..1024, `max_duration_sec` (0, 86400]); Error(invalid_argument / unsupported) for unusable
/// values (bad base64, unknown quality or resolution, a `voice` not in espeak-ng's list, a client job_id
/// with characters outside [A-Za-z0-9._:-]). Messages show at most a few dozen bytes of what was sent.
JobRequest parse_job_json(std::string_view body);

/// One part of a multipart/form-data body: text fields and files alike, by part name.
using FormParts = std::map<std::string, std::string>;
/// Same rules as parse_job_json, with file parts `ref_image`, `audio` and `audio2` holding raw bytes (a box
/// field is JSON text, "[x0, y0, x1, y1]"); any other part name is refused like an unknown JSON field.
JobRequest parse_job_form(const FormParts& parts);

/// What decoding the media found.
struct MediaFacts {
  int image_width = 0, image_height = 0;
  double audio_seconds = 0;   ///< 0 for script_text
  double audio2_seconds = 0;  ///< 0 without a second speaker
};

/// Decodes the image and audio and checks them against `limits`. HttpError(400) for a silent speech track
/// (all zero, or under -80 dBFS RMS: nothing for the lips to follow). Error(invalid_argument) naming the limit
/// and its flag (audio too long — with two speakers, the video's length: both tracks one after another, or
/// the longer one together —, image too large / small, text too long, a speaker box outside the image) or
/// the decoder's complaint (corrupt data); Error(unsupported) for data FFmpeg opens but cannot use.
MediaFacts validate_job_request(const JobRequest& request, const Limits& limits);

/// A SHA-256 (64 hex digits) of everything that defines the job (parameters and media bytes): the same job_id
/// sent with a different request is a conflict, not a retry.
std::string request_fingerprint(const JobRequest& request);

/// The job's parameters as stored and shown (no media bytes; nothing about server paths).
nlohmann::json request_parameters(const JobRequest& request, const MediaFacts& facts);

/// A client job_id: 1..128 characters of [A-Za-z0-9._:-]. Error(invalid_argument) otherwise.
void check_client_key(const std::string& key);

}  // namespace talkgen::server
