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
#include <string>

#include "media/ffmpeg_util.hpp"

namespace talkgen::ffmpeg {

/// A demuxer over a file or over caller-owned bytes (which must outlive the Input).
class Input {
 public:
  static Input open_file(const std::string& path, const std::string& what);
  static Input open_bytes(const std::uint8_t* data, std::size_t size, const std::string& what);

  AVFormatContext* format() const { return format_.get(); }
  /// "'photo.jpg'" or "the 1234 bytes in memory": how messages refer to this input.
  const std::string& name() const { return name_; }
  const std::string& what() const { return what_; }

 private:
  struct MemorySource {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
  };
  static int read_memory(void* opaque, std::uint8_t* buffer, int size);
  static std::int64_t seek_memory(void* opaque, std::int64_t offset, int whence);
  void open(const char* url);

  // Destroyed bottom-up: the demuxer before the AVIOContext it reads, before the source it points at.
  std::unique_ptr<MemorySource> memory_;
  AvioContextPtr avio_;
  InputFormatPtr format_;
  std::string name_;
  std::string what_;
};

/// How decode_stream() treats packets the decoder rejects as corrupt.
enum class OnCorruptPacket {
  fail,  // throw invalid_argument (images: a damaged picture is worse than an error)
  skip,  // drop the packet and go on, as the ffmpeg CLI does (audio: a glitch in a long file)
};

/// Opens the decoder for `stream_index`; throws unsupported when this FFmpeg build has none.
/// `err_recognition` is AVCodecContext::err_recognition (AV_EF_EXPLODE makes decoders strict).
CodecContextPtr open_decoder(const Input& input, int stream_index, int err_recognition = 0);

/// Reads the packets of `stream_index`, decodes them and calls `on_frame` for each frame until it
/// returns false or the stream ends (the decoder is drained at the end). Returns the number of packets
/// skipped as corrupt (always 0 with OnCorruptPacket::fail).
int decode_stream(Input& input, int stream_index, AVCodecContext* decoder, OnCorruptPacket on_corrupt,
                  const std::function<bool(const AVFrame&)>& on_frame);

}  // namespace talkgen::ffmpeg
