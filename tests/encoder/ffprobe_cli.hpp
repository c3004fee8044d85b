// Test helper: the ffprobe command-line tool, for checks that should not rely on our own FFmpeg
// bindings (what an outside player sees).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace talkgen::test {

/// Runs `ffprobe -v error <args> <path>` and returns its standard output split into lines (empty lines
/// dropped). Throws std::runtime_error when ffprobe cannot run or exits non-zero.
std::vector<std::string> ffprobe_lines(const std::string& args, const std::string& path);

/// One packet as ffprobe lists it.
struct ProbedPacket {
  double pts_seconds = 0;
  long size = 0;
  bool keyframe = false;
};
/// The packets of the first stream of `type` ("v" or "a") in `path`, in file order.
std::vector<ProbedPacket> ffprobe_packets(const std::string& path, const std::string& type);

void write_file_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace talkgen::test
