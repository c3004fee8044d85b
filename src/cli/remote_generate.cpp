// `talkgen generate --server URL`: one job over the server's HTTP API with cpp-httplib's client.
#include "cli/remote_generate.hpp"

// Debian's cpp-httplib is a compiled library: its header must see the library's own compile definitions
// (CPPHTTPLIB_OPENSSL_SUPPORT, ...), which come with the PkgConfig::HTTPLIB target. Until the CLI links it
// (through talkgen_server), --server answers `unsupported` instead of breaking everyone's build.
#if defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#define TALKGEN_CLI_REMOTE 1
#endif
#if TALKGEN_CLI_REMOTE

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/exit_code.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress_output.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// A field of the server's JSON that may be absent or null (the job object has nulls until they are known).
std::string text_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}
double number_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}
json object_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : json::object();
}

bool is_terminal_state(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

// The server's error code (a library ErrorCode name, or an HTTP-level one) as the library's code, so the
// process exits with the same code a local run would.
ErrorCode error_code_for(const std::string& code, int status) {
  static const std::pair<const char*, ErrorCode> kLibrary[] = {
      {"invalid_argument", ErrorCode::invalid_argument}, {"not_found", ErrorCode::not_found},
      {"unsupported", ErrorCode::unsupported}, {"checkpoint_mismatch", ErrorCode::checkpoint_mismatch},
      {"out_of_memory", ErrorCode::out_of_memory}, {"device_unavailable", ErrorCode::device_unavailable},
      {"cancelled", ErrorCode::cancelled}, {"timeout", ErrorCode::timeout}, {"io_error", ErrorCode::io_error},
      {"internal", ErrorCode::internal}};
  for (const auto& [name, value] : kLibrary) {
    if (code == name) return value;
  }
  if (code == "too_many_jobs" || code == "draining") return ErrorCode::device_unavailable;
  if (status == 404) return ErrorCode::not_found;
  if (status >= 400 && status < 500) return ErrorCode::invalid_argument;  // bad_request, unauthorized, 413, 409
  return ErrorCode::internal;
}

struct ServerUrl {
  std::string scheme_host_port;  // "http://host:8080", what httplib::Client takes
  std::string base_path;         // "" or "/prefix" (no trailing slash)
};

ServerUrl parse_server_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    fail(ErrorCode::invalid_argument, "--server {}: expected an http:// or https:// URL such as http://gpu-host:8080",
         url);
  }
  const auto path_start = url.find('/', scheme_end + 3);
  ServerUrl s;
  s.scheme_host_port = url.substr(0, path_start);
  if (s.scheme_host_port.size() <= scheme_end + 3) {
    fail(ErrorCode::invalid_argument, "--server {}: the URL has no host (expected e.g. http://gpu-host:8080)", url);
  }
  if (path_start != std::string::npos) {
    s.base_path = url.substr(path_start);
    while (!s.base_path.empty() && s.base_path.back() == '/') s.base_path.pop_back();
  }
  return s;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "{} '{}' cannot be opened: check the path", what, path);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in.good() && !in.eof()) fail(ErrorCode::io_error, "reading {} '{}' failed", what, path);
  return out.str();
}

std::string read_token(const RemoteGenerateArgs& args) {
  if (!args.token.empty()) return args.token;
  if (args.token_file.empty()) return "";
  std::string token = read_file(args.token_file, "token file");
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    fail(ErrorCode::invalid_argument, "token file '{}' is empty: put the server's bearer token in it",
         args.token_file);
  }
  return token.substr(first, last - first + 1);
}

