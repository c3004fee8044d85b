#include "media/encoder_audio.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

constexpr std::array<int, 13> kAacRates = {7350,  8000,  11025, 12000, 16000, 22050, 24000,
                                           32000, 44100, 48000, 64000, 88200, 96000};
constexpr const char* kWhat = "AAC audio";

std::vector<float> resample(const std::vector<float>& input, int from_rate, int to_rate) {
  if (from_rate == to_rate || input.empty()) return input;
  SwrContext* raw = nullptr;
  AVChannelLayout mono;
  av_channel_layout_default(&mono, 1);
  int ret = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, to_rate, &mono, AV_SAMPLE_FMT_FLT, from_rate, 0, nullptr);
  ffmpeg::SwrPtr swr(raw);
  if (ret < 0 || (ret = swr_init(swr.get())) < 0) {
    fail(ErrorCode::internal, "swresample cannot convert {} Hz to {} Hz: {}", from_rate, to_rate,
         ffmpeg::av_error_string(ret));
  }
  const int in_count = static_cast<int>(input.size());
  std::vector<float> output(static_cast<std::size_t>(swr_get_out_samples(swr.get(), in_count)) + 256);
  const auto* in = reinterpret_cast<const std::uint8_t*>(input.data());
  auto* out = reinterpret_cast<std::uint8_t*>(output.data());
  int got = swr_convert(swr.get(), &out, static_cast<int>(output.size()), &in, in_count);
  if (got < 0) fail(ErrorCode::internal, "resampling {} Hz to {} Hz failed: {}", from_rate, to_rate, ffmpeg::av_error_string(got));
  // Drain the filter's delay so the tail of the speech is not lost.
  out = reinterpret_cast<std::uint8_t*>(output.data() + got);
  int tail = swr_convert(swr.get(), &out, static_cast<int>(output.size()) - got, nullptr, 0);
  if (tail > 0) got += tail;
  output.resize(static_cast<std::size_t>(got));
  return output;
}

}  // namespace

bool is_aac_sample_rate(int rate) { return std::find(kAacRates.begin(), kAacRates.end(), rate) != kAacRates.end(); }

int choose_aac_sample_rate(int input_rate, int requested) {
  if (requested != 0) {
    if (!is_aac_sample_rate(requested)) {
      fail(ErrorCode::invalid_argument,
           "audio_sample_rate {} is not a rate AAC supports; use 0 (follow the input) or one of 8000, 16000, 22050, "
           "24000, 32000, 44100, 48000",
           requested);
    }
    return requested;
  }
  for (int rate : kAacRates) {
    if (rate >= input_rate) return rate;
  }
  return kAacRates.back();
}

AudioEncoder::AudioEncoder(const Audio& audio, int sample_rate, int bitrate) {
  samples_ = resample(audio.samples, audio.sample_rate, sample_rate);

  const AVCodec* codec = avcodec_find_encoder_by_name("aac");
  if (codec == nullptr) fail(ErrorCode::unsupported, "this FFmpeg build has no native AAC encoder ('aac')");
  codec_ = ffmpeg::make_codec_context(codec);
  AVCodecContext* ctx = codec_.get();
  ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
  ctx->sample_rate = sample_rate;
  ctx->time_base = AVRational{1, sample_rate};
  av_channel_layout_default(&ctx->ch_layout, 1);
  // AAC carries at most 6144 bits per channel per 1024-sample frame; above that FFmpeg clamps and warns.
  ctx->bit_rate = std::min<std::int64_t>(bitrate, std::int64_t(6) * sample_rate);
  ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ret = avcodec_open2(ctx, codec, nullptr);
  if (ret < 0) {
    fail(ErrorCode::unsupported, "the AAC encoder could not be opened at {} Hz mono, {} bit/s: {}", sample_rate,
         ctx->bit_rate, ffmpeg::av_error_string(ret));
  }

  frame_ = ffmpeg::make_frame();
  frame_->format = ctx->sample_fmt;
  frame_->sample_rate = sample_rate;
  av_channel_layout_copy(&frame_->ch_layout, &ctx->ch_layout);
  frame_->nb_samples = ctx->frame_size;
  ret = av_frame_get_buffer(frame_.get(), 0);
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not allocate an audio frame: {}", ffmpeg::av_error_string(ret));
  packet_ = ffmpeg::make_packet();
}

void AudioEncoder::encode_frame(int samples, const PacketSink& sink) {
  int ret = av_frame_make_writable(frame_.get());
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not get a writable audio frame: {}", ffmpeg::av_error_string(ret));
  frame_->nb_samples = samples;
  auto* out = reinterpret_cast<float*>(frame_->data[0]);
  const auto available = static_cast<std::int64_t>(samples_.size());
  for (int i = 0; i < samples; ++i) {
    const std::int64_t source = position_ + i;
    // Past the end of the speech: silence, so the track lasts as long as the video.
    out[i] = source < available ? std::clamp(samples_[static_cast<std::size_t>(source)], -1.0f, 1.0f) : 0.0f;
  }
  frame_->pts = position_;
  position_ += samples;
  encode_and_drain(codec_.get(), frame_.get(), packet_.get(), sink, kWhat);
}

void AudioEncoder::encode_until(std::int64_t sample_count, const PacketSink& sink) {
  const int frame_size = codec_->frame_size;
  while (position_ + frame_size <= sample_count) encode_frame(frame_size, sink);
}

void AudioEncoder::finish(std::int64_t total_samples, const PacketSink& sink) {
  encode_until(total_samples, sink);
  // Only the last frame may be short (FFmpeg's rule for fixed-frame-size encoders).
  if (position_ < total_samples) encode_frame(static_cast<int>(total_samples - position_), sink);
  encode_and_drain(codec_.get(), nullptr, packet_.get(), sink, kWhat);
}

}  // namespace talkgen::media
