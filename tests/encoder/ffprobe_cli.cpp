#include "encoder/ffprobe_cli.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace talkgen::test {

std::vector<std::string> ffprobe_lines(const std::string& args, const std::string& path) {
  const std::string command = "ffprobe -v error " + args + " '" + path + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("ffprobe failed (status " + std::to_string(status) + "): " + command);
  }
  std::vector<std::string> lines;
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<ProbedPacket> ffprobe_packets(const std::string& path, const std::string& type) {
  std::vector<ProbedPacket> packets;
  // ffprobe prints the fields in its own fixed order (pts_time, size, flags), whatever order is asked.
  for (const auto& line :
       ffprobe_lines("-select_streams " + type + ":0 -show_entries packet=pts_time,size,flags -of csv=p=0", path)) {
    ProbedPacket packet;
    std::istringstream fields(line);
    std::string pts, size, flags;
    std::getline(fields, pts, ',');
    std::getline(fields, size, ',');
    std::getline(fields, flags, ',');
    packet.pts_seconds = std::stod(pts);
    packet.size = std::stol(size);
    packet.keyframe = flags.find('K') != std::string::npos;
    packets.push_back(packet);
  }
  return packets;
}

void write_file_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + path);
}

}  // namespace talkgen::test
