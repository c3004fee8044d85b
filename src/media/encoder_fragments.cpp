#include "media/encoder_fragments.hpp"

#include <array>
#include <cstring>
#include <string>

#include "media/encoder_mux.hpp"
#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

// Fragments are copied out of this buffer whole, so its size only sets how often write() is called.
constexpr int kAvioBufferSize = 1 << 16;

// FFmpeg 7 (libavformat 61) made the write callback's buffer const.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
using WriteBuffer = const std::uint8_t*;
#else
using WriteBuffer = std::uint8_t*;
#endif

int append_to_pending(void* opaque, WriteBuffer data, int size) {
  auto* pending = static_cast<std::vector<std::uint8_t>*>(opaque);
  try {
    pending->insert(pending->end(), data, data + size);
    return size;
  } catch (const std::bad_alloc&) {
    return AVERROR(ENOMEM);
  }
}

struct BoxSpan {
  std::array<char, 4> type;
  std::size_t offset;
  std::size_t size;
  bool is(const char* name) const { return std::memcmp(type.data(), name, 4) == 0; }
};

// The top-level boxes of `bytes`; internal error when they do not tile it exactly (the muxer always
// writes whole boxes, so anything else is a bug of ours).
std::vector<BoxSpan> top_level_boxes(const std::vector<std::uint8_t>& bytes) {
  std::vector<BoxSpan> boxes;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 8) break;
    std::uint64_t size = 0;
    for (int i = 0; i < 4; ++i) size = (size << 8) | bytes[pos + i];
    if (size == 1 && bytes.size() - pos >= 16) {  // 64-bit size after the type
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | bytes[pos + 8 + i];
    }
    if (size < 8 || size > bytes.size() - pos) break;
    BoxSpan box{{}, pos, static_cast<std::size_t>(size)};
    std::memcpy(box.type.data(), &bytes[pos + 4], 4);
    boxes.push_back(box);
    pos += box.size;
  }
  if (pos != bytes.size()) {
    fail(ErrorCode::internal, "the live MP4 muxer wrote a partial box at byte {} of {}. Please report this.", pos,
         bytes.size());
  }
  return boxes;
}

std::string box_names(const std::vector<BoxSpan>& boxes) {
  std::string names;
  for (const auto& box : boxes) names += (names.empty() ? "" : " ") + std::string(box.type.data(), 4);
  return names;
}

}  // namespace

FragmentedMp4::FragmentedMp4(FragmentSink sink) : sink_(std::move(sink)) {
  if (!sink_) fail(ErrorCode::invalid_argument, "the live output needs a sink: an empty function was given");
  scratch_ = ffmpeg::make_packet();
}

FragmentedMp4::~FragmentedMp4() { abandon(); }

void FragmentedMp4::start(const AVCodecContext* video, AVRational frame_rate, const AVCodecContext* audio) {
  auto mux = make_mp4_muxer();
  video_stream_ = add_mp4_stream(mux.get(), video, frame_rate);
  if (audio != nullptr) audio_stream_ = add_mp4_stream(mux.get(), audio, frame_rate);
  ffmpeg::Dictionary options;
  options.set("movflags", "frag_custom+empty_moov+default_base_moof+delay_moov+skip_trailer");
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  if (buffer == nullptr) fail(ErrorCode::out_of_memory, "could not allocate an I/O buffer for the live MP4");
  // No seek callback: the output is a stream, and movenc's fragmented mode never seeks back.
  pb_.reset(avio_alloc_context(buffer, kAvioBufferSize, 1, &pending_, nullptr, &append_to_pending, nullptr));
  if (!pb_) {
    av_free(buffer);
    fail(ErrorCode::out_of_memory, "could not allocate an I/O context for the live MP4");
  }
  // Set last: from here mux_ must have pb cleared before it is freed (the deleter would close a pb
  // it did not open). Every path that frees mux_ does that.
  mux->pb = pb_.get();
  mux->flags |= AVFMT_FLAG_CUSTOM_IO;
  mux_ = std::move(mux);
  int ret = avformat_write_header(mux_.get(), options.address());
  if (ret < 0) {
    mux_->pb = nullptr;
    mux_.reset();
    fail(ErrorCode::internal, "starting the live MP4 failed: {}", ffmpeg::av_error_string(ret));
  }
}

void FragmentedMp4::add_video(const AVPacket* packet, const AVCodecContext* codec) {
  add(packet, codec, video_stream_);
}

