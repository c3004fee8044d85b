// talkgen::Encoder: the state machine that ties the video and audio encoders to the MP4 muxer.
//
// Order of events: options are checked and the output reserved at construction; the first append()
// fixes the frame size and opens the video encoder; the MP4 header is written as soon as both the
// video size and the audio (if any) are known, and from then on every packet goes straight to the
// muxer (packets produced before that wait in `held_`). Audio is encoded up to the video's current
// end after each chunk, so the muxer's interleaving queue stays short.
//
// A live output is a second muxer (media/encoder_fragments.hpp) fed the same packets: the frames are
// encoded once and muxed twice, because H.264 is the expensive half and both outputs want identical
// video. flush_fragment() drains the H.264 encoder so the chunk's last frames (held by x264's
// lookahead and B-frame reordering) are in the fragment, and the next append() reopens it: a new
// encoder starts with an IDR frame, which is what a late joiner needs at each fragment. Same options
// give the same SPS/PPS, so the one avcC in each moov stays valid (checked on every reopen).
// Decode timestamps are made continuous across reopens (see on_video_packet).
#include "talkgen/encoder.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <deque>

#include "media/encoder_audio.hpp"
#include "media/encoder_fragments.hpp"
#include "media/encoder_frames.hpp"
#include "media/encoder_mux.hpp"
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
    if (state != State::finished && output) output->discard();
    // `live` goes with the Impl: FragmentedMp4's destructor drops what is unsent without calling the sink.
  }

  const std::string& name() const {
    static const std::string live_only = "the live MP4 stream";
    return output ? output->name() : live_only;
  }

  void require_open(const char* call) const {
    if (state == State::finished) {
      fail(ErrorCode::invalid_argument, "{}() after finish(): {} is complete; create a new Encoder for another video",
           call, name());
    }
    if (state == State::failed) {
      fail(ErrorCode::invalid_argument,
           "{}() on an Encoder that failed earlier ({}); its output was discarded, create a new Encoder", call,
           failure);
    }
  }

  // Runs a step that changes encoder state. If it throws (FFmpeg, the disk, or a live sink), the video
  // cannot be completed: the outputs are discarded at once (no half-written file stays behind, the live
  // sink is not called again) and later calls are refused.
  template <typename Step>
  void mutate(Step&& step) {
    try {
      step();
    } catch (const std::exception& error) {
      fail_with(error.what());
      throw;
    } catch (...) {
      fail_with("an exception that is not a std::exception");
      throw;
    }
  }

  void fail_with(const char* why) noexcept {
    state = State::failed;
    try {
      failure = why;
    } catch (...) {  // out of memory for the message: the state alone still refuses later calls
    }
    close_mux();
    if (output) output->discard();
    if (live) live->abandon();
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

  // The headers of both outputs, once the video size and the audio (or its absence) are known; then the
  // packets held until now.
  void write_header() {
    if (output) {
      mux = media::make_mp4_muxer();
      output->attach(mux.get());
      video_stream = media::add_mp4_stream(mux.get(), video->codec(), frame_rate);
      if (audio) audio_stream = media::add_mp4_stream(mux.get(), audio->codec(), frame_rate);
      ffmpeg::Dictionary muxer_options;
      muxer_options.set("movflags", "+faststart");  // the index (moov) moves in front at the trailer
      int ret = avformat_write_header(mux.get(), muxer_options.address());
      if (ret < 0) {
        fail(ErrorCode::io_error, "writing the MP4 header of {} failed: {}", output->name(),
             ffmpeg::av_error_string(ret));
      }
    }
    if (live) live->start(video->codec(), frame_rate, audio ? audio->codec() : nullptr);
    headers_written = true;
    for (auto& packet : held_) write_video(packet.get());
    held_.clear();
  }

  // Opens the H.264 encoder again after flush_fragment() drained it (see the top of this file).
  void reopen_video() {
    auto next =
        std::make_unique<media::VideoEncoder>(video->codec()->width, video->codec()->height, frame_rate, options);
    const AVCodecContext* old_codec = video->codec();
    const AVCodecContext* new_codec = next->codec();
    const auto header_bytes = static_cast<std::size_t>(old_codec->extradata_size);
    if (old_codec->extradata_size != new_codec->extradata_size ||
        std::memcmp(old_codec->extradata, new_codec->extradata, header_bytes) != 0) {
      fail(ErrorCode::internal,
           "the reopened H.264 encoder ({}) made other sequence headers (SPS/PPS) than the first one, so the live "
           "stream's fragments would not decode with its init segment. Please report this.",
           new_codec->codec ? new_codec->codec->name : "?");
    }
    video = std::move(next);
    video_drained = false;
    segment_start = frames;
    segment_packets = 0;
  }

  void write_packet(AVPacket* packet, const AVCodecContext* codec, AVStream* stream) {
    av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
    packet->stream_index = stream->index;
    int ret = av_interleaved_write_frame(mux.get(), packet);  // takes the packet's reference
    if (ret < 0) {
      fail(ErrorCode::io_error, "writing {} failed: {}. Check the free space of its disk", name(),
           ffmpeg::av_error_string(ret));
    }
  }

  // The live muxer takes its own reference first; the faststart muxer then takes the packet's.
  void write_video(AVPacket* packet) {
    if (live) live->add_video(packet, video->codec());
    if (mux) write_packet(packet, video->codec(), video_stream);
  }

  void on_video_packet(AVPacket* packet) {
    if (packet->duration == 0) packet->duration = 1;  // constant frame rate: one tick of 1/fps
    if (live) {
      // Each reopened encoder starts its own decode timeline, and x264 gives a sequence shorter than its
      // B-frame delay no delay at all (dts = pts), so a 1-frame chunk followed by a longer one would
      // make the DTS go backwards, which MP4 forbids. The canonical DTS of the i-th packet of a
      // sequence whose frames are segment_start, segment_start + 1, ... is segment_start + i - delay
      // (what x264 itself gives once its delay is established), continuous from one sequence to the next.
      const std::int64_t dts = segment_start + segment_packets++ - video->codec()->has_b_frames;
      if (packet->pts != AV_NOPTS_VALUE && dts > packet->pts) {
        fail(ErrorCode::internal,
             "H.264 packet {} of the sequence from frame {} is reordered beyond the encoder's "
             "declared delay of {} frames. Please report this.",
             segment_packets - 1, segment_start, video->codec()->has_b_frames);
      }
      packet->dts = dts;
    }
    if (headers_written) {
      write_video(packet);
      return;
    }
    auto held = ffmpeg::make_packet();
    av_packet_move_ref(held.get(), packet);
    held_.push_back(std::move(held));
  }

  void on_audio_packet(AVPacket* packet) {
    if (live) live->add_audio(packet, audio->codec());
    if (mux) write_packet(packet, audio->codec(), audio_stream);
  }

  EncoderOptions options;
  AVRational frame_rate;
  std::unique_ptr<media::EncoderOutput> output;  // null for to_fragments(): live output only
  std::unique_ptr<media::FragmentedMp4> live;    // null without a live output
  ffmpeg::OutputFormatPtr mux;
  AVStream* video_stream = nullptr;
  AVStream* audio_stream = nullptr;
  std::unique_ptr<media::VideoEncoder> video;
  std::unique_ptr<media::AudioEncoder> audio;
  FrameChunk frame_size;  // the first chunk's size (its data pointer is not kept)
  std::vector<std::uint8_t> staging;
  std::deque<ffmpeg::PacketPtr> held_;
  std::int64_t frames = 0;
  std::int64_t frames_at_cut = 0;  // frames when flush_fragment() last ended a fragment
  bool headers_written = false;
  bool video_drained = false;        // flush_fragment() drained it; the next append() reopens it
  std::int64_t segment_start = 0;    // first frame of the current H.264 sequence (live: one per fragment)
  std::int64_t segment_packets = 0;  // packets the current sequence has produced
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

Encoder Encoder::to_fragments(FragmentSink sink, const EncoderOptions& options) {
  validate_options(options);
  auto impl = std::make_unique<Impl>(options, nullptr);
  impl->live = std::make_unique<media::FragmentedMp4>(std::move(sink));
  return Encoder(std::move(impl));
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
  if (impl.headers_written) {
    fail(ErrorCode::invalid_argument,
         "set_audio() after the first flush_fragment(): the live stream began without audio and cannot gain a "
         "track. Call set_audio() before the first flush_fragment()");
  }
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
    } else if (impl.video_drained) {
      impl.reopen_video();
    }
    for (int t = 0; t < chunk.frames; ++t) {
      impl.video->encode(media::chunk_frame_rgb(chunk, t, impl.staging), impl.frames, impl.video_sink);
      ++impl.frames;
    }
    if (impl.audio && impl.headers_written) {
      impl.audio->encode_until(impl.audio_samples_for(impl.frames, AV_ROUND_DOWN), impl.audio_sink);
    }
  });
}

