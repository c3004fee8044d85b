// Inputs for the C ABI tests' demo jobs: the example portrait and a tone WAV made in memory. Includes no
// talkgen header, so the 0.1.0 caller (abi_0_1_caller_test.cpp) can use it too.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace capi_test {

inline const std::string& portrait_path() {
  static const std::string path = std::string(TALKGEN_SOURCE_DIR) + "/examples/portrait.png";
  return path;
}

/// A 16-bit mono 16 kHz WAV of a 220 Hz tone, in memory (exercises talkgen_job_params.audio_data).
inline std::vector<std::uint8_t> tone_wav(double seconds) {
  const std::uint32_t rate = 16000, samples = static_cast<std::uint32_t>(seconds * rate), data_bytes = samples * 2;
  std::vector<std::uint8_t> wav;
  auto put = [&](std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) wav.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto tag = [&](const char* t) { wav.insert(wav.end(), t, t + 4); };
  tag("RIFF"); put(36 + data_bytes, 4); tag("WAVE");
  tag("fmt "); put(16, 4); put(1, 2); put(1, 2); put(rate, 4); put(rate * 2, 4); put(2, 2); put(16, 2);
  tag("data"); put(data_bytes, 4);
  for (std::uint32_t i = 0; i < samples; ++i) {
    const auto s = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 220.0 * i / rate));
    put(static_cast<std::uint16_t>(s), 2);
  }
  return wav;
}

}  // namespace capi_test
