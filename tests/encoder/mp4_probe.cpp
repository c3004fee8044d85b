#include "encoder/mp4_probe.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "media/ffmpeg_input.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace talkgen::test {
namespace {

using ffmpeg::Input;

double stream_seconds(const AVStream* stream) {
  return stream->duration == AV_NOPTS_VALUE ? 0.0 : stream->duration * av_q2d(stream->time_base);
}

void probe_video(Input& input, bool decode_pixels, Mp4Info& info) {
  int index = av_find_best_stream(input.format(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) return;
  const AVStream* stream = input.format()->streams[index];
  info.video_codec = avcodec_get_name(stream->codecpar->codec_id);
  info.width = stream->codecpar->width;
  info.height = stream->codecpar->height;
  info.fps_num = stream->avg_frame_rate.num;
  info.fps_den = stream->avg_frame_rate.den;
  info.video_seconds = stream_seconds(stream);
  const char* space = av_color_space_name(stream->codecpar->color_space);
  info.color_space = space ? space : "";
  auto decoder = ffmpeg::open_decoder(input, index, AV_EF_EXPLODE);
  ffmpeg::SwsPtr to_rgb;
  ffmpeg::decode_stream(input, index, decoder.get(), ffmpeg::OnCorruptPacket::fail, [&](const AVFrame& frame) {
    ++info.frames;
    const char* format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame.format));
    info.pixel_format = format ? format : "";
    if (!decode_pixels) return true;
    if (!to_rgb) {
      to_rgb.reset(sws_getContext(frame.width, frame.height, static_cast<AVPixelFormat>(frame.format), frame.width,
                                  frame.height, AV_PIX_FMT_RGB24,
                                  SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr));
      // Convert back with the matrix the stream is tagged with, as a player would.
      const int* matrix = sws_getCoefficients(frame.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
      sws_setColorspaceDetails(to_rgb.get(), matrix, frame.color_range == AVCOL_RANGE_JPEG ? 1 : 0, matrix, 1, 0,
                               1 << 16, 1 << 16);
    }
    std::vector<std::uint8_t> rgb(std::size_t(frame.width) * frame.height * 3);
    std::uint8_t* dst[1] = {rgb.data()};
    int dst_stride[1] = {frame.width * 3};
    sws_scale(to_rgb.get(), frame.data, frame.linesize, 0, frame.height, dst, dst_stride);
    info.rgb.push_back(std::move(rgb));
    return true;
  });
}

void probe_audio(Input& input, Mp4Info& info) {
  int index = av_find_best_stream(input.format(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (index < 0) return;
  const AVStream* stream = input.format()->streams[index];
  info.audio_codec = avcodec_get_name(stream->codecpar->codec_id);
  info.audio_rate = stream->codecpar->sample_rate;
  info.audio_channels = stream->codecpar->ch_layout.nb_channels;
  info.audio_seconds = stream_seconds(stream);
  auto decoder = ffmpeg::open_decoder(input, index, AV_EF_EXPLODE);
  ffmpeg::decode_stream(input, index, decoder.get(), ffmpeg::OnCorruptPacket::fail, [&](const AVFrame& frame) {
    info.audio_samples += frame.nb_samples;
    return true;
  });
}

}  // namespace

Mp4Info probe_mp4_file(const std::string& path, bool decode_pixels) {
  Mp4Info info;
  // One demuxer per stream: decode_stream() reads the file through once.
  auto video_input = Input::open_file(path, "an MP4");
  probe_video(video_input, decode_pixels, info);
  auto audio_input = Input::open_file(path, "an MP4");
  probe_audio(audio_input, info);
  return info;
}

Mp4Info probe_mp4_bytes(const std::vector<std::uint8_t>& bytes, bool decode_pixels) {
  Mp4Info info;
  auto video_input = Input::open_bytes(bytes.data(), bytes.size(), "an MP4");
  probe_video(video_input, decode_pixels, info);
  auto audio_input = Input::open_bytes(bytes.data(), bytes.size(), "an MP4");
  probe_audio(audio_input, info);
  return info;
}

std::vector<std::string> top_level_boxes(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> boxes;
  std::size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    std::uint64_t size = (std::uint64_t(bytes[pos]) << 24) | (std::uint64_t(bytes[pos + 1]) << 16) |
                         (std::uint64_t(bytes[pos + 2]) << 8) | std::uint64_t(bytes[pos + 3]);
    boxes.emplace_back(reinterpret_cast<const char*>(&bytes[pos + 4]), 4);
    if (size == 1) {  // 64-bit "largesize" follows the type
      if (pos + 16 > bytes.size()) break;
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | bytes[pos + 8 + i];
    } else if (size == 0) {  // box runs to the end of the file
      size = bytes.size() - pos;
    }
    if (size < 8) throw std::runtime_error("malformed MP4 box size at offset " + std::to_string(pos));
    pos += size;
  }
  if (pos != bytes.size()) throw std::runtime_error("MP4 boxes do not end at the end of the file");
  return boxes;
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace talkgen::test
