// The Encoder's live output: an MP4 muxer in fragmented mode whose bytes go to a FragmentSink, cut into
// the init segment (ftyp + moov) and one moof + mdat per fragment.
//
// movflags frag_custom + empty_moov + default_base_moof + delay_moov + skip_trailer:
//  - frag_custom: fragments end only when we say so (av_write_frame(mux, nullptr)), i.e. per chunk;
//  - empty_moov: the moov has empty sample tables, every sample is in a fragment (what MSE needs);
//  - default_base_moof: sample offsets count from the moof, so a fragment is self-contained (MSE, DASH);
//  - delay_moov: the moov is written at the first cut, once the first samples are known, so it can carry
//    the edit lists that hide H.264's B-frame decode delay (2 frames) and AAC's 1024 priming samples:
//    the live stream then starts at 0 with audio and video aligned exactly as in the faststart MP4.
//    Without it movenc must shift both tracks instead (video would start at +80 ms and the priming
//    samples would play). Nothing is lost: the init segment is useless before the first fragment.
//    (Extradata is not the reason: both encoders use global headers, so it is known at the start.)
//  - skip_trailer: no mfra index at the end; the stream is exactly init + fragments, which MSE wants.
// The muxer writes into a growable buffer through a non-seekable AVIOContext; the bytes are handed to
// the sink only after the muxer call returns (never from inside FFmpeg's write callback, so a sink may
// throw), split at top-level box boundaries so every delivery is whole.
#pragma once

#include <cstdint>
#include <vector>

#include "media/ffmpeg_util.hpp"
#include "talkgen/encoder.hpp"

namespace talkgen::media {

class FragmentedMp4 {
 public:
  explicit FragmentedMp4(FragmentSink sink);
  ~FragmentedMp4();
  FragmentedMp4(const FragmentedMp4&) = delete;
  FragmentedMp4& operator=(const FragmentedMp4&) = delete;

  /// Adds the tracks (audio may be null: a silent stream) and starts the muxer. Nothing reaches the
  /// sink yet (delay_moov).
  void start(const AVCodecContext* video, AVRational frame_rate, const AVCodecContext* audio);
  bool started() const { return static_cast<bool>(mux_); }

  /// Adds a packet (timestamps in its codec's time base) to the open fragment. Takes a new reference:
  /// the caller keeps `packet` unchanged.
  void add_video(const AVPacket* packet, const AVCodecContext* codec);
  void add_audio(const AVPacket* packet, const AVCodecContext* codec);

  /// Ends the open fragment and delivers it (preceded by the init segment the first time). Nothing is
  /// delivered when no sample was added since the last cut.
  void cut();
  /// Cuts the last fragment and closes the muxer (no trailer box: skip_trailer).
  void finish();
  /// Drops the muxer and whatever was not delivered; the sink is never called again. Never throws.
  void abandon() noexcept;

 private:
  void add(const AVPacket* packet, const AVCodecContext* codec, AVStream* stream);
  void deliver_pending();

  FragmentSink sink_;
  ffmpeg::AvioContextPtr pb_;
  ffmpeg::OutputFormatPtr mux_;
  AVStream* video_stream_ = nullptr;
  AVStream* audio_stream_ = nullptr;
  ffmpeg::PacketPtr scratch_;
  std::vector<std::uint8_t> pending_;  // what the muxer wrote and the sink has not been given yet
  bool samples_since_cut_ = false;
  bool init_delivered_ = false;
  bool abandoned_ = false;
};

}  // namespace talkgen::media
