// `talkgen bench dit` and `talkgen bench vae`: model throughput on random full-size weights. On a GPU the
// figures are stored as the planner's calibration for that GPU, driver and talkgen version.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/environment.hpp"
#include "client/device_pool.hpp"
#include "cli/device_option.hpp"
#include "core/atomic_file.hpp"
#include "bench/dit_benchmark.hpp"
#include "bench/dit_scaling_benchmark.hpp"
#include "bench/vae_benchmark.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/planner.hpp"
#include "talkgen/version.hpp"

namespace talkgen::cli {
namespace {

struct DitBenchArgs {
  std::string random = "14b", size = "480p", device = "cuda";
  std::vector<int> gpus;  // world sizes to compare (sequence-parallel); empty: the one-device benchmark
  std::string json_out;   // the results as JSON in this file too
  int frames = 81, reps = 3, warmup = 1;
  double peak_tflops = 989.0;  // H100/H200 SXM dense bf16
  std::vector<std::string> variants;  // A/B kernel variants after the main measurement ("flash/fused+gelu")
  bool profile = false;               // one more forward, timed phase by phase
};

double gib(int64_t bytes) { return bytes < 0 ? -1.0 : double(bytes) / (1024.0 * 1024.0 * 1024.0); }

// Stores a GPU measurement for the planner; CPU runs are not calibrations of anything the planner plans.
void record_for_planner(const at::Device& device, const std::function<void(Calibration&)>& fill) {
  if (!device.is_cuda()) return;
  const DeviceInventory inventory = probe_devices();
  const int index = device.has_index() ? device.index() : 0;
  if (index >= static_cast<int>(inventory.cuda.size())) return;
  Calibration calibration;
  calibration.gpu_name = inventory.cuda[index].name;
  calibration.driver_version = inventory.driver_version;
  calibration.memory_bytes = inventory.cuda[index].memory_bytes;
  const CalibrationStore store;
  if (auto previous = store.find(calibration.gpu_name, calibration.driver_version, version())) calibration = *previous;
  fill(calibration);
  if (calibration.dit_tflops <= 0) {
    // A calibration is keyed on the DiT rate (the planner's main term); the VAE figures alone are not stored.
    fmt::print("calibration not stored: run `talkgen bench dit` on this GPU first, then this bench again\n");
    return;
  }
  record_calibration(calibration, store);
  fmt::print("calibration stored in {}\n",
             store.path_for(calibration.gpu_name, calibration.driver_version, version()));
}

model::dit::DitBenchOptions dit_options(const DitBenchArgs& args) {
  model::dit::DitBenchOptions options;
  if (args.random == "tiny") {
    options.config = model::dit::DitConfig::tiny();  // seconds on a CPU: for trying the command out
  } else if (args.random != "14b") {
    fail(ErrorCode::unsupported, "--random {}: known configs are 14b and tiny", args.random);
  }
  std::tie(options.height, options.width) = model::dit::parse_video_size(args.size);
  options.frames = args.frames;
  options.reps = args.reps;
  options.warmup = args.warmup;
  options.peak_tflops = args.peak_tflops;
  options.variants = args.variants;
  options.profile = args.profile;
  // The main measurement's kernels: the build's fastest unless TALKGEN_ATTENTION / TALKGEN_DIT_FAST say.
  ClientOptions kernels;
  kernels.attention = attention_from_environment();
  kernels.dit_fast_paths = dit_fast_paths_from_environment();
  options.runtime = client::dit_runtime_options(kernels);
  return options;
}

void set_dit_rate(Calibration& c, double tflops, int64_t tokens, int64_t peak_bytes) {
  c.dit_tflops = tflops;
  c.measured_tokens = tokens;
  c.dit_peak_bytes = peak_bytes > 0 ? peak_bytes : 0;
}

// `bench dit --gpus --json-out`: the table, and the rate stored for the planner.
nlohmann::json scaling_json(const DitBenchArgs& args, const model::dit::DitScalingOptions& options,
                            const model::dit::DitScalingResult& r, double planner_comm_gbps) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : r.points)
    points.push_back({{"gpus", p.world}, {"forward_s", p.forward_s}, {"step_s", p.step_s}, {"tflops", p.tflops},
                      {"speedup_forward", p.speedup_forward}, {"speedup_step", p.speedup_step},
                      {"efficiency_step", p.efficiency_step}, {"max_abs_diff", p.max_abs_diff},
                      {"output_scale", p.output_scale}, {"alltoall_gbps", p.alltoall_gbps},
                      {"peak_gib", p.peak_bytes < 0 ? nlohmann::json() : nlohmann::json(gib(p.peak_bytes))}});
  return {{"config", args.random}, {"device", r.device}, {"height", options.bench.height},
          {"width", options.bench.width}, {"frames", options.bench.frames}, {"tokens", r.tokens},
          {"tflop_per_forward", r.flops.total() / 1e12}, {"build_s", r.build_s}, {"points", points},
          {"planner_comm_gbps", planner_comm_gbps > 0 ? nlohmann::json(planner_comm_gbps) : nlohmann::json()}};
}