void Encoder::add_live_output(FragmentSink sink) {
  Impl& impl = checked(impl_, "add_live_output");
  impl.require_open("add_live_output");
  if (impl.live) fail(ErrorCode::invalid_argument, "add_live_output(): this Encoder already has a live output");
  if (impl.video) {
    fail(ErrorCode::invalid_argument,
         "add_live_output() after append(): the live stream must start with the first frame. Call it before the "
         "first append()");
  }
  impl.live = std::make_unique<media::FragmentedMp4>(std::move(sink));
}

void Encoder::flush_fragment() {
  Impl& impl = checked(impl_, "flush_fragment");
  impl.require_open("flush_fragment");
  if (!impl.live) {
    fail(ErrorCode::invalid_argument,
         "flush_fragment() needs a live output: call add_live_output() before the first append(), or make the "
         "Encoder with Encoder::to_fragments()");
  }
  if (impl.frames == impl.frames_at_cut) {
    fail(ErrorCode::invalid_argument, "flush_fragment() with no frame appended since {}: a fragment needs frames",
         impl.frames_at_cut == 0 ? "the start" : "the previous flush_fragment()");
  }
  impl.mutate([&] {
    impl.video->flush(impl.video_sink);  // the chunk's last frames leave x264's lookahead
    impl.video_drained = true;
    if (!impl.headers_written) impl.write_header();  // no audio yet: the streams begin silent
    if (impl.audio) impl.audio->encode_until(impl.audio_samples_for(impl.frames, AV_ROUND_DOWN), impl.audio_sink);
    impl.live->cut();
    impl.frames_at_cut = impl.frames;
  });
}

