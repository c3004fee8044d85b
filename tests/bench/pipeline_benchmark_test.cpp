// `talkgen bench pipeline`'s parts: random models, the speech of a given length, the stage timing of a job.
#include "support/catch_torch.hpp"  // first: see there

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include <ATen/core/grad_mode.h>

#include "bench/pipeline_benchmark.hpp"
#include "bench/pipeline_group_benchmark.hpp"
#include "pipeline/random_models.hpp"
#include "model/layers/random_fill.hpp"
#include "distributed/distributed_runner.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "pipeline/test_media.hpp"
#include "support/error_capture.hpp"

using namespace talkgen;
using namespace talkgen::bench;
using namespace talkgen::pipeline;
using talkgen_test::code_of;

namespace {


Pipeline& demo_pipeline() {
  static Pipeline p([] {
    RandomModelOptions o;
    o.preset = "demo";
    return make_random_models(o);
  }());
  return p;
}

// A short job: 17-frame chunks (5 motion frames) keep the demo model's CPU run to seconds.
GenerateOptions short_job(int64_t frames, GenerationMode mode, int steps) {
  GenerateOptions job;
  job.image_path = talkgen_test::portrait_path();
  job.audio_bytes = speech_of_length(talkgen_test::write_wav("bench_speech.wav", talkgen_test::speech_like(2.0), 16000),
                                     seconds_for_frames(frames));
  job.frames_per_chunk = 17;
  job.motion_frames = 5;
  job.mode = mode;
  job.max_frames = 0;
  job.steps = steps;
  job.text_guidance = 1.0;
  job.audio_guidance = 2.0;
  job.encoder.preset = "ultrafast";
  return job;
}

void check_stages_add_up(const PipelineBenchResult& r) {
  const auto& s = r.seconds;
  for (double x : {s.preparing, s.sampling, s.decoding, s.encoding}) CHECK(x > 0);
  CHECK(s.preparing + s.sampling + s.decoding + s.encoding == Approx(s.total).epsilon(1e-9));
  // Every step is an interval inside sampling; the rest of sampling is the chunks' setup and tails.
  const double steps = std::accumulate(r.step_seconds.begin(), r.step_seconds.end(), 0.0);
  CHECK(steps <= s.sampling + 1e-9);
  CHECK(steps > 0.5 * s.sampling);
}

}  // namespace

TEST_CASE("bench_pipeline times a one-chunk demo job stage by stage", "[pipeline][bench]") {
  const auto r = bench_pipeline(demo_pipeline(), short_job(17, GenerationMode::clip, 2));
  CHECK(r.job.frames == 17);
  CHECK(r.job.chunks == 1);
  CHECK(r.job.untrained_model);
  REQUIRE(r.step_seconds.size() == 2);
  CHECK(r.forwards_per_step == 2);  // text guidance 1: conditional + no-audio
  CHECK(r.forwards == 4);
  CHECK(r.forward_seconds > 0);
  CHECK(r.forward_seconds <= *std::max_element(r.step_seconds.begin(), r.step_seconds.end()) / 2 + 1e-12);
  // 17 frames -> 5 latent frames; one token per 16 x 16 pixels.
  CHECK(r.tokens == 5 * (r.job.height / 16) * (r.job.width / 16));
  CHECK(r.peak_bytes == -1);  // CPU: no allocator statistics
  check_stages_add_up(r);
}

TEST_CASE("bench_pipeline counts every step of a streamed job", "[pipeline][bench]") {
  // 29 frames in chunks of 17 with 5 motion frames: 1 + ceil((29 - 17) / 12) = 2 chunks.
  const auto r = bench_pipeline(demo_pipeline(), short_job(29, GenerationMode::streaming, 1));
  CHECK(r.job.frames == 29);
  CHECK(r.job.chunks == 2);
  CHECK(r.step_seconds.size() == 2);
  CHECK(r.forwards == 4);
  check_stages_add_up(r);
}

