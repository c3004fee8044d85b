// Media decoding: images, audio and synthesized speech, all through FFmpeg / libebur128 / espeak-ng.
//
// These are the inputs of a job. Every function throws talkgen::Error with a code that says what went
// wrong: not_found (no such file), invalid_argument (empty, corrupt or truncated data; over a DecodeLimits
// bound; bad options), unsupported (FFmpeg opens the data but it is not an image / holds no audio, or the
// codec is missing). Messages name the file (or "the N bytes in memory"). All functions are safe to call
// from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "talkgen/export.hpp"

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

/// The default DecodeLimits::max_pixels: 8192 x 8192 (201 MB as RGB).
inline constexpr std::int64_t kDefaultMaxDecodePixels = 8192LL * 8192;

/// Bounds on what one decode may allocate. They are checked against the file's headers (picture size;
/// duration where the container or stream header states it) before any picture or sample is decoded, and
/// again while decoding, since headers can lie or be missing: decoding stops as soon as a bound is passed,
/// so a few kilobytes that claim or hold hours of audio or a gigapixel picture cost no more than the bound.
/// Over a bound is invalid_argument naming the bound. Decode untrusted input (e.g. in a server) with bounds
/// that fit the job.
struct DecodeLimits {
  /// Most pixels (width x height) of an image or of a video frame.
  std::int64_t max_pixels = kDefaultMaxDecodePixels;
  /// Most seconds of audio, or of video frames, decoded; <= 0: no bound.
  double max_seconds = 0;
  /// How the caller's user raises these bounds, named in the messages (e.g. "--max-image-pixels");
  /// empty: the messages name DecodeLimits.
  std::string setting;
};

/// Decodes PNG, JPEG, WebP or BMP (what FFmpeg's image decoders read) by content, not extension.
/// EXIF orientation (all 8 values; JPEG, and WebP where FFmpeg exports its EXIF) is applied, so the
/// pixels come back upright. Alpha is dropped, not blended (as PIL's convert("RGB")); an animated image
/// gives its first frame. A damaged or truncated picture is invalid_argument, not a partly grey image.
/// The picture size is read from the header (PNG, JPEG, GIF, BMP, WebP) and checked against
/// `limits.max_pixels` before anything is decoded; other formats are held to it by the decoder itself.
TALKGEN_API Image decode_image(const std::string& path, const DecodeLimits& limits = {});
/// The same from an encoded file held in memory (`data` is only read during the call).
TALKGEN_API Image decode_image_bytes(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits = {});

/// Decodes WAV, MP3, FLAC, M4A/AAC, OGG/Opus (any audio FFmpeg reads; the first audio stream of a
/// video file too), downmixed to mono as the mean of the channels (librosa's to_mono) and resampled
/// to `sample_rate` (1000..384000 Hz) with swresample (soxr engine when FFmpeg has it, as librosa).
/// Packets the decoder rejects mid-stream are skipped with a warning, as the ffmpeg CLI does; a file
/// with no decodable audio at all is invalid_argument. So is a truncated file: one that ends before its
/// header says it does (a WAV data chunk longer than the file; FLAC, MP3 with a Xing/Info header, M4A and
/// other containers whose header states the length: markedly less audio than stated, or less audio and a
/// last packet the decoder rejects). Files whose header states no length (streamed WAV with size
/// 0xFFFFFFFF, MP3 without a Xing header, OGG) are read to their end. `limits.max_seconds` is checked
/// against the header's length before decoding and against the samples decoded while decoding.
TALKGEN_API Audio decode_audio(const std::string& path, int sample_rate = 16000, const DecodeLimits& limits = {});
TALKGEN_API Audio decode_audio_bytes(const std::uint8_t* data, std::size_t size, int sample_rate = 16000,
                                     const DecodeLimits& limits = {});

/// Frames of a video as decode_video_frames() returns them.
struct VideoFrames {
  int width = 0, height = 0;          ///< upright frame size
  double fps = 0.0;                   ///< the stream's average frame rate (0 when the file does not say)
  std::int64_t frames_read = 0;       ///< frames decoded: the whole stream, or `limit`
  bool reached_end = false;           ///< true when the stream ended before `limit`
  std::vector<std::int64_t> indices;  ///< the frames `images` holds, ascending
  std::vector<Image> images;
};

/// Decodes the first video stream of a file (MP4, MOV, MKV, WebM, AVI, ...; a still image is a one-frame
/// video) in presentation order at the file's own frame rate: frame i is the i-th picture, with no frame-rate
/// conversion (as decord's VideoReader[i], which the reference reads videos with). Frames are turned upright
/// by the stream's rotation (phone videos). Only the frames for which `keep(i)` is true are converted to RGB
/// and returned, plus always the last frame read; decoding stops after `limit` frames (<= 0: the whole stream).
/// Errors: no video stream (audio only, cover art only) -> unsupported; no decodable picture -> invalid_argument.
/// Packets the decoder rejects mid-stream are skipped with a warning, as the ffmpeg CLI does. A file read to its
/// end that holds markedly fewer frames than its header states (or fewer, ending in a packet the decoder
/// rejects) is truncated: invalid_argument. `limits.max_pixels` bounds the frame size (from the header, before
/// decoding); `limits.max_seconds` bounds how much of the video is read (frames_read / fps): a video that the
/// header or the decoding shows to go past it, where `limit` does not stop earlier, is invalid_argument.
TALKGEN_API VideoFrames decode_video_frames(const std::string& path, const std::function<bool(std::int64_t)>& keep,
                                            std::int64_t limit = 0, const DecodeLimits& limits = {});

/// Integrated loudness (EBU R128 / ITU-R BS.1770, libebur128) in LUFS; -inf for silence, for audio
/// below the -70 LUFS gate and for audio shorter than one 400 ms block.
TALKGEN_API double measure_loudness_lufs(const Audio& audio);
/// Scales the samples so the integrated loudness becomes `target_lufs` (-70..0), as the reference's
/// loudness_norm (pyloudnorm) does before wav2vec2: one gain for all samples, no clipping (peaks may
/// exceed 1.0). Audio whose loudness is beyond ±100 LUFS (silence) is left unchanged, as in the
/// reference; so is audio shorter than 400 ms, where the reference raises instead.
TALKGEN_API void normalize_loudness(Audio& audio, double target_lufs = -23.0);

/// Text to speech through the espeak-ng library. espeak-ng is process-global, so concurrent calls run one
/// after another. It draws from libc rand(): the same text may differ by a few milliseconds between calls.
/// Unknown voice, empty text or options out of range -> invalid_argument; missing espeak-ng data -> unsupported.
struct SpeechOptions {
  std::string voice = "en";   // an espeak-ng voice name, e.g. "en-us", "de", "zh"
  int words_per_minute = 160; // espeak-ng's rate, 80..450
  int sample_rate = 16000;    // resampled to this rate
};
TALKGEN_API Audio synthesize_speech(const std::string& text, const SpeechOptions& options = {});

/// Output sizes of the reference's resolution buckets.
enum class Resolution { p480, p720 };
struct Size {
  int width = 0;
  int height = 0;
};
/// The reference's bucket for an input of this size: the bucket whose aspect ratio is closest.
TALKGEN_API Size choose_bucket(int width, int height, Resolution resolution);
/// Resize (keeping aspect, covering the target) then centre-crop, as the reference's resize_and_centercrop:
/// bit-identical to its PIL Image.BILINEAR resize and torchvision center_crop.
TALKGEN_API Image resize_and_center_crop(const Image& image, Size target);

}  // namespace talkgen