void Encoder::finish() {
  Impl& impl = checked(impl_, "finish");
  impl.require_open("finish");
  if (impl.frames == 0) {
    fail(ErrorCode::invalid_argument, "finish() before any frame: append at least one frame chunk first");
  }
  impl.mutate([&] {
    if (!impl.video_drained) impl.video->flush(impl.video_sink);
    if (!impl.headers_written) impl.write_header();
    if (impl.audio) impl.audio->finish(impl.audio_samples_for(impl.frames, AV_ROUND_NEAR_INF), impl.audio_sink);
    if (impl.mux) {
      int ret = av_write_trailer(impl.mux.get());  // also the faststart pass: moov moves in front of mdat
      if (ret < 0) {
        fail(ErrorCode::io_error, "finishing {} failed: {}. Check the free space of its disk", impl.output->name(),
             ffmpeg::av_error_string(ret));
      }
      impl.close_mux();
    }
    // The live stream's last fragment before the file is published: if the sink throws, nothing is.
    if (impl.live) impl.live->finish();
    if (impl.output) impl.output->commit();
    impl.state = Impl::State::finished;
  });
}

std::vector<std::uint8_t> Encoder::take_buffer() {
  Impl& impl = checked(impl_, "take_buffer");
  if (impl.state != Impl::State::finished) {
    fail(ErrorCode::invalid_argument, "take_buffer() needs a finished Encoder: call finish() first");
  }
  if (!impl.output) {
    fail(ErrorCode::invalid_argument,
         "take_buffer() is for Encoder::to_memory(); this Encoder (to_fragments) gave its bytes to its sink");
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
