// The send-frame / receive-packets loop shared by the video and audio halves of the Encoder.
#pragma once

#include <functional>
#include <string>

#include "media/ffmpeg_util.hpp"

namespace talkgen::media {

/// Receives each encoded packet, timestamps in the codec's time base. The sink may take the packet's
/// data with av_packet_move_ref(); whatever it leaves is unreferenced afterwards.
using PacketSink = std::function<void(AVPacket* packet)>;

/// Sends `frame` (nullptr: end of stream, drains the encoder) to `codec` and hands every packet it
/// produces to `sink`. `what` names the stream in error messages ("H.264 video", "AAC audio").
void encode_and_drain(AVCodecContext* codec, const AVFrame* frame, AVPacket* scratch, const PacketSink& sink,
                      const std::string& what);

}  // namespace talkgen::media
