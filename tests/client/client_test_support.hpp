// Tiny demo jobs for the Client tests: a speech-like tone written once to the scratch folder, the example
// portrait, short chunks and few steps, so a whole job takes about a second on the CPU.
#pragma once

#include <filesystem>
#include <string>

#include "support/scratch.hpp"
#include "pipeline/test_media.hpp"  // write_wav, speech_like, portrait_path (shared with the pipeline tests)
#include "talkgen/client.hpp"

namespace talkgen_test {

/// 1 s of speech-like audio (25 video frames), written once.
inline const std::string& one_second_wav() {
  static const std::string path = write_wav("client_speech_1s.wav", speech_like(1.0), 16000);
  return path;
}

/// A fresh scratch folder for one test case.
inline std::string fresh_dir(const std::string& name) { return talkgen_test::fresh_scratch_dir("client_" + name); }

/// A demo job writing `output` (empty: in memory): clip mode, 17-frame chunks, `steps` sampling steps.
inline talkgen::Job tiny_job(const std::string& output, int steps = 2) {
  talkgen::Job job;
  auto& g = job.generate;
  g.image_path = portrait_path();
  g.audio_path = one_second_wav();
  g.output_path = output;
  g.quality = talkgen::Quality::draft;
  g.mode = talkgen::GenerationMode::clip;
  g.frames_per_chunk = 17;
  g.motion_frames = 5;
  g.steps = steps;
  g.encoder.preset = "ultrafast";
  return job;
}

inline talkgen::ClientOptions demo_cpu_options(int cpu_ranks = 1) {
  talkgen::ClientOptions o;
  o.model = "demo";
  o.device = talkgen::DevicePolicy::cpu;
  o.cpu_ranks = cpu_ranks;
  o.retry.base_delay = std::chrono::milliseconds(50);
  return o;
}

/// Files in `dir` whose name contains `part` (e.g. leftover temporary files ".x.mp4.1234.tmp").
inline int files_containing(const std::string& dir, const std::string& part) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(part) != std::string::npos) ++n;
  return n;
}

}  // namespace talkgen_test
