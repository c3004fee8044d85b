// Converting decoded audio of any layout, sample format and rate to mono float32 at one rate.
//
// Downmix is the plain mean of the channels (what librosa.load(mono=True) does in the reference),
// not swresample's default matrix, which would mix stereo at 0.707 per channel. Resampling uses the
// soxr engine when FFmpeg has it (the reference resamples with librosa's default, soxr "HQ"), and
// swresample's own windowed-sinc filter otherwise.
#pragma once

#include <cstdint>
#include <vector>

#include "media/ffmpeg_util.hpp"

namespace talkgen::ffmpeg {

class MonoResampler {
 public:
  /// Input of `layout` channels in `format` at `in_rate`; output mono float at `out_rate`.
  MonoResampler(const AVChannelLayout& layout, AVSampleFormat format, int in_rate, int out_rate);

  /// Appends the converted samples of `data` (AVFrame::extended_data layout) to `out`.
  void push(const std::uint8_t* const* data, int nb_samples, std::vector<float>& out);
  /// Appends the samples still held in the resampler's filter; call once after the last push.
  void flush(std::vector<float>& out);

  int in_rate() const { return in_rate_; }

 private:
  void convert(const std::uint8_t* const* data, int nb_samples, std::vector<float>& out);

  SwrPtr swr_;
  int in_rate_ = 0;
  int out_rate_ = 0;
};

}  // namespace talkgen::ffmpeg
