// Video files to upright RGB frames, frame by frame, for dubbing (a video instead of a portrait).
//
// Frame i is the i-th picture the decoder gives in presentation order, at the file's own rate: the
// reference reads its condition video with decord (VideoReader(path)[i]), which does no frame-rate
// conversion either. Unlike decord, the stream's display rotation (phone videos) is applied, as
// decode_image applies EXIF orientation: the model needs the face upright. Only the frames a caller keeps
// are converted to RGB, so a long 1080p video costs decoding time but not gigabytes of memory.
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "media/ffmpeg_input.hpp"
#include "media/image_header.hpp"
#include "media/media_limits.hpp"
#include "media/rgb_convert.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

const char* const kWhat = "a video (MP4, MOV, MKV, WebM or AVI)";
// The rate that turns frames into seconds for DecodeLimits::max_seconds when the file states none (the
// pipeline's own rate).
constexpr double kNominalFps = 25.0;

// The first stream that carries moving pictures: cover art (an MP3's or M4A's attached picture) is a
// "video" stream to FFmpeg but not a video to dub.
int find_video_stream(const ffmpeg::Input& input) {
  const AVFormatContext* format = input.format();
  bool cover_art = false;
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    const AVStream* s = format->streams[i];
    if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if (s->disposition & AV_DISPOSITION_ATTACHED_PIC) {
      cover_art = true;
      continue;
    }
    return static_cast<int>(i);
  }
  fail(ErrorCode::unsupported, "{} holds no video stream{} (FFmpeg reads it as '{}'); expected {} to dub",
       input.name(), cover_art ? ", only cover art" : "", format->iformat->name, kWhat);
}

// Clockwise degrees (0, 90, 180, 270) that turn the stored pictures upright, from the stream's display
// matrix, as the ffmpeg CLI's autorotate computes them.
int upright_rotation(const AVStream& stream, const std::string& name) {
  const std::uint8_t* matrix = nullptr;
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 31, 102)
  const AVPacketSideData* side = av_packet_side_data_get(stream.codecpar->coded_side_data,
                                                         stream.codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
  if (side != nullptr && side->size >= 9 * sizeof(std::int32_t)) matrix = side->data;
#else
  size_t size = 0;
  matrix = av_stream_get_side_data(&stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (size < 9 * sizeof(std::int32_t)) matrix = nullptr;
#endif
  if (matrix == nullptr) return 0;
  std::int32_t m[9];
  std::memcpy(m, matrix, sizeof(m));
  const double angle = av_display_rotation_get(m);  // counter-clockwise, NaN for a degenerate matrix
  if (std::isnan(angle)) return 0;
  double theta = std::fmod(-std::round(angle), 360.0);
  if (theta < 0) theta += 360.0;
  const int quarter = static_cast<int>(std::lround(theta / 90.0)) % 4;
  if (std::abs(theta - 90.0 * std::lround(theta / 90.0)) > 1.0)
    log_warn("{}: display rotation of {:.1f} degrees is not a multiple of 90; using {} degrees", name, theta,
             quarter * 90);
  return quarter * 90;
}


// Rotates packed RGB clockwise by 90, 180 or 270 degrees.
Image rotate(const Image& in, int degrees) {
  if (degrees == 0) return in;
  const int w = in.width, h = in.height;
  Image out;
  out.width = degrees == 180 ? w : h;
  out.height = degrees == 180 ? h : w;
  out.rgb.resize(in.rgb.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;  // the stored pixel shown at (x, y)
      if (degrees == 90) {
        sx = y;
        sy = h - 1 - x;
      } else if (degrees == 180) {
        sx = w - 1 - x;
        sy = h - 1 - y;
      } else {
        sx = w - 1 - y;
        sy = x;
      }
      std::memcpy(&out.rgb[(static_cast<std::size_t>(y) * out.width + x) * 3],
                  &in.rgb[(static_cast<std::size_t>(sy) * w + sx) * 3], 3);
    }
  }
  return out;
}

}  // namespace

