// Decoded FFmpeg pictures -> packed RGB24, the one conversion every image and video input goes through
// (so a portrait and a dubbed video's frames are converted identically).
#pragma once

#include <string>

extern "C" {
#include <libavutil/frame.h>
}

#include "talkgen/media.hpp"

namespace talkgen::media {

/// Any pixel format the decoder produced -> tightly packed RGB24 (bicubic, accurate rounding, full chroma,
/// bit-exact). Alpha is dropped, not blended, as PIL's convert("RGB") does in the reference. `name` is the
/// input's name for errors; `fix` tells the user what to do with a format swscale cannot convert.
Image frame_to_rgb(const AVFrame& frame, const std::string& name, const char* fix);

}  // namespace talkgen::media
