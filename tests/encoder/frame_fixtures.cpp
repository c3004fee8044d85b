#include "support/scratch.hpp"
#include "encoder/frame_fixtures.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace talkgen::test {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Deterministic grain in [-3, 3] from a hash of the position (the same for every channel, like luma
// noise from a sensor).
int grain(int x, int y, int t) {
  std::uint32_t h = std::uint32_t(x) * 73856093u ^ std::uint32_t(y) * 19349663u ^ std::uint32_t(t) * 83492791u;
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return int(h % 7) - 3;
}

std::uint8_t to_byte(double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

}  // namespace

std::vector<std::uint8_t> make_frames_thwc(int frames, int height, int width, int first_frame) {
  std::vector<std::uint8_t> out(std::size_t(frames) * height * width * 3);
  for (int f = 0; f < frames; ++f) {
    const int t = first_frame + f;
    // A soft disk that drifts across, and a tilted bar: shapes with motion for the encoder to track.
    const double cx = width * (0.3 + 0.4 * std::sin(t * 0.07));
    const double cy = height * (0.5 + 0.2 * std::cos(t * 0.05));
    const double radius = 0.22 * std::min(width, height);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const double u = double(x) / width;
        const double v = double(y) / height;
        double r = 60 + 120 * u + 20 * std::sin(2 * kPi * (v + t / 50.0));
        double g = 50 + 110 * v + 15 * std::cos(2 * kPi * (u * 2 - t / 70.0));
        double b = 160 - 80 * u * v;
        const double d = std::hypot(x - cx, y - cy);
        const double disk = std::clamp((radius - d) / 3.0, 0.0, 1.0);  // 3-pixel soft edge
        r = r * (1 - disk) + 220 * disk;
        g = g * (1 - disk) + 170 * disk;
        b = b * (1 - disk) + 140 * disk;
        const double bar = std::clamp(1.0 - std::abs((x - 0.2 * y) - (0.6 * width + t)) / 4.0, 0.0, 1.0);
        r = r * (1 - bar) + 30 * bar;
        g = g * (1 - bar) + 40 * bar;
        b = b * (1 - bar) + 90 * bar;
        const int n = grain(x, y, t);
        std::uint8_t* px = &out[((std::size_t(f) * height + y) * width + x) * 3];
        px[0] = to_byte(r + n);
        px[1] = to_byte(g + n);
        px[2] = to_byte(b + n);
      }
    }
  }
  return out;
}

std::vector<float> make_frames_cthw(int frames, int height, int width, int first_frame) {
  const auto bytes = make_frames_thwc(frames, height, width, first_frame);
  const std::size_t plane = std::size_t(height) * width;
  std::vector<float> out(3 * std::size_t(frames) * plane);
  for (int c = 0; c < 3; ++c) {
    for (int t = 0; t < frames; ++t) {
      for (std::size_t i = 0; i < plane; ++i) {
        out[(std::size_t(c) * frames + t) * plane + i] = bytes[(std::size_t(t) * plane + i) * 3 + c] / 127.5f - 1.0f;
      }
    }
  }
  return out;
}

Audio make_tone(double seconds, int sample_rate) {
  Audio audio;
  audio.sample_rate = sample_rate;
  audio.samples.resize(static_cast<std::size_t>(std::lround(seconds * sample_rate)));
  for (std::size_t i = 0; i < audio.samples.size(); ++i) {
    const double t = double(i) / sample_rate;
    audio.samples[i] = static_cast<float>(0.3 * std::sin(2 * kPi * 440 * t) * (0.6 + 0.4 * std::sin(2 * kPi * 3 * t)));
  }
  return audio;
}

double psnr(const std::uint8_t* expected, const std::vector<std::uint8_t>& decoded, int height, int width,
            int decoded_width) {
  double squared = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width * 3; ++x) {
      const double d = double(expected[std::size_t(y) * width * 3 + x]) - decoded[std::size_t(y) * decoded_width * 3 + x];
      squared += d * d;
    }
  }
  const double mse = squared / (double(height) * width * 3);
  return mse == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

std::string fresh_scratch_dir(const std::string& name) { return talkgen_test::fresh_scratch_dir("encoder/" + name); }

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace talkgen::test
