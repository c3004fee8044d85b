#include "talkgen/still_video.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "talkgen/error.hpp"

namespace talkgen {

int append_still_video(Encoder& encoder, const Image& image, const Audio& audio, double fps) {
  if (audio.samples.empty() || audio.sample_rate <= 0) {
    fail(ErrorCode::invalid_argument, "the speech is empty: nothing to encode (give audio with at least one frame of sound)");
  }
  if (image.width <= 0 || image.height <= 0 || image.rgb.size() != size_t(image.width) * image.height * 3) {
    fail(ErrorCode::invalid_argument, "the image is empty or its pixel buffer does not match {}x{}", image.width, image.height);
  }
  // Less than one frame of speech is no video: rounding it up to one frame would pass off a cut or empty file
  // as a finished result. (The tolerance keeps exactly one frame's worth, e.g. 1920 samples at 48 kHz, in.)
  if (audio.duration_seconds() * fps < 1.0 - 1e-9) {
    fail(ErrorCode::invalid_argument,
         "the speech lasts {:.3f} s, shorter than one video frame ({:.3f} s at {:g} fps): nothing to encode; give "
         "longer speech", audio.duration_seconds(), 1.0 / fps, fps);
  }
  const int total_frames = std::max(1, static_cast<int>(std::lround(audio.duration_seconds() * fps)));
  encoder.set_audio(audio);
  const int chunk = std::max(1, static_cast<int>(std::lround(fps)));
  std::vector<std::uint8_t> frames(static_cast<size_t>(std::min(chunk, total_frames)) * image.rgb.size());
  for (size_t offset = 0; offset < frames.size(); offset += image.rgb.size()) {
    std::copy(image.rgb.begin(), image.rgb.end(), frames.begin() + offset);
  }
  for (int done = 0; done < total_frames; done += chunk) {
    const int n = std::min(chunk, total_frames - done);
    encoder.append(FrameChunk::uint8_thwc(frames.data(), n, image.height, image.width));
  }
  return total_frames;
}

}  // namespace talkgen
