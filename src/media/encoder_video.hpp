// The Encoder's video half: packed RGB24 frames -> yuv420p (BT.709, limited range) -> H.264 packets,
// through libx264 or h264_nvenc.
#pragma once

#include <cstdint>
#include <string>

#include "media/encoder_codec.hpp"
#include "talkgen/encoder.hpp"

namespace talkgen::media {

class VideoEncoder {
 public:
  /// Opens the codec for frames of `width` × `height` (both even). Failures: device_unavailable for
  /// h264_nvenc (with the GPU situation spelled out), unsupported for libx264.
  VideoEncoder(int width, int height, AVRational frame_rate, const EncoderOptions& options);

  /// Encodes one frame: `rgb` is packed RGB24 with rows of 3 × width bytes. `index` is the frame
  /// number, which is the timestamp in the codec's time base (1 / frame rate).
  void encode(const std::uint8_t* rgb, std::int64_t index, const PacketSink& sink);
  /// Drains the encoder (x264 holds frames for lookahead and B-frames).
  void flush(const PacketSink& sink);

  const AVCodecContext* codec() const { return codec_.get(); }

 private:
  ffmpeg::CodecContextPtr codec_;
  ffmpeg::SwsPtr to_yuv_;
  ffmpeg::FramePtr frame_;
  ffmpeg::PacketPtr packet_;
  std::string what_;
};

}  // namespace talkgen::media