TEST_CASE("speech_of_length loops or cuts speech to an exact length", "[pipeline][bench]") {
  const std::string source = talkgen_test::write_wav("bench_source.wav", talkgen_test::speech_like(1.0), 16000);
  for (int64_t frames : {1, 17, 81, 153}) {
    const double seconds = seconds_for_frames(frames);
    CHECK(static_cast<int64_t>(seconds * 25) == frames);
    const auto wav = speech_of_length(source, seconds);
    const Audio audio = decode_audio_bytes(wav.data(), wav.size(), 16000);
    CHECK(audio.samples.size() == static_cast<size_t>(std::llround(seconds * 16000)));
  }
  // Looped: 3.25 s made of a 1 s clip repeats it from the start.
  const auto wav = speech_of_length(source, 3.25);
  const Audio looped = decode_audio_bytes(wav.data(), wav.size(), 16000);
  const Audio original = decode_audio(source, 16000);
  for (size_t i : {size_t(0), size_t(1234), size_t(9999)})
    CHECK(looped.samples[16000 * 2 + i] == Approx(original.samples[i]).margin(1.0 / 32767));

  CHECK(code_of([&] { speech_of_length(source, 0.0); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { speech_of_length(source, std::nan("")); }) == ErrorCode::invalid_argument);
  const std::string silent = talkgen_test::write_wav("bench_silent.wav", std::vector<float>(16000, 0.0f), 16000);
  CHECK(code_of([&] { speech_of_length(silent, 1.0); }) == ErrorCode::invalid_argument);
}

TEST_CASE("make_random_models builds the demo sizes and refuses unknown presets", "[pipeline][bench]") {
  RandomModelOptions o;
  o.preset = "demo";
  const PipelineModels m = make_random_models(o);
  CHECK(m.untrained);
  REQUIRE(m.dit != nullptr);
  CHECK(m.dit->dtype() == at::kFloat);
  o.preset = "7b";
  CHECK(code_of([&] { make_random_models(o); }) == ErrorCode::invalid_argument);
  o.preset = "14b";
  o.dtype = at::kInt;
  CHECK(code_of([&] { make_random_models(o); }) == ErrorCode::invalid_argument);
}

TEST_CASE("fill_random_on_device draws each kind of parameter at its scale", "[pipeline][bench]") {
  struct Probe : torch::nn::Module {
    Probe() {
      weight = register_parameter("proj_weight", at::zeros({256, 512}));
      gain = register_parameter("norm_out_weight", at::zeros({4096}));
      bias = register_parameter("proj_bias", at::zeros({4096}));
    }
    at::Tensor weight, gain, bias;
  } probe;
  model::layers::fill_random_on_device(probe);
  at::NoGradGuard no_grad;
  CHECK(probe.weight.std().item<double>() == Approx(1.0 / std::sqrt(512.0)).epsilon(0.05));
  CHECK(probe.gain.mean().item<double>() == Approx(1.0).margin(0.02));
  CHECK(probe.gain.std().item<double>() == Approx(0.2).epsilon(0.1));
  CHECK(probe.bias.mean().item<double>() == Approx(0.0).margin(0.01));
  CHECK(probe.bias.std().item<double>() == Approx(0.1).epsilon(0.1));
}

TEST_CASE("bench_pipeline_group runs a job on 2 CPU ranks with the 1-rank video", "[pipeline][bench]") {
  GroupBenchOptions o;
  o.devices = cpu_devices(2);
  o.models.preset = "demo";
  o.compare_single = true;
  const auto r = bench_pipeline_group(o, short_job(17, GenerationMode::clip, 2));
  CHECK(r.ranks == 2);
  CHECK(r.build_s > 0);
  check_stages_add_up(r.group);
  CHECK(r.group.job.frames == 17);
  CHECK(r.group.step_seconds.size() == 2);
  REQUIRE(r.single.has_value());
  check_stages_add_up(*r.single);
  CHECK(r.single->job.frames == 17);
  // The same weights and seed on 1 and 2 ranks: the same frames (float32, so within rounding).
  CHECK(r.frames_max_abs_diff >= 0);
  CHECK(r.frames_max_abs_diff < 1e-4);
  CHECK(r.frames_mean_abs_diff <= r.frames_max_abs_diff);

  o.devices.clear();
  CHECK(code_of([&] { bench_pipeline_group(o, short_job(17, GenerationMode::clip, 1)); }) ==
        ErrorCode::invalid_argument);
}
