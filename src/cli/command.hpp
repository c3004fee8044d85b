// The CLI's subcommands. Each registers its options on the app and returns the function to run.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace talkgen::cli {

/// Runs a parsed subcommand; returns the process exit code.
using CommandRun = std::function<int()>;

CommandRun add_info_command(CLI::App& app);
CommandRun add_encode_command(CLI::App& app);
CommandRun add_bench_command(CLI::App& app);
CommandRun add_generate_command(CLI::App& app);
CommandRun add_batch_command(CLI::App& app);
CommandRun add_plan_command(CLI::App& app);
CommandRun add_serve_command(CLI::App& app);

}  // namespace talkgen::cli
