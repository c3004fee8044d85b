#include "media/encoder_codec.hpp"

#include "talkgen/error.hpp"

namespace talkgen::media {

void encode_and_drain(AVCodecContext* codec, const AVFrame* frame, AVPacket* scratch, const PacketSink& sink,
                      const std::string& what) {
  int ret = avcodec_send_frame(codec, frame);
  // Sending to an encoder that has already been drained is a logic error of ours, not of the input.
  if (ret < 0) {
    fail(ErrorCode::internal, "the {} encoder ({}) refused a {}: {}. Please report this.", what,
         codec->codec ? codec->codec->name : "?", frame ? "frame" : "flush request", ffmpeg::av_error_string(ret));
  }
  for (;;) {
    ret = avcodec_receive_packet(codec, scratch);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) {
      fail(ErrorCode::internal, "the {} encoder ({}) failed: {}", what, codec->codec ? codec->codec->name : "?",
           ffmpeg::av_error_string(ret));
    }
    sink(scratch);
    av_packet_unref(scratch);
  }
}

}  // namespace talkgen::media
