// Opening a file or a memory buffer with libavformat, and running a decoder over one of its streams.
//
// Shared by the image and audio decoders so that both map FFmpeg failures to the same error codes:
// missing file -> not_found, empty / corrupt / truncated data -> invalid_argument, a stream kind or
// codec we cannot use -> unsupported. `what` names the expected content in messages, e.g. "an image
// (PNG, JPEG, WebP or BMP)".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/ffmpeg_util.hpp"

namespace talkgen::ffmpeg {

/// How an Input is opened.
struct OpenOptions {
  /// Given to every decoder that probing opens (avformat_find_stream_info decodes a few frames to learn
  /// what the headers leave out) as its "max_pixels", so no probe allocates a larger picture. 0: FFmpeg's.
  std::int64_t max_pixels = 0;
  /// Whether to probe the streams at all. A still image needs no probing (its decoder reads everything from
  /// the picture), and probing would decode the whole picture once more.
  bool find_stream_info = true;
};

/// A demuxer over a file or over caller-owned bytes (which must outlive the Input).
class Input {
 public:
  static Input open_file(const std::string& path, const std::string& what, const OpenOptions& options = {});
  static Input open_bytes(const std::uint8_t* data, std::size_t size, const std::string& what,
                          const OpenOptions& options = {});

  AVFormatContext* format() const { return format_.get(); }
  /// "'photo.jpg'" or "the 1234 bytes in memory": how messages refer to this input.
  const std::string& name() const { return name_; }
  const std::string& what() const { return what_; }

  /// What the file's header states about one stream, as the demuxer read it, before probing decodes frames
  /// and fills gaps with estimates (and before a probe refused by max_pixels resets the picture size to 0).
  struct StreamHeader {
    /// Length in seconds (FLAC STREAMINFO, an MP3 Xing/Info header, an MP4 track header, a WAV data size);
    /// nullopt when the header states none (estimates from the bit rate or from the longest stream are not this).
    std::optional<double> seconds;
    int width = 0, height = 0;  ///< picture size the container states (0: none)
  };
  const StreamHeader& header(int stream) const { return headers_.at(static_cast<std::size_t>(stream)); }

  bool in_memory() const { return memory_ != nullptr; }
  /// Size of the whole input in bytes.
  std::uint64_t size_bytes() const { return size_bytes_; }
  /// Copies up to `n` bytes of the raw input from `offset` into `out` (for header checks FFmpeg does not
  /// make); returns how many were copied, fewer at the end of the input.
  std::size_t read_at(std::uint64_t offset, std::uint8_t* out, std::size_t n) const;

 private:
  struct MemorySource {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
  };
  static int read_memory(void* opaque, std::uint8_t* buffer, int size);
  static std::int64_t seek_memory(void* opaque, std::int64_t offset, int whence);
  void open(const char* url, const OpenOptions& options);
  void find_stream_info(const OpenOptions& options);

  // Destroyed bottom-up: the demuxer before the AVIOContext it reads, before the source it points at.
  std::unique_ptr<MemorySource> memory_;
  AvioContextPtr avio_;
  InputFormatPtr format_;
  std::string name_;
  std::string what_;
  std::string path_;  // empty for bytes in memory
  std::uint64_t size_bytes_ = 0;
  std::vector<StreamHeader> headers_;  // per stream, captured before probing
};

/// How decode_stream() treats packets the decoder rejects as corrupt.
enum class OnCorruptPacket {
  fail,  // throw invalid_argument (images: a damaged picture is worse than an error)
  skip,  // drop the packet and go on, as the ffmpeg CLI does (audio: a glitch in a long file)
};

/// Opens the decoder for `stream_index`; throws unsupported when this FFmpeg build has none.
/// `err_recognition` is AVCodecContext::err_recognition (AV_EF_EXPLODE makes decoders strict);
/// `max_pixels` (> 0) makes the decoder refuse larger pictures before allocating them.
CodecContextPtr open_decoder(const Input& input, int stream_index, int err_recognition = 0,
                             std::int64_t max_pixels = 0);

/// What decode_stream() saw.
struct DecodeStats {
  int skipped_packets = 0;            ///< packets rejected as corrupt and skipped (OnCorruptPacket::skip)
  bool last_packet_rejected = false;  ///< the stream's final packet was rejected: the file may end mid-packet
  bool reached_end = false;           ///< the input was read to its end (on_frame did not stop it)
};

/// Reads the packets of `stream_index`, decodes them and calls `on_frame` for each frame until it
/// returns false or the stream ends (the decoder is drained at the end). A read error other than the end
/// of the input (the demuxer finds the data corrupt or cut) is invalid_argument, as the reading cannot go on.
DecodeStats decode_stream(Input& input, int stream_index, AVCodecContext* decoder, OnCorruptPacket on_corrupt,
                          const std::function<bool(const AVFrame&)>& on_frame);

}  // namespace talkgen::ffmpeg
