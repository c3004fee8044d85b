// Audio files (WAV, MP3, FLAC, M4A/AAC, OGG/Opus, anything FFmpeg demuxes) to mono float32.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "media/ffmpeg_input.hpp"
#include "media/ffmpeg_resample.hpp"
#include "media/media_limits.hpp"
#include "media/wav_header.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

const char* const kWhat = "audio (WAV, MP3, FLAC, M4A/AAC or OGG/Opus)";

// Rates outside this range are almost certainly a caller's mistake (Hz vs kHz).
constexpr int kMinRate = 1000;
constexpr int kMaxRate = 384000;

void check_rate(int sample_rate) {
  if (sample_rate < kMinRate || sample_rate > kMaxRate)
    fail(ErrorCode::invalid_argument, "sample_rate {} Hz is out of range; expected {}..{} Hz (16000 for wav2vec2)",
         sample_rate, kMinRate, kMaxRate);
}

ffmpeg::OpenOptions open_options(const DecodeLimits& limits) {
  ffmpeg::OpenOptions options;
  options.max_pixels = limits.max_pixels;  // cover art or a video track is probed too
  return options;
}

Audio decode(ffmpeg::Input& input, int sample_rate, const DecodeLimits& limits) {
  const AVCodec* codec = nullptr;
  int stream = av_find_best_stream(input.format(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (stream == AVERROR_STREAM_NOT_FOUND)
    fail(ErrorCode::unsupported, "{} holds no audio stream (FFmpeg reads it as '{}'); expected {}", input.name(),
         input.format()->iformat->name, kWhat);
  if (stream < 0 && stream != AVERROR_DECODER_NOT_FOUND)
    fail(ErrorCode::invalid_argument, "could not select the audio stream of {}: {}", input.name(),
         ffmpeg::av_error_string(stream));
  if (stream == AVERROR_DECODER_NOT_FOUND)  // let open_decoder name the codec
    stream = av_find_best_stream(input.format(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  // Before decoding anything: the length the header states, and whether the file is all there.
  const std::optional<double> header_seconds = input.header(stream).seconds;
  media::check_header_seconds(input.name(), header_seconds, limits, "audio");
  if (std::string(input.format()->iformat->name) == "wav") media::check_wav_complete(input);
  ffmpeg::CodecContextPtr decoder = ffmpeg::open_decoder(input, stream);

  // Built on the first frame: some decoders only know the layout / format once they have decoded one.
  std::unique_ptr<ffmpeg::MonoResampler> resampler;
  Audio audio;
  audio.sample_rate = sample_rate;
  int frames = 0;
  int channels = 0;
  std::int64_t samples_in = 0;  // at the input's rate: what max_seconds bounds, whatever the header said
  auto on_frame = [&](const AVFrame& frame) {
    if (!resampler) {
      AVChannelLayout layout{};
      if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)  // e.g. raw WAV without a channel mask
        av_channel_layout_default(&layout, frame.ch_layout.nb_channels);
      else
        av_channel_layout_copy(&layout, &frame.ch_layout);
      resampler = std::make_unique<ffmpeg::MonoResampler>(layout, static_cast<AVSampleFormat>(frame.format),
                                                          frame.sample_rate, sample_rate);
      av_channel_layout_uninit(&layout);
      channels = frame.ch_layout.nb_channels;
    }
    if (frame.sample_rate != resampler->in_rate() || frame.ch_layout.nb_channels != channels)
      fail(ErrorCode::unsupported,
           "{} changes its format mid-stream ({} Hz, {} channels -> {} Hz, {} channels); re-encode it with one format",
           input.name(), resampler->in_rate(), channels, frame.sample_rate, frame.ch_layout.nb_channels);
    samples_in += frame.nb_samples;
    if (media::over_seconds(static_cast<double>(samples_in) / frame.sample_rate, limits))
      media::fail_too_long(input.name(), limits, "audio");  // before this frame is kept
    resampler->push(frame.extended_data, frame.nb_samples, audio.samples);
    ++frames;
    return true;
  };
  const ffmpeg::DecodeStats stats =
      ffmpeg::decode_stream(input, stream, decoder.get(), ffmpeg::OnCorruptPacket::skip, on_frame);
  if (frames == 0)
    fail(ErrorCode::invalid_argument, "{} contains no decodable audio; the file is empty, truncated or corrupt",
         input.name());
  media::check_complete(input.name(), header_seconds, static_cast<double>(samples_in) / resampler->in_rate(),
                        stats.last_packet_rejected, "audio");
  resampler->flush(audio.samples);
  return audio;
}

}  // namespace

Audio decode_audio(const std::string& path, int sample_rate, const DecodeLimits& limits) {
  check_rate(sample_rate);
  media::check_limits(limits);
  ffmpeg::Input input = ffmpeg::Input::open_file(path, kWhat, open_options(limits));
  return decode(input, sample_rate, limits);
}

Audio decode_audio_bytes(const std::uint8_t* data, std::size_t size, int sample_rate, const DecodeLimits& limits) {
  check_rate(sample_rate);
  media::check_limits(limits);
  ffmpeg::Input input = ffmpeg::Input::open_bytes(data, size, kWhat, open_options(limits));
  return decode(input, sample_rate, limits);
}

}  // namespace talkgen
