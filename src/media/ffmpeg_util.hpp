// RAII owners for FFmpeg objects, plus av_error_string(). Shared by the decoders and the encoder.
//
// Every FFmpeg object that has a *_free / *_close function gets a std::unique_ptr alias here, so a
// throw anywhere in a decode or encode path frees everything. Needs FFmpeg >= 5.1 (AVChannelLayout).
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace talkgen::ffmpeg {

/// av_strerror() as a std::string: "Invalid data found when processing input (code -1094995529)".
std::string av_error_string(int errnum);

/// Sends FFmpeg's own log lines (process-wide av_log) to talkgen's log at debug level instead of
/// stderr: the failures they describe reach callers as talkgen::Error anyway. Idempotent, thread-safe;
/// call it before using FFmpeg.
void route_ffmpeg_logs();

/// Demuxer contexts from avformat_open_input (closed with avformat_close_input).
struct InputFormatDeleter {
  void operator()(AVFormatContext* ctx) const;
};
using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;

/// Muxer contexts from avformat_alloc_output_context2: closes ctx->pb (when the muxer owns a file,
/// i.e. not AVFMT_NOFILE and pb set) then avformat_free_context. Write the trailer before reset.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* ctx) const;
};
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* ctx) const;
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

struct FrameDeleter {
  void operator()(AVFrame* frame) const;
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

struct PacketDeleter {
  void operator()(AVPacket* packet) const;
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct SwrDeleter {
  void operator()(SwrContext* ctx) const;
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

struct SwsDeleter {
  void operator()(SwsContext* ctx) const;
};
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

/// Custom AVIOContext (avio_alloc_context): frees its buffer (which FFmpeg may have reallocated) and
/// the context itself. The opaque pointer is not owned.
struct AvioContextDeleter {
  void operator()(AVIOContext* ctx) const;
};
using AvioContextPtr = std::unique_ptr<AVIOContext, AvioContextDeleter>;

/// An AVDictionary of options (avcodec_open2, avformat_write_header take `address()`), freed on scope exit.
class Dictionary {
 public:
  Dictionary() = default;
  ~Dictionary();
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;
  void set(const std::string& key, const std::string& value);
  AVDictionary** address() { return &dict_; }
  AVDictionary* get() const { return dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

/// Allocating constructors; they throw talkgen::Error(out_of_memory) instead of returning null.
CodecContextPtr make_codec_context(const AVCodec* codec);
FramePtr make_frame();
PacketPtr make_packet();

}  // namespace talkgen::ffmpeg
