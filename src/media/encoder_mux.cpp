#include "media/encoder_mux.hpp"

#include "talkgen/error.hpp"

namespace talkgen::media {

ffmpeg::OutputFormatPtr make_mp4_muxer() {
  AVFormatContext* raw = nullptr;
  int ret = avformat_alloc_output_context2(&raw, nullptr, "mp4", nullptr);
  if (ret < 0 || raw == nullptr) {
    fail(ErrorCode::unsupported, "this FFmpeg build has no MP4 muxer: {}", ffmpeg::av_error_string(ret));
  }
  return ffmpeg::OutputFormatPtr(raw);
}

AVStream* add_mp4_stream(AVFormatContext* mux, const AVCodecContext* codec, AVRational frame_rate) {
  AVStream* stream = avformat_new_stream(mux, nullptr);
  if (stream == nullptr) fail(ErrorCode::out_of_memory, "could not add a stream to the MP4 muxer");
  int ret = avcodec_parameters_from_context(stream->codecpar, codec);
  if (ret < 0) fail(ErrorCode::internal, "could not copy codec parameters: {}", ffmpeg::av_error_string(ret));
  stream->time_base = codec->time_base;  // a hint; the muxer picks its own
  if (codec->codec_type == AVMEDIA_TYPE_VIDEO) stream->avg_frame_rate = frame_rate;
  return stream;
}

}  // namespace talkgen::media
