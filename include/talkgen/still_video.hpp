// A still video: one image held for the length of the speech. The model-free main job (`talkgen encode`),
// and the smallest end-to-end use of the media path.
#pragma once

#include "talkgen/encoder.hpp"
#include "talkgen/export.hpp"
#include "talkgen/media.hpp"

namespace talkgen {

/// Appends round(audio duration × fps) copies of `image` to `encoder` (in one-second chunks, so memory
/// stays bounded) and sets `audio` as its sound. Does not call finish(). Returns the number of frames.
TALKGEN_API int append_still_video(Encoder& encoder, const Image& image, const Audio& audio, double fps);

}  // namespace talkgen
