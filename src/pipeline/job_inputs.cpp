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

// Speaker 2 (GenerateOptions::audio2_*): only as recorded speech, and with boxes for both or neither.
void check_second_speaker(const GenerateOptions& o, Size image) {
  const int sources = count_set({!o.audio2_path.empty(), !o.audio2_bytes.empty()});
  if (sources == 0) {
    if (o.speaker1_box || o.speaker2_box)
      fail(ErrorCode::invalid_argument, "speaker boxes given for one speaker; they place two speakers (give audio2)");
    return;
  }
  if (sources > 1)
    fail(ErrorCode::invalid_argument, "2 sources of speaker 2's speech given (audio2 path and bytes); give one");
  if (!o.speech_text.empty())
    fail(ErrorCode::invalid_argument,
         "two speakers need recorded speech for speaker 1 too (an audio path or bytes, not speech_text)");
  if (!o.video_path.empty())
    fail(ErrorCode::unsupported, "two speakers are supported for a portrait image, not for a video to dub");
  if (o.speaker1_box.has_value() != o.speaker2_box.has_value())
    fail(ErrorCode::invalid_argument, "a box for one speaker only; give boxes for both speakers or for neither");
  if (!o.speaker1_box) return;
  check_speaker_box("speaker 1", *o.speaker1_box, image);
  check_speaker_box("speaker 2", *o.speaker2_box, image);
}

Audio decode_speech(const std::string& path, const std::vector<std::uint8_t>& bytes, int sample_rate) {
  return path.empty() ? decode_audio_bytes(bytes.data(), bytes.size(), sample_rate) : decode_audio(path, sample_rate);
}

std::string describe_source(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  return path.empty() ? fmt::format("{} bytes in memory", bytes.size()) : fmt::format("'{}'", path);
}

// Speaker 2's speech (16 kHz, normalised) and the two speakers laid out in time; the track becomes the mix
// of both originals at 48 kHz, each normalised as the reference normalises what it sums.
void add_second_speaker(const GenerateOptions& o, JobInputs& in) {
  in.speech2 = decode_speech(o.audio2_path, o.audio2_bytes, 16000);
  check_speech(in.speech2, fmt::format("speaker 2's speech {}", describe_source(o.audio2_path, o.audio2_bytes)));
  normalize_loudness(in.speech2, -23.0);
  arrange_speakers(in.speech, in.speech2, o.speaker_timing);
  in.audio_frames = static_cast<int64_t>(static_cast<double>(in.speech.samples.size()) / 16000.0 * kFps);

  Audio track2 = decode_speech(o.audio2_path, o.audio2_bytes, 48000);
  normalize_loudness(in.track, -23.0);
  normalize_loudness(track2, -23.0);
  arrange_speakers(in.track, track2, o.speaker_timing);
  in.track = mix_tracks(in.track, track2);
}

}  // namespace

void check_speaker_box(const char* speaker, const PixelBox& box, Size image) {
  // The reference slices the mask with int() of each coordinate: a box must keep at least one pixel.
  const bool inside = box.x0 >= 0 && box.y0 >= 0 && box.x1 <= image.width && box.y1 <= image.height;
  if (!inside || static_cast<int>(box.x1) <= static_cast<int>(box.x0) ||
      static_cast<int>(box.y1) <= static_cast<int>(box.y0))
    fail(ErrorCode::invalid_argument,
         "{}'s box ({}, {}) - ({}, {}) is empty or outside the {}x{} image; give x0 < x1 <= width and "
         "y0 < y1 <= height in pixels",
         speaker, box.x0, box.y0, box.x1, box.y1, image.width, image.height);
}

void arrange_speakers(Audio& speaker1, Audio& speaker2, SpeakerTiming timing) {
  if (speaker1.sample_rate != speaker2.sample_rate)
    fail(ErrorCode::internal, "arrange_speakers: sample rates {} and {} differ", speaker1.sample_rate,
         speaker2.sample_rate);
  auto& a = speaker1.samples;
  auto& b = speaker2.samples;
  if (timing == SpeakerTiming::together) {
    const size_t n = std::max(a.size(), b.size());
    a.resize(n, 0.0f);
    b.resize(n, 0.0f);
    return;
  }
  const size_t len1 = a.size(), len2 = b.size();
  a.resize(len1 + len2, 0.0f);
  b.insert(b.begin(), len1, 0.0f);
}

Audio mix_tracks(const Audio& a, const Audio& b) {
  if (a.sample_rate != b.sample_rate || a.samples.size() != b.samples.size())
    fail(ErrorCode::internal, "mix_tracks: tracks of {} Hz x {} and {} Hz x {} samples", a.sample_rate,
         a.samples.size(), b.sample_rate, b.samples.size());
  Audio out;
  out.sample_rate = a.sample_rate;
  out.samples.resize(a.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) out.samples[i] = std::clamp(a.samples[i] + b.samples[i], -1.0f, 1.0f);
  return out;
}

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
    const Image image = load_image(o);
    if (image.width < kMinImageSide || image.height < kMinImageSide)
      fail(ErrorCode::invalid_argument,
           "the portrait is {}x{} pixels; at least {}x{} is needed (the face must be visible)", image.width,
           image.height, kMinImageSide, kMinImageSide);
    in.source_size = {image.width, image.height};
    in.size = scaled_bucket(image.width, image.height, o.resolution, bucket_divisor);
    in.portrait = resize_and_center_crop(image, in.size);
  }
  check_second_speaker(o, in.source_size);  // a video to dub is refused there before the size is read

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
  } else {
    in.speech = decode_speech(o.audio_path, o.audio_bytes, 16000);
    what = fmt::format("{}speech {}", o.audio2_path.empty() && o.audio2_bytes.empty() ? "the " : "speaker 1's ",
                       describe_source(o.audio_path, o.audio_bytes));
  }
  check_speech(in.speech, what);
  in.audio_frames = static_cast<int64_t>(static_cast<double>(in.speech.samples.size()) / 16000.0 * kFps);
  if (o.speech_text.empty()) in.track = decode_speech(o.audio_path, o.audio_bytes, 48000);
  normalize_loudness(in.speech, -23.0);
  if (!o.audio2_path.empty() || !o.audio2_bytes.empty()) add_second_speaker(o, in);

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
