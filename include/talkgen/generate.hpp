// Generation jobs: portrait image (or a video to dub) + speech -> lip-synced talking-head MP4.
//
//   talkgen::GenerateOptions job;
//   job.image_path = "face.jpg";
//   job.audio_path = "speech.wav";          // or job.speech_text = "Hello there" (espeak-ng)
//   job.output_path = "out.mp4";
//   job.quality = talkgen::Quality::quality;   // default: talkgen::default_quality (balanced)
//   GenerateResult r = pipeline.run(job, callbacks);   // see src/pipeline/pipeline.hpp / talkgen::Client
//
// These are plain option/result types; the work is done by the pipeline the Client owns (models loaded
// once, reused across jobs). Every bad input is a talkgen::Error raised before any model runs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "talkgen/encoder.hpp"
#include "talkgen/export.hpp"
#include "talkgen/media.hpp"

namespace talkgen {

/// Speed/quality trade-off. Each profile is a set of sampler settings (quality_settings() below):
///
/// | profile  | DiT weights           | steps | shift       | text / audio guidance | DiT forwards per chunk |
/// |----------|-----------------------|-------|-------------|-----------------------|------------------------|
/// | draft    | + lightx2v LoRA (1.0) |   4   | 2           | 1 / 2                 |  8 (2 per step)        |
/// | balanced | + lightx2v LoRA (1.0) |   8   | 2           | 1 / 2                 | 16 (2 per step)        |
/// | quality  | base InfiniteTalk     |  40   | 7 (720p 11) | 5 / 4                 | 120 (3 per step)       |
///
/// `quality` is the reference's default (generate_infinitetalk.py); draft/balanced are its README's
/// distilled-LoRA settings (text guidance 1 drops the no-text forward, so 2 forwards per step). A chunk is
/// 81 frames (3.24 s); a streamed video of N frames takes 1 + ceil((N - 81) / 72) chunks.
/// The LoRA is merged when the models are loaded: a pipeline loaded without it refuses draft/balanced
/// (and one loaded with it refuses quality), unless explicit steps/scales override the profile.
enum class Quality { draft, balanced, quality };

/// The profile every entry point uses when a job names none: the C++ and C Clients, Python and Node, the CLI
/// (generate, batch, plan, bench), the server, remote clients and the web page. `balanced`: the reference
/// README's recommended distilled setting, 16 DiT forwards per chunk against `quality`'s 120 (7.5x less work
/// for the same video), so that the cost of a call does not depend on where it is made. It needs the
/// lightx2v LoRA in the model folder (the pipeline says where to put it); ask for Quality::quality to run the
/// base weights alone.
inline constexpr Quality default_quality = Quality::balanced;

/// clip: one chunk of up to 81 frames (the reference's --mode clip). streaming: chunks with 9 motion
/// frames carried over until the speech ends (--mode streaming), capped by max_frames.
enum class GenerationMode { clip, streaming };

/// How two speakers' speech is laid out in time (the reference's audio_type): `together` plays both tracks
/// from the start ("para"; the shorter one is padded with silence), `one_after_another` plays speaker 1's
/// speech, then speaker 2's ("add").
enum class SpeakerTiming { one_after_another, together };

/// A person's region in the input image, in pixels of the image as given: x counts columns (left to right),
/// y rows (top to bottom); x0 < x1, y0 < y1. (The reference's JSON `bbox` lists [row_min, col_min, row_max,
/// col_max] under the names [x_min, y_min, x_max, y_max]: swap the axes when copying one.)
struct PixelBox {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

/// "together" / "para" or "one-after-another" / "add"; throws Error(invalid_argument) otherwise.
TALKGEN_API SpeakerTiming parse_speaker_timing(const std::string& name);
TALKGEN_API const char* to_string(SpeakerTiming timing) noexcept;

/// Which distillation LoRA (if any) the DiT weights carry.
enum class DistillLora { none, lightx2v };

/// The concrete sampler settings of a profile.
struct TALKGEN_API QualitySettings {
  int steps = 40;
  double shift = 7.0;
  double text_guidance = 5.0;
  double audio_guidance = 4.0;
  DistillLora lora = DistillLora::none;
  /// DiT forwards per sampling step: 3 with both guidances, 2 when text guidance is 1, 1 when both are 1.
  int forwards_per_step() const;
};
TALKGEN_API QualitySettings quality_settings(Quality quality, Resolution resolution);

/// "draft" | "balanced" | "quality"; throws Error(invalid_argument) otherwise.
TALKGEN_API Quality parse_quality(const std::string& name);
TALKGEN_API const char* to_string(Quality quality) noexcept;
/// "480p" / "480" / "720p" / "720"; throws Error(unsupported) otherwise.
TALKGEN_API Resolution parse_resolution(const std::string& name);

struct GenerateOptions {
  // ---- inputs (exactly one image source and one speech source) ----
  std::string image_path;                  ///< portrait: PNG/JPEG/WebP/BMP, at least 64 px each side
  std::vector<std::uint8_t> image_bytes;   ///< ... or the encoded image in memory
  std::string video_path;                  ///< ... or a video to dub (its frames condition each chunk)
  std::string audio_path;                  ///< speech: any audio FFmpeg reads (a video's audio too)
  std::vector<std::uint8_t> audio_bytes;   ///< ... or the encoded audio in memory
  std::string speech_text;                 ///< ... or text spoken by espeak-ng
  SpeechOptions speech;                    ///< voice / rate for speech_text
  /// A second speaker (InfiniteTalk's two-person mode, best with its multi-person weights, see
  /// ClientOptions::multi_person_weights): their speech, how the two tracks are timed, and where each person
  /// is. Without boxes, speaker 1 is the left half of the image and speaker 2 the right half (5% margins, the
  /// reference's face_scale). The MP4's sound is both tracks, each loudness-normalised, mixed. Image jobs only.
  std::string audio2_path;                 ///< speaker 2's speech: any audio FFmpeg reads
  std::vector<std::uint8_t> audio2_bytes;  ///< ... or the encoded audio in memory
  SpeakerTiming speaker_timing = SpeakerTiming::one_after_another;
  std::optional<PixelBox> speaker1_box, speaker2_box;  ///< both or neither

