// Encoder: frames + speech -> H.264/AAC MP4, streamed chunk by chunk.
//
//   talkgen::EncoderOptions options;                // 25 fps, libx264, CRF 17 (visually lossless)
//   auto encoder = talkgen::Encoder::to_file("out.mp4", options);
//   encoder.set_audio(speech);                      // best before the first append (see set_audio)
//   encoder.append(talkgen::FrameChunk::uint8_thwc(pixels, frames, height, width));
//   encoder.finish();                               // out.mp4 appears only now (temp file + rename)
//
// Video is H.264 yuv420p (BT.709, limited range, tagged), audio is mono AAC-LC (FFmpeg's native
// encoder), the container is MP4 with the index (moov) in front of the media data (faststart), so a
// browser can play it while it downloads.
//
// Frames are encoded as they arrive, so memory stays bounded for long videos. An Encoder destroyed
// before finish(), or one whose call threw an error from FFmpeg or the filesystem, leaves nothing
// behind. An Encoder is not thread-safe: use it from one thread at a time (it may be moved between
// threads, e.g. to encode chunk k while chunk k+1 is sampled).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "talkgen/media.hpp"

namespace talkgen {

enum class VideoCodec {
  libx264,     // software H.264 (default); uses several threads (x264's automatic threading)
  h264_nvenc,  // NVIDIA hardware encoder; device_unavailable where FFmpeg or the GPU has none
               // (data-centre GPUs such as the A100, H100 and H200 have no NVENC engine)
};

struct EncoderOptions {
  double fps = 25.0;              // (0, 240]; fractional rates such as 29.97 are kept exact (30000/1001)
  VideoCodec codec = VideoCodec::libx264;
  int crf = 17;                   // 0..51, lower is better. libx264: constant rate factor, 17 is
                                  // visually lossless. h264_nvenc: its constant-quality level (cq).
  std::string preset = "medium";  // libx264 preset: ultrafast superfast veryfast faster fast medium slow
                                  // slower veryslow placebo. h264_nvenc maps these onto p1..p7.
  int audio_bitrate = 128000;     // AAC bits per second (capped at what AAC allows for the sample rate)
  int audio_sample_rate = 0;      // 0: the rate of the audio given to set_audio() (or the next rate AAC
                                  // supports above it); otherwise one of AAC's rates, e.g. 48000
};

/// How a chunk of frames is laid out in memory (always contiguous).
enum class FrameLayout {
  uint8_thwc,         // T×H×W×3 uint8 RGB
  float_cthw_signed,  // 3×T×H×W float32 RGB in [-1, 1], the way the VAE emits frames (values outside
                      // are clamped; NaN or infinity is an invalid_argument error)
};

/// A borrowed view of frames; the Encoder copies what it needs before append() returns.
struct FrameChunk {
  const void* data = nullptr;
  FrameLayout layout = FrameLayout::uint8_thwc;
  int frames = 0;
  int height = 0;
  int width = 0;

  static FrameChunk uint8_thwc(const std::uint8_t* data, int frames, int height, int width) {
    return {data, FrameLayout::uint8_thwc, frames, height, width};
  }
  static FrameChunk float_cthw(const float* data, int frames, int height, int width) {
    return {data, FrameLayout::float_cthw_signed, frames, height, width};
  }
};

class Encoder {
 public:
  /// Writes to `path` through a temporary file in the same folder (".<name>.<random>.tmp"), renamed
  /// onto `path` by finish(). Throws io_error naming the path at once when the folder is not writable,
  /// invalid_argument for bad options, device_unavailable when h264_nvenc is asked for and unusable.
  static Encoder to_file(const std::string& path, const EncoderOptions& options = {});
  /// Encodes into memory; take the MP4 with finish() then take_buffer(). Nothing touches the disk.
  static Encoder to_memory(const EncoderOptions& options = {});

  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();  // unfinished: discards the temporary file

  /// The speech track (once per Encoder; an Encoder never given audio writes a silent, video-only MP4).
  /// Trimmed or padded with silence so it ends within one frame of the video. Call it before the first
  /// append() to keep memory bounded: until the audio is known the MP4 header cannot be written, so
  /// the compressed video is held in memory until set_audio() or finish().
  void set_audio(const Audio& audio);
  /// Appends frames. All chunks must have the same size; the first chunk fixes it. Odd sizes are
  /// padded to the next even size by repeating the last column / row, so the MP4 is then
  /// (width + width % 2) × (height + height % 2): yuv420p H.264 cannot store odd sizes at all (its
  /// cropping works in steps of 2 pixels), and repeating the edge keeps every input pixel unchanged.
  void append(const FrameChunk& chunk);
  /// Flushes the encoders, writes the index at the front (faststart) and publishes the file.
  /// Throws invalid_argument when no frame was appended.
  void finish();
  /// After finish() on a memory encoder: the MP4 bytes (once).
  std::vector<std::uint8_t> take_buffer();

  /// Frames accepted by append() so far.
  int frames_written() const;

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Whether FFmpeg in this build has `codec`, and (for h264_nvenc) whether a device can open it: a
/// short probe that opens and closes an encode session. `why_not` receives the reason when false.
bool encoder_available(VideoCodec codec, std::string* why_not = nullptr);

}  // namespace talkgen
