// talkgen::Encoder: the state machine that ties the video and audio encoders to the MP4 muxer.
//
// Order of events: options are checked and the output reserved at construction; the first append()
// fixes the frame size and opens the video encoder; the MP4 header is written as soon as both the
// video size and the audio (if any) are known, and from then on every packet goes straight to the
// muxer (packets produced before that wait in `held_`). Audio is encoded up to the video's current
// end after each chunk, so the muxer's interleaving queue stays short.
#include "talkgen/encoder.hpp"

#include <array>
#include <cmath>
#include <deque>

#include "media/encoder_audio.hpp"
#include "media/encoder_frames.hpp"
#include "media/encoder_nvenc.hpp"
#include "media/encoder_output.hpp"
#include "media/encoder_video.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen {
namespace {

constexpr std::array<const char*, 10> kX264Presets = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                      "medium",    "slow",      "slower",   "veryslow", "placebo"};
constexpr double kMaxFps = 240.0;

bool is_known_preset(const std::string& preset, VideoCodec codec) {
  for (const char* name : kX264Presets) {
    if (preset == name) return true;
  }
  return codec == VideoCodec::h264_nvenc && preset.size() == 2 && preset[0] == 'p' && preset[1] >= '1' &&
         preset[1] <= '7';
}

// 29.97 and friends become the exact NTSC rates (30000/1001), so timestamps never drift.
AVRational frame_rate_from_fps(double fps) {
  for (int nominal : {24, 30, 48, 60, 120, 240}) {
    if (std::abs(fps - nominal * 1000.0 / 1001.0) < 5e-3) return AVRational{nominal * 1000, 1001};
  }
  return av_d2q(fps, 1001000);
}

void validate_options(const EncoderOptions& options) {
  ffmpeg::route_ffmpeg_logs();  // x264's and the muxer's messages go to talkgen's log, not stderr
  if (!std::isfinite(options.fps) || options.fps <= 0.0 || options.fps > kMaxFps) {
    fail(ErrorCode::invalid_argument, "fps is {}; expected a frame rate in (0, {}], e.g. 25", options.fps, kMaxFps);
  }
  if (options.codec != VideoCodec::libx264 && options.codec != VideoCodec::h264_nvenc) {
    fail(ErrorCode::invalid_argument, "unknown video codec (value {}); expected libx264 or h264_nvenc",
         static_cast<int>(options.codec));
  }
  if (options.crf < 0 || options.crf > 51) {
    fail(ErrorCode::invalid_argument, "crf is {}; expected 0..51 (17 is visually lossless, 23 is x264's default)",
         options.crf);
  }
  if (!is_known_preset(options.preset, options.codec)) {
    fail(ErrorCode::invalid_argument,
         "preset '{}' is unknown; expected one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, "
         "veryslow, placebo{}",
         options.preset, options.codec == VideoCodec::h264_nvenc ? " (or p1..p7 for h264_nvenc)" : "");
  }
  if (options.audio_bitrate < 8000 || options.audio_bitrate > 512000) {
    fail(ErrorCode::invalid_argument, "audio_bitrate is {} bit/s; expected 8000..512000, e.g. 128000",
         options.audio_bitrate);
  }
  if (options.audio_sample_rate != 0 && !media::is_aac_sample_rate(options.audio_sample_rate)) {
    media::choose_aac_sample_rate(0, options.audio_sample_rate);  // throws with the list of valid rates
  }
  if (options.codec == VideoCodec::h264_nvenc) {
    std::string why_not;
    if (!media::probe_nvenc(&why_not)) fail(ErrorCode::device_unavailable, "{}", why_not);
  }
}

void validate_audio(const Audio& audio) {
  if (audio.sample_rate < 1000 || audio.sample_rate > 384000) {
    fail(ErrorCode::invalid_argument, "audio sample rate is {} Hz; expected 1000..384000 Hz (speech is usually 16000)",
         audio.sample_rate);
  }
  for (std::size_t i = 0; i < audio.samples.size(); ++i) {
    if (!std::isfinite(audio.samples[i])) {
      fail(ErrorCode::invalid_argument, "audio sample {} (at {:.3f} s) is {}; expected finite values in [-1, 1]", i,
           double(i) / audio.sample_rate, audio.samples[i]);
    }
  }
}

}  // namespace

struct Encoder::Impl {
  enum class State { open, finished, failed };

  Impl(const EncoderOptions& opts, std::unique_ptr<media::EncoderOutput> out)
      : options(opts), frame_rate(frame_rate_from_fps(opts.fps)), output(std::move(out)) {}

  ~Impl() {
    close_mux();
    if (state != State::finished) output->discard();
  }

