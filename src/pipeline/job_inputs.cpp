#include "pipeline/job_inputs.hpp"

#include <algorithm>
#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

constexpr double kFps = 25.0;

int count_set(std::initializer_list<bool> flags) {
  int n = 0;
  for (bool f : flags) n += f ? 1 : 0;
  return n;
}

Image load_image(const GenerateOptions& o) {
  const int sources = count_set({!o.image_path.empty(), !o.image_bytes.empty(), !o.video_path.empty()});
  if (sources == 0)
    fail(ErrorCode::invalid_argument, "no portrait given: set an image path, image bytes or a video to dub");
  if (sources > 1)
    fail(ErrorCode::invalid_argument, "{} portrait sources given (image path, image bytes, video); give exactly one",
         sources);
  if (!o.video_path.empty())
    fail(ErrorCode::unsupported,
         "dubbing a video ('{}') is not supported yet; give a portrait image (e.g. a frame of the video)",
         o.video_path);
  return o.image_path.empty() ? decode_image_bytes(o.image_bytes.data(), o.image_bytes.size())
                              : decode_image(o.image_path);
}

void check_speech(const Audio& speech, const std::string& what) {
  const auto frames = static_cast<int64_t>(static_cast<double>(speech.samples.size()) / speech.sample_rate * kFps);
  if (frames < 1)
    fail(ErrorCode::invalid_argument, "{} lasts {:.3f} s, shorter than one video frame (40 ms); give longer speech",
         what, speech.duration_seconds());
  float peak = 0.0f;
  for (float s : speech.samples) peak = std::max(peak, std::abs(s));
  if (!(peak >= kSilencePeak))
    fail(ErrorCode::invalid_argument,
         "{} is silent (peak {:.1f} dBFS); the face would not move. Give recorded speech", what,
         peak > 0 ? 20.0 * std::log10(peak) : -INFINITY);
}

}  // namespace

Size scaled_bucket(int width, int height, Resolution resolution, int divisor) {
  if (divisor < 1) fail(ErrorCode::internal, "bucket divisor must be >= 1, got {}", divisor);
  Size b = choose_bucket(width, height, resolution);
  if (divisor == 1) return b;
  auto scale = [&](int side) { return std::max(16, (side + 8 * divisor) / (16 * divisor) * 16); };
  return {scale(b.width), scale(b.height)};
}

JobInputs load_job_inputs(const GenerateOptions& o, int bucket_divisor) {
  JobInputs in;
  Image image = load_image(o);
  if (image.width < kMinImageSide || image.height < kMinImageSide)
    fail(ErrorCode::invalid_argument, "the portrait is {}x{} pixels; at least {}x{} is needed (the face must be visible)",
         image.width, image.height, kMinImageSide, kMinImageSide);
  in.size = scaled_bucket(image.width, image.height, o.resolution, bucket_divisor);
  in.portrait = resize_and_center_crop(image, in.size);

  const int sources = count_set({!o.audio_path.empty(), !o.audio_bytes.empty(), !o.speech_text.empty()});
  if (sources == 0) fail(ErrorCode::invalid_argument, "no speech given: set an audio path, audio bytes or speech text");
  if (sources > 1)
    fail(ErrorCode::invalid_argument, "{} speech sources given (audio path, audio bytes, text); give exactly one",
         sources);
  std::string what;
  if (!o.speech_text.empty()) {
    SpeechOptions speech = o.speech;
    speech.sample_rate = 16000;
    in.speech = synthesize_speech(o.speech_text, speech);
    in.track = in.speech;
    what = "the synthesized speech";
  } else if (!o.audio_path.empty()) {
    in.speech = decode_audio(o.audio_path, 16000);
    what = fmt::format("the speech '{}'", o.audio_path);
  } else {
    in.speech = decode_audio_bytes(o.audio_bytes.data(), o.audio_bytes.size(), 16000);
    what = fmt::format("the speech ({} bytes in memory)", o.audio_bytes.size());
  }
  check_speech(in.speech, what);
  in.audio_frames = static_cast<int64_t>(static_cast<double>(in.speech.samples.size()) / 16000.0 * kFps);
  if (o.speech_text.empty())
    in.track = o.audio_path.empty() ? decode_audio_bytes(o.audio_bytes.data(), o.audio_bytes.size(), 48000)
                                    : decode_audio(o.audio_path, 48000);
  normalize_loudness(in.speech, -23.0);
  return in;
}

}  // namespace talkgen::pipeline
