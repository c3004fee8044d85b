// Encoder: frames + speech -> H.264/AAC MP4, streamed chunk by chunk.
//
//   talkgen::EncoderOptions options;                // 25 fps, libx264, CRF 17 (visually lossless)
//   auto encoder = talkgen::Encoder::to_file("out.mp4", options);
//   encoder.set_audio(speech);                      // any time before finish()
//   encoder.append(talkgen::FrameChunk::uint8_thwc(pixels, frames, height, width));
//   encoder.finish();                               // out.mp4 appears only now (temp file + rename)
//
// An Encoder destroyed before finish() leaves nothing behind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "talkgen/media.hpp"

namespace talkgen {

enum class VideoCodec {
  libx264,     // software H.264 (default)
  h264_nvenc,  // NVIDIA hardware encoder; an error (device_unavailable) where the GPU has none
};

struct EncoderOptions {
  double fps = 25.0;
  VideoCodec codec = VideoCodec::libx264;
  int crf = 17;                   // libx264 constant rate factor; 17 is visually lossless
  std::string preset = "medium";  // libx264 preset (ultrafast .. veryslow)
  int audio_bitrate = 128000;     // AAC bits per second
  int audio_sample_rate = 0;      // 0: the rate of the audio given to set_audio()
};

/// How a chunk of frames is laid out in memory (always contiguous).
enum class FrameLayout {
  uint8_thwc,         // T×H×W×3 uint8 RGB
  float_cthw_signed,  // 3×T×H×W float32 RGB in [-1, 1], the way the VAE emits frames
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
  /// Writes to `path` through a temporary file in the same folder, renamed by finish().
  static Encoder to_file(const std::string& path, const EncoderOptions& options = {});
  /// Encodes into memory; take the MP4 with finish() then take_buffer().
  static Encoder to_memory(const EncoderOptions& options = {});

  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();  // unfinished: discards the temporary file

  /// The speech track. Trimmed or padded with silence so it ends within one frame of the video.
  void set_audio(const Audio& audio);
  /// Appends frames. All chunks must have the same size; the first chunk fixes it. Odd sizes are
  /// padded by one pixel (yuv420p needs even sizes) and the padding is cropped by the container.
  void append(const FrameChunk& chunk);
  /// Flushes the encoders, writes the index at the front (faststart) and publishes the file.
  void finish();
  /// After finish() on a memory encoder: the MP4 bytes.
  std::vector<std::uint8_t> take_buffer();

  int frames_written() const;

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Whether FFmpeg in this build has `codec`, and (for h264_nvenc) whether a device can open it.
bool encoder_available(VideoCodec codec, std::string* why_not = nullptr);

}  // namespace talkgen