  void require_open(const char* call) const {
    if (state == State::finished) {
      fail(ErrorCode::invalid_argument, "{}() after finish(): {} is complete; create a new Encoder for another video",
           call, output->name());
    }
    if (state == State::failed) {
      fail(ErrorCode::invalid_argument,
           "{}() on an Encoder that failed earlier ({}); its output was discarded, create a new Encoder", call,
           failure);
    }
  }

  // Runs a step that changes encoder state. If it throws, the video cannot be completed: the output
  // is discarded at once (no half-written file stays behind) and later calls are refused.
  template <typename Step>
  void mutate(Step&& step) {
    try {
      step();
    } catch (const std::exception& error) {
      state = State::failed;
      failure = error.what();
      close_mux();
      output->discard();
      throw;
    }
  }

  void close_mux() {
    if (!mux) return;
    mux->pb = nullptr;  // owned by `output`
    mux.reset();
  }

  // Audio samples that cover `frame_count` frames; `round` is AV_ROUND_DOWN while streaming (never
  // run ahead of the video) and AV_ROUND_NEAR_INF for the final length.
  std::int64_t audio_samples_for(std::int64_t frame_count, AVRounding round) const {
    return av_rescale_rnd(frame_count, std::int64_t(audio->sample_rate()) * frame_rate.den, frame_rate.num, round);
  }

  AVStream* add_stream(const AVCodecContext* codec) {
    AVStream* stream = avformat_new_stream(mux.get(), nullptr);
    if (stream == nullptr) fail(ErrorCode::out_of_memory, "could not add a stream to the MP4 muxer");
    int ret = avcodec_parameters_from_context(stream->codecpar, codec);
    if (ret < 0) fail(ErrorCode::internal, "could not copy codec parameters: {}", ffmpeg::av_error_string(ret));
    stream->time_base = codec->time_base;  // a hint; the muxer picks its own
    if (codec->codec_type == AVMEDIA_TYPE_VIDEO) stream->avg_frame_rate = frame_rate;
    return stream;
  }

  void write_header() {
    AVFormatContext* raw = nullptr;
    int ret = avformat_alloc_output_context2(&raw, nullptr, "mp4", nullptr);
    if (ret < 0 || raw == nullptr) {
      fail(ErrorCode::unsupported, "this FFmpeg build has no MP4 muxer: {}", ffmpeg::av_error_string(ret));
    }
    mux.reset(raw);
    output->attach(raw);
    video_stream = add_stream(video->codec());
    if (audio) audio_stream = add_stream(audio->codec());
    ffmpeg::Dictionary muxer_options;
    muxer_options.set("movflags", "+faststart");  // the index (moov) moves in front at the trailer
    ret = avformat_write_header(mux.get(), muxer_options.address());
    if (ret < 0) {
      fail(ErrorCode::io_error, "writing the MP4 header of {} failed: {}", output->name(), ffmpeg::av_error_string(ret));
    }
    for (auto& packet : held_) write_packet(packet.get(), video->codec(), video_stream);
    held_.clear();
  }

  void write_packet(AVPacket* packet, const AVCodecContext* codec, AVStream* stream) {
    av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
    packet->stream_index = stream->index;
    int ret = av_interleaved_write_frame(mux.get(), packet);  // takes the packet's reference
    if (ret < 0) {
      fail(ErrorCode::io_error, "writing {} failed: {}. Check the free space of its disk", output->name(),
           ffmpeg::av_error_string(ret));
    }
  }

  void on_video_packet(AVPacket* packet) {
    if (packet->duration == 0) packet->duration = 1;  // constant frame rate: one tick of 1/fps
    if (mux) {
      write_packet(packet, video->codec(), video_stream);
      return;
    }
    auto held = ffmpeg::make_packet();
    av_packet_move_ref(held.get(), packet);
    held_.push_back(std::move(held));
  }

  void on_audio_packet(AVPacket* packet) { write_packet(packet, audio->codec(), audio_stream); }

  EncoderOptions options;
  AVRational frame_rate;
  std::unique_ptr<media::EncoderOutput> output;
  ffmpeg::OutputFormatPtr mux;
  AVStream* video_stream = nullptr;
  AVStream* audio_stream = nullptr;
  std::unique_ptr<media::VideoEncoder> video;
  std::unique_ptr<media::AudioEncoder> audio;
  FrameChunk frame_size;  // the first chunk's size (its data pointer is not kept)
  std::vector<std::uint8_t> staging;
  std::deque<ffmpeg::PacketPtr> held_;
  std::int64_t frames = 0;
  State state = State::open;
  std::string failure;
  media::PacketSink video_sink = [this](AVPacket* packet) { on_video_packet(packet); };
  media::PacketSink audio_sink = [this](AVPacket* packet) { on_audio_packet(packet); };
};

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;

