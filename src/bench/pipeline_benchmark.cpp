#include "bench/pipeline_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "talkgen/error.hpp"
#include "talkgen/media.hpp"

#include "model/layers/device_timing.hpp"

namespace talkgen::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kFps = 25.0;
constexpr int kSpeechRate = 16000;
constexpr int64_t kVaeStrideHW = 8, kVaeStrideT = 4;

using model::layers::median_of;
using model::layers::wait_for_device;

// What happened at a moment of the run, in the order run() reports it.
enum class Mark { preparing, step_done, decoding, decoded, encoded, done };

Mark mark_of(GenerateProgress::Stage stage) {
  switch (stage) {
    case GenerateProgress::Stage::preparing: return Mark::preparing;
    case GenerateProgress::Stage::sampling: return Mark::step_done;
    case GenerateProgress::Stage::decoding: return Mark::decoding;   // the chunk's sampling ended
    case GenerateProgress::Stage::encoding: return Mark::decoded;    // decode + colour match + motion encode ended
    case GenerateProgress::Stage::done: return Mark::done;           // the MP4 is finished
  }
  return Mark::done;
}

struct Event {
  Mark mark;
  Clock::time_point at;
};

void put_u16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xFF));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>((v >> (8 * i)) & 0xFF));
}

}  // namespace

PipelineBenchResult bench_pipeline(pipeline::Pipeline& measured, const GenerateOptions& job,
                                   PipelineBenchHooks bench_hooks) {
  const at::Device device = measured.models().dit->device();
  std::vector<Event> events;
  pipeline::RunHooks hooks;
  hooks.progress = [&](const GenerateProgress& p) {
    wait_for_device(device);
    events.push_back({mark_of(p.stage), Clock::now()});
    return true;
  };
  hooks.comm = bench_hooks.comm;
  pipeline::TestHooks taps;
  // After the Encoder took the chunk's frames (they are on the CPU already: nothing to wait for).
  taps.on_frames = [&](int chunk, const at::Tensor& frames) {
    if (bench_hooks.on_frames) bench_hooks.on_frames(chunk, frames);
    events.push_back({Mark::encoded, Clock::now()});
  };

  wait_for_device(device);
  model::layers::reset_peak_memory(device);
  PipelineBenchResult r;
  const auto started = Clock::now();
  r.job = measured.run(job, std::move(hooks), std::move(taps));
  wait_for_device(device);
  const auto finished = Clock::now();
  r.peak_bytes = model::layers::peak_memory_bytes(device);

  // Each interval goes to the stage its closing event ends.
  auto prev = started;
  for (const Event& e : events) {
    const double s = std::chrono::duration<double>(e.at - prev).count();
    prev = e.at;
    switch (e.mark) {
      case Mark::preparing: r.seconds.preparing += s; break;
      case Mark::step_done: r.seconds.sampling += s; r.step_seconds.push_back(s); break;
      case Mark::decoding: r.seconds.sampling += s; break;
      case Mark::decoded: r.seconds.decoding += s; break;
      case Mark::encoded:
      case Mark::done: r.seconds.encoding += s; break;
    }
  }
  r.seconds.encoding += std::chrono::duration<double>(finished - prev).count();
  r.seconds.total = std::chrono::duration<double>(finished - started).count();

  r.forwards_per_step = r.job.settings.forwards_per_step();
  r.forwards = static_cast<int64_t>(r.job.chunks) * r.job.settings.steps * r.forwards_per_step;
  r.forward_seconds = median_of(r.step_seconds) / std::max(1, r.forwards_per_step);
  const auto& dit = measured.models().dit->config();
  const int64_t latent_frames = (job.frames_per_chunk - 1) / kVaeStrideT + 1;
  r.tokens = latent_frames / dit.patch_size[0] * (r.job.height / kVaeStrideHW / dit.patch_size[1]) *
             (r.job.width / kVaeStrideHW / dit.patch_size[2]);
  return r;
}

double seconds_for_frames(int64_t frames) { return (static_cast<double>(frames) + 0.5) / kFps; }

std::vector<uint8_t> speech_of_length(const std::string& audio_path, double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds) || seconds > 3600)
    fail(ErrorCode::invalid_argument, "benchmark speech length {} s: expected between 0 and 3600 seconds", seconds);
  const Audio source = decode_audio(audio_path, kSpeechRate);
  float peak = 0;
  for (float v : source.samples) peak = std::max(peak, std::fabs(v));
  if (source.samples.empty() || peak < 1e-4f)
    fail(ErrorCode::invalid_argument, "'{}' holds no speech (silent or empty); give a file with speech in it",
         audio_path);
  const auto n = static_cast<size_t>(std::llround(seconds * kSpeechRate));
  std::vector<uint8_t> wav;
  wav.reserve(44 + 2 * n);
  const uint32_t data_bytes = static_cast<uint32_t>(2 * n);
  wav.insert(wav.end(), {'R', 'I', 'F', 'F'});
  put_u32(wav, 36 + data_bytes);
  wav.insert(wav.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
  put_u32(wav, 16);                    // fmt chunk size
  put_u16(wav, 1);                     // PCM
  put_u16(wav, 1);                     // mono
  put_u32(wav, kSpeechRate);
  put_u32(wav, kSpeechRate * 2);       // byte rate
  put_u16(wav, 2);                     // block align
  put_u16(wav, 16);                    // bits per sample
  wav.insert(wav.end(), {'d', 'a', 't', 'a'});
  put_u32(wav, data_bytes);
  for (size_t i = 0; i < n; ++i) {  // looped: longer jobs than the file hear it again from the start
    const float v = std::clamp(source.samples[i % source.samples.size()], -1.0f, 1.0f);
    put_u16(wav, static_cast<uint16_t>(static_cast<int16_t>(std::lround(v * 32767.0f))));
  }
  return wav;
}

}  // namespace talkgen::bench
