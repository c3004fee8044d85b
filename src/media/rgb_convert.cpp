#include "media/rgb_convert.hpp"

#include <cstddef>
#include <cstring>

extern "C" {
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "media/ffmpeg_util.hpp"
#include "talkgen/error.hpp"

namespace talkgen::media {

Image frame_to_rgb(const AVFrame& frame, const std::string& name, const char* fix) {
  const int w = frame.width, h = frame.height;
  if (w <= 0 || h <= 0) fail(ErrorCode::invalid_argument, "{} decodes to an empty {}x{} picture", name, w, h);
  ffmpeg::SwsPtr sws(sws_getContext(w, h, static_cast<AVPixelFormat>(frame.format), w, h, AV_PIX_FMT_RGB24,
                                    SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP |
                                        SWS_BITEXACT,
                                    nullptr, nullptr, nullptr));
  if (!sws) {
    const char* format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame.format));
    fail(ErrorCode::unsupported, "{} has pixel format '{}', which swscale cannot convert to RGB; {}",
         name, format ? format : "unknown", fix);
  }
  ffmpeg::FramePtr rgb = ffmpeg::make_frame();
  rgb->format = AV_PIX_FMT_RGB24;
  rgb->width = w;
  rgb->height = h;
  int ret = av_frame_get_buffer(rgb.get(), 0);
  if (ret < 0) fail(ErrorCode::out_of_memory, "no memory for a {}x{} RGB image: {}", w, h, ffmpeg::av_error_string(ret));
  ret = sws_scale(sws.get(), frame.data, frame.linesize, 0, h, rgb->data, rgb->linesize);
  if (ret < 0) fail(ErrorCode::internal, "swscale failed converting {} to RGB: {}", name, ffmpeg::av_error_string(ret));

  Image image;
  image.width = w;
  image.height = h;
  image.rgb.resize(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    std::memcpy(&image.rgb[static_cast<std::size_t>(y) * w * 3], rgb->data[0] + static_cast<std::ptrdiff_t>(y) * rgb->linesize[0],
                static_cast<std::size_t>(w) * 3);
  return image;
}

}  // namespace talkgen::media
