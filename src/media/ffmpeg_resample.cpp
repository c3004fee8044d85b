#include "media/ffmpeg_resample.hpp"

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::ffmpeg {
namespace {

SwrPtr make_swr(const AVChannelLayout& layout, AVSampleFormat format, int in_rate, int out_rate, bool soxr) {
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  AVChannelLayout in_layout{};  // FFmpeg 5.1 takes non-const layouts; later versions take const
  if (av_channel_layout_copy(&in_layout, &layout) < 0) fail(ErrorCode::out_of_memory, "could not copy a channel layout");
  SwrContext* raw = nullptr;
  int ret = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, out_rate, &in_layout, format, in_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  SwrPtr swr(raw);
  if (ret < 0) fail(ErrorCode::internal, "could not configure the audio resampler: {}", av_error_string(ret));
  if (soxr) av_opt_set_int(swr.get(), "resampler", SWR_ENGINE_SOXR, 0);
  // Mean of the channels, as librosa's to_mono: one output row with weight 1/N for each input channel.
  const int channels = layout.nb_channels;
  std::vector<double> matrix(static_cast<std::size_t>(channels), 1.0 / channels);
  ret = swr_set_matrix(swr.get(), matrix.data(), channels);
  if (ret < 0) fail(ErrorCode::internal, "could not set the downmix matrix: {}", av_error_string(ret));
  ret = swr_init(swr.get());
  if (ret < 0) return nullptr;
  return swr;
}

}  // namespace

MonoResampler::MonoResampler(const AVChannelLayout& layout, AVSampleFormat format, int in_rate, int out_rate)
    : in_rate_(in_rate), out_rate_(out_rate) {
  if (in_rate <= 0 || out_rate <= 0)
    fail(ErrorCode::invalid_argument, "cannot resample from {} Hz to {} Hz: both rates must be positive", in_rate,
         out_rate);
  if (layout.nb_channels <= 0)
    fail(ErrorCode::invalid_argument, "the audio has {} channels; expected at least one", layout.nb_channels);
  swr_ = make_swr(layout, format, in_rate, out_rate, /*soxr=*/true);
  if (!swr_) {
    log_debug("swresample has no soxr engine in this FFmpeg build; using its own resampler");
    swr_ = make_swr(layout, format, in_rate, out_rate, /*soxr=*/false);
  }
  if (!swr_)
    fail(ErrorCode::unsupported, "swresample cannot convert {} channels of {} at {} Hz to mono float at {} Hz",
         layout.nb_channels, av_get_sample_fmt_name(format) ? av_get_sample_fmt_name(format) : "?", in_rate,
         out_rate);
}

void MonoResampler::convert(const std::uint8_t* const* data, int nb_samples, std::vector<float>& out) {
  int capacity = swr_get_out_samples(swr_.get(), nb_samples);
  if (capacity < 0) fail(ErrorCode::internal, "audio resampler: {}", av_error_string(capacity));
  if (capacity == 0) return;
  std::size_t offset = out.size();
  out.resize(offset + static_cast<std::size_t>(capacity));
  std::uint8_t* dst = reinterpret_cast<std::uint8_t*>(out.data() + offset);
  int got = swr_convert(swr_.get(), &dst, capacity, const_cast<const std::uint8_t**>(data), nb_samples);
  if (got < 0) {
    out.resize(offset);
    fail(ErrorCode::internal, "audio resampler failed: {}", av_error_string(got));
  }
  out.resize(offset + static_cast<std::size_t>(got));
}

void MonoResampler::push(const std::uint8_t* const* data, int nb_samples, std::vector<float>& out) {
  if (nb_samples > 0) convert(data, nb_samples, out);
}

void MonoResampler::flush(std::vector<float>& out) { convert(nullptr, 0, out); }

}  // namespace talkgen::ffmpeg