  // ---- what to make ----
  std::string prompt = "A person is talking to the camera.";
  std::string negative_prompt;             ///< empty: the reference's default (sample_neg_prompt)
  Resolution resolution = Resolution::p480;
  Quality quality = default_quality;
  GenerationMode mode = GenerationMode::streaming;
  std::optional<int> steps;                ///< overrides of the profile's settings
  std::optional<double> shift, text_guidance, audio_guidance;
  std::int64_t seed = 42;                  ///< same seed -> same video on any GPU type and count
  int max_frames = 1000;                   ///< streaming cap (the reference's 40 s); 0 = unlimited
  double color_correction = 1.0;           ///< 0..1: match each chunk's colours to the portrait's (Lab)
  bool use_apg = false;                    ///< adaptive projected guidance (the reference's --use_apg)
  double apg_momentum = -0.75, apg_norm_threshold = 55.0;
  int frames_per_chunk = 81, motion_frames = 9;  ///< both 4k+1 (the reference's frame_num / motion_frame)
  /// Lower peak device memory at some speed: tiled VAE decoding (frames equal within the tiling tolerance
  /// documented in model/vae/vae_tiling.hpp). The Client switches it on when retrying after out_of_memory.
  bool low_memory = false;
  /// Run the 2-3 guidance forwards of a sampling step as one DiT call with a batch of 2-3 instead of one
  /// after another (the reference's way). Same frames (fp32: within 1e-5); fewer, larger kernels, and the
  /// activations of all forwards in memory at once. Off: on an H100 at 480p it is no faster (2 forwards
  /// 6.60-6.71 s per step batched against 6.52-6.58 s, 3 forwards 9.95-10.14 s against 10.01-10.04 s;
  /// benchmarks/RESULTS.md), since one 33,600-token forward already fills the GPU.
  bool batch_guidance = false;

  // ---- output ----
  std::string output_path;                 ///< empty: the MP4 is returned in GenerateResult::mp4
  EncoderOptions encoder;                  ///< fps is fixed at 25 (the model's rate); the rest applies
  std::string dump_frames;                 ///< optional .safetensors path: float32 frames [T, 3, H, W] in
                                           ///< [-1, 1] as decoded (before encoding), key "frames"
};

/// Where a job is; passed to the progress callback after every sampling step and chunk.
struct GenerateProgress {
  enum class Stage { preparing, sampling, decoding, encoding, done } stage = Stage::preparing;
  int chunk = 0, chunks = 0;     ///< 0-based chunk being worked on, of `chunks`
  int step = 0, steps = 0;       ///< sampling steps finished in this chunk, of `steps`
  double fraction = 0.0;         ///< 0..1 of the whole job
  double elapsed_seconds = 0.0;
  double eta_seconds = -1.0;     ///< -1 until the first step has been timed
};
/// "preparing" | "sampling" | "decoding" | "encoding" | "done": the names progress events carry (CLI, server).
TALKGEN_API const char* to_string(GenerateProgress::Stage stage) noexcept;
/// Return false to cancel: the job stops before its next step with Error(cancelled); no file is left.
using GenerateProgressCallback = std::function<bool(const GenerateProgress&)>;

struct GenerateResult {
  std::string output_path;            ///< the MP4 written (empty for in-memory output)
  std::vector<std::uint8_t> mp4;      ///< the MP4 bytes when output_path was empty
  int frames = 0, width = 0, height = 0;
  double fps = 25.0;
  double duration_seconds = 0.0;      ///< frames / fps
  int chunks = 0;
  std::int64_t seed = 0;
  QualitySettings settings;           ///< what was actually run
  bool untrained_model = false;       ///< true for `--model demo`: random weights, the video is noise
  std::string model_name;             ///< e.g. "InfiniteTalk-14B" or "demo (untrained)"
  double seconds_total = 0.0, seconds_sampling = 0.0, seconds_decoding = 0.0;
  double seconds_preparing = 0.0;     ///< inputs, text / CLIP / audio encoders, reference latent
  double seconds_encoding = 0.0;      ///< H.264 / AAC time not hidden behind sampling
};

}  // namespace talkgen