void FragmentedMp4::add_audio(const AVPacket* packet, const AVCodecContext* codec) {
  add(packet, codec, audio_stream_);
}

void FragmentedMp4::add(const AVPacket* packet, const AVCodecContext* codec, AVStream* stream) {
  if (!mux_ || stream == nullptr) fail(ErrorCode::internal, "live MP4: a packet for a track it does not have");
  int ret = av_packet_ref(scratch_.get(), packet);  // shares the data: the faststart muxer gets the same bytes
  if (ret < 0) fail(ErrorCode::out_of_memory, "could not reference a packet: {}", ffmpeg::av_error_string(ret));
  av_packet_rescale_ts(scratch_.get(), codec->time_base, stream->time_base);
  scratch_->stream_index = stream->index;
  // Not av_interleaved_write_frame: in fragmented mode movenc buffers each fragment whole and orders
  // it itself, and an interleaving queue would hold packets back past the cut.
  ret = av_write_frame(mux_.get(), scratch_.get());
  av_packet_unref(scratch_.get());
  if (ret < 0) fail(ErrorCode::internal, "adding a packet to the live MP4 failed: {}", ffmpeg::av_error_string(ret));
  samples_since_cut_ = true;
}

void FragmentedMp4::cut() {
  if (!mux_) fail(ErrorCode::internal, "live MP4: cut before start");
  if (!samples_since_cut_) return;
  int ret = av_write_frame(mux_.get(), nullptr);  // frag_custom: ends the fragment
  if (ret < 0) fail(ErrorCode::internal, "ending a live MP4 fragment failed: {}", ffmpeg::av_error_string(ret));
  if (!init_delivered_) {
    // With delay_moov, movenc's first flush writes only the moov (now that it knows the first samples'
    // timestamps for the edit lists) and keeps the samples; a second flush writes them as fragment 1.
    avio_flush(pb_.get());
    bool has_fragment = false;
    for (const auto& box : top_level_boxes(pending_)) has_fragment |= box.is("moof");
    if (!has_fragment) {
      ret = av_write_frame(mux_.get(), nullptr);
      if (ret < 0)
        fail(ErrorCode::internal, "ending the first live MP4 fragment failed: {}", ffmpeg::av_error_string(ret));
    }
  }
  samples_since_cut_ = false;
  deliver_pending();
}

void FragmentedMp4::finish() {
  cut();
  int ret = av_write_trailer(mux_.get());
  if (ret < 0) fail(ErrorCode::internal, "ending the live MP4 failed: {}", ffmpeg::av_error_string(ret));
  deliver_pending();
  mux_->pb = nullptr;
  mux_.reset();
  pb_.reset();
}

void FragmentedMp4::abandon() noexcept {
  abandoned_ = true;
  if (mux_) mux_->pb = nullptr;
  mux_.reset();
  pb_.reset();
  std::vector<std::uint8_t>().swap(pending_);
}

void FragmentedMp4::deliver_pending() {
  avio_flush(pb_.get());
  if (pb_->error < 0)
    fail(ErrorCode::out_of_memory, "buffering the live MP4 failed: {}", ffmpeg::av_error_string(pb_->error));
  if (pending_.empty()) return;
  std::vector<std::uint8_t> bytes;
  bytes.swap(pending_);  // from here on the bytes are ours: a throwing sink leaves the muxer's buffer clean
  const auto boxes = top_level_boxes(bytes);
  std::size_t media_start = 0;
  if (!init_delivered_) {
    bool has_moov = false;
    while (media_start < boxes.size() && !boxes[media_start].is("moof")) has_moov |= boxes[media_start++].is("moov");
    if (!has_moov || !boxes.front().is("ftyp")) {
      fail(ErrorCode::internal, "the live MP4 muxer began with [{}], not ftyp ... moov. Please report this.",
           box_names(boxes));
    }
  }
  if (media_start < boxes.size() && !boxes[media_start].is("moof")) {
    fail(ErrorCode::internal,
         "the live MP4 muxer wrote [{}] where a fragment (moof, mdat) was expected. Please report "
         "this.",
         box_names(boxes));
  }
  const std::size_t init_size = media_start < boxes.size() ? boxes[media_start].offset : bytes.size();
  if (abandoned_) return;
  if (!init_delivered_) {
    init_delivered_ = true;
    sink_(bytes.data(), init_size, FragmentKind::init);
  }
  if (init_size < bytes.size()) sink_(bytes.data() + init_size, bytes.size() - init_size, FragmentKind::media);
}

}  // namespace talkgen::media