// --gpus 1,2,4: the same weights and inputs on each world size; the planner learns the all-to-all rate.
int run_bench_dit_scaling(const DitBenchArgs& args) {
  model::dit::DitScalingOptions options;
  options.bench = dit_options(args);
  options.world_sizes = args.gpus;
  options.devices = rank_devices(args.device, *std::max_element(args.gpus.begin(), args.gpus.end()));
  if (options.devices.front().is_cpu()) options.bench.dtype = at::kFloat;  // CPUs have no fast bf16
  const auto r = model::dit::bench_dit_scaling(options);
  fmt::print("dit {} random {} on up to {} x {}: {}x{}x{} frames = {} tokens, {:.2f} B params, built in {:.1f} s\n",
             args.random, c10::toString(options.bench.dtype), options.devices.size(), r.device, options.bench.height,
             options.bench.width, options.bench.frames, r.tokens, r.param_count / 1e9, r.build_s);
  fmt::print("  {:>4} {:>10} {:>10} {:>8} {:>10} {:>9} {:>12} {:>11} {:>10}\n", "gpus", "forward s", "step s",
             "speed-up", "efficiency", "MFU/GPU", "all-to-all", "max |diff|", "peak GiB");
  for (const auto& p : r.points) {
    fmt::print("  {:>4} {:>10.3f} {:>10.3f} {:>7.2f}x {:>9.0f}% {:>8.1f}% {:>7.1f} GB/s {:>11.3g} {:>10}\n",
               p.world, p.forward_s, p.step_s, p.speedup_step, 100 * p.efficiency_step,
               args.peak_tflops > 0 ? 100 * p.tflops / p.world / args.peak_tflops : 0.0, p.alltoall_gbps,
               p.max_abs_diff, p.peak_bytes < 0 ? std::string("n/a") : fmt::format("{:.1f}", gib(p.peak_bytes)));
  }
  fmt::print("  (speed-up and efficiency per sampling step of 3 forwards; max |diff| against the 1-GPU output, "
             "scale {:.3g})\n", r.points.front().output_scale);
  const auto& one = r.points.front();
  const auto& widest = r.points.back();
  // The planner's communication rate: what makes its N-GPU forward the measured one (the all-to-all alone
  // when the N-GPU forward lost nothing beyond it). The Planner models the 14B model only.
  const double effective =
      args.random == "14b" ? effective_comm_gbps(r.tokens, widest.world, one.forward_s, widest.forward_s) : 0.0;
  if (widest.world > 1 && args.random == "14b")
    fmt::print("  planner's all-to-all rate on {} GPUs: {:.1f} GB/s effective (the all-to-all alone: {:.1f} GB/s)\n",
               widest.world, effective, widest.alltoall_gbps);
  if (!args.json_out.empty())
    write_file_atomically(args.json_out, scaling_json(args, options, r, effective).dump(2) + "\n");
  record_for_planner(options.devices.front(), [&](Calibration& c) {
    set_dit_rate(c, one.tflops, r.tokens, one.peak_bytes);
    if (widest.world > 1) {
      c.gpus = widest.world;
      c.comm_gbps = effective > 0 ? effective : widest.alltoall_gbps;
    }
  });
  return 0;
}

// `bench dit --json-out` on one device: the figures printed, the variants and the phase profile.
nlohmann::json single_json(const DitBenchArgs& args, const model::dit::DitBenchOptions& options,
                           const model::dit::DitBenchResult& r) {
  nlohmann::json variants = nlohmann::json::array(), profile = nlohmann::json::array();
  for (const auto& v : r.variants)
    variants.push_back({{"name", v.name}, {"forward_s", v.forward_s}, {"tflops", v.tflops},
                        {"max_abs_diff", v.max_abs_diff}, {"output_scale", v.output_scale}});
  for (const auto& p : r.profile) profile.push_back({{"phase", p.phase}, {"seconds", p.seconds}});
  return {{"config", args.random}, {"device", r.device}, {"height", options.height}, {"width", options.width},
          {"frames", options.frames}, {"tokens", r.tokens}, {"configuration", r.configuration},
          {"tflop_per_forward", r.flops.total() / 1e12}, {"forward_s", r.forward_s}, {"step_s", r.step_s},
          {"tflops", r.tflops}, {"mfu", r.mfu}, {"build_s", r.build_s},
          {"peak_gib", r.peak_bytes < 0 ? nlohmann::json() : nlohmann::json(gib(r.peak_bytes))},
          {"variants", variants}, {"profile", profile}};
}