VideoFrames decode_video_frames(const std::string& path, const std::function<bool(std::int64_t)>& keep,
                                std::int64_t limit, const DecodeLimits& limits) {
  media::check_limits(limits);
  ffmpeg::OpenOptions options;
  options.max_pixels = limits.max_pixels;  // probing decodes a few frames
  ffmpeg::Input input = ffmpeg::Input::open_file(path, kWhat, options);
  const int stream = find_video_stream(input);
  const AVStream& st = *input.format()->streams[stream];
  const int rotation = upright_rotation(st, input.name());

  // Before decoding: the frame size (the container's, or a still image's header) and the length to be read.
  // The container's size as it was before probing: a probe that max_pixels refused leaves codecpar's at 0.
  media::check_pixels(input.name(), input.header(stream).width, input.header(stream).height, limits);
  media::check_pixels(input.name(), st.codecpar->width, st.codecpar->height, limits);
  if (const auto size = media::read_picture_size(input))
    media::check_pixels(input.name(), size->width, size->height, limits);
  const bool has_fps = st.avg_frame_rate.num > 0 && st.avg_frame_rate.den > 0;
  const double fps = has_fps ? av_q2d(st.avg_frame_rate) : kNominalFps;
  const bool limit_stops_in_time = limit > 0 && !media::over_seconds(static_cast<double>(limit) / fps, limits);
  const std::optional<double> header_seconds = input.header(stream).seconds;
  if (!limit_stops_in_time) media::check_header_seconds(input.name(), header_seconds, limits, "video");
  // A still image is strict, as in decode_image: a truncated picture is an error, not one partly grey frame.
  const int strict = media::is_still_image(input) ? AV_EF_EXPLODE : 0;
  ffmpeg::CodecContextPtr decoder = ffmpeg::open_decoder(input, stream, strict, limits.max_pixels);

  VideoFrames video;
  if (has_fps) video.fps = fps;
  auto add = [&](const AVFrame& frame, std::int64_t index) {
    video.indices.push_back(index);
    video.images.push_back(rotate(media::frame_to_rgb(frame, input.name(), "re-encode it as H.264"), rotation));
  };
  // The newest frame not converted yet: the last frame read is always returned (a job whose speech outlasts
  // the video holds it), and which one is last is known only at the end.
  ffmpeg::FramePtr pending = ffmpeg::make_frame();
  bool has_pending = false;
  auto on_frame = [&](const AVFrame& frame) {
    if (media::over_seconds(static_cast<double>(video.frames_read + 1) / fps, limits))
      media::fail_too_long(input.name(), limits, "video");
    const std::int64_t index = video.frames_read++;
    if (index == 0) {
      video.width = frame.width;
      video.height = frame.height;
    } else if (frame.width != video.width || frame.height != video.height) {
      fail(ErrorCode::unsupported, "{} changes its frame size mid-stream ({}x{} -> {}x{}); re-encode it with one size",
           input.name(), video.width, video.height, frame.width, frame.height);
    }
    av_frame_unref(pending.get());
    has_pending = false;
    if (keep && keep(index)) {
      add(frame, index);
    } else {
      const int ret = av_frame_ref(pending.get(), &frame);
      if (ret < 0) fail(ErrorCode::out_of_memory, "could not hold a frame of {}: {}", input.name(), ffmpeg::av_error_string(ret));
      has_pending = true;
    }
    return limit <= 0 || video.frames_read < limit;
  };
  const ffmpeg::DecodeStats stats =
      ffmpeg::decode_stream(input, stream, decoder.get(), ffmpeg::OnCorruptPacket::skip, on_frame);
  if (video.frames_read == 0)
    fail(ErrorCode::invalid_argument, "{} holds no decodable picture; the file is empty, truncated or corrupt{}",
         input.name(),
         stats.skipped_packets > 0 ? fmt::format(" (or its frames are over {})", media::pixel_limit_text(limits))
                                   : std::string());
  // Read to its end: as long as the header said? (Frames at the file's own rate, so frames / fps is its time.)
  if (stats.reached_end && has_fps)
    media::check_complete(input.name(), header_seconds, static_cast<double>(video.frames_read) / fps,
                          stats.last_packet_rejected, "video");
  if (has_pending) add(*pending, video.frames_read - 1);
  video.reached_end = limit <= 0 || video.frames_read < limit;
  if (rotation == 90 || rotation == 270) std::swap(video.width, video.height);
  return video;
}

}  // namespace talkgen
