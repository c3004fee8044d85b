// `talkgen generate`: portrait (image) + speech (audio file or text) -> talking-head MP4, through
// talkgen::Client (device policy, GPU count from the Planner, retries, time limit, job id).
// `--model demo` runs a tiny untrained model of the real architecture (no downloads); `--model-dir`
// loads the official weights.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/client_args.hpp"
#include "cli/command.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress_output.hpp"
#include "cli/run_temp_files.hpp"
#include "cli/remote_generate.hpp"
#include "client/job_json.hpp"
#include "talkgen/client.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {
namespace {

struct GenerateArgs {
  ClientArgs client;
  std::string image, video, audio, text, voice = "en", output, prompt, resolution = "480p", dump_frames, job_id,
              server, token_file, audio2, speaker_timing = "one-after-another", progress = "auto";
  std::string quality = to_string(default_quality);  // the library's default, the same on every path
  std::vector<double> speaker1_box, speaker2_box;
  std::optional<int> steps;
  std::optional<double> text_guidance, audio_guidance, shift, max_duration;
  std::int64_t seed = 42;
  int max_frames = 1000;
  bool clip_mode = false, json = false;
};

// --speakerN-box X0,Y0,X1,Y1 (pixels of the input image).
std::optional<PixelBox> box_arg(const std::vector<double>& v, const char* flag) {
  if (v.empty()) return std::nullopt;
  if (v.size() != 4) fail(ErrorCode::invalid_argument, "{} takes X0,Y0,X1,Y1 (4 numbers), got {}", flag, v.size());
  return PixelBox{v[0], v[1], v[2], v[3]};
}

Job make_job(const GenerateArgs& args) {
  Job job;
  GenerateOptions& o = job.generate;
  o.image_path = args.image;
  o.video_path = args.video;
  o.audio_path = args.audio;
  o.speech_text = args.text;
  o.speech.voice = args.voice;
  o.audio2_path = args.audio2;
  o.speaker_timing = parse_speaker_timing(args.speaker_timing);
  o.speaker1_box = box_arg(args.speaker1_box, "--speaker1-box");
  o.speaker2_box = box_arg(args.speaker2_box, "--speaker2-box");
  if (!args.prompt.empty()) o.prompt = args.prompt;
  o.output_path = args.output;
  o.quality = parse_quality(args.quality);
  o.resolution = parse_resolution(args.resolution);
  o.mode = args.clip_mode ? GenerationMode::clip : GenerationMode::streaming;
  o.steps = args.steps;
  o.text_guidance = args.text_guidance;
  o.audio_guidance = args.audio_guidance;
  o.shift = args.shift;
  o.seed = args.seed;
  o.max_frames = args.max_frames;
  o.dump_frames = args.dump_frames;
  job.job_id = args.job_id;
  job.gpus = args.client.job_gpus();
  job.max_duration_seconds = args.max_duration;
  job.timeout = args.client.job_timeout();
  return job;
}

// The same job on a `talkgen serve` host: only the options that describe the video travel.
int run_on_server(const GenerateArgs& args, ProgressPrinter& printer, InterruptWatch& interrupts) {
  if (!args.video.empty())
    fail(ErrorCode::unsupported, "--video is not available with --server (the server API takes an image)");
  RemoteGenerateArgs r;
  r.server_url = args.server;
  r.token_file = args.token_file;
  r.image = args.image;
  r.audio = args.audio;
  r.text = args.text;
  r.voice = args.voice;
  r.audio2 = args.audio2;
  if (args.audio2.empty() && (!args.speaker1_box.empty() || !args.speaker2_box.empty()))
    fail(ErrorCode::invalid_argument, "--speaker1-box and --speaker2-box place two speakers: give --audio2 too");
  if (!args.audio2.empty()) {
    r.speaker_timing = to_string(parse_speaker_timing(args.speaker_timing));  // a typo fails here, not remotely
    r.speaker1_box = box_arg(args.speaker1_box, "--speaker1-box");
    r.speaker2_box = box_arg(args.speaker2_box, "--speaker2-box");
  }
  r.output = args.output;
  r.prompt = args.prompt;
  r.quality = args.quality;
  r.resolution = args.resolution;
  r.seed = args.seed;
  r.json = args.json;
  r.job_id = args.job_id;
  r.gpus = args.client.job_gpus();
  r.max_duration_seconds = args.max_duration;
  r.printer = &printer;
  r.interrupts = &interrupts;
  return run_remote_generate(r);
}

const char* signal_name(int signo) {
  return signo == SIGINT ? "Ctrl-C (SIGINT)" : signo == SIGTERM ? "SIGTERM" : "a signal";
}

// Sends the library's log lines through the progress printer (bar and json modes) for the command's life.
class LogThroughPrinter {
 public:
  explicit LogThroughPrinter(ProgressPrinter& printer, ProgressMode mode) : active_(mode == ProgressMode::bar ||
                                                                                     mode == ProgressMode::json) {
    if (active_) set_log_sink([&printer](LogLevel level, std::string_view message) { printer.log(level, message); });
  }
  ~LogThroughPrinter() {
    if (active_) set_log_sink(nullptr);
  }
  LogThroughPrinter(const LogThroughPrinter&) = delete;
  LogThroughPrinter& operator=(const LogThroughPrinter&) = delete;

