// `talkgen serve`: the HTTP job API (docs/server-api.md) over one Client. Prints one JSON line on stdout
// once listening ({"event":"listening","port":N,...}; --port 0 picks a free port), logs on stderr.
// SIGTERM / SIGINT drain: no new jobs, running ones finish (up to --drain-timeout), exit 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "server/auth.hpp"
#include "server/server.hpp"
#include "talkgen/client.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {
namespace {

struct ServeArgs {
  std::string model, model_dir, device = "auto", gpus, host = "127.0.0.1", token_file, data_dir = "talkgen-data";
  std::vector<std::string> public_hosts;
  int port = 8080, cpu_ranks = 1, http_threads = 16, max_connections = 256, max_connections_per_client = 16;
  double max_body_mb = 64, max_audio_seconds = 300, drain_timeout = 60, job_timeout = 0;
  double max_body_memory_mb = 0;  // 0: 4 x --max-body-mb
  double header_timeout = 10, io_timeout = 30;
  std::int64_t max_image_pixels = 4096LL * 4096;
  std::size_t max_text_chars = 5000;
  int max_queued_jobs = 1000;
  bool tiny_jobs = false;
  bool insecure_no_token = false;
  std::string webhook_secret_file;
  bool allow_private_webhooks = false;
};

// The signal handler only writes a byte to a pipe; a normal thread reads it and drains. (Any thread may
// receive the signal, and nothing but write() is safe inside a handler.)
int g_signal_pipe[2] = {-1, -1};
extern "C" void on_stop_signal(int) {
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(g_signal_pipe[1], &byte, 1);
}

void install_stop_signals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) fail(ErrorCode::internal, "cannot create the signal pipe");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client hanging up mid-response is not a reason to die
}

std::vector<int> parse_gpus(const std::string& text) {
  if (text.empty() || text == "all") return {};
  try {
    std::size_t used = 0;
    const int n = std::stoi(text, &used);
    if (used == text.size() && n >= 1) {
      std::vector<int> gpus(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) gpus[static_cast<std::size_t>(i)] = i;
      return gpus;
    }
  } catch (const std::exception&) {
  }
  fail(ErrorCode::invalid_argument, "--gpus is '{}'; expected a count (1, 2, ...) or 'all'", text);
}

// The token is the only thing between the network and the job API, and the webhook secret is what receivers
// trust: a copy that other local users can read is worth a warning (the server still starts: the operator may
// have reasons).
void warn_if_token_file_is_shared(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0) return;
  log_warn("serve: the secret file '{}' can be read or written by other users (mode {:03o}); run `chmod 600 {}`",
           path, st.st_mode & 0777, path);
}

