#include "media/ffmpeg_input.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
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

void Input::open(const char* url, const OpenOptions& options) {
  route_ffmpeg_logs();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg demuxer for {}", name_);
  if (avio_) {
    raw->pb = avio_.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  }
  Dictionary format_options;
  // A '%' in a file name would otherwise make the image2 demuxer read it as a numbered sequence.
  format_options.set("pattern_type", "none");
  // Demuxers must not open further URLs (playlists naming other files or hosts): only our own input.
  format_options.set("protocol_whitelist", avio_ ? "none" : "file");
  int ret = avformat_open_input(&raw, url, nullptr, format_options.address());  // frees raw on failure
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
  // What the headers state, before probing fills the gaps with estimates (bit rate, the longest stream).
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    const AVStream* st = format_->streams[i];
    StreamHeader header;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0 && st->time_base.num > 0 && st->time_base.den > 0)
      header.seconds = static_cast<double>(st->duration) * av_q2d(st->time_base);
    header.width = st->codecpar->width;
    header.height = st->codecpar->height;
    headers_.push_back(header);
  }
  if (options.find_stream_info) find_stream_info(options);
}

void Input::find_stream_info(const OpenOptions& options) {
  // One option dictionary per stream, for the decoders probing opens.
  const unsigned streams = format_->nb_streams;
  std::vector<AVDictionary*> codec_options(streams, nullptr);
  struct FreeAll {
    std::vector<AVDictionary*>& dicts;
    ~FreeAll() {
      for (AVDictionary*& d : dicts) av_dict_free(&d);
    }
  } free_all{codec_options};
  if (options.max_pixels > 0)
    for (AVDictionary*& d : codec_options)
      if (av_dict_set_int(&d, "max_pixels", options.max_pixels, 0) < 0)
        fail(ErrorCode::out_of_memory, "could not set FFmpeg's max_pixels option");
  int ret = avformat_find_stream_info(format_.get(), streams > 0 ? codec_options.data() : nullptr);
  if (ret < 0)
    fail(ErrorCode::invalid_argument, "could not read the streams of {} ({}); the file is corrupt or truncated",
         name_, av_error_string(ret));
}

std::size_t Input::read_at(std::uint64_t offset, std::uint8_t* out, std::size_t n) const {
  if (offset >= size_bytes_) return 0;
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_bytes_ - offset));
  if (memory_) {
    std::memcpy(out, memory_->data + offset, n);
    return n;
  }
  std::ifstream file(path_, std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  file.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
  return file ? n : static_cast<std::size_t>(std::max<std::streamsize>(file.gcount(), 0));
}

Input Input::open_file(const std::string& path, const std::string& what, const OpenOptions& options) {
  Input input;
  input.name_ = fmt::format("'{}'", path);
  input.what_ = what;
  input.path_ = path;
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    fail(ErrorCode::not_found, "no such file '{}' (expected {}): check the path", path, what);
  if (std::filesystem::is_directory(status))
    fail(ErrorCode::invalid_argument, "'{}' is a directory, expected a file holding {}", path, what);
  if (std::filesystem::is_regular_file(status)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (size == 0 && !ec)
      fail(ErrorCode::invalid_argument, "'{}' is empty (0 bytes), expected {}; the file was not written completely",
           path, what);
    if (!ec) input.size_bytes_ = size;
  }
  // "file:" keeps a path such as "a:b.wav" from being taken as a URL of protocol "a".
  input.open(("file:" + path).c_str(), options);
  return input;
}

Input Input::open_bytes(const std::uint8_t* data, std::size_t size, const std::string& what,
                        const OpenOptions& options) {
  Input input;
  input.name_ = fmt::format("the {} bytes in memory", size);
  input.what_ = what;
  input.size_bytes_ = size;
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
  input.open("", options);
  return input;
}

CodecContextPtr open_decoder(const Input& input, int stream_index, int err_recognition, std::int64_t max_pixels) {
  const AVCodecParameters* params = input.format()->streams[stream_index]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(params->codec_id);
  if (codec == nullptr)
    fail(ErrorCode::unsupported, "{} uses the codec '{}', which this FFmpeg build cannot decode; convert it to {}",
         input.name(), avcodec_get_name(params->codec_id), input.what());
  CodecContextPtr ctx = make_codec_context(codec);
  int ret = avcodec_parameters_to_context(ctx.get(), params);
  if (ret < 0) fail(ErrorCode::internal, "could not configure the {} decoder: {}", codec->name, av_error_string(ret));
  ctx->err_recognition |= err_recognition;
  if (max_pixels > 0) ctx->max_pixels = max_pixels;
  ctx->thread_count = 1;  // inputs are small; the caller's threads are the parallelism
  ret = avcodec_open2(ctx.get(), codec, nullptr);
  if (ret < 0)
    fail(ErrorCode::invalid_argument, "could not open the {} decoder for {} ({}); the stream parameters are invalid",
         codec->name, input.name(), av_error_string(ret));
  return ctx;
}

DecodeStats decode_stream(Input& input, int stream_index, AVCodecContext* decoder, OnCorruptPacket on_corrupt,
                          const std::function<bool(const AVFrame&)>& on_frame) {
  PacketPtr packet = make_packet();
  FramePtr frame = make_frame();
  DecodeStats stats;
  bool packet_rejected = false;  // the packet sent last (or the frames it gave) was rejected

  // Picture decoders refuse a size over their max_pixels with EINVAL, before allocating it.
  const bool pixel_limit = decoder->codec_type == AVMEDIA_TYPE_VIDEO && decoder->max_pixels < INT_MAX;
  auto corrupt = [&](int ret) {
    if (on_corrupt == OnCorruptPacket::fail)
      fail(ErrorCode::invalid_argument, "{} is corrupt or truncated{}: the {} decoder reports: {}", input.name(),
           pixel_limit && ret == AVERROR(EINVAL)
               ? fmt::format(", or its picture is over the limit of {} pixels", decoder->max_pixels)
               : std::string(),
           decoder->codec->name, av_error_string(ret));
    ++stats.skipped_packets;
    packet_rejected = true;
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
      // The demuxer cannot go on, so whatever follows is lost: the data is corrupt or cut short, unless the
      // file system failed (only a file can; an error before the file's end is taken for that).
      const std::int64_t at = input.format()->pb ? avio_tell(input.format()->pb) : -1;
      const bool data_fault = ret == AVERROR_INVALIDDATA || input.in_memory() ||
                              at >= static_cast<std::int64_t>(input.size_bytes());
      if (!data_fault) fail(ErrorCode::io_error, "reading {} failed: {}", input.name(), av_error_string(ret));
      fail(ErrorCode::invalid_argument, "{} is corrupt or truncated: reading it stopped at byte {} of {} ({}); "
           "re-export the file", input.name(), at, input.size_bytes(), av_error_string(ret));
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    packet_rejected = false;
    ret = avcodec_send_packet(decoder, packet.get());
    av_packet_unref(packet.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) corrupt(ret);
    if (!receive_all()) return stats;
  }
  avcodec_send_packet(decoder, nullptr);  // drain frames the decoder still holds
  receive_all();
  stats.reached_end = true;
  stats.last_packet_rejected = packet_rejected;
  if (stats.skipped_packets > 0)
    log_warn("{}: skipped {} corrupt packet(s) while decoding{}", input.name(), stats.skipped_packets,
             packet_rejected ? ", the last one among them" : "");
  return stats;
}

}  // namespace talkgen::ffmpeg