Encoder Encoder::to_file(const std::string& path, const EncoderOptions& options) {
  validate_options(options);
  auto output = media::make_file_output(path);
  log_debug("encoder: writing '{}' (fps {}, {}, crf {}, preset {})", path, options.fps,
            options.codec == VideoCodec::libx264 ? "libx264" : "h264_nvenc", options.crf, options.preset);
  return Encoder(std::make_unique<Impl>(options, std::move(output)));
}

Encoder Encoder::to_memory(const EncoderOptions& options) {
  validate_options(options);
  return Encoder(std::make_unique<Impl>(options, media::make_memory_output()));
}

namespace {
// A template so that it can name Encoder::Impl (private) through deduction.
template <typename Impl>
Impl& checked(const std::unique_ptr<Impl>& impl, const char* call) {
  if (!impl) fail(ErrorCode::invalid_argument, "{}() on a moved-from Encoder", call);
  return *impl;
}
}  // namespace

void Encoder::set_audio(const Audio& audio) {
  Impl& impl = checked(impl_, "set_audio");
  impl.require_open("set_audio");
  if (impl.audio) fail(ErrorCode::invalid_argument, "set_audio() was already called; an MP4 gets one speech track");
  validate_audio(audio);
  const int rate = media::choose_aac_sample_rate(audio.sample_rate, impl.options.audio_sample_rate);
  impl.mutate([&] {
    impl.audio = std::make_unique<media::AudioEncoder>(audio, rate, impl.options.audio_bitrate);
    if (impl.video) {
      impl.write_header();
      impl.audio->encode_until(impl.audio_samples_for(impl.frames, AV_ROUND_DOWN), impl.audio_sink);
    }
  });
}

void Encoder::append(const FrameChunk& chunk) {
  Impl& impl = checked(impl_, "append");
  impl.require_open("append");
  media::validate_chunk(chunk, impl.video ? &impl.frame_size : nullptr);
  impl.mutate([&] {
    if (!impl.video) {
      impl.video = std::make_unique<media::VideoEncoder>(media::even_size(chunk.width), media::even_size(chunk.height),
                                                         impl.frame_rate, impl.options);
      impl.frame_size = chunk;
      impl.frame_size.data = nullptr;
      if (chunk.width % 2 != 0 || chunk.height % 2 != 0) {
        log_debug("encoder: {}×{} frames padded to {}×{} (yuv420p needs even sizes)", chunk.width, chunk.height,
                  media::even_size(chunk.width), media::even_size(chunk.height));
      }
      if (impl.audio) impl.write_header();
    }
    for (int t = 0; t < chunk.frames; ++t) {
      impl.video->encode(media::chunk_frame_rgb(chunk, t, impl.staging), impl.frames, impl.video_sink);
      ++impl.frames;
    }
    if (impl.audio && impl.mux) {
      impl.audio->encode_until(impl.audio_samples_for(impl.frames, AV_ROUND_DOWN), impl.audio_sink);
    }
  });
}

void Encoder::finish() {
  Impl& impl = checked(impl_, "finish");
  impl.require_open("finish");
  if (impl.frames == 0) {
    fail(ErrorCode::invalid_argument, "finish() before any frame: append at least one frame chunk first");
  }
  impl.mutate([&] {
    impl.video->flush(impl.video_sink);
    if (!impl.mux) impl.write_header();
    if (impl.audio) impl.audio->finish(impl.audio_samples_for(impl.frames, AV_ROUND_NEAR_INF), impl.audio_sink);
    int ret = av_write_trailer(impl.mux.get());  // also the faststart pass: moov moves in front of mdat
    if (ret < 0) {
      fail(ErrorCode::io_error, "finishing {} failed: {}. Check the free space of its disk", impl.output->name(),
           ffmpeg::av_error_string(ret));
    }
    impl.close_mux();
    impl.output->commit();
    impl.state = Impl::State::finished;
  });
}

std::vector<std::uint8_t> Encoder::take_buffer() {
  Impl& impl = checked(impl_, "take_buffer");
  if (impl.state != Impl::State::finished) {
    fail(ErrorCode::invalid_argument, "take_buffer() needs a finished Encoder: call finish() first");
  }
  return impl.output->take_bytes();
}

int Encoder::frames_written() const { return impl_ ? static_cast<int>(impl_->frames) : 0; }

bool encoder_available(VideoCodec codec, std::string* why_not) {
  ffmpeg::route_ffmpeg_logs();
  switch (codec) {
    case VideoCodec::libx264:
      if (avcodec_find_encoder_by_name("libx264") != nullptr) return true;
      if (why_not) *why_not = "this FFmpeg build has no libx264 encoder (built without --enable-libx264)";
      return false;
    case VideoCodec::h264_nvenc:
      return media::probe_nvenc(why_not);
  }
  if (why_not) *why_not = fmt::format("unknown video codec (value {})", static_cast<int>(codec));
  return false;
}

}  // namespace talkgen
