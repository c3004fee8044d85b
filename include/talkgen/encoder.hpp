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
//
// Live output (video that plays while it is made): an Encoder can also deliver the same video as
// fragmented MP4, the form browsers' Media Source Extensions and `ffplay -` play while it grows:
//
//   auto encoder = talkgen::Encoder::to_file("out.mp4", options);   // or to_memory(), or to_fragments()
//   encoder.add_live_output([&](const std::uint8_t* data, std::size_t size, talkgen::FragmentKind kind) {
//     send(data, size);                             // init segment first, then one fragment per chunk
//   });
//   encoder.set_audio(speech);
//   encoder.append(chunk0); encoder.flush_fragment();   // fragment 1: chunk 0's frames and audio
//   encoder.append(chunk1); encoder.flush_fragment();   // fragment 2
//   encoder.append(chunk2); encoder.finish();           // fragment 3: the last chunk and the audio's end
//
// The frames are encoded once: the live stream and the final (faststart) MP4 carry the same H.264 and
// AAC packets. Each fragment starts with an H.264 IDR frame, so a viewer who joins late needs only the
// init segment and the fragments from any point on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "talkgen/export.hpp"
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

/// What one delivery of live output is.
enum class FragmentKind {
  init,   // the init segment: ftyp + moov (codecs, size, timing; no samples). Comes first, exactly once.
  media,  // one media fragment: moof + mdat, the frames of one flush_fragment() span and their audio
};

/// Receives live output. Each call is one whole init segment or one whole fragment (never a part of
/// one), in stream order; `data` is valid only during the call. Called on the thread that called
/// flush_fragment() or finish(). A sink that throws stops the Encoder: the exception propagates out of
/// that call, the Encoder's outputs are discarded and the sink is never called again.
using FragmentSink = std::function<void(const std::uint8_t* data, std::size_t size, FragmentKind kind)>;

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

class TALKGEN_API Encoder {
 public:
  /// Writes to `path` through a temporary file in the same folder (".<name>.<random>.tmp"), renamed
  /// onto `path` by finish(). Throws io_error naming the path at once when the folder is not writable,
  /// invalid_argument for bad options, device_unavailable when h264_nvenc is asked for and unusable.
  static Encoder to_file(const std::string& path, const EncoderOptions& options = {});
  /// Encodes into memory; take the MP4 with finish() then take_buffer(). Nothing touches the disk.
  static Encoder to_memory(const EncoderOptions& options = {});
  /// Live output only: fragmented MP4 to `sink` (see add_live_output), no final file. For a stream
  /// that is the result, e.g. `talkgen generate --live -o -`.
  static Encoder to_fragments(FragmentSink sink, const EncoderOptions& options = {});

  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();  // unfinished: discards the temporary file; a live sink is not called again

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
  /// Also streams the video as fragmented MP4 to `sink` (frag_custom + empty_moov + default_base_moof +
  /// delay_moov): the init segment and the first fragment at the first flush_fragment(), then one
  /// fragment per flush_fragment(), the last one at finish(). Call it once, before the first append().
  /// invalid_argument when `sink` is empty, after the first append(), or when a live output exists.
  void add_live_output(FragmentSink sink);
  /// Ends the live fragment: the frames appended since the previous flush_fragment() (one chunk) and the
  /// audio up to their end go to the live sink as one moof + mdat, and the next frame appended starts a
  /// new H.264 sequence with an IDR frame. The H.264 encoder is drained and reopened to do that (its
  /// lookahead would otherwise hold the chunk's last frames back until the next chunk), which costs a
  /// keyframe per fragment in the final MP4 too. Call it after each chunk except the last: finish()
  /// ends the last fragment itself (called after the last chunk too, it only leaves finish() a short
  /// audio-only fragment with the audio's end). invalid_argument without a live output or when no frame
  /// was appended since the previous flush_fragment(). The audio must be set before the first call: a
  /// live stream begun without it stays silent (set_audio() is then refused).
  void flush_fragment();
  /// Flushes the encoders, writes the index at the front (faststart) and publishes the file; with a live
  /// output, first delivers its last fragment (the frames since the last flush_fragment() and the rest
  /// of the audio). Throws invalid_argument when no frame was appended.
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
TALKGEN_API bool encoder_available(VideoCodec codec, std::string* why_not = nullptr);

}  // namespace talkgen
