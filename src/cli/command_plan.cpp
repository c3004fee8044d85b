// `talkgen plan`: for a job of a given length and quality, every GPU count's time, cost and memory, and
// the one to use. Plans for the GPU this host has, or for a named type (--gpu-type) on any machine.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::cli {
namespace {

struct PlanArgs {
  double duration = 0;
  std::string quality_name = to_string(default_quality), resolution_name = "480p", text_encoder_name = "auto";
  Quality quality = default_quality;
  Resolution resolution = Resolution::p480;
  std::string gpu_type;
  std::string frame_size;  // "WxH" (the portrait's bucket); empty: the resolution's landscape bucket
  int gpus_available = 0;  // 0: the detected count, else 8
  std::optional<double> budget, deadline, price;
  TextEncoderPlacement text_encoder = TextEncoderPlacement::automatic;
  bool warm = false, weight_sharding = false, no_calibration = false, json = false;
  double probe_timeout = 10;
};

// The names CLI11 already checked (case-insensitively) to the enums.
void parse_names(PlanArgs& a) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string q = lower(a.quality_name), r = lower(a.resolution_name), t = lower(a.text_encoder_name);
  a.quality = parse_quality(q);
  a.resolution = r.rfind("720", 0) == 0 ? Resolution::p720 : Resolution::p480;
  a.text_encoder = t == "gpu" ? TextEncoderPlacement::gpu
                   : t == "cpu" ? TextEncoderPlacement::cpu : TextEncoderPlacement::automatic;
}

constexpr int kAssumedHostGpus = 8;  // planning for a named type: one typical host

