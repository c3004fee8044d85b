// `talkgen bench ...`: measured throughput of each stage (feeds the planner's calibration).
#include <map>
#include <memory>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "encode_bench.hpp"

namespace talkgen::cli {
namespace {

CommandRun add_bench_encode(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("encode", "Encoder frames/s at 480p and 720p, next to the ffmpeg CLI");
  auto options = std::make_shared<talkgen::bench::EncodeBenchOptions>();
  auto sizes = std::make_shared<std::string>("832x480,1280x720");
  auto no_ffmpeg = std::make_shared<bool>(false);
  cmd->add_option("--frames", options->frames, "Frames per size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--preset", options->preset, "libx264 preset")->capture_default_str();
  cmd->add_option("--crf", options->crf, "libx264 CRF")->capture_default_str()->check(CLI::Range(0, 51));
  cmd->add_option("--sizes", *sizes, "Comma-separated WIDTHxHEIGHT list")->capture_default_str();
  cmd->add_option("--ffmpeg", options->ffmpeg, "The ffmpeg CLI to compare with")->capture_default_str();
  cmd->add_flag("--no-ffmpeg", *no_ffmpeg, "Measure talkgen only");
  return [options, sizes, no_ffmpeg]() {
    options->sizes = talkgen::bench::parse_sizes(*sizes);
    if (*no_ffmpeg) options->ffmpeg.clear();
    fmt::print("{}", talkgen::bench::format_encode_benchmark(talkgen::bench::run_encode_benchmark(*options)));
    return 0;
  };
}

}  // namespace

CommandRun add_bench_dit(CLI::App& bench);  // command_bench_models.cpp
CommandRun add_bench_vae(CLI::App& bench);
CommandRun add_bench_pipeline(CLI::App& bench);  // command_bench_pipeline.cpp

CommandRun add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure throughput (encode; dit, vae and pipeline on a GPU build)");
  bench->require_subcommand(1);
  // Each bench subcommand registers itself; the one the user named runs.
  auto runs = std::make_shared<std::map<CLI::App*, CommandRun>>();
  for (auto* adder : {&add_bench_encode, &add_bench_dit, &add_bench_vae, &add_bench_pipeline}) {
    CommandRun run = adder(*bench);
    (*runs)[bench->get_subcommands({}).back()] = std::move(run);
  }
  return [bench, runs]() {
    for (auto* sub : bench->get_subcommands()) return runs->at(sub)();
    return 2;
  };
}

}  // namespace talkgen::cli
