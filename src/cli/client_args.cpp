#include "cli/client_args.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "cli/environment.hpp"
#include "talkgen/error.hpp"

namespace talkgen::cli {

ClientOptions ClientArgs::options() const {
  if (model.empty() == model_dir.empty())
    fail(ErrorCode::invalid_argument, "give exactly one of --model demo or --model-dir DIR");
  if (!model.empty() && model != "demo")
    fail(ErrorCode::invalid_argument, "--model {}: the only built-in model is 'demo' (use --model-dir for weights)",
         model);
  ClientOptions o;
  o.model = model;
  o.model_dir = model_dir;
  o.attention = attention_from_environment();
  o.dit_fast_paths = dit_fast_paths_from_environment();
  if (multi_person_weights && model_dir.empty())
    fail(ErrorCode::invalid_argument, "--multi-person-weights chooses among the files of --model-dir; give one");
  o.multi_person_weights = multi_person_weights;
  if (device.rfind("cuda:", 0) == 0) {
    // --device cuda:N: exactly that GPU, never the CPU.
    o.device = DevicePolicy::cuda;
    try {
      o.gpus = {std::stoi(device.substr(5))};
    } catch (const std::exception&) {
      fail(ErrorCode::invalid_argument, "--device {}: expected auto, cpu, cuda or cuda:N", device);
    }
  } else {
    o.device = parse_device_policy(device);
  }
  // On the CPU, --gpus N means N CPU ranks unless --cpu-ranks says otherwise.
  const auto gpus = job_gpus();
  o.cpu_ranks = cpu_ranks.value_or(gpus.value_or(1));
  if (max_retries) {
    if (*max_retries < 0) fail(ErrorCode::invalid_argument, "--max-retries must be 0 or more, got {}", *max_retries);
    o.retry.max_attempts = *max_retries + 1;
  } else {
    if (attempts < 1) fail(ErrorCode::invalid_argument, "--attempts must be at least 1, got {}", attempts);
    o.retry.max_attempts = attempts;
  }
  return o;
}

std::optional<int> ClientArgs::job_gpus() const {
  if (gpus == "auto") return std::nullopt;
  try {
    std::size_t used = 0;
    const int n = std::stoi(gpus, &used);
    if (used == gpus.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  fail(ErrorCode::invalid_argument, "--gpus {}: expected a positive number or 'auto'", gpus);
}

std::optional<std::chrono::milliseconds> ClientArgs::job_timeout() const {
  if (!timeout_seconds) return std::nullopt;
  if (!(*timeout_seconds >= 0))
    fail(ErrorCode::invalid_argument, "--timeout must be seconds >= 0 (0 = none), got {}", *timeout_seconds);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(*timeout_seconds * 1000)));
}

void add_client_options(CLI::App& cmd, ClientArgs& a) {
  cmd.add_option("--model", a.model, "Built-in model: 'demo' (tiny, untrained, runs on a CPU)");
  cmd.add_option("--model-dir", a.model_dir,
                 "Folder with Wan2.1-I2V-14B-480P/, chinese-wav2vec2-base/, InfiniteTalk/single/");
  cmd.add_flag("--multi-person-weights", a.multi_person_weights,
               "Load InfiniteTalk/multi/ (trained for two speakers) instead of InfiniteTalk/single/");
  cmd.add_option("--device", a.device, "auto (CUDA GPUs if any, else the CPU), cuda, cuda:N or cpu")
      ->capture_default_str();
  cmd.add_option("--gpus", a.gpus, "Devices per job: a number, or 'auto' (the Planner's choice on CUDA, else 1)")
      ->capture_default_str();
  cmd.add_option("--cpu-ranks", a.cpu_ranks, "CPU ranks in the pool when running on the CPU (default: --gpus, or 1)");
  cmd.add_option("--timeout", a.timeout_seconds, "Per-job time limit in seconds, counted from its start (0 = none)");
  auto* attempts = cmd.add_option("--attempts", a.attempts,
                                  "Attempts per job for out-of-memory / collective timeouts (1 = no retry)")
                       ->capture_default_str();
  cmd.add_option("--max-retries", a.max_retries, "Retries after the first attempt (--attempts N+1; not both)")
      ->excludes(attempts);
}

std::string devices_text(const std::vector<std::string>& devices) {
  if (devices.empty()) return "no device";
  bool all_cpu = true;
  for (const auto& d : devices) all_cpu = all_cpu && d == "cpu";
  if (all_cpu) return devices.size() == 1 ? "cpu" : fmt::format("cpu x{}", devices.size());
  std::string s;
  for (const auto& d : devices) s += (s.empty() ? "" : ",") + d;
  return s;
}

}  // namespace talkgen::cli
