// What the Encoder's two MP4 muxers (the faststart file and the live fragments) set up alike.
#pragma once

#include "media/ffmpeg_util.hpp"

namespace talkgen::media {

/// A fresh "mp4" muxer context (unsupported when FFmpeg has none). Its pb is set by the caller.
ffmpeg::OutputFormatPtr make_mp4_muxer();

/// Adds a stream carrying `codec`'s parameters (extradata included); video streams get `frame_rate`
/// as their average rate.
AVStream* add_mp4_stream(AVFormatContext* mux, const AVCodecContext* codec, AVRational frame_rate);

}  // namespace talkgen::media
