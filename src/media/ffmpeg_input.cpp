#include "media/ffmpeg_input.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::ffmpeg {
namespace {

constexpr int kAvioBufferSize = 64 * 1024;

}  // namespace

int Input::read_memory(void* opaque, std::uint8_t* buffer, int size) {
  auto* source = static_cast<MemorySource*>(opaque);
  std::size_t left = source->size - source->pos;
  if (left == 0) return AVERROR_EOF;
  std::size_t n = std::min(left, static_cast<std::size_t>(size));
  std::memcpy(buffer, source->data + source->pos, n);
  source->pos += n;
  return static_cast<int>(n);
}

std::int64_t Input::seek_memory(void* opaque, std::int64_t offset, int whence) {
  auto* source = static_cast<MemorySource*>(opaque);
  std::int64_t base = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return static_cast<std::int64_t>(source->size);
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = static_cast<std::int64_t>(source->pos); break;
    case SEEK_END: base = static_cast<std::int64_t>(source->size); break;
    default: return AVERROR(EINVAL);
  }
  std::int64_t target = base + offset;
  if (target < 0 || target > static_cast<std::int64_t>(source->size)) return AVERROR(EINVAL);
  source->pos = static_cast<std::size_t>(target);
  return target;
}

void Input::open(const char* url) {
  route_ffmpeg_logs();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg demuxer for {}", name_);
  if (avio_) {
    raw->pb = avio_.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  }
  Dictionary options;
  // A '%' in a file name would otherwise make the image2 demuxer read it as a numbered sequence.
  options.set("pattern_type", "none");
  // Demuxers must not open further URLs (playlists naming other files or hosts): only our own input.
  options.set("protocol_whitelist", avio_ ? "none" : "file");
  int ret = avformat_open_input(&raw, url, nullptr, options.address());  // frees raw on failure
  if (ret < 0) {
    if (ret == AVERROR(ENOENT)) fail(ErrorCode::not_found, "no such file {}: check the path", name_);
    if (ret == AVERROR(EACCES) || ret == AVERROR(EPERM))
      fail(ErrorCode::io_error, "cannot read {}: permission denied; check the file's permissions", name_);
    fail(ErrorCode::invalid_argument,
         "{} is not {} that FFmpeg recognises ({}); the data is corrupt, truncated or of another kind — "
         "re-export it in one of those formats",
         name_, what_, av_error_string(ret));
  }
  format_.reset(raw);
  ret = avformat_find_stream_info(format_.get(), nullptr);
  if (ret < 0)
    fail(ErrorCode::invalid_argument, "could not read the streams of {} ({}); the file is corrupt or truncated",
         name_, av_error_string(ret));
}

Input Input::open_file(const std::string& path, const std::string& what) {
  Input input;
  input.name_ = fmt::format("'{}'", path);
  input.what_ = what;
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    fail(ErrorCode::not_found, "no such file '{}' (expected {}): check the path", path, what);
  if (std::filesystem::is_directory(status))
    fail(ErrorCode::invalid_argument, "'{}' is a directory, expected a file holding {}", path, what);
  if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) == 0 && !ec)
    fail(ErrorCode::invalid_argument, "'{}' is empty (0 bytes), expected {}; the file was not written completely",
         path, what);
  // "file:" keeps a path such as "a:b.wav" from being taken as a URL of protocol "a".
  input.open(("file:" + path).c_str());
  return input;
}

Input Input::open_bytes(const std::uint8_t* data, std::size_t size, const std::string& what) {
  Input input;
  input.name_ = fmt::format("the {} bytes in memory", size);
  input.what_ = what;
  if (data == nullptr || size == 0)
    fail(ErrorCode::invalid_argument, "no data (0 bytes in memory), expected {}", what);
  input.memory_ = std::make_unique<MemorySource>();
  input.memory_->data = data;
  input.memory_->size = size;
  auto* buffer = static_cast<std::uint8_t*>(av_malloc(kAvioBufferSize));
  if (buffer == nullptr) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg I/O buffer");
  input.avio_.reset(avio_alloc_context(buffer, kAvioBufferSize, 0, input.memory_.get(), &Input::read_memory,
                                       nullptr, &Input::seek_memory));
  if (!input.avio_) {
    av_free(buffer);
    fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg I/O context");
  }
  input.open("");
  return input;
}

CodecContextPtr open_decoder(const Input& input, int stream_index, int err_recognition) {
  const AVCodecParameters* params = input.format()->streams[stream_index]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(params->codec_id);
  if (codec == nullptr)
    fail(ErrorCode::unsupported, "{} uses the codec '{}', which this FFmpeg build cannot decode; convert it to {}",
         input.name(), avcodec_get_name(params->codec_id), input.what());
  CodecContextPtr ctx = make_codec_context(codec);
  int ret = avcodec_parameters_to_context(ctx.get(), params);
  if (ret < 0) fail(ErrorCode::internal, "could not configure the {} decoder: {}", codec->name, av_error_string(ret));
  ctx->err_recognition |= err_recognition;
  ctx->thread_count = 1;  // inputs are small; the caller's threads are the parallelism
  ret = avcodec_open2(ctx.get(), codec, nullptr);
  if (ret < 0)
    fail(ErrorCode::invalid_argument, "could not open the {} decoder for {} ({}); the stream parameters are invalid",
         codec->name, input.name(), av_error_string(ret));
  return ctx;
}

int decode_stream(Input& input, int stream_index, AVCodecContext* decoder, OnCorruptPacket on_corrupt,
                  const std::function<bool(const AVFrame&)>& on_frame) {
  PacketPtr packet = make_packet();
  FramePtr frame = make_frame();
  int skipped = 0;

  auto corrupt = [&](int ret) {
    if (on_corrupt == OnCorruptPacket::fail)
      fail(ErrorCode::invalid_argument, "{} is corrupt or truncated: the {} decoder reports: {}", input.name(),
           decoder->codec->name, av_error_string(ret));
    ++skipped;
  };
  // Returns false once the caller has seen enough frames.
  auto receive_all = [&]() -> bool {
    for (;;) {
      int ret = avcodec_receive_frame(decoder, frame.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return true;
      if (ret < 0) {
        corrupt(ret);
        return true;
      }
      bool more = on_frame(*frame);
      av_frame_unref(frame.get());
      if (!more) return false;
    }
  };

  for (;;) {
    int ret = av_read_frame(input.format(), packet.get());
    if (ret == AVERROR_EOF) break;
    if (ret < 0) {
      if (ret == AVERROR_INVALIDDATA || on_corrupt == OnCorruptPacket::fail) {
        corrupt(ret);
        break;
      }
      fail(ErrorCode::io_error, "reading {} failed: {}", input.name(), av_error_string(ret));
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    ret = avcodec_send_packet(decoder, packet.get());
    av_packet_unref(packet.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) corrupt(ret);
    if (!receive_all()) return skipped;
  }
  avcodec_send_packet(decoder, nullptr);  // drain frames the decoder still holds
  receive_all();
  if (skipped > 0) log_warn("{}: skipped {} corrupt packet(s) while decoding", input.name(), skipped);
  return skipped;
}

}  // namespace talkgen::ffmpeg