 private:
  bool active_;
};

int run_local(const GenerateArgs& args, ProgressPrinter& printer, InterruptWatch& interrupts) {
  const Job job = make_job(args);
  const RunTempFiles temps({args.output, args.dump_frames});

  // Ctrl-C / SIGTERM: the first cancels the job through the library (it stops before its next step, and
  // the MP4 writer removes its temporary file as it unwinds); a second quits at once.
  std::mutex handle_mutex;
  std::optional<JobHandle> handle;
  interrupts.on_signal([&](int count, int signo) {
    if (count >= 2) {
      const int removed = temps.remove_new();
      fmt::print(stderr, "\ntalkgen: {} again: quitting now{}\n", signal_name(signo),
                 removed ? fmt::format(" (removed {} temporary file(s))", removed) : std::string());
      std::fflush(stderr);
      ::_exit(exit_code_for(ErrorCode::cancelled));
    }
    printer.note(fmt::format("talkgen: {}: cancelling the job (press Ctrl-C again to quit at once)",
                             signal_name(signo)));
    std::lock_guard<std::mutex> lock(handle_mutex);
    if (handle) handle->cancel();
  });
  const InterruptWatch::ResetOnExit reset_handler{&interrupts};
  Client client(args.client.options());

  JobCallbacks callbacks;
  callbacks.progress = [&](const JobProgress& p) {
    printer.print(progress_event(p));
    return interrupts.count() == 0;  // covers a signal that came before the handle existed
  };
  {
    std::lock_guard<std::mutex> lock(handle_mutex);
    if (interrupts.count() > 0)
      fail(ErrorCode::cancelled, "interrupted ({}) before the job started", signal_name(interrupts.first_signal()));
    handle = client.submit(job, callbacks);
  }
  JobResult r = handle->wait();
  printer.end();
  if (interrupts.count() > 0 && r.ok()) {
    // The signal came after the last point where the job could stop: the video is complete.
    printer.note(fmt::format("talkgen: the job had already finished when {} came; {} is complete",
                             signal_name(interrupts.first_signal()), r.video.output_path));
  }

  if (args.json) {
    fmt::print("{}\n", client::result_to_json(r).dump(2));
  } else if (r.ok()) {
    const GenerateResult& v = r.video;
    fmt::print("wrote {} ({}x{}, {} frames, {:.2f} s, {} chunk(s), {} steps, seed {}) in {:.1f} s on {}{}\n",
               v.output_path, v.width, v.height, v.frames, v.duration_seconds, v.chunks, v.settings.steps, v.seed,
               r.timings.total, devices_text(r.devices),
               r.cost_usd > 0 ? fmt::format(", ${:.4f}", r.cost_usd) : std::string());
    if (r.estimated_seconds) fmt::print("the Planner estimated {:.1f} s; it took {:.1f} s\n", *r.estimated_seconds,
                                        r.actual_seconds);
    if (v.untrained_model) {
      fmt::print("NOTE: model '{}' is untrained (random weights): the pipeline ran end to end, but the video "
                 "shows noise, not a talking head. Use --model-dir with the official weights for real output.\n",
                 v.model_name);
    }
  }
  if (!r.ok()) throw Error(r.error_code, r.error_message);
  return 0;
}

int run_generate(const GenerateArgs& args) {
  const ProgressMode mode =
      resolve_progress_mode(parse_progress_mode(args.progress), isatty(fileno(stderr)) != 0);
  ProgressPrinter printer(mode);
  const LogThroughPrinter logs(printer, mode);
  InterruptWatch interrupts;
  try {
    if (args.image.empty() == args.video.empty())
      fail(ErrorCode::invalid_argument, "give exactly one of --image (a portrait) or --video (a video to dub)");
    if (!args.server.empty()) return run_on_server(args, printer, interrupts);
    return run_local(args, printer, interrupts);
  } catch (const Error& e) {
    // Reported here rather than by main(), so that with --progress json every line on stderr is JSON.
    if (mode == ProgressMode::json) {
      printer.note_json({{"event", "error"}, {"code", to_string(e.code())}, {"message", e.what()}});
    } else {
      printer.note(fmt::format("talkgen: error ({}): {}", to_string(e.code()), e.what()));
    }
    return exit_code_for(e.code());
  }
}

}  // namespace

