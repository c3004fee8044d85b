// Media decoding: images, audio and synthesized speech, all through FFmpeg / libebur128 / espeak-ng.
//
// These are the inputs of a job. Every function throws talkgen::Error with a code that says what went
// wrong (not_found, invalid_argument for corrupt data, unsupported for formats we cannot read).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace talkgen {

/// 8-bit RGB pixels, row-major, height × width × 3, no padding.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

/// Mono float32 samples in [-1, 1].
struct Audio {
  int sample_rate = 0;
  std::vector<float> samples;
  double duration_seconds() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

/// Decodes PNG, JPEG, WebP or BMP (what FFmpeg's image decoders read), honouring EXIF orientation.
Image decode_image(const std::string& path);
Image decode_image_bytes(const std::uint8_t* data, std::size_t size);

/// Decodes WAV, MP3, FLAC, M4A/AAC, OGG/Opus (any audio FFmpeg reads), downmixed to mono and
/// resampled to `sample_rate` with swresample.
Audio decode_audio(const std::string& path, int sample_rate = 16000);
Audio decode_audio_bytes(const std::uint8_t* data, std::size_t size, int sample_rate = 16000);

/// Integrated loudness (EBU R128 / ITU-R BS.1770) in LUFS; -inf for silence.
double measure_loudness_lufs(const Audio& audio);
/// Scales the samples so the integrated loudness becomes `target_lufs` (the reference normalises
/// speech to -23 LUFS before wav2vec2). Silence is left unchanged.
void normalize_loudness(Audio& audio, double target_lufs = -23.0);

/// Text to speech through the espeak-ng library.
struct SpeechOptions {
  std::string voice = "en";   // an espeak-ng voice name, e.g. "en-us", "de", "zh"
  int words_per_minute = 160; // espeak-ng's rate, 80..450
  int sample_rate = 16000;    // resampled to this rate
};
Audio synthesize_speech(const std::string& text, const SpeechOptions& options = {});

/// Output sizes of the reference's resolution buckets.
enum class Resolution { p480, p720 };
struct Size {
  int width = 0;
  int height = 0;
};
/// The reference's bucket for an input of this size: the bucket whose aspect ratio is closest.
Size choose_bucket(int width, int height, Resolution resolution);
/// Resize (keeping aspect, covering the target) then centre-crop, as the reference does.
Image resize_and_center_crop(const Image& image, Size target);

}  // namespace talkgen