int run_bench_dit(const DitBenchArgs& args) {
  if (!args.gpus.empty()) return run_bench_dit_scaling(args);
  model::dit::DitBenchOptions options = dit_options(args);
  options.device = parse_device(args.device);
  const auto r = model::dit::bench_dit(options);
  fmt::print("dit {} random bf16 on {}: {}x{}x{} frames = {} tokens, {:.2f} B params\n", args.random, r.device,
             options.height, options.width, options.frames, r.tokens, r.param_count / 1e9);
  fmt::print("  forward {:.3f} s ({:.1f} TFLOP, {:.0f} TFLOP/s, MFU {:.1f}% of {:.0f})\n", r.forward_s,
             r.flops.total() / 1e12, r.tflops, r.mfu * 100, args.peak_tflops);
  fmt::print("  step (3 forwards) {:.3f} s, peak memory {:.1f} GiB, weights built in {:.1f} s\n", r.step_s,
             gib(r.peak_bytes), r.build_s);
  if (!args.json_out.empty()) write_file_atomically(args.json_out, single_json(args, options, r).dump(2) + "\n");
  record_for_planner(options.device, [&](Calibration& c) { set_dit_rate(c, r.tflops, r.tokens, r.peak_bytes); });
  return 0;
}

struct VaeBenchArgs {
  std::string size = "480p", device = "cuda", checkpoint;
  int latent_frames = 21, repeats = 1;
  bool tiled = false;
};

int run_bench_vae(const VaeBenchArgs& args) {
  model::vae::VaeBenchOptions options;
  std::tie(options.height, options.width) = model::dit::parse_video_size(args.size);
  options.device = parse_device(args.device);
  options.checkpoint = args.checkpoint;
  options.latent_frames = args.latent_frames;
  options.repeats = args.repeats;
  if (args.tiled) {
    options.tiling = model::vae::TileOptions{};
    options.compare_untiled = true;
  }
  const auto r = model::vae::benchmark_vae(options);
  fmt::print("vae on {}: {}x{}, encode one frame {:.1f} ms (peak {:.2f} GiB), decode {} latent -> {} frames {:.1f} ms "
             "(peak {:.2f} GiB)\n", r.device, options.width, options.height, r.encode_frame_ms, gib(r.encode_peak_bytes),
             options.latent_frames, r.video_frames, r.decode_ms, gib(r.decode_peak_bytes));
  if (r.tiled_max_abs_diff >= 0) {
    fmt::print("  tiled vs untiled: max |diff| {:.4f}, mean {:.5f}\n", r.tiled_max_abs_diff, r.tiled_mean_abs_diff);
  }
  const double mpix = double(options.width) * options.height / 1e6;
  record_for_planner(options.device, [&](Calibration& c) {
    // A tiled decode is the small-GPU mode, not the rate the planner assumes.
    if (r.decode_ms > 0 && !args.tiled) c.vae_decode_mpix_per_s = mpix * r.video_frames / (r.decode_ms / 1000.0);
    if (r.encode_frame_ms > 0) c.vae_encode_mpix_per_s = mpix / (r.encode_frame_ms / 1000.0);
  });
  return 0;
}

}  // namespace

CommandRun add_bench_dit(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("dit", "DiT forward and 3-forward step on random 14B weights (GPU)");
  auto args = std::make_shared<DitBenchArgs>();
  cmd->add_option("--random", args->random, "Random weights of this config: 14b or tiny")->capture_default_str();
  cmd->add_option("--gpus", args->gpus, "Compare these GPU counts, e.g. 1,2,4,8 (sequence-parallel, same weights; "
                  "with --device cpu: in-process CPU ranks)")->delimiter(',')->check(CLI::Range(1, 8));
  cmd->add_option("--json-out", args->json_out, "Also write the results as JSON to this file");
  cmd->add_option("--size", args->size, "480p, 720p or HxW")->capture_default_str();
  cmd->add_option("--frames", args->frames, "Video frames (1+4k)")->capture_default_str();
  cmd->add_option("--device", args->device, "cuda, cuda:N or cpu")->capture_default_str();
  cmd->add_option("--reps", args->reps, "Timed repetitions (median)")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Untimed forwards first")->capture_default_str();
  cmd->add_option("--peak-tflops", args->peak_tflops, "Dense bf16 peak for MFU")->capture_default_str();
  cmd->add_option("--variants", args->variants,
                  "Also time these kernel variants, attention/fast-paths each (e.g. flash/none,cudnn/all)")
      ->delimiter(',');
  cmd->add_flag("--profile", args->profile, "Also time one forward phase by phase");
  return [args]() { return run_bench_dit(*args); };
}

CommandRun add_bench_vae(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("vae", "VAE encode of one frame and decode of 21 latent frames (81 video frames)");
  auto args = std::make_shared<VaeBenchArgs>();
  cmd->add_option("--size", args->size, "480p, 720p or HxW")->capture_default_str();
  cmd->add_option("--device", args->device, "cuda, cuda:N or cpu")->capture_default_str();
  cmd->add_option("--checkpoint", args->checkpoint, "Wan2.1_VAE.pth (default: random weights, same speed)");
  cmd->add_option("--latent-frames", args->latent_frames, "Latent frames to decode")->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "Timed runs (median)")->capture_default_str();
  cmd->add_flag("--tiled", args->tiled, "Decode in tiles and report the difference from untiled");
  return [args]() { return run_bench_vae(*args); };
}

}  // namespace talkgen::cli
