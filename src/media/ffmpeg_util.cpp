#include "media/ffmpeg_util.hpp"

#include <cstdarg>
#include <mutex>
#include <string_view>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::ffmpeg {

std::string av_error_string(int errnum) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(errnum, buffer, sizeof(buffer)) < 0) return fmt::format("unknown FFmpeg error {}", errnum);
  return fmt::format("{} (code {})", buffer, errnum);
}

namespace {

void forward_ffmpeg_log(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_VERBOSE || log_level() > LogLevel::debug) return;
  char line[1024];
  int print_prefix = 1;  // a local, so concurrent decoders do not share av_log's prefix state
  av_log_format_line2(avcl, level, format, args, line, sizeof(line), &print_prefix);
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (!text.empty()) log_debug("ffmpeg: {}", text);
}

}  // namespace

void route_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(&forward_ffmpeg_log); });
}

void InputFormatDeleter::operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }

void OutputFormatDeleter::operator()(AVFormatContext* ctx) const {
  if (ctx == nullptr) return;
  if (ctx->oformat != nullptr && !(ctx->oformat->flags & AVFMT_NOFILE) && ctx->pb != nullptr) avio_closep(&ctx->pb);
  avformat_free_context(ctx);
}

void CodecContextDeleter::operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
void FrameDeleter::operator()(AVFrame* frame) const { av_frame_free(&frame); }
void PacketDeleter::operator()(AVPacket* packet) const { av_packet_free(&packet); }
void SwrDeleter::operator()(SwrContext* ctx) const { swr_free(&ctx); }
void SwsDeleter::operator()(SwsContext* ctx) const { sws_freeContext(ctx); }

void AvioContextDeleter::operator()(AVIOContext* ctx) const {
  if (ctx == nullptr) return;
  // FFmpeg may have replaced the buffer we handed to avio_alloc_context, so free the current one.
  av_freep(&ctx->buffer);
  avio_context_free(&ctx);
}

Dictionary::~Dictionary() { av_dict_free(&dict_); }

void Dictionary::set(const std::string& key, const std::string& value) {
  int ret = av_dict_set(&dict_, key.c_str(), value.c_str(), 0);
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not set FFmpeg option {}={}: {}", key, value, av_error_string(ret));
}

CodecContextPtr make_codec_context(const AVCodec* codec) {
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg codec context for {}", codec ? codec->name : "(none)");
  return ctx;
}

FramePtr make_frame() {
  FramePtr frame(av_frame_alloc());
  if (!frame) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg frame");
  return frame;
}

PacketPtr make_packet() {
  PacketPtr packet(av_packet_alloc());
  if (!packet) fail(ErrorCode::out_of_memory, "could not allocate an FFmpeg packet");
  return packet;
}

}  // namespace talkgen::ffmpeg