std::string random_job_id() {
  std::random_device rd;
  return fmt::format("cli-{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

// One connection to the server with the retry policy: connection errors, 429 and 5xx are retried with
// exponential backoff and jitter (at least the server's Retry-After); anything else is final.
class Session {
 public:
  Session(const RemoteGenerateArgs& args, const std::string& token)
      : url_(parse_server_url(args.server_url)), client_(url_.scheme_host_port), max_attempts_(args.max_attempts) {
    if (max_attempts_ < 1) fail(ErrorCode::invalid_argument, "max attempts must be >= 1, got {}", max_attempts_);
    if (!token.empty()) client_.set_bearer_token_auth(token);
    client_.set_connection_timeout(std::chrono::seconds(10));
    client_.set_read_timeout(std::chrono::seconds(60));  // the event stream sends a keep-alive every 15 s
    client_.set_write_timeout(std::chrono::seconds(120));
  }

  std::string path(const std::string& route) const { return url_.base_path + route; }

  /// From another thread (the signal watcher): stops the request under way and every later one.
  void interrupt() {
    interrupted_ = true;
    client_.stop();
  }
  bool interrupted() const { return interrupted_; }
  /// Error(cancelled) once interrupted.
  void throw_if_interrupted(const std::string& what) const {
    if (interrupted_) fail(ErrorCode::cancelled, "{}: interrupted", what);
  }
  const std::string& server() const { return url_.scheme_host_port; }

  /// Runs `call` until it gives a final answer; returns a 2xx response, throws Error otherwise.
  /// `retry_not_ready`: a 409 not_ready is retried too (the video of a job whose last event said
  /// succeeded can lag that event by a moment).
  httplib::Result send(const std::string& what, const std::function<httplib::Result()>& call,
                       bool retry_not_ready = false) {
    std::string last_problem;
    for (int attempt = 1; attempt <= max_attempts_; ++attempt) {
      throw_if_interrupted(what);
      httplib::Result r = call();
      throw_if_interrupted(what);  // a stopped request fails in whatever way the socket's shutdown caused
      double retry_after = 0;
      if (!r) {
        last_problem = fmt::format("cannot reach {} ({})", url_.scheme_host_port, httplib::to_string(r.error()));
        if (r.error() == httplib::Error::Canceled) fail(ErrorCode::cancelled, "{}: stopped", what);
      } else if (r->status >= 200 && r->status < 300) {
        return r;
      } else if (r->status == 429 || r->status >= 500 || (retry_not_ready && r->status == 409 && is_not_ready(*r))) {
        last_problem = describe(*r);
        retry_after = std::atof(r->get_header_value("Retry-After").c_str());
      } else {
        throw error_from(what, *r);
      }
      if (attempt < max_attempts_) {
        const double delay = backoff_seconds(attempt, retry_after);
        log_debug("{}: {}; retrying in {:.1f} s (attempt {}/{})", what, last_problem, delay, attempt + 1,
                          max_attempts_);
        const auto resume = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
        while (Clock::now() < resume && !interrupted_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    fail(ErrorCode::io_error, "{}: {} (gave up after {} attempts; is `talkgen serve` running there?)", what,
         last_problem, max_attempts_);
  }

  httplib::Client& client() { return client_; }

  static bool is_not_ready(const httplib::Response& r) {
    try {
      return json::parse(r.body).value("code", "") == "not_ready";
    } catch (const json::exception&) {
      return false;
    }
  }

  static std::string describe(const httplib::Response& r) {
    try {
      const json body = json::parse(r.body);
      return fmt::format("{} {}: {}", r.status, body.value("code", ""), body.value("message", ""));
    } catch (const json::exception&) {
      return fmt::format("HTTP {}", r.status);
    }
  }

  static Error error_from(const std::string& what, const httplib::Response& r) {
    std::string code, message = fmt::format("HTTP {}", r.status);
    try {
      const json body = json::parse(r.body);
      code = body.value("code", "");
      message = body.value("message", message);
    } catch (const json::exception&) {
    }
    if (r.status == 401) message += " (give the server's token with --token-file)";
    return Error(error_code_for(code, r.status), fmt::format("{}: the server answered {}: {}", what, r.status, message));
  }

 private:
  double backoff_seconds(int attempt, double retry_after) {
    const double cap = std::min(30.0, 0.5 * double(1 << std::min(attempt - 1, 10)));
    std::uniform_real_distribution<double> jitter(cap / 2, cap);
    return std::max(jitter(rng_), std::min(30.0, retry_after));
  }

  ServerUrl url_;
  httplib::Client client_;
  int max_attempts_;
  std::atomic<bool> interrupted_{false};
  std::mt19937 rng_{std::random_device{}()};
};

httplib::MultipartFormDataItems job_form(const RemoteGenerateArgs& args, const std::string& job_id) {
  if (args.image.empty()) fail(ErrorCode::invalid_argument, "--image is required");
  if (args.audio.empty() == args.text.empty()) {
    fail(ErrorCode::invalid_argument, "give exactly one of --audio FILE or --text \"...\"");
  }
  httplib::MultipartFormDataItems items;
  // Files go as they are: the server decodes and checks them before queueing (422 names the problem).
  items.push_back({"ref_image", read_file(args.image, "image"), args.image, "application/octet-stream"});
  if (!args.audio.empty()) {
    items.push_back({"audio", read_file(args.audio, "audio"), args.audio, "application/octet-stream"});
    if (!args.audio2.empty()) {
      items.push_back({"audio2", read_file(args.audio2, "audio2"), args.audio2, "application/octet-stream"});
      if (!args.speaker_timing.empty()) items.push_back({"speaker_timing", args.speaker_timing, "", ""});
      for (const auto& [name, box] : {std::pair{"speaker1_box", &args.speaker1_box}, std::pair{"speaker2_box", &args.speaker2_box}})
        if (*box) items.push_back({name, fmt::format("[{}, {}, {}, {}]", (*box)->x0, (*box)->y0, (*box)->x1, (*box)->y1), "", ""});
    }
  } else {
    items.push_back({"script_text", args.text, "", ""});
    if (!args.voice.empty()) items.push_back({"voice", args.voice, "", ""});
  }
  items.push_back({"quality", args.quality, "", ""});
  items.push_back({"resolution", args.resolution, "", ""});
  items.push_back({"seed", std::to_string(args.seed), "", ""});
  items.push_back({"job_id", job_id, "", ""});
  if (args.gpus) items.push_back({"num_gpus", std::to_string(*args.gpus), "", ""});
  if (args.max_duration_seconds) items.push_back({"max_duration_sec", fmt::format("{}", *args.max_duration_seconds), "", ""});
  if (!args.prompt.empty()) items.push_back({"prompt", args.prompt, "", ""});
  return items;
}

// The server's job object (docs/server-api.md) as a progress event; the server sends no elapsed time, so it
// is this command's own since the submit.
ProgressEvent remote_progress_event(const json& job, Clock::time_point submitted) {
  ProgressEvent e;
  e.job_id = text_of(job, "job_id").empty() ? text_of(job, "id") : text_of(job, "job_id");
  e.state = text_of(job, "state");
  e.stage = text_of(job, "stage");
  e.attempt = static_cast<int>(number_of(job, "attempt"));
  e.chunk = static_cast<int>(number_of(job, "chunk"));
  e.chunks = static_cast<int>(number_of(job, "chunks"));
  e.step = static_cast<int>(number_of(job, "step"));
  e.steps = static_cast<int>(number_of(job, "steps"));
  e.fraction = std::clamp(number_of(job, "progress"), 0.0, 1.0);
  const auto eta = job.find("eta_seconds");
  if (eta != job.end() && eta->is_number()) e.eta_seconds = eta->get<double>();
  e.elapsed_seconds = std::chrono::duration<double>(Clock::now() - submitted).count();
  return e;
}

// GET `path`, its body streamed to `on_body` (return false to stop) when the answer is 200. Any other
// answer's body is kept as the result's body: the server's JSON error, for Session's messages.
httplib::Result get_streamed(Session& session, const std::string& path, const char* accept,
                             const std::function<bool(const char*, size_t)>& on_body) {
  int status = 0;
  std::string error_body;
  httplib::Result r = session.client().Get(
      path, httplib::Headers{{"Accept", accept}},
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* bytes, size_t n) {
        if (status == 200) return on_body(bytes, n);
        error_body.append(bytes, n);
        return true;
      });
  if (r && status != 200) r->body = error_body;
  return r;
}

// Follows the job through its event stream until it finishes; reconnects (after reading the job) when
// the stream ends early. `job` is updated as events come (the caller sees the last state even when this
// throws).
void follow(Session& session, json& job, Clock::time_point deadline, ProgressPrinter* printer,
            Clock::time_point submitted) {
  const std::string id = job.at("id");
  const std::string events = session.path("/v1/jobs/" + id + "/events");
  auto timed_out = [&] { return Clock::now() > deadline; };
  std::string buffer, data;
  auto on_line = [&](const std::string& line) {
    if (line.rfind("data:", 0) == 0) {
      data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
    } else if (line.empty() && !data.empty()) {
      try {
        job.update(json::parse(data));
        if (printer) printer->print(remote_progress_event(job, submitted));
      } catch (const json::exception&) {
        log_warn("skipped an unreadable event from the server: {}", data.substr(0, 200));
      }
      data.clear();
    }
  };
  while (!is_terminal_state(text_of(job, "state"))) {
    if (timed_out()) break;
    buffer.clear();
    data.clear();
    httplib::Result r = get_streamed(session, events, "text/event-stream", [&](const char* bytes, size_t n) {
      buffer.append(bytes, n);
      for (auto eol = buffer.find('\n'); eol != std::string::npos; eol = buffer.find('\n')) {
        std::string line = buffer.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buffer.erase(0, eol + 1);
        on_line(line);
      }
      return !timed_out() && !is_terminal_state(text_of(job, "state")) && !session.interrupted();
    });
    session.throw_if_interrupted("following job " + id);
    if (r && r->status >= 400 && r->status < 500 && r->status != 429) {
      throw Session::error_from("following job " + id, *r);
    }
    if (is_terminal_state(text_of(job, "state"))) break;
    // The stream broke (server restart, proxy): read the job (with retries), then listen again.
    job.update(json::parse(session.send("reading job " + id, [&] {
      return session.client().Get(session.path("/v1/jobs/" + id));
    })->body));
    if (!is_terminal_state(text_of(job, "state"))) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (printer) printer->end();
  if (!is_terminal_state(text_of(job, "state"))) {
    // The caller's limit: free the GPUs for others (one try), then report.
    session.client().Delete(session.path("/v1/jobs/" + id));
    fail(ErrorCode::timeout, "job {} did not finish within the timeout; it was cancelled on the server", id);
  }
}

std::string part_path(const std::string& output) { return fmt::format("{}.{}.part", output, getpid()); }

// Streams the MP4 to a temp file next to `output`, then renames it into place; the temp file never outlives
// the call (a failure, a refusal or an interrupt removes it).
void download(Session& session, const std::string& id, const std::string& output, std::int64_t expected_bytes) {
  const std::string tmp = part_path(output);
  struct RemoveUnlessRenamed {
    const std::string& path;
    bool renamed = false;
    ~RemoveUnlessRenamed() {
      if (!renamed) std::remove(path.c_str());
    }
  } part{tmp};
  std::string what = "downloading the video of job " + id;
  session.send(what, [&]() {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorCode::io_error, "cannot write '{}': check the folder exists and is writable", tmp);
    httplib::Result r = get_streamed(session, session.path("/v1/jobs/" + id + "/video"), "video/mp4",
                                     [&](const char* bytes, size_t n) {
                                       out.write(bytes, static_cast<std::streamsize>(n));
                                       return static_cast<bool>(out) && !session.interrupted();
                                     });
    out.close();
    if (!out) fail(ErrorCode::io_error, "writing '{}' failed (disk full?)", tmp);
    return r;
  }, /*retry_not_ready=*/true);
  std::ifstream check(tmp, std::ios::binary | std::ios::ate);
  const std::int64_t got = check ? static_cast<std::int64_t>(check.tellg()) : -1;
  if (expected_bytes > 0 && got != expected_bytes) {
    fail(ErrorCode::io_error, "the video of job {} arrived incomplete ({} of {} bytes); run the command again "
         "(the finished job is kept on the server)", id, got, expected_bytes);
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0)
    fail(ErrorCode::io_error, "cannot move the video to '{}': check the folder is writable", output);
  part.renamed = true;
}

}  // namespace

int run_remote_generate(const RemoteGenerateArgs& args) {
  if (args.output.empty()) fail(ErrorCode::invalid_argument, "-o/--output is required");
  const Clock::time_point deadline = Clock::now() + args.timeout;
  Session session(args, read_token(args));
  const std::string job_id = args.job_id.empty() ? random_job_id() : args.job_id;
  const httplib::MultipartFormDataItems form = job_form(args, job_id);
  ProgressPrinter* const printer = args.printer;
  auto note = [&](const std::string& line) {
    if (printer) printer->note(line);
    else fmt::print(stderr, "{}\n", line);
  };
  // Ctrl-C / SIGTERM: the first stops the request under way (the code below then cancels the job on the
  // server); a second quits at once, removing the partial download.
  if (args.interrupts) {
    const std::string part = part_path(args.output);
    args.interrupts->on_signal([&session, part](int count, int) {
      if (count >= 2) {
        ::unlink(part.c_str());
        fmt::print(stderr, "\ntalkgen: interrupted again: quitting now (the job may still run on the server)\n");
        std::fflush(stderr);
        ::_exit(exit_code_for(ErrorCode::cancelled));
      }
      session.interrupt();
    });
    if (args.interrupts->count() > 0) session.interrupt();
  }
  const InterruptWatch::ResetOnExit reset_handler{args.interrupts};

  // The same job_id on every attempt: a submit whose answer was lost is found again, not run twice.
  json job = json::parse(session.send("submitting the job to " + session.server(), [&] {
    return session.client().Post(session.path("/v1/jobs"), form);
  })->body);
  const Clock::time_point submitted = Clock::now();
  const std::string id = job.at("id");
  if (!args.json) note(fmt::format("job {} {} on {}", id, text_of(job, "state"), session.server()));

  try {
    follow(session, job, deadline, printer, submitted);
  } catch (const Error&) {
    if (!session.interrupted()) throw;
    if (printer) printer->end();
    if (is_terminal_state(text_of(job, "state")))
      fail(ErrorCode::cancelled, "interrupted: job {} had already {} on {}; nothing was downloaded", id,
           text_of(job, "state"), session.server());
    // Free the server's devices: one short try on a fresh connection (the interrupted one was shut down).
    httplib::Client cancel_client(parse_server_url(args.server_url).scheme_host_port);
    const std::string token = read_token(args);
    if (!token.empty()) cancel_client.set_bearer_token_auth(token);
    cancel_client.set_connection_timeout(std::chrono::seconds(5));
    cancel_client.set_read_timeout(std::chrono::seconds(5));
    const httplib::Result r = cancel_client.Delete(session.path("/v1/jobs/" + id));
    if (r && r->status >= 200 && r->status < 300)
      fail(ErrorCode::cancelled, "interrupted: job {} was cancelled on {}", id, session.server());
    fail(ErrorCode::cancelled, "interrupted; cancelling job {} on {} failed ({}): it may still run there", id,
         session.server(), r ? Session::describe(*r) : httplib::to_string(r.error()));
  }
  const std::string state = text_of(job, "state");
  if (state != "succeeded") {
    const json error = object_of(job, "error");
    const std::string code = error.contains("code") ? text_of(error, "code") : state;
    const std::string message = error.contains("message") ? text_of(error, "message") : "no reason given";
    throw Error(error_code_for(code, 0), fmt::format("job {} {} on the server: {}", id, state, message));
  }
  const json result = object_of(job, "result");
  try {
    download(session, id, args.output, static_cast<std::int64_t>(number_of(result, "bytes")));
  } catch (const Error&) {
    if (!session.interrupted()) throw;
    fail(ErrorCode::cancelled, "interrupted while downloading: nothing was written; the finished job {} is kept on "
         "{} (GET /v1/jobs/{}/video)", id, session.server(), id);
  }

  if (args.json) {
    json out = job;
    out["output"] = args.output;
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("wrote {} ({}x{}, {} frames, {:.2f} s) in {:.1f} s on {} (job {})\n", args.output,
               number_of(result, "width"), number_of(result, "height"), number_of(result, "frames"),
               number_of(result, "duration_seconds"), number_of(object_of(job, "timings"), "total"),
               session.server(), id);
    if (result.value("untrained_model", false) == true) {
      fmt::print("NOTE: the server runs an untrained model (demo): the video shows noise, not a talking head.\n");
    }
  }
  return 0;
}

}  // namespace talkgen::cli

#else  // !TALKGEN_CLI_REMOTE

#include "talkgen/error.hpp"

namespace talkgen::cli {
int run_remote_generate(const RemoteGenerateArgs& args) {
  fail(ErrorCode::unsupported, "--server {}: this talkgen was built without cpp-httplib's client (link talkgen_cli "
       "with PkgConfig::HTTPLIB; see src/server/server.cmake)", args.server_url);
}
}  // namespace talkgen::cli

#endif
