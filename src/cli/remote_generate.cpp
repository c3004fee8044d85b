// `talkgen generate --server URL`: one job over the server's HTTP API with cpp-httplib's client.
#include "cli/remote_generate.hpp"

// Debian's cpp-httplib is a compiled library: its header must see the library's own compile definitions
// (CPPHTTPLIB_OPENSSL_SUPPORT, ...), which come with the PkgConfig::HTTPLIB target. Until the CLI links it
// (through talkgen_server), --server answers `unsupported` instead of breaking everyone's build.
#if defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#define TALKGEN_CLI_REMOTE 1
#endif
#if TALKGEN_CLI_REMOTE

#include <algorithm>
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
  const std::string& server() const { return url_.scheme_host_port; }

  /// Runs `call` until it gives a final answer; returns a 2xx response, throws Error otherwise.
  /// `retry_not_ready`: a 409 not_ready is retried too (the video of a job whose last event said
  /// succeeded can lag that event by a moment).
  httplib::Result send(const std::string& what, const std::function<httplib::Result()>& call,
                       bool retry_not_ready = false) {
    std::string last_problem;
    for (int attempt = 1; attempt <= max_attempts_; ++attempt) {
      httplib::Result r = call();
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
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
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

void print_progress(const json& job) {
  const double fraction = std::clamp(number_of(job, "progress"), 0.0, 1.0);
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  const auto eta = job.find("eta_seconds");
  fmt::print(stderr, "\r[{:<{}}] {:3.0f}% {} {}{}   ", std::string(filled, '#'), width, fraction * 100,
             text_of(job, "state"), text_of(job, "stage"),
             eta != job.end() && eta->is_number() ? fmt::format(" eta {:.0f}s", eta->get<double>()) : "");
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
// the stream ends early. Returns the final job object.
json follow(Session& session, json job, Clock::time_point deadline, bool show) {
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
        if (show) print_progress(job);
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
      return !timed_out() && !is_terminal_state(text_of(job, "state"));
    });
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
  if (show) fmt::print(stderr, "\n");
  if (!is_terminal_state(text_of(job, "state"))) {
    // The caller's limit: free the GPUs for others (one try), then report.
    session.client().Delete(session.path("/v1/jobs/" + id));
    fail(ErrorCode::timeout, "job {} did not finish within the timeout; it was cancelled on the server", id);
  }
  return job;
}

// Streams the MP4 to a temp file next to `output`, then renames it into place.
void download(Session& session, const std::string& id, const std::string& output, std::int64_t expected_bytes) {
  const std::string tmp = fmt::format("{}.{}.part", output, getpid());
  std::string what = "downloading the video of job " + id;
  session.send(what, [&]() {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorCode::io_error, "cannot write '{}': check the folder exists and is writable", tmp);
    httplib::Result r = get_streamed(session, session.path("/v1/jobs/" + id + "/video"), "video/mp4",
                                     [&](const char* bytes, size_t n) {
                                       out.write(bytes, static_cast<std::streamsize>(n));
                                       return static_cast<bool>(out);
                                     });
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      fail(ErrorCode::io_error, "writing '{}' failed (disk full?)", tmp);
    }
    return r;
  }, /*retry_not_ready=*/true);
  std::ifstream check(tmp, std::ios::binary | std::ios::ate);
  const std::int64_t got = check ? static_cast<std::int64_t>(check.tellg()) : -1;
  if (expected_bytes > 0 && got != expected_bytes) {
    std::remove(tmp.c_str());
    fail(ErrorCode::io_error, "the video of job {} arrived incomplete ({} of {} bytes); run the command again "
         "(the finished job is kept on the server)", id, got, expected_bytes);
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(ErrorCode::io_error, "cannot move the video to '{}': check the folder is writable", output);
  }
}

}  // namespace

int run_remote_generate(const RemoteGenerateArgs& args) {
  if (args.output.empty()) fail(ErrorCode::invalid_argument, "-o/--output is required");
  const Clock::time_point deadline = Clock::now() + args.timeout;
  Session session(args, read_token(args));
  const std::string job_id = args.job_id.empty() ? random_job_id() : args.job_id;
  const httplib::MultipartFormDataItems form = job_form(args, job_id);

  // The same job_id on every attempt: a submit whose answer was lost is found again, not run twice.
  json job = json::parse(session.send("submitting the job to " + session.server(), [&] {
    return session.client().Post(session.path("/v1/jobs"), form);
  })->body);
  const std::string id = job.at("id");
  const bool show = args.progress && !args.json && isatty(fileno(stderr));
  if (!args.json) fmt::print(stderr, "job {} {} on {}\n", id, text_of(job, "state"), session.server());

  job = follow(session, std::move(job), deadline, show);
  const std::string state = text_of(job, "state");
  if (state != "succeeded") {
    const json error = object_of(job, "error");
    const std::string code = error.contains("code") ? text_of(error, "code") : state;
    const std::string message = error.contains("message") ? text_of(error, "message") : "no reason given";
    throw Error(error_code_for(code, 0), fmt::format("job {} {} on the server: {}", id, state, message));
  }
  const json result = object_of(job, "result");
  download(session, id, args.output, static_cast<std::int64_t>(number_of(result, "bytes")));

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