std::string duration_text(double seconds) {
  const long long s = std::llround(std::ceil(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

// The request from the arguments; with no --gpu-type, the GPUs this host has.
PlanRequest make_request(const PlanArgs& a, std::string* host_note) {
  PlanRequest r;
  r.duration_seconds = a.duration;
  r.quality = a.quality;
  r.resolution = a.resolution;
  r.gpu_type = a.gpu_type;
  r.budget_usd = a.budget;
  r.deadline_seconds = a.deadline;
  r.text_encoder = a.text_encoder;
  r.include_model_load = !a.warm;
  r.weight_sharding = a.weight_sharding;
  r.use_calibration = !a.no_calibration;
  r.gpus_available = a.gpus_available;
  if (!a.frame_size.empty()) {
    char x = 0, rest = 0;
    if (std::sscanf(a.frame_size.c_str(), "%d%c%d%c", &r.frame_width, &x, &r.frame_height, &rest) != 3 || x != 'x')
      fail(ErrorCode::invalid_argument, "--frame-size '{}': expected WIDTHxHEIGHT, e.g. 640x640", a.frame_size);
  }
  if (r.gpu_type.empty()) {
    InventoryOptions options;
    options.timeout = std::chrono::milliseconds(static_cast<long long>(a.probe_timeout * 1000));
    const DeviceInventory inv = probe_devices(options);
    if (inv.cuda.empty())
      fail(ErrorCode::invalid_argument, "no CUDA GPU found to plan for ({}): name the GPU type with --gpu-type "
           "(A100-80GB, H100, H200, L40S, RTX 4090, or a calibrated device name)", inv.note);
    r.gpu_type = inv.cuda.front().name;
    r.driver_version = inv.driver_version;
    if (r.gpus_available == 0) r.gpus_available = static_cast<int>(inv.cuda.size());
    *host_note = fmt::format("this host: {} x {}", inv.cuda.size(), r.gpu_type);
  } else if (r.gpus_available == 0) {
    r.gpus_available = kAssumedHostGpus;
    *host_note = fmt::format("assuming a host of {} GPUs (--gpus-available)", kAssumedHostGpus);
  }
  if (a.price) r.prices.set(r.gpu_type, *a.price);
  return r;
}

nlohmann::json to_json(const Plan& p, const PlanArgs& a) {
  nlohmann::json options = nlohmann::json::array();
  for (const auto& o : p.options) {
    options.push_back({{"gpus", o.gpus},
                       {"seconds", o.seconds},
                       {"cost_usd", o.cost_usd},
                       {"fits", o.fits},
                       {"memory_gib_per_gpu", o.memory_gib_per_gpu},
                       {"weight_sharded", o.weight_sharded},
                       {"text_encoder_on_gpu", o.text_encoder_on_gpu},
                       {"within_budget", o.within_budget},
                       {"within_deadline", o.within_deadline},
                       {"why_not", o.why_not},
                       {"times",
                        {{"sampling", o.times.sampling},
                         {"communication", o.times.communication},
                         {"vae", o.times.vae},
                         {"encoders", o.times.encoders},
                         {"video_encode", o.times.video_encode},
                         {"model_load", o.times.model_load}}}});
  }
  const auto& w = p.workload;
  return {{"gpu_type", p.gpu_type},
          {"gpu_memory_gib", p.gpu_memory_gib},
          {"usd_per_gpu_hour", p.usd_per_gpu_hour},
          {"calibrated", p.calibrated},
          {"calibration_note", p.calibration_note},
          {"quality", to_string(a.quality)},
          {"workload",
           {{"duration_seconds", a.duration}, {"width", w.width}, {"height", w.height}, {"frames", w.frames},
            {"chunks", w.chunks}, {"tokens", w.tokens}, {"steps", w.steps},
            {"forwards_per_step", w.forwards_per_step}, {"forwards", w.forwards},
            {"tflop_per_forward", w.tflop_per_forward}, {"dit_params_billion", w.dit_params_billion}}},
          {"options", options},
          {"recommended_gpus", p.recommended_gpus ? nlohmann::json(*p.recommended_gpus) : nlohmann::json()},
          {"recommendation", p.recommendation}};
}

void print_table(const Plan& p, const PlanArgs& a, const std::string& host_note) {
  const auto& w = p.workload;
  fmt::print("Job: {:.1f} s of {}x{} video ({} frames, {} chunk{}), quality {}: {} steps x {} forward{} = {} DiT "
             "forwards of {:.0f} TFLOP\n",
             a.duration, w.width, w.height, w.frames, w.chunks, w.chunks == 1 ? "" : "s", to_string(a.quality),
             w.steps, w.forwards_per_step, w.forwards_per_step == 1 ? "" : "s", w.forwards, w.tflop_per_forward);
  fmt::print("GPU: {} ({:.1f} GiB, ${:.2f} per GPU-hour){}\n", p.gpu_type, p.gpu_memory_gib, p.usd_per_gpu_hour,
             host_note.empty() ? "" : "; " + host_note);
  fmt::print("Rates: {}\n\n", p.calibration_note);
  fmt::print("{:>4}  {:>8}  {:>8}  {:>10}  {:>4}  {}\n", "GPUs", "time", "cost", "memory/GPU", "fits", "notes");
  for (const auto& o : p.options) {
    std::string notes = o.why_not;
    if (o.weight_sharded) notes = "weight-sharded" + (notes.empty() ? "" : "; " + notes);
    if (!o.text_encoder_on_gpu) notes = "umT5 on CPU" + (notes.empty() ? "" : "; " + notes);
    const bool best = p.recommended_gpus && *p.recommended_gpus == o.gpus;
    fmt::print("{:>4}  {:>8}  {:>8}  {:>6.1f} GiB  {:>4}  {}{}\n", o.gpus, duration_text(o.seconds),
               fmt::format("${:.2f}", o.cost_usd), o.memory_gib_per_gpu, o.fits ? "yes" : "no", notes,
               best ? (notes.empty() ? "<- recommended" : "  <- recommended") : "");
  }
  if (p.recommended_gpus) {
    const auto& o = p.options[*p.recommended_gpus - 1];
    fmt::print("\nRecommended: {} x {}: {}, ${:.2f} ({})\n", o.gpus, p.gpu_type, duration_text(o.seconds),
               o.cost_usd, p.recommendation);
    fmt::print("  where the time goes: sampling {}, all-to-all {}, VAE {}, encoders {}, video encode {}, "
               "loading weights {}\n", duration_text(o.times.sampling), duration_text(o.times.communication),
               duration_text(o.times.vae), duration_text(o.times.encoders), duration_text(o.times.video_encode),
               duration_text(o.times.model_load));
  }
}

int run_plan(const PlanArgs& a) {
  std::string host_note;
  const PlanRequest request = make_request(a, &host_note);
  const Plan options = evaluate_plan(request);
  if (a.json)
    fmt::print("{}\n", to_json(options, a).dump(2));
  else
    print_table(options, a, host_note);
  if (!options.recommended_gpus) plan(request);  // throws the error that says why nothing qualifies
  return 0;
}

}  // namespace

CommandRun add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "GPU count, time, memory and cost of a job, before running it");
  auto a = std::make_shared<PlanArgs>();
  // Plain strings, checked by CLI11 (case-insensitively) and mapped in parse_names().
  cmd->add_option("--duration", a->duration, "Speech length in seconds")->required()->check(CLI::Range(0.04, 86400.0));
  cmd->add_option("--quality", a->quality_name, "draft, balanced or quality")
      ->capture_default_str()->check(CLI::IsMember({"draft", "balanced", "quality"}, CLI::ignore_case));
  cmd->add_option("--resolution", a->resolution_name, "480p or 720p")
      ->capture_default_str()->check(CLI::IsMember({"480p", "480", "720p", "720"}, CLI::ignore_case));
  cmd->add_option("--gpu-type", a->gpu_type,
                  "GPU to plan for: A100-80GB, H100, H200, L40S, RTX 4090 or a calibrated device name "
                  "(default: this host's GPU)");
  cmd->add_option("--gpus-available", a->gpus_available,
                  "GPUs to consider (default: this host's count, or 8 for a named type)")->check(CLI::Range(1, 64));
  cmd->add_option("--frame-size", a->frame_size, "Output size WxH when known: the portrait's bucket, e.g. 640x640 "
                  "for a square one at 480p (default: the landscape bucket, 832x480 / 1280x720)");
  cmd->add_option("--budget", a->budget, "Most USD to spend")->check(CLI::PositiveNumber);
  cmd->add_option("--deadline", a->deadline, "Most seconds to take")->check(CLI::PositiveNumber);
  cmd->add_option("--price", a->price, "USD per GPU-hour (overrides the built-in price)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--text-encoder", a->text_encoder_name, "Where umT5 runs: auto, gpu or cpu")
      ->capture_default_str()->check(CLI::IsMember({"auto", "gpu", "cpu"}, CLI::ignore_case));
  cmd->add_flag("--warm", a->warm, "The weights are already loaded (a running Client): leave out loading time");
  cmd->add_flag("--weight-sharding", a->weight_sharding, "Plan DiT weight sharding for GPUs too small for 35 GB");
  cmd->add_flag("--no-calibration", a->no_calibration, "Ignore `talkgen bench` measurements; use built-in figures");
  cmd->add_option("--probe-timeout", a->probe_timeout, "Seconds to wait for CUDA when detecting the GPU")
      ->capture_default_str()->check(CLI::Range(0.1, 600.0));
  cmd->add_flag("--json", a->json, "Machine-readable output");
  return [a]() {
    parse_names(*a);
    return run_plan(*a);
  };
}

}  // namespace talkgen::cli
