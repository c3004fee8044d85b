// `talkgen bench pipeline`: a whole job (image + speech -> MP4) through the real pipeline on random weights
// of the real sizes, timed stage by stage, next to what the planner predicts for the same job on this GPU.
// The planner's figures are the warm-client estimate (`talkgen plan --warm`): model build is reported but
// not part of the job, as a Client loads its models once.
#include <chrono>
#include <functional>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/device_option.hpp"
#include "core/atomic_file.hpp"
#include "model/layers/device_timing.hpp"
#include "bench/pipeline_benchmark.hpp"
#include "bench/pipeline_group_benchmark.hpp"
#include "pipeline/random_models.hpp"
#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::cli {
namespace {

constexpr double kFps = 25.0;
constexpr int kChunkFrames = 81, kMotionFrames = 9;

struct PipelineBenchArgs {
  std::string preset = "14b", device = "cuda", text_encoder_device, image = "examples/portrait.png",
              audio = "examples/speech.wav", resolution = "480p", mode = "auto", output, plan_gpu, x264_preset;
  int frames = kChunkFrames, steps = 4, gpus = 1;
  std::optional<double> audio_seconds, shift;
  double text_guidance = 1.0, audio_guidance = 2.0;
  int64_t seed = 42;
  bool json = false, batch_guidance = false, compare_single = false;
  std::string json_out;
};

double gib(int64_t bytes) { return bytes < 0 ? -1.0 : double(bytes) / (1024.0 * 1024.0 * 1024.0); }
// One call of each conditioning encoder at the job's sizes, after a warm-up call, waiting for the device:
// what the encoders cost per job (issue 3's "time per call"). Inputs are random: the time depends only on
// their sizes (2 prompts padded to 512 tokens, `speech_seconds` of 16 kHz audio, one portrait).
struct EncoderCallSeconds {
  double umt5 = 0, wav2vec2 = 0, clip = 0;
};

EncoderCallSeconds time_encoder_calls(const pipeline::PipelineModels& m, const at::Device& device, int64_t height,
                                      int64_t width, double speech_seconds) {
  auto text_encoder = m.text_encoder;  // a holder copy: same module, non-const access
  const auto tokens = m.tokenizer->encode_batch({"A person is talking to the camera.", "bright tones, overexposed"});
  const at::Device text_device = text_encoder->parameters().front().device();
  const at::Tensor image = at::rand({1, 3, height, width}).mul_(2).sub_(1);
  const std::vector<float> speech(static_cast<size_t>(speech_seconds * 16000), 0.01f);
  const auto timed = [&](const std::function<void()>& call) {
    call();  // warm-up (kernel selection, allocator)
    if (!device.is_cpu()) (void)at::zeros({1}, at::TensorOptions().device(device)).item<float>();
    const auto t0 = std::chrono::steady_clock::now();
    call();
    if (!device.is_cpu()) (void)at::zeros({1}, at::TensorOptions().device(device)).item<float>();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  EncoderCallSeconds s;
  s.umt5 = timed([&] { (void)text_encoder->contexts(tokens.ids.to(text_device), tokens.mask.to(text_device)); });
  if (m.audio_encoder) s.wav2vec2 = timed([&] { (void)m.audio_encoder->embed(speech); });
  s.clip = timed([&] { (void)m.clip->encode(image); });
  return s;
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
double percent_error(double predicted, double measured) {
  return measured > 0 ? (predicted - measured) / measured * 100.0 : 0.0;
}

// The planner's estimate of this very job on `gpu_type` (warm: no weight loading), or nullopt with a reason.
struct Prediction {
  Plan plan;
  PlanTimes times;
  double memory_gib = 0;
};
std::optional<Prediction> predict(const bench::PipelineBenchResult& r, Resolution resolution,
                                  const std::string& gpu_type, const std::string& driver, bool text_on_cpu,
                                  int gpus, std::string* why_not) {
  if (gpu_type.empty()) {
    *why_not = "no GPU to plan for (CPU run): pass --plan-gpu H100 to compare with a built-in type";
    return std::nullopt;
  }
  PlanRequest request;
  request.duration_seconds = r.job.frames / kFps;
  request.settings = r.job.settings;
  request.quality = default_quality;  // named for the record; `settings` (what ran) decides the cost
  request.resolution = resolution;
  request.frame_width = r.job.width;  // the portrait's bucket (640x640 for a square one), not the landscape one
  request.frame_height = r.job.height;
  request.gpu_type = gpu_type;
  request.driver_version = driver;
  request.gpus_available = gpus;
  request.include_model_load = false;
  request.text_encoder = text_on_cpu ? TextEncoderPlacement::cpu : TextEncoderPlacement::gpu;
  try {
    Prediction p{evaluate_plan(request), {}, 0};
    const PlanOption& option = p.plan.options.at(static_cast<size_t>(gpus - 1));
    p.times = option.times;
    p.memory_gib = option.memory_gib_per_gpu;
    return p;
  } catch (const Error& e) {
    *why_not = e.what();
    return std::nullopt;
  }
}

// The job's measured stages re-used for another step count: sampling scales with the forwards, the rest
// stays. `streaming_s_per_s`: a long streamed video, where each further chunk adds 72 new frames.
struct Composed {
  const char* name;
  int steps, forwards_per_step;
  double job_s, s_per_video_s, streaming_s_per_s;
};
Composed compose(const bench::PipelineBenchResult& r, const char* name, int steps, int fps_) {
  Composed c{name, steps, fps_, 0, 0, 0};
  const double chunk_sampling = steps * fps_ * r.forward_seconds;
  const auto& s = r.seconds;
  c.job_s = s.preparing + r.job.chunks * chunk_sampling + s.decoding + s.encoding;
  c.s_per_video_s = c.job_s / r.job.duration_seconds;
  const double fresh = kChunkFrames - kMotionFrames;
  c.streaming_s_per_s = (chunk_sampling + s.decoding / r.job.chunks + s.encoding / r.job.frames * fresh) /
                        (fresh / kFps);
  return c;
}

// What was measured: the job (on all --gpus), and with one GPU also each encoder's call; with
// --compare-single the same job on GPU 0 alone and how far apart the two videos are.
struct Measurement {
  bench::PipelineBenchResult result;
  double build_s = 0;
  std::optional<EncoderCallSeconds> encoder_calls;
  int64_t text_tokens = 0;  // tokens per prompt umT5 sees (prompts are padded to this)
  std::optional<bench::PipelineBenchResult> single;
  double frames_max_abs_diff = -1, frames_mean_abs_diff = -1;
};

Measurement measure_alone(const pipeline::RandomModelOptions& models, const GenerateOptions& job) {
  Measurement m;
  auto t0 = std::chrono::steady_clock::now();
  pipeline::Pipeline pipeline(pipeline::make_random_models(models));
  model::layers::wait_for_device(models.device);
  m.build_s = since(t0);
  m.result = bench::bench_pipeline(pipeline, job);
  m.encoder_calls = time_encoder_calls(pipeline.models(), models.device, m.result.job.height, m.result.job.width,
                                       m.result.job.duration_seconds);
  m.text_tokens = pipeline.models().tokenizer->seq_len();
  return m;
}

Measurement measure_group(const pipeline::RandomModelOptions& models, const GenerateOptions& job,
                          const PipelineBenchArgs& a) {
  bench::GroupBenchOptions options;
  options.devices = rank_devices(a.device, a.gpus);
  options.models = models;
  options.compare_single = a.compare_single;
  auto g = bench::bench_pipeline_group(options, job);
  Measurement m;
  m.result = std::move(g.group);
  m.build_s = g.build_s;
  m.single = std::move(g.single);
  m.frames_max_abs_diff = g.frames_max_abs_diff;
  m.frames_mean_abs_diff = g.frames_mean_abs_diff;
  return m;
}

nlohmann::json seconds_json(const bench::PipelineBenchResult& r) {
  const auto& s = r.seconds;
  return {{"preparing", s.preparing}, {"sampling", s.sampling}, {"decoding", s.decoding}, {"encoding", s.encoding},
          {"total", s.total}, {"per_forward", r.forward_seconds}, {"steps", r.step_seconds}};
}

int run_bench_pipeline(const PipelineBenchArgs& a) {
  const at::Device device = parse_device(a.device);
  const at::Device text_device = a.text_encoder_device.empty() ? device : parse_device(a.text_encoder_device);
  if (a.frames < 1) fail(ErrorCode::invalid_argument, "--frames {}: expected at least 1 video frame", a.frames);
  if (a.mode != "auto" && a.mode != "clip" && a.mode != "streaming")
    fail(ErrorCode::invalid_argument, "--mode {}: expected auto, clip or streaming", a.mode);

  GenerateOptions job;
  job.image_path = a.image;
  const double seconds = a.audio_seconds ? *a.audio_seconds : bench::seconds_for_frames(a.frames);
  job.audio_bytes = bench::speech_of_length(a.audio, seconds);
  job.resolution = parse_resolution(a.resolution);
  job.quality = default_quality;  // its shift; steps and guidance are the bench's own (--steps, --*-guidance)
  job.steps = a.steps;
  job.text_guidance = a.text_guidance;
  job.audio_guidance = a.audio_guidance;
  job.shift = a.shift;
  job.seed = a.seed;
  job.batch_guidance = a.batch_guidance;
  const auto frames = a.audio_seconds ? static_cast<int64_t>(*a.audio_seconds * kFps) : int64_t{a.frames};
  const bool streaming = a.mode == "streaming" || (a.mode == "auto" && frames > kChunkFrames);
  job.mode = streaming ? GenerationMode::streaming : GenerationMode::clip;
  job.max_frames = 0;  // the speech decides the length
  job.output_path = a.output;
  if (!a.x264_preset.empty()) job.encoder.preset = a.x264_preset;

  // The GPU's name and driver, for the planner (as `talkgen plan` finds them).
  std::string gpu_name = a.plan_gpu, driver, device_name = device.str();
  if (device.is_cuda()) {
    const DeviceInventory inventory = probe_devices();
    const int index = device.has_index() ? device.index() : 0;
    if (index < static_cast<int>(inventory.cuda.size())) {
      device_name = inventory.cuda[index].name;
      if (gpu_name.empty()) gpu_name = device_name;
      driver = inventory.driver_version;
    }
  }

  pipeline::RandomModelOptions model_options;
  model_options.preset = a.preset;
  model_options.device = device;
  model_options.text_encoder_device = text_device;
  const Measurement m = a.gpus == 1 && !a.compare_single ? measure_alone(model_options, job)
                                                         : measure_group(model_options, job, a);
  const auto& r = m.result;
  std::string why_not;
  const auto prediction = predict(r, job.resolution, gpu_name, driver, text_device.is_cpu(), a.gpus, &why_not);
  const Composed composed[] = {compose(r, "quality", 40, 3), compose(r, "balanced", 8, 2), compose(r, "draft", 4, 2)};
  const auto& s = r.seconds;
  const auto& st = r.job.settings;
  const double build_s = m.build_s;
  const auto& encoder_calls = m.encoder_calls;

  if (a.json || !a.json_out.empty()) {
    nlohmann::json out = {
        {"model", r.job.model_name}, {"preset", a.preset}, {"device", device_name},
        {"text_encoder_device", text_device.str()},
        {"job", {{"width", r.job.width}, {"height", r.job.height}, {"frames", r.job.frames},
                 {"video_seconds", r.job.duration_seconds}, {"chunks", r.job.chunks}, {"steps", st.steps},
                 {"text_guidance", st.text_guidance}, {"audio_guidance", st.audio_guidance},
                 {"forwards_per_step", r.forwards_per_step}, {"forwards", r.forwards}, {"tokens", r.tokens},
                 {"mode", streaming ? "streaming" : "clip"}, {"batch_guidance", a.batch_guidance}}},
        {"gpus", a.gpus},
        {"seconds", seconds_json(r)},
        {"seconds_per_video_second", s.total / r.job.duration_seconds},
        {"peak_gpu_gib", r.peak_bytes < 0 ? nlohmann::json() : nlohmann::json(gib(r.peak_bytes))}};
    out["seconds"]["model_build"] = build_s;
    if (encoder_calls)
      out["encoder_call_seconds"] = {{"umt5", encoder_calls->umt5}, {"wav2vec2", encoder_calls->wav2vec2},
                                     {"clip", encoder_calls->clip}};
    if (m.single) {
      out["single_gpu"] = {{"seconds", seconds_json(*m.single)},
                           {"speedup_total", m.single->seconds.total / s.total},
                           {"speedup_sampling", m.single->seconds.sampling / s.sampling},
                           {"frames_max_abs_diff", m.frames_max_abs_diff},
                           {"frames_mean_abs_diff", m.frames_mean_abs_diff}};
    }
    if (prediction) {
      const auto& t = prediction->times;
      out["planner"] = {{"gpu_type", prediction->plan.gpu_type}, {"calibrated", prediction->plan.calibrated},
                        {"calibration_note", prediction->plan.calibration_note},
                        {"seconds", {{"total", t.total}, {"sampling", t.sampling}, {"vae", t.vae},
                                     {"encoders", t.encoders}, {"video_encode", t.video_encode}}},
                        {"memory_gib", prediction->memory_gib},
                        {"error_percent", {{"total", percent_error(t.total, s.total)},
                                           {"sampling", percent_error(t.sampling, s.sampling)}}}};
    } else {
      out["planner"] = {{"unavailable", why_not}};
    }
    for (const auto& c : composed)
      out["composed"][c.name] = {{"steps", c.steps}, {"forwards_per_step", c.forwards_per_step},
                                 {"job_seconds", c.job_s}, {"seconds_per_video_second", c.s_per_video_s},
                                 {"streaming_seconds_per_video_second", c.streaming_s_per_s}};
    if (!a.json_out.empty()) write_file_atomically(a.json_out, out.dump() + "\n");
    if (a.json) {
      fmt::print("{}\n", out.dump(2));
      return 0;
    }
  }

  fmt::print("bench pipeline: {} on {}{}{}\n", r.job.model_name, a.gpus > 1 ? fmt::format("{} x ", a.gpus) : "",
             device_name,
             text_device != device ? fmt::format(" (umT5 on {})", text_device.str()) : "");
  fmt::print("  job: {}x{}, {} frames ({:.2f} s of video), {} chunk{} ({}), {} steps x {} forwards (text {:g}, "
             "audio {:g}) = {} DiT forwards of {} tokens\n",
             r.job.width, r.job.height, r.job.frames, r.job.duration_seconds, r.job.chunks, r.job.chunks == 1 ? "" : "s",
             streaming ? "streaming" : "clip", st.steps, r.forwards_per_step, st.text_guidance, st.audio_guidance,
             r.forwards, r.tokens);
  std::string steps;
  for (double x : r.step_seconds) steps += fmt::format(" {:.2f}", x);
  fmt::print("  model build   {:8.2f} s  (random weights on the device; not part of the job)\n", build_s);
  if (encoder_calls)
    fmt::print("  encoder calls: umT5 {:.3f} s (2 prompts x {} tokens), wav2vec2 {:.3f} s ({:.2f} s of speech), "
               "CLIP {:.3f} s (one {}x{} image)\n", encoder_calls->umt5, m.text_tokens, encoder_calls->wav2vec2,
               r.job.duration_seconds, encoder_calls->clip, r.job.width, r.job.height);
  fmt::print("  preparing     {:8.2f} s  (media, umT5, wav2vec2, CLIP, reference latent)\n", s.preparing);
  fmt::print("  sampling      {:8.2f} s  ({:.3f} s per forward; steps:{})\n", s.sampling, r.forward_seconds, steps);
  fmt::print("  VAE decode    {:8.2f} s  (with colour match and motion-frame encodes)\n", s.decoding);
  fmt::print("  encoding      {:8.2f} s  (H.264 + AAC not hidden behind sampling)\n", s.encoding);
  fmt::print("  total         {:8.2f} s  = {:.2f} s per video-second; peak GPU memory {}\n", s.total,
             s.total / r.job.duration_seconds,
             r.peak_bytes < 0 ? std::string("n/a (CPU)") : fmt::format("{:.1f} GiB", gib(r.peak_bytes)));
  if (m.single) {
    const auto& one = m.single->seconds;
    fmt::print("  on 1 GPU alone: total {:.2f} s (x{:.2f} with {} GPUs), sampling {:.2f} s (x{:.2f}); frames vs the "
               "{}-GPU video: max |diff| {:.4f}, mean {:.5f} (frames in [-1, 1])\n", one.total, one.total / s.total,
               a.gpus, one.sampling, one.sampling / s.sampling, a.gpus, m.frames_max_abs_diff, m.frames_mean_abs_diff);
  }
  if (prediction) {
    const auto& t = prediction->times;
    fmt::print("  planner for {} ({}): total {:.2f} s ({:+.1f}%), sampling {:.2f} s ({:+.1f}%), VAE {:.2f} s, "
               "encoders {:.2f} s, video encode {:.2f} s; memory {:.1f} GiB\n",
               prediction->plan.gpu_type, prediction->plan.calibrated ? "calibrated" : "UNCALIBRATED", t.total,
               percent_error(t.total, s.total), t.sampling, percent_error(t.sampling, s.sampling), t.vae,
               t.encoders, t.video_encode, prediction->memory_gib);
    fmt::print("    rates: {}\n", prediction->plan.calibration_note);
  } else {
    fmt::print("  planner: {}\n", why_not);
  }
  fmt::print("  composed from these stages (sampling = chunks x steps x forwards x {:.3f} s; the rest as measured):\n",
             r.forward_seconds);
  for (const auto& c : composed)
    fmt::print("    {:<8} {:2} steps x {} forwards: this job {:8.1f} s = {:7.2f} s per video-second; long streamed "
               "video {:7.2f} s per video-second\n", c.name, c.steps, c.forwards_per_step, c.job_s, c.s_per_video_s,
               c.streaming_s_per_s);
  return 0;
}

}  // namespace

CommandRun add_bench_pipeline(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("pipeline", "A whole job on random weights of the real sizes, stage by stage, "
                                               "with the planner's prediction for it");
  auto a = std::make_shared<PipelineBenchArgs>();
  cmd->add_option("--preset", a->preset, "Model sizes: 14b (real) or demo (tiny)")
      ->capture_default_str()->check(CLI::IsMember({"14b", "demo"}));
  cmd->add_option("--device", a->device, "cuda, cuda:N or cpu")->capture_default_str();
  cmd->add_option("--gpus", a->gpus, "Run the job sequence-parallel on GPUs 0..N-1 (with --device cpu: N CPU ranks)")
      ->capture_default_str()->check(CLI::Range(1, 8));
  cmd->add_flag("--compare-single", a->compare_single, "First run the job on one GPU alone (same weights) and "
                "compare the videos' frames");
  cmd->add_option("--text-encoder-device", a->text_encoder_device,
                  "Where umT5 runs (cpu saves 11 GB of GPU memory; default: --device)");
  cmd->add_option("--image", a->image, "Portrait")->capture_default_str();
  cmd->add_option("--audio", a->audio, "Speech (looped or cut to the job's length)")->capture_default_str();
  cmd->add_option("--frames", a->frames, "Video frames to make (81 = one chunk, 153 = two)")->capture_default_str();
  cmd->add_option("--audio-seconds", a->audio_seconds, "Speech length instead of --frames")->check(CLI::PositiveNumber);
  cmd->add_option("--mode", a->mode, "clip, streaming, or auto (streaming when the speech makes more than 81 frames)")->capture_default_str();
  cmd->add_option("--resolution", a->resolution, "480p or 720p")->capture_default_str();
  cmd->add_option("--steps", a->steps, "Sampling steps")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--text-guidance", a->text_guidance, "Text guidance scale (1: no no-text forward)")->capture_default_str();
  cmd->add_option("--audio-guidance", a->audio_guidance, "Audio guidance scale")->capture_default_str();
  cmd->add_option("--shift", a->shift, "Sampler shift (default: the default quality profile's, balanced: 2)");
  cmd->add_option("--seed", a->seed, "Noise seed")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "Write the MP4 here (default: kept in memory)");
  cmd->add_option("--x264-preset", a->x264_preset, "libx264 preset (default: the Encoder's, medium)");
  cmd->add_option("--plan-gpu", a->plan_gpu, "GPU type for the planner's prediction (default: this GPU)");
  cmd->add_flag("--batch-guidance", a->batch_guidance, "Run each step's guidance forwards as one batch");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->add_option("--json-out", a->json_out, "Also write the JSON result to this file");
  return [a]() { return run_bench_pipeline(*a); };
}

}  // namespace talkgen::cli
