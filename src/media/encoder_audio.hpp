// The Encoder's audio half: mono float samples -> (resampled) -> AAC-LC packets with FFmpeg's native
// encoder. The track is cut or padded with silence to the length the video asks for.
#pragma once

#include <cstdint>
#include <vector>

#include "media/encoder_codec.hpp"
#include "talkgen/media.hpp"

namespace talkgen::media {

/// Whether AAC (MPEG-4 Audio) has a sampling-frequency index for `rate`.
bool is_aac_sample_rate(int rate);
/// The rate to encode at: `requested` when non-zero (it must be an AAC rate), otherwise the input rate
/// if AAC has it, otherwise the next AAC rate above it (96000 at most).
int choose_aac_sample_rate(int input_rate, int requested);

class AudioEncoder {
 public:
  /// Copies (and, when the rates differ, resamples) `audio`, then opens the AAC encoder.
  AudioEncoder(const Audio& audio, int sample_rate, int bitrate);

  /// Encodes whole AAC frames while they end at or before `sample_count` (the video's current end,
  /// in samples): called after each video chunk so the two tracks advance together.
  void encode_until(std::int64_t sample_count, const PacketSink& sink);
  /// Encodes up to exactly `total_samples` (the input cut there, or padded with silence) and drains.
  void finish(std::int64_t total_samples, const PacketSink& sink);

  const AVCodecContext* codec() const { return codec_.get(); }
  int sample_rate() const { return codec_->sample_rate; }

 private:
  void encode_frame(int samples, const PacketSink& sink);

  std::vector<float> samples_;  // at the encoder's rate
  std::int64_t position_ = 0;   // samples already sent to the encoder
  ffmpeg::CodecContextPtr codec_;
  ffmpeg::FramePtr frame_;
  ffmpeg::PacketPtr packet_;
};

}  // namespace talkgen::media
