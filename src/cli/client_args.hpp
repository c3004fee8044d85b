// The options `generate` and `batch` share: the model, the devices and the job policy, turned into
// ClientOptions (progress display: progress_output.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/exit_code.hpp"
#include "talkgen/client.hpp"

namespace talkgen::cli {

struct ClientArgs {
  std::string model, model_dir, device = "auto", gpus = "auto";
  std::optional<int> cpu_ranks;
  std::optional<double> timeout_seconds;
  int attempts = RetryPolicy{}.max_attempts;
  std::optional<int> max_retries;  ///< --max-retries: the same as --attempts N+1 (the name the Python, Node and
                                   ///< TypeScript clients use)
  bool multi_person_weights = false;

  /// Checks the combination and builds the Client's options (Error(invalid_argument) when malformed).
  ClientOptions options() const;
  /// --gpus: nullopt for "auto" (the Planner decides), else the number.
  std::optional<int> job_gpus() const;
  /// --timeout as a job time limit; nullopt when not given.
  std::optional<std::chrono::milliseconds> job_timeout() const;
};

/// --model, --model-dir, --device, --gpus, --cpu-ranks, --timeout, --attempts | --max-retries.
void add_client_options(CLI::App& cmd, ClientArgs& args);

/// "cuda:0,cuda:1" / "cpu x2".
std::string devices_text(const std::vector<std::string>& devices);

}  // namespace talkgen::cli
