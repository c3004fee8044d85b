#include "pipeline/job_inputs.hpp"

#include <algorithm>
#include <cmath>

#include "pipeline/chunk_plan.hpp"
#include "pipeline/video_condition.hpp"
#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

constexpr double kFps = 25.0;

int count_set(std::initializer_list<bool> flags) {
  int n = 0;
  for (bool f : flags) n += f ? 1 : 0;
  return n;
}

void check_portrait_sources(const GenerateOptions& o) {
  const int sources = count_set({!o.image_path.empty(), !o.image_bytes.empty(), !o.video_path.empty()});
  if (sources == 0)
    fail(ErrorCode::invalid_argument, "no portrait given: set an image path, image bytes or a video to dub");
  if (sources > 1)
    fail(ErrorCode::invalid_argument, "{} portrait sources given (image path, image bytes, video); give exactly one",
         sources);
}

// The chunking Pipeline::run derives from the same options (which video frames can condition a chunk).
ChunkSettings chunk_settings_of(const GenerateOptions& o) {
  ChunkSettings s;
  s.frame_num = o.frames_per_chunk;
  s.motion_frames = o.motion_frames;
  s.streaming = o.mode == GenerationMode::streaming;
  s.max_frames = o.max_frames;
  return s;
}

Image load_image(const GenerateOptions& o) {
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
  check_portrait_sources(o);
  if (o.video_path.empty()) {
    Image image = load_image(o);
    if (image.width < kMinImageSide || image.height < kMinImageSide)
      fail(ErrorCode::invalid_argument,
           "the portrait is {}x{} pixels; at least {}x{} is needed (the face must be visible)", image.width,
           image.height, kMinImageSide, kMinImageSide);
    in.size = scaled_bucket(image.width, image.height, o.resolution, bucket_divisor);
    in.portrait = resize_and_center_crop(image, in.size);
  }

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

  if (!o.video_path.empty()) {
    // Dubbing (read after the speech, whose length bounds the frames needed): frame 0 is the portrait
    // (bucket, first chunk, colour reference); later chunks take the frame at their start.
    in.video = std::make_shared<const VideoCondition>(
        load_video_condition(o.video_path, chunk_settings_of(o), in.audio_frames, o.resolution, bucket_divisor));
    in.size = in.video->size();
    in.portrait = in.video->frame_for_chunk(0);
  }
  return in;
}

}  // namespace talkgen::pipeline
