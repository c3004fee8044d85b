// `talkgen batch`: a JSON list of jobs run over the device pool by Client::generate_batch (disjoint device
// groups side by side, the rest queued); one line per job (or a JSON array) in the list's order.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/client_args.hpp"
#include "cli/command.hpp"
#include "cli/interrupt.hpp"
#include "cli/run_temp_files.hpp"
#include "client/job_json.hpp"
#include "talkgen/client.hpp"
#include "talkgen/error.hpp"

namespace talkgen::cli {
namespace {

struct BatchArgs {
  ClientArgs client;
  std::string jobs_file, output_dir;
  bool json = false;
};

std::string result_line(const JobResult& r) {
  if (!r.ok())
    return fmt::format("{} {}: {} ({})", r.job_id.empty() ? "(rejected)" : r.job_id, to_string(r.state),
                       r.error_message, to_string(r.error_code));
  return fmt::format("{} ok: {} ({} frames, {:.2f} s) in {:.1f} s on {}{}", r.job_id, r.video.output_path,
                     r.video.frames, r.video.duration_seconds, r.timings.total, devices_text(r.devices),
                     r.attempts > 1 ? fmt::format(" after {} attempts", r.attempts) : "");
}

int run_batch(const BatchArgs& args) {
  client::JobFileOptions file_options;
  file_options.output_dir = args.output_dir;
  if (!args.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.output_dir, ec);
    if (ec) fail(ErrorCode::io_error, "cannot create the output folder '{}': {}", args.output_dir, ec.message());
  }
  std::vector<Job> jobs = client::read_job_file(args.jobs_file, file_options);
  // Command-line defaults for what the file leaves open.
  const auto gpus = args.client.job_gpus();
  const auto timeout = args.client.job_timeout();
  for (Job& job : jobs) {
    if (!job.gpus) job.gpus = gpus;
    if (!job.timeout) job.timeout = timeout;
  }

  ClientOptions options = args.client.options();
  // On the CPU, give the pool enough ranks for the biggest job unless --cpu-ranks says otherwise.
  if (!args.client.cpu_ranks)
    for (const Job& job : jobs) options.cpu_ranks = std::max(options.cpu_ranks, job.gpus.value_or(1));
  // Ctrl-C / SIGTERM: the first cancels every job (each stops before its next step and removes its
  // temporary file; queued ones never start); a second quits at once. Like `generate`, exit 17.
  std::vector<std::string> outputs;
  for (const Job& job : jobs) outputs.insert(outputs.end(), {job.generate.output_path, job.generate.dump_frames});
  const RunTempFiles temps(std::move(outputs));
  InterruptWatch interrupts;
  interrupts.on_signal([&temps](int count, int) {
    if (count >= 2) {
      const int removed = temps.remove_new();
      fmt::print(stderr, "\ntalkgen: interrupted again: quitting now{}\n",
                 removed ? fmt::format(" (removed {} temporary file(s))", removed) : std::string());
      std::fflush(stderr);
      ::_exit(exit_code_for(ErrorCode::cancelled));
    }
    fmt::print(stderr, "\ntalkgen: interrupted: cancelling the jobs (press Ctrl-C again to quit at once)\n");
  });
  const InterruptWatch::ResetOnExit reset_handler{&interrupts};
  Client client(options);

  std::mutex print_mutex;
  std::map<std::string, JobState> last_state;
  JobCallbacks callbacks;
  const bool live = !args.json && isatty(fileno(stderr));
  callbacks.progress = [&](const JobProgress& p) {
    if (interrupts.count() > 0) return false;  // cancels the job at its next step
    if (live) {
      // On a terminal, say as they happen which job started, retried or finished (stderr; the summary
      // in list order goes to stdout at the end).
      std::lock_guard<std::mutex> lock(print_mutex);
      JobState& last = last_state[p.job_id];
      if (p.state != last && p.state == JobState::running)
        fmt::print(stderr, "started {} on {} device(s) (attempt {})\n", p.job_id, p.gpus, p.attempt);
      if (p.state != last && p.state == JobState::retrying)
        fmt::print(stderr, "attempt {} of {} failed; it will be retried\n", p.attempt, p.job_id);
      last = p.state;
    }
    return true;
  };
  if (live) {
    callbacks.done = [&](const JobResult& r) {
      std::lock_guard<std::mutex> lock(print_mutex);
      fmt::print(stderr, "finished {}\n", result_line(r));
    };
  }
  const std::vector<JobResult> results = client.generate_batch(jobs, callbacks);

  int exit_code = 0;
  for (const JobResult& r : results)
    if (!r.ok() && exit_code == 0) exit_code = exit_code_for(r.error_code);
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const JobResult& r : results) out.push_back(client::result_to_json(r));
    fmt::print("{}\n", out.dump(2));
  } else {
    int ok = 0;
    for (const JobResult& r : results) {
      fmt::print("{}\n", result_line(r));
      ok += r.ok() ? 1 : 0;
    }
    const ClientStats s = client.stats();
    fmt::print("{} of {} job(s) succeeded; p50 {:.1f} s, p95 {:.1f} s, {:.1f} device-seconds{}\n", ok, results.size(),
               s.p50_seconds, s.p95_seconds, s.gpu_seconds, s.cost_usd > 0 ? fmt::format(", ${:.4f}", s.cost_usd) : "");
  }
  return exit_code;
}

}  // namespace

CommandRun add_batch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("batch", "Run a JSON list of generation jobs over the devices of this host");
  auto args = std::make_shared<BatchArgs>();
  add_client_options(*cmd, args->client);
  cmd->add_option("jobs", args->jobs_file, "JSON file: an array of job objects")->required();
  cmd->add_option("--output-dir", args->output_dir,
                  "Folder for outputs: jobs without \"output\" write <job_id or job-N>.mp4 here, relative outputs "
                  "are taken from here (default: the job file's folder)");
  cmd->add_flag("--json", args->json, "Print a JSON array of results (in the file's order)");
  cmd->footer(
      "Job file: [{\"image\": \"face.png\", \"audio\": \"a.wav\", \"output\": \"a.mp4\", \"quality\": \"draft\"},\n"
      "           {\"image\": \"face.png\", \"text\": \"Hello\", \"gpus\": 2, \"job_id\": \"hello\", \"seed\": 7}]\n"
      "Fields: image | video, audio | text (voice, words_per_minute), output, prompt, negative_prompt, quality,\n"
      "  resolution, mode (clip | streaming), seed, steps, shift, text_guidance, audio_guidance, max_frames,\n"
      "  max_duration_seconds (max_duration_sec), color_correction, use_apg, low_memory, dump_frames, job_id,\n"
      "  gpus (N | \"auto\"), budget_usd, deadline_seconds, timeout_seconds. Relative input paths are taken from\n"
      "  the job file's folder. --gpus and --timeout are defaults for jobs that do not set them.\n"
      "Examples:\n"
      "  talkgen batch --model demo jobs.json\n"
      "  talkgen batch --model-dir weights/ --device cuda --output-dir out/ --json jobs.json > results.json\n"
      "Exit code: 0 when every job succeeded, else 10 + the error code of the first failed job. Ctrl-C or SIGTERM\n"
      "  cancels every job (17, cancelled; no temporary file is left); a second one quits at once.");
  return [args]() { return run_batch(*args); };
}

}  // namespace talkgen::cli
