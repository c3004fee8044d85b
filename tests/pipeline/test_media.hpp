// Small media files for the pipeline tests, written into the scratch folder.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/scratch.hpp"
namespace talkgen_test {

inline std::string scratch(const std::string& name) { return talkgen_test::scratch_path(name); }

/// 16-bit PCM mono WAV of `samples` in [-1, 1] at `path`.
inline void write_wav_file(const std::string& path, const std::vector<float>& samples, int rate) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t data = static_cast<uint32_t>(samples.size() * 2);
  f.write("RIFF", 4);
  u32(36 + data);
  f.write("WAVEfmt ", 8);
  u32(16);
  u16(1);
  u16(1);
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate * 2));
  u16(2);
  u16(16);
  f.write("data", 4);
  u32(data);
  for (float s : samples) {
    const float c = s < -1 ? -1 : (s > 1 ? 1 : s);
    const int16_t v = static_cast<int16_t>(std::lround(c * 32767));
    f.write(reinterpret_cast<const char*>(&v), 2);
  }
}

/// 16-bit PCM mono WAV of `samples` in [-1, 1]. Written beside and renamed into place: ctest runs test cases
/// as parallel processes, and several rewrite the same file while others read it.
inline std::string write_wav(const std::string& name, const std::vector<float>& samples, int rate) {
  const std::string path = scratch(name);
  const std::string temp = path + ".tmp" + std::to_string(::getpid());
  write_wav_file(temp, samples, rate);
  std::filesystem::rename(temp, path);
  return path;
}

/// A vowel-like tone with a syllable rhythm, `seconds` long.
inline std::vector<float> speech_like(double seconds, int rate = 16000) {
  std::vector<float> s(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < s.size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    const double envelope = 0.5 + 0.5 * std::sin(2 * M_PI * 4 * t);
    s[i] = static_cast<float>(0.3 * envelope * (std::sin(2 * M_PI * 180 * t) + 0.5 * std::sin(2 * M_PI * 720 * t)));
  }
  return s;
}

inline std::string portrait_path() { return std::string(TALKGEN_SOURCE_DIR) + "/examples/portrait.png"; }

}  // namespace talkgen_test
