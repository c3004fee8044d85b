// Shared by the server tests: media bytes, a scratch data folder, and an in-process `talkgen serve` on an
// ephemeral port with the demo model and tiny jobs (clip mode, 17-frame chunks, 2 steps: about a second each).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/scratch.hpp"
#include "pipeline/test_media.hpp"  // write_wav, speech_like, portrait_path, scratch
#include "server/base64.hpp"
#include "server/server.hpp"

namespace talkgen_test {

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Encoded WAV bytes of speech-like audio, `seconds` long at `rate` Hz (written once per name).
inline std::vector<std::uint8_t> wav_bytes(double seconds, int rate = 16000) {
  const std::string name = "server_speech_" + std::to_string(int(seconds * 1000)) + "_" + std::to_string(rate) + ".wav";
  const std::string path = scratch(name);
  if (!std::filesystem::exists(path)) write_wav(name, speech_like(seconds, rate), rate);
  return read_bytes(path);
}

inline const std::vector<std::uint8_t>& portrait_bytes() {
  static const std::vector<std::uint8_t> bytes = read_bytes(portrait_path());
  return bytes;
}

inline std::string b64(const std::vector<std::uint8_t>& bytes) {
  return talkgen::server::encode_base64(bytes.data(), bytes.size());
}

/// A fresh scratch folder for one server test (under "server_", apart from the other suites' folders).
inline std::string server_scratch_dir(const std::string& name) {
  return talkgen_test::fresh_scratch_dir("server_" + name);
}

/// The demo model on the CPU; every job made tiny.
inline talkgen::server::ServerOptions tiny_server_options(const std::string& data_dir) {
  talkgen::server::ServerOptions o;
  o.client.model = "demo";
  o.client.device = talkgen::DevicePolicy::cpu;
  o.client.cpu_ranks = 1;
  o.port = 0;
  o.data_dir = data_dir;
  o.http_threads = 16;
  o.drain_timeout = std::chrono::seconds(30);
  o.event_keepalive = std::chrono::milliseconds(500);
  o.customize_job = [](talkgen::Job& job) {
    auto& g = job.generate;
    g.mode = talkgen::GenerationMode::clip;
    g.frames_per_chunk = 17;
    g.motion_frames = 5;
    g.steps = 2;
    g.encoder.preset = "ultrafast";
  };
  return o;
}

/// A server running on its own thread until destroyed.
class RunningServer {
 public:
  explicit RunningServer(talkgen::server::ServerOptions options)
      : server_(std::make_unique<talkgen::server::Server>(std::move(options))) {
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  talkgen::server::Server& server() { return *server_; }
  /// Drains from another thread (as SIGTERM does) and waits for run() to return.
  void drain_and_join() {
    server_->drain_and_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::unique_ptr<talkgen::server::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace talkgen_test
