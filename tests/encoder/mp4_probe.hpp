// Test helper: decodes an MP4 (file or bytes) back with libavformat / libavcodec and reports what a
// player would see, plus the order of the file's top-level boxes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace talkgen::test {

struct Mp4Info {
  std::string video_codec;  // "h264"; empty when there is no video stream
  std::string audio_codec;  // "aac"; empty when there is no audio stream
  std::string pixel_format; // "yuv420p"
  std::string color_space;  // "bt709"
  int width = 0;
  int height = 0;
  int fps_num = 0;  // the stream's average frame rate
  int fps_den = 1;
  int frames = 0;   // frames decoded
  double video_seconds = 0;  // the video stream's duration in the container
  int audio_rate = 0;
  int audio_channels = 0;
  double audio_seconds = 0;        // the audio stream's duration in the container (edit list applied)
  std::int64_t audio_samples = 0;  // samples decoded
  std::vector<std::vector<std::uint8_t>> rgb;  // decoded frames as packed RGB24, when asked for
};

Mp4Info probe_mp4_file(const std::string& path, bool decode_pixels);
Mp4Info probe_mp4_bytes(const std::vector<std::uint8_t>& bytes, bool decode_pixels);

/// Four-character types of the top-level boxes in file order, e.g. {"ftyp", "moov", "free", "mdat"}.
std::vector<std::string> top_level_boxes(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

}  // namespace talkgen::test
