#include "media/encoder_nvenc.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include <fmt/ranges.h>

#include "talkgen/error.hpp"

namespace talkgen::media {

void apply_nvenc_options(AVCodecContext* codec, int cq, const std::string& preset) {
  static const std::map<std::string, std::string> kPresets = {
      {"ultrafast", "p1"}, {"superfast", "p1"}, {"veryfast", "p2"}, {"faster", "p3"}, {"fast", "p3"},
      {"medium", "p4"},    {"slow", "p5"},      {"slower", "p6"},   {"veryslow", "p7"}, {"placebo", "p7"}};
  auto it = kPresets.find(preset);
  const std::string nvenc_preset = it != kPresets.end() ? it->second : preset;  // p1..p7 pass through
  av_opt_set(codec->priv_data, "preset", nvenc_preset.c_str(), 0);
  av_opt_set(codec->priv_data, "tune", "hq", 0);
  // Constant quality: VBR with a cq target and no bitrate cap is NVENC's equivalent of x264's CRF.
  av_opt_set(codec->priv_data, "rc", "vbr", 0);
  av_opt_set_int(codec->priv_data, "cq", cq, 0);
  codec->bit_rate = 0;
}

std::string describe_nvidia_gpus() {
  namespace fs = std::filesystem;
  const fs::path root("/proc/driver/nvidia/gpus");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "no NVIDIA driver is loaded on this machine (/proc/driver/nvidia is absent)";
  std::vector<std::string> models;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::ifstream info(entry.path() / "information");
    std::string line;
    while (std::getline(info, line)) {
      if (line.rfind("Model:", 0) == 0) {
        auto start = line.find_first_not_of(" \t", 6);
        models.push_back(start == std::string::npos ? "unknown model" : line.substr(start));
      }
    }
  }
  if (models.empty()) return "the NVIDIA driver is loaded but lists no GPU";
  return fmt::format("GPUs found: {}", fmt::join(models, ", "));
}

std::string nvenc_open_failure_message(const std::string& ffmpeg_error) {
  return fmt::format(
      "h264_nvenc could not open an encode session ({}); {}. NVENC needs an NVIDIA GPU with a video encoder "
      "engine (GeForce, RTX/Quadro, L4, L40, A10...) and the driver's libnvidia-encode; data-centre GPUs such as "
      "the A100, H100 and H200 have none. Use codec libx264 instead (the default)",
      ffmpeg_error, describe_nvidia_gpus());
}

bool probe_nvenc(std::string* why_not) {
  auto set_reason = [&](std::string reason) {
    if (why_not) *why_not = std::move(reason);
    return false;
  };
  const AVCodec* codec = avcodec_find_encoder_by_name("h264_nvenc");
  if (codec == nullptr) {
    return set_reason(
        "this FFmpeg build has no h264_nvenc encoder (built without --enable-nvenc); use codec libx264 instead "
        "(the default)");
  }
  auto ctx = ffmpeg::make_codec_context(codec);
  ctx->width = 256;
  ctx->height = 256;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = AVRational{1, 25};
  ctx->framerate = AVRational{25, 1};
  apply_nvenc_options(ctx.get(), 23, "medium");
  int ret = avcodec_open2(ctx.get(), codec, nullptr);
  if (ret < 0) return set_reason(nvenc_open_failure_message(ffmpeg::av_error_string(ret)));
  return true;
}

}  // namespace talkgen::media
