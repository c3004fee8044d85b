// `talkgen generate`: portrait (image) + speech (audio file or text) -> talking-head MP4.
// `--model demo` runs a tiny untrained model of the real architecture (no downloads); `--model-dir`
// loads the official weights.
#include <cstdio>
#include <optional>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/device_option.hpp"
#include "pipeline/demo_model.hpp"
#include "pipeline/model_loader.hpp"
#include "pipeline/pipeline.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {
namespace {

struct GenerateArgs {
  std::string model, model_dir, device = "cpu", image, audio, text, voice = "en", output, prompt, quality = "quality",
              resolution = "480p", dump_frames;
  std::optional<int> steps;
  std::optional<double> text_guidance, audio_guidance, shift;
  std::int64_t seed = 42;
  int max_frames = 1000;
  bool clip_mode = false, json = false;
};

// One line rewritten in place on a terminal; nothing on a pipe (the final summary says it all).
bool print_progress(const GenerateProgress& p) {
  static const char* kStages[] = {"preparing", "sampling", "decoding", "encoding", "done"};
  const int width = 30;
  const int filled = static_cast<int>(p.fraction * width);
  fmt::print(stderr, "\r[{:<{}}] {:3.0f}% {} chunk {}/{} step {}/{}{}   ", std::string(filled, '#'), width,
             p.fraction * 100, kStages[static_cast<int>(p.stage)], p.chunk + 1, p.chunks, p.step, p.steps,
             p.eta_seconds >= 0 ? fmt::format(" eta {:.0f}s", p.eta_seconds) : "");
  return true;
}

int run_generate(const GenerateArgs& args) {
  if (args.model.empty() == args.model_dir.empty()) {
    fail(ErrorCode::invalid_argument, "give exactly one of --model demo or --model-dir DIR");
  }
  if (!args.model.empty() && args.model != "demo") {
    fail(ErrorCode::invalid_argument, "--model {}: the only built-in model is 'demo' (use --model-dir for weights)",
         args.model);
  }
  GenerateOptions options;
  options.image_path = args.image;
  options.audio_path = args.audio;
  options.speech_text = args.text;
  options.speech.voice = args.voice;
  if (!args.prompt.empty()) options.prompt = args.prompt;
  options.output_path = args.output;
  options.quality = parse_quality(args.quality);
  options.resolution = parse_resolution(args.resolution);
  options.mode = args.clip_mode ? GenerationMode::clip : GenerationMode::streaming;
  options.steps = args.steps;
  options.text_guidance = args.text_guidance;
  options.audio_guidance = args.audio_guidance;
  options.shift = args.shift;
  options.seed = args.seed;
  options.max_frames = args.max_frames;
  options.dump_frames = args.dump_frames;

  const at::Device device = parse_device(args.device);
  pipeline::PipelineModels models;
  if (args.model == "demo") {
    models = pipeline::make_demo_models(device);
  } else {
    pipeline::ModelLoadOptions load;
    load.device = device;
    models = pipeline::load_models(pipeline::ModelPaths::from_model_dir(args.model_dir), load);
  }
  pipeline::Pipeline pipe(std::move(models));
  pipeline::RunHooks hooks;
  const bool show_progress = !args.json && isatty(fileno(stderr));
  if (show_progress) hooks.progress = print_progress;
  const GenerateResult r = pipe.run(options, std::move(hooks));
  if (show_progress) fmt::print(stderr, "\n");

  if (args.json) {
    nlohmann::json out = {{"output", r.output_path}, {"frames", r.frames}, {"width", r.width}, {"height", r.height},
                          {"fps", r.fps}, {"duration_seconds", r.duration_seconds}, {"chunks", r.chunks},
                          {"seed", r.seed}, {"steps", r.settings.steps}, {"model", r.model_name},
                          {"untrained_model", r.untrained_model}, {"device", args.device},
                          {"seconds", {{"total", r.seconds_total}, {"sampling", r.seconds_sampling},
                                       {"decoding", r.seconds_decoding}}}};
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("wrote {} ({}x{}, {} frames, {:.2f} s, {} chunk(s), {} steps, seed {}) in {:.1f} s on {}\n",
               r.output_path, r.width, r.height, r.frames, r.duration_seconds, r.chunks, r.settings.steps, r.seed,
               r.seconds_total, args.device);
    if (r.untrained_model) {
      fmt::print("NOTE: model '{}' is untrained (random weights): the pipeline ran end to end, but the video "
                 "shows noise, not a talking head. Use --model-dir with the official weights for real output.\n",
                 r.model_name);
    }
  }
  return 0;
}

}  // namespace

CommandRun add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Portrait + speech -> lip-synced talking-head MP4");
  auto args = std::make_shared<GenerateArgs>();
  cmd->add_option("--model", args->model, "Built-in model: 'demo' (tiny, untrained, runs on a CPU)");
  cmd->add_option("--model-dir", args->model_dir,
                  "Folder with Wan2.1-I2V-14B-480P/, chinese-wav2vec2-base/, InfiniteTalk/single/");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--image", args->image, "Portrait image (PNG, JPEG, WebP, BMP)")->required();
  cmd->add_option("--audio", args->audio, "Speech audio file");
  cmd->add_option("--text", args->text, "Text to speak with espeak-ng instead of --audio");
  cmd->add_option("--voice", args->voice, "espeak-ng voice for --text")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output MP4 path")->required();
  cmd->add_option("--prompt", args->prompt, "Text prompt (default: the reference's)");
  cmd->add_option("--quality", args->quality, "draft, balanced or quality")->capture_default_str();
  cmd->add_option("--resolution", args->resolution, "480p or 720p")->capture_default_str();
  cmd->add_option("--steps", args->steps, "Sampling steps (overrides the quality profile)");
  cmd->add_option("--text-guidance", args->text_guidance, "Text guidance scale");
  cmd->add_option("--audio-guidance", args->audio_guidance, "Audio guidance scale");
  cmd->add_option("--shift", args->shift, "Flow-matching timestep shift");
  cmd->add_option("--seed", args->seed, "Seed (same seed, same video)")->capture_default_str();
  cmd->add_option("--max-frames", args->max_frames, "Frame cap in streaming mode (0 = unlimited)")->capture_default_str();
  cmd->add_flag("--clip", args->clip_mode, "One 81-frame chunk instead of streaming to the end of the speech");
  cmd->add_option("--dump-frames", args->dump_frames, "Also save the frames before encoding (.safetensors)");
  cmd->add_flag("--json", args->json, "Machine-readable result");
  return [args]() { return run_generate(*args); };
}

}  // namespace talkgen::cli
