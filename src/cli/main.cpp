// talkgen: portrait + speech -> talking-head MP4. See `talkgen --help`.
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/environment.hpp"
#include "cli/exit_code.hpp"
#include "talkgen/error.hpp"
#include "talkgen/version.hpp"

int main(int argc, char** argv) {
  talkgen::cli::apply_log_environment();  // environment variables become settings in the CLI only
  using namespace talkgen::cli;
  CLI::App app{"talkgen: a portrait image plus speech becomes a lip-synced talking-head MP4 (InfiniteTalk)."};
  app.set_version_flag("--version", std::string("talkgen ") + talkgen::version());
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  talkgen info\n"
      "  talkgen generate --model demo --image examples/portrait.png --audio examples/speech.wav -o demo.mp4\n"
      "  talkgen generate --model-dir weights/ --device cuda --image face.jpg --text \"Hello\" -o out.mp4\n"
      "  talkgen batch --model-dir weights/ --device cuda --output-dir out/ jobs.json\n"
      "  talkgen encode --image face.png --audio speech.wav -o still.mp4\n"
      "  talkgen encode --image face.png --text \"Hello there\" -o still.mp4\n"
      "  talkgen bench encode --frames 50\n"
      "Exit codes: 0 ok, 2 usage, 10+code for library errors (11 invalid_argument, 12 not_found,\n"
      "  13 unsupported, 14 checkpoint_mismatch, 15 out_of_memory, 16 device_unavailable, 17 cancelled,\n"
      "  18 timeout, 19 io_error, 20 internal).");

  std::map<CLI::App*, CommandRun> commands;
  auto add = [&](CommandRun (*adder)(CLI::App&)) {
    CommandRun run = adder(app);
    const auto after = app.get_subcommands({});
    commands[after.back()] = std::move(run);
  };
  add(add_info_command);
  add(add_generate_command);
  add(add_batch_command);
  add(add_encode_command);
  add(add_bench_command);
  add(add_plan_command);
  add(add_serve_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  try {
    for (auto* sub : app.get_subcommands()) return commands.at(sub)();
    return kExitUsage;
  } catch (const talkgen::Error& e) {
    fmt::print(stderr, "talkgen: error ({}): {}\n", talkgen::to_string(e.code()), e.what());
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "talkgen: internal error: {}\n", e.what());
    return exit_code_for(talkgen::ErrorCode::internal);
  }
}
