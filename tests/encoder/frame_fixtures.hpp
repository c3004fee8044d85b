// Test helper: natural-ish synthetic frames (gradients, soft shapes that move, mild grain), speech-like
// audio, PSNR, and scratch folders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "talkgen/media.hpp"

namespace talkgen::test {

/// T×H×W×3 uint8 RGB; frame t of a video starting at `first_frame` (so chunks can continue a video).
std::vector<std::uint8_t> make_frames_thwc(int frames, int height, int width, int first_frame = 0);
/// The same frames as 3×T×H×W float in [-1, 1]; they convert back to make_frames_thwc() exactly.
std::vector<float> make_frames_cthw(int frames, int height, int width, int first_frame = 0);

/// A 440 Hz tone with a slow tremolo, mono, amplitude 0.3.
Audio make_tone(double seconds, int sample_rate);

/// PSNR (dB) of the top-left `height`×`width` of `decoded` (row stride `decoded_width`) against
/// `expected` (height×width×3).
double psnr(const std::uint8_t* expected, const std::vector<std::uint8_t>& decoded, int height, int width,
            int decoded_width);

/// An empty folder under the test scratch folder, named for the test.
std::string fresh_scratch_dir(const std::string& name);
/// Names of the entries in `dir` (hidden ones included), sorted.
std::vector<std::string> list_dir(const std::string& dir);

}  // namespace talkgen::test