CommandRun add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Portrait + speech -> lip-synced talking-head MP4");
  auto args = std::make_shared<GenerateArgs>();
  add_client_options(*cmd, args->client);
  auto* image = cmd->add_option("--image", args->image, "Portrait image (PNG, JPEG, WebP, BMP)");
  auto* video = cmd->add_option("--video", args->video,
                                "Video to dub instead of a portrait: each chunk is conditioned on the video's frame "
                                "at its start (speech still from --audio/--text; the video file may be the --audio)");
  image->excludes(video);
  cmd->add_option("--audio", args->audio, "Speech audio file");
  cmd->add_option("--text", args->text, "Text to speak with espeak-ng instead of --audio");
  cmd->add_option("--audio2", args->audio2,
                  "A second speaker's speech (two-person mode; best with --multi-person-weights)");
  cmd->add_option("--speaker-timing", args->speaker_timing,
                  "Two speakers: one-after-another (the reference's 'add') or together ('para')")
      ->capture_default_str();
  cmd->add_option("--speaker1-box", args->speaker1_box,
                  "Two speakers: speaker 1's region X0,Y0,X1,Y1 in image pixels (default: the left half)")
      ->delimiter(',');
  cmd->add_option("--speaker2-box", args->speaker2_box,
                  "Two speakers: speaker 2's region X0,Y0,X1,Y1 in image pixels (default: the right half)")
      ->delimiter(',');
  cmd->add_option("--voice", args->voice, "espeak-ng voice for --text")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output MP4 path")->required();
  cmd->add_option("--prompt", args->prompt, "Text prompt (default: the reference's)");
  cmd->add_option("--quality", args->quality,
                  "draft, balanced or quality (balanced needs the lightx2v LoRA; quality runs the base weights)")
      ->capture_default_str();
  cmd->add_option("--resolution", args->resolution, "480p or 720p")->capture_default_str();
  cmd->add_option("--steps", args->steps, "Sampling steps (overrides the quality profile)");
  cmd->add_option("--text-guidance", args->text_guidance, "Text guidance scale");
  cmd->add_option("--audio-guidance", args->audio_guidance, "Audio guidance scale");
  cmd->add_option("--shift", args->shift, "Flow-matching timestep shift");
  cmd->add_option("--seed", args->seed, "Seed (same seed, same video)")->capture_default_str();
  cmd->add_option("--max-frames", args->max_frames, "Frame cap in streaming mode (0 = unlimited)")->capture_default_str();
  cmd->add_option("--max-duration", args->max_duration, "Cap the video at this many seconds of speech");
  cmd->add_flag("--clip", args->clip_mode, "One 81-frame chunk instead of streaming to the end of the speech");
  cmd->add_option("--dump-frames", args->dump_frames, "Also save the frames before encoding (.safetensors)");
  auto* server = cmd->add_option("--server", args->server,
                                 "Run the job on a `talkgen serve` host (http://host:port) instead of here");
  cmd->add_option("--token-file", args->token_file, "Bearer token for --server")->needs(server);
  cmd->add_option("--job-id", args->job_id, "Job id for logs and the result (default: a random one)");
  cmd->add_flag("--json", args->json,
                "Machine-readable result: output, frames, devices, timings (seconds per stage), estimate, "
                "GPU-seconds, cost");
  add_progress_option(*cmd, args->progress);
  cmd->footer(
      "Examples:\n"
      "  talkgen generate --model demo --quality draft --image examples/portrait.png --audio examples/speech.wav -o demo.mp4\n"
      "  talkgen generate --model-dir weights/ --device cuda --gpus auto --quality quality \\\n"
      "      --image face.jpg --text \"Hello there\" -o out.mp4\n"
      "  talkgen generate --model-dir weights/ --gpus 4 --timeout 900 --json --image face.jpg --audio talk.wav -o out.mp4\n"
      "  talkgen generate --model demo --device cpu --cpu-ranks 2 --gpus 2 --clip --image face.png --audio a.wav -o x.mp4\n"
      "  talkgen generate --model-dir weights/ --video talk.mp4 --audio new_speech.wav -o dubbed.mp4\n"
      "  talkgen generate --model-dir weights/ --multi-person-weights --image two.jpg --audio left.wav \\\n"
      "      --audio2 right.wav --speaker-timing one-after-another -o dialogue.mp4\n"
      "  talkgen generate --server http://gpu-host:8080 --token-file tok --image face.jpg --audio a.wav -o out.mp4\n"
      "  talkgen generate --model demo --device cpu --image face.png --audio a.wav -o x.mp4 --progress json 2> progress.jsonl\n"
      "--device auto uses every visible CUDA GPU, else the CPU (and says so); --device cuda fails without a GPU.\n"
      "--quality balanced (the default, here and on the server) is 8 steps x 2 DiT forwards with the lightx2v\n"
      "  LoRA from the model folder; --quality quality is the reference's 40 x 3 on the base weights (7.5x the work).\n"
      "Ctrl-C or SIGTERM cancels the job (with --server, on the server too) and exits with 17 (cancelled); no\n"
      "  partial or temporary file is left. A second Ctrl-C quits at once. A job that had already finished when\n"
      "  the signal came keeps its video (exit 0).\n"
      "Progress goes to stderr: a bar on a terminal, else one line per step or stage (--progress lines), or\n"
      "  one JSON object per event with --progress json: {\"event\": \"progress\", \"job_id\", \"state\", \"stage\",\n"
      "  \"attempt\", \"gpus\", \"chunk\" (0-based), \"chunks\", \"step\", \"steps\", \"fraction\" (0..1),\n"
      "  \"eta_seconds\" (null until known), \"elapsed_seconds\"}; log lines and the final error are JSON objects\n"
      "  too ({\"event\": \"log\" | \"message\" | \"error\", ...}).\n"
      "Exit codes: 0 ok, 2 usage, 10 + the error code otherwise (e.g. 12 not_found, 15 out_of_memory,\n"
      "  16 device_unavailable, 17 cancelled, 18 timeout).");
  return [args]() { return run_generate(*args); };
}

}  // namespace talkgen::cli
