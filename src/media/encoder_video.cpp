#include "media/encoder_video.hpp"

#include "media/encoder_nvenc.hpp"
#include "talkgen/error.hpp"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace talkgen::media {

VideoEncoder::VideoEncoder(int width, int height, AVRational frame_rate, const EncoderOptions& options) {
  const bool nvenc = options.codec == VideoCodec::h264_nvenc;
  const char* codec_name = nvenc ? "h264_nvenc" : "libx264";
  what_ = fmt::format("H.264 video ({})", codec_name);
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name);
  if (codec == nullptr) {
    if (nvenc) {
      fail(ErrorCode::device_unavailable,
           "this FFmpeg build has no h264_nvenc encoder; use codec libx264 instead (the default)");
    }
    fail(ErrorCode::unsupported,
         "this FFmpeg build has no libx264 encoder; install an FFmpeg built with --enable-libx264 (Debian: "
         "libavcodec-extra) or ask for h264_nvenc on a GPU that has NVENC");
  }

  codec_ = ffmpeg::make_codec_context(codec);
  AVCodecContext* ctx = codec_.get();
  ctx->width = width;
  ctx->height = height;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = av_inv_q(frame_rate);
  ctx->framerate = frame_rate;
  ctx->sample_aspect_ratio = AVRational{1, 1};
  // Tagged so players convert back with the same matrix we converted with (untagged SD video is
  // often shown as BT.601).
  ctx->color_primaries = AVCOL_PRI_BT709;
  ctx->color_trc = AVCOL_TRC_BT709;
  ctx->colorspace = AVCOL_SPC_BT709;
  ctx->color_range = AVCOL_RANGE_MPEG;
  // MP4 keeps SPS/PPS in the sample description (avcC), not in the stream.
  ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (nvenc) {
    apply_nvenc_options(ctx, options.crf, options.preset);
  } else {
    ctx->thread_count = 0;  // x264 picks its thread count from the cores (about 1.5 per core)
    av_opt_set(ctx->priv_data, "preset", options.preset.c_str(), 0);
    av_opt_set_double(ctx->priv_data, "crf", options.crf, 0);
  }
  int ret = avcodec_open2(ctx, codec, nullptr);
  if (ret < 0) {
    if (nvenc) fail(ErrorCode::device_unavailable, "{}", nvenc_open_failure_message(ffmpeg::av_error_string(ret)));
    fail(ErrorCode::unsupported, "libx264 could not be opened for {}×{} at {}/{} fps with preset '{}' and CRF {}: {}",
         width, height, frame_rate.num, frame_rate.den, options.preset, options.crf, ffmpeg::av_error_string(ret));
  }

  // SWS_ACCURATE_RND and full-resolution chroma input: the chroma of each 2×2 block is filtered from
  // all four pixels rather than taken from a subset, which keeps coloured edges clean.
  to_yuv_.reset(sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_YUV420P,
                               SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr));
  if (!to_yuv_) fail(ErrorCode::internal, "swscale cannot convert RGB24 to yuv420p at {}×{}", width, height);
  const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
  // Source RGB is full range; destination YUV is limited (16..235), matching the tags above.
  sws_setColorspaceDetails(to_yuv_.get(), bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);

  frame_ = ffmpeg::make_frame();
  frame_->format = AV_PIX_FMT_YUV420P;
  frame_->width = width;
  frame_->height = height;
  frame_->color_primaries = ctx->color_primaries;
  frame_->color_trc = ctx->color_trc;
  frame_->colorspace = ctx->colorspace;
  frame_->color_range = ctx->color_range;
  frame_->sample_aspect_ratio = ctx->sample_aspect_ratio;
  ret = av_frame_get_buffer(frame_.get(), 0);
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not allocate a {}×{} video frame", width, height);
  packet_ = ffmpeg::make_packet();
}

void VideoEncoder::encode(const std::uint8_t* rgb, std::int64_t index, const PacketSink& sink) {
  // The encoder may still reference the previous frame's buffers (FFmpeg's frame-threaded encoders
  // do); make_writable copies only in that case.
  int ret = av_frame_make_writable(frame_.get());
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not get a writable video frame: {}", ffmpeg::av_error_string(ret));
  const std::uint8_t* src[1] = {rgb};
  const int src_stride[1] = {3 * codec_->width};
  sws_scale(to_yuv_.get(), src, src_stride, 0, codec_->height, frame_->data, frame_->linesize);
  frame_->pts = index;
  encode_and_drain(codec_.get(), frame_.get(), packet_.get(), sink, what_);
}

void VideoEncoder::flush(const PacketSink& sink) { encode_and_drain(codec_.get(), nullptr, packet_.get(), sink, what_); }

}  // namespace talkgen::media
