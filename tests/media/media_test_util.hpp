// Helpers for the media tests: a scratch folder, the ffmpeg CLI to make inputs, raw file I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "talkgen/error.hpp"

namespace media_test {

inline std::string scratch(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(TALKGEN_TEST_SCRATCH_DIR) / "media";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

/// Runs `ffmpeg -y -v error <args>` and requires success (inputs are made with the installed CLI).
inline void ffmpeg(const std::string& args) {
  std::string command = "ffmpeg -nostdin -hide_banner -y -v error " + args;
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

/// How many elements differ (a vector in a failed CHECK would print thousands of numbers).
template <typename T>
std::size_t mismatches(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += !(a[i] == b[i]);
  return n;
}

/// The ErrorCode a call throws; fails the test when it throws nothing or something else.
template <typename F>
talkgen::ErrorCode error_code_of(F&& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    INFO(e.what());
    return e.code();
  }
  FAIL("expected a talkgen::Error");
  return talkgen::ErrorCode::ok;
}

/// The message of the talkgen::Error a call throws.
template <typename F>
std::string error_message_of(F&& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.what();
  }
  FAIL("expected a talkgen::Error");
  return {};
}

}  // namespace media_test
