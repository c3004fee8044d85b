// h264_nvenc specifics: option mapping, the availability probe, and error messages that say what the
// GPU situation is (no NVIDIA driver, or a GPU without an NVENC engine such as the H100/H200).
#pragma once

#include <string>

#include "media/ffmpeg_util.hpp"

namespace talkgen::media {

/// Sets NVENC's rate control to constant quality `cq` (0..51) and maps an x264 preset name (or p1..p7)
/// onto NVENC's p1..p7.
void apply_nvenc_options(AVCodecContext* codec, int cq, const std::string& preset);

/// "no NVIDIA driver is loaded (/proc/driver/nvidia is absent)" or "GPUs found: NVIDIA H100 80GB HBM3".
std::string describe_nvidia_gpus();

/// The message for an NVENC session that could not be opened (`ffmpeg_error` from avcodec_open2).
std::string nvenc_open_failure_message(const std::string& ffmpeg_error);

/// Opens and closes a small h264_nvenc session. False (with the reason) when FFmpeg lacks h264_nvenc
/// or no device can open one.
bool probe_nvenc(std::string* why_not);

}  // namespace talkgen::media