std::chrono::milliseconds seconds_option(double seconds, const char* flag) {
  if (!(seconds > 0)) fail(ErrorCode::invalid_argument, "{} is {}; expected a positive number of seconds", flag, seconds);
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

server::ServerOptions make_options(const ServeArgs& a) {
  server::ServerOptions o;
  if (a.model.empty() == a.model_dir.empty())
    fail(ErrorCode::invalid_argument, "give exactly one of --model demo or --model-dir DIR");
  o.client.model = a.model;
  o.client.model_dir = a.model_dir;
  o.client.device = parse_device_policy(a.device);
  o.client.gpus = parse_gpus(a.gpus);
  o.client.cpu_ranks = a.cpu_ranks;
  o.client.job_timeout = std::chrono::milliseconds(static_cast<long long>(a.job_timeout * 1000));
  o.host = a.host;
  o.port = a.port;
  o.data_dir = a.data_dir;
  if (!a.token_file.empty()) {
    o.token = server::load_token_file(a.token_file);
    warn_if_token_file_is_shared(a.token_file);
  }
  o.insecure_no_token = a.insecure_no_token;
  if (!a.webhook_secret_file.empty()) {
    o.webhooks.secret = server::load_token_file(a.webhook_secret_file, "webhook secret");
    warn_if_token_file_is_shared(a.webhook_secret_file);
  }
  o.webhooks.allow_private = a.allow_private_webhooks;
  o.public_hosts = a.public_hosts;
  o.max_connections = a.max_connections;
  o.max_connections_per_client = a.max_connections_per_client;
  o.header_timeout = seconds_option(a.header_timeout, "--header-timeout");
  o.io_timeout = seconds_option(a.io_timeout, "--io-timeout");
  // (Bounded above so the byte counts cannot overflow.)
  if (!(a.max_body_mb > 0 && a.max_body_mb <= 1048576))
    fail(ErrorCode::invalid_argument, "--max-body-mb is {}; expected a positive number of MiB, at most 1048576",
         a.max_body_mb);
  o.limits.max_body_bytes = static_cast<std::size_t>(a.max_body_mb * 1024 * 1024);
  if (!(a.max_body_memory_mb >= 0 && a.max_body_memory_mb <= 1048576))
    fail(ErrorCode::invalid_argument, "--max-body-memory-mb is {}; expected MiB from 0 (4 x --max-body-mb) to 1048576",
         a.max_body_memory_mb);
  o.limits.max_body_memory_bytes = static_cast<std::size_t>(a.max_body_memory_mb * 1024 * 1024);
  o.limits.max_audio_seconds = a.max_audio_seconds;
  o.limits.max_image_pixels = a.max_image_pixels;
  o.limits.max_text_chars = a.max_text_chars;
  o.limits.max_queued_jobs = a.max_queued_jobs;
  o.http_threads = a.http_threads;
  o.drain_timeout = std::chrono::milliseconds(static_cast<long long>(a.drain_timeout * 1000));
  if (a.tiny_jobs) {
    if (a.model != "demo") fail(ErrorCode::invalid_argument, "--test-tiny-jobs is for --model demo only");
    o.customize_job = [](Job& job) {  // about a second per job on a CPU: for tests of the server itself
      auto& g = job.generate;
      g.mode = GenerationMode::clip;
      g.frames_per_chunk = 17;
      g.motion_frames = 5;
      g.steps = 2;
      g.encoder.preset = "ultrafast";
    };
  }
  return o;
}

int run_serve(const ServeArgs& a) {
  install_stop_signals();
  server::ServerOptions options = make_options(a);
  const std::string host = options.host;
  server::Server server(std::move(options));
  const int port = server.bind();
  const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::fputs((nlohmann::json{{"event", "listening"}, {"host", host}, {"port", port},
                             {"url", fmt::format("http://{}:{}", url_host, port)}}.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
  log_info("serve: listening on http://{}:{} (data in '{}')", url_host, port, a.data_dir);

  std::thread http([&server] { server.run(); });
  char byte = 0;
  while (::read(g_signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  log_info("serve: stop signal: draining");
  // A second signal while draining stops at once (running jobs run again at the next start).
  std::thread second([&server] {
    char b = 0;
    if (::read(g_signal_pipe[0], &b, 1) == 1) server.stop();
  });
  second.detach();
  server.drain_and_stop();
  http.join();
  log_info("serve: stopped");
  return 0;
}

}  // namespace

CommandRun add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "HTTP job API and web page for remote clients (docs/server-api.md)");
  cmd->add_option("--model", args->model, "\"demo\": the tiny untrained model (no downloads)");
  cmd->add_option("--model-dir", args->model_dir, "Folder with the official weights");
  cmd->add_option("--device", args->device, "auto, cuda or cpu")->capture_default_str();
  cmd->add_option("--gpus", args->gpus, "GPUs in the pool: a count (devices 0..N-1) or 'all' (default)");
  cmd->add_option("--cpu-ranks", args->cpu_ranks, "CPU ranks in the pool when running on the CPU")->capture_default_str();
  cmd->add_option("--host", args->host, "Address to listen on (non-loopback needs --token-file)")->capture_default_str();
  cmd->add_flag("--insecure-no-token", args->insecure_no_token,
                "Allow a non-loopback --host without --token-file: anyone who can reach the port runs jobs");
  cmd->add_option("--public-host", args->public_hosts,
                  "Without --token-file: another name clients use for this server (Host/Origin check); repeatable");
  cmd->add_option("--port", args->port, "Port (0: any free port, printed on stdout)")->capture_default_str();
  cmd->add_option("--token-file", args->token_file, "File holding the bearer token clients must send");
  cmd->add_option("--data-dir", args->data_dir, "Job database and files")->capture_default_str();
  cmd->add_option("--webhook-secret-file", args->webhook_secret_file,
                  "File holding the secret that signs webhook deliveries (HMAC-SHA256; without it, jobs with a "
                  "webhook_url are refused)");
  cmd->add_flag("--allow-private-webhooks", args->allow_private_webhooks,
                "Also send webhooks to loopback, private and link-local addresses (refused by default: SSRF)");
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body (413 beyond)")->capture_default_str();
  cmd->add_option("--max-body-memory-mb", args->max_body_memory_mb,
                  "Memory for request bodies being read, all connections together (503 beyond; 0: 4 x --max-body-mb)")
      ->capture_default_str();
  cmd->add_option("--max-audio-seconds", args->max_audio_seconds, "Longest speech per job (422 beyond)")->capture_default_str();
  cmd->add_option("--max-image-pixels", args->max_image_pixels, "Largest decoded portrait, width x height")->capture_default_str();
  cmd->add_option("--max-text-chars", args->max_text_chars, "Longest script_text (bytes)")->capture_default_str();
  cmd->add_option("--max-queued-jobs", args->max_queued_jobs, "Unfinished jobs at once (429 beyond)")->capture_default_str();
  cmd->add_option("--http-threads", args->http_threads, "Worker threads for requests (uploads, the job store)")
      ->capture_default_str();
  cmd->add_option("--max-connections", args->max_connections, "Open connections at once (503 beyond)")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", args->max_connections_per_client,
                  "Open connections from one client address (503 beyond)")->capture_default_str();
  cmd->add_option("--header-timeout", args->header_timeout, "Seconds a client has to send a request's header")
      ->capture_default_str();
  cmd->add_option("--io-timeout", args->io_timeout,
                  "Seconds without progress reading a body or writing an answer; idle keep-alive connections")
      ->capture_default_str();
  cmd->add_option("--drain-timeout", args->drain_timeout, "Seconds SIGTERM waits for running jobs")->capture_default_str();
  cmd->add_option("--job-timeout", args->job_timeout, "Per-job wall-clock limit in seconds (0: none)")->capture_default_str();
  cmd->add_flag("--test-tiny-jobs", args->tiny_jobs, "Demo model only: make every job tiny (for testing the server)")
      ->group("Testing");
  return [args] { return run_serve(*args); };
}

}  // namespace talkgen::cli
