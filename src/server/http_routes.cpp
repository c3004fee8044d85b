#include "server/http_routes.hpp"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "server/api_json.hpp"
#include "server/auth.hpp"
#include "server/http_error.hpp"
#include "server/job_service.hpp"
#include "server/metrics.hpp"
#include "server/server.hpp"
#include "talkgen/planner.hpp"

#include "server/web/web_assets.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  res.set_content(error_body(code, message), kJson);
}

// Every handler runs inside this: the token is checked (after the body was read, so a refused upload
// leaves the connection usable), then library errors, HTTP errors and bugs all become JSON.
template <typename Fn>
httplib::Server::Handler guarded(const std::string& token, Fn fn) {
  return [token, fn](const httplib::Request& req, httplib::Response& res) {
    if (!is_authorized(req, token)) {
      send_unauthorized(res);
      return;
    }
    try {
      fn(req, res);
    } catch (const HttpError& e) {
      send_error(res, e.status(), e.code(), e.what());
    } catch (const Error& e) {
      send_error(res, http_status_for(e.code()), to_string(e.code()), e.what());
    } catch (const json::exception& e) {
      send_error(res, 400, "bad_request", fmt::format("malformed JSON value: {}", e.what()));
    } catch (const std::exception& e) {
      send_error(res, 500, to_string(ErrorCode::internal), fmt::format("internal error: {}", e.what()));
    }
  };
}

json parse_body_object(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    throw HttpError(400, "bad_request", "the body is not a JSON object; send Content-Type: application/json");
  return body;
}

int query_int(const httplib::Request& req, const char* key, int fallback, int lo, int hi) {
  if (!req.has_param(key)) return fallback;
  const std::string text = req.get_param_value(key);
  try {
    std::size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= lo && v <= hi) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw HttpError(400, "bad_request", fmt::format("query parameter '{}' is '{}'; expected an integer in {}..{}",
                                                  key, text.substr(0, 40), lo, hi));
}

void post_job(JobService& jobs, const httplib::Request& req, httplib::Response& res) {
  JobRequest request;
  if (req.is_multipart_form_data()) {
    FormParts parts;
    for (const auto& [name, part] : req.files) parts[name] = part.content;
    request = parse_job_form(parts);
  } else {
    request = parse_job_json(req.body);
  }
  const JobService::Submitted s = jobs.submit(std::move(request));
  res.set_header("Location", fmt::format("/v1/jobs/{}", s.job["id"].get<std::string>()));
  send_json(res, s.created ? 201 : 200, s.job);
}

// Range requests: cpp-httplib 0.11 does not bound ranges by the content length, so they are checked
// (416 when unsatisfiable) and clamped here before it slices the file.
bool clamp_ranges(const httplib::Request& req, std::size_t size) {
  auto& ranges = const_cast<httplib::Request&>(req).ranges;  // the Request object itself is not const
  const auto n = static_cast<ssize_t>(size);
  for (auto& r : ranges) {
    if (r.first == -1 && r.second == -1) continue;
    if (r.first == -1) {  // suffix: the last r.second bytes
      if (r.second <= 0 || n == 0) return false;
      r.second = std::min(r.second, n);
      continue;
    }
    if (r.first >= n) return false;
    if (r.second == -1 || r.second >= n) r.second = n - 1;
    if (r.second < r.first) return false;
  }
  return true;
}

void get_video(JobService& jobs, const httplib::Request& req, httplib::Response& res) {
  const std::string path = jobs.video_path(req.matches[1]);
  const std::size_t size = std::filesystem::file_size(path);
  res.set_header("Accept-Ranges", "bytes");
  if (!clamp_ranges(req, size)) {
    res.set_header("Content-Range", fmt::format("bytes */{}", size));
    send_error(res, 416, "bad_request", fmt::format("the Range is outside the video's {} bytes", size));
    return;
  }
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*file) fail(ErrorCode::io_error, "cannot open the video of job {}", std::string(req.matches[1]));
  res.set_content_provider(size, "video/mp4", [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
    char buffer[64 * 1024];
    file->clear();
    file->seekg(static_cast<std::streamoff>(offset));
    const auto want = static_cast<std::streamsize>(std::min(length, sizeof buffer));
    file->read(buffer, want);
    const std::streamsize got = file->gcount();
    return got > 0 && sink.write(buffer, static_cast<std::size_t>(got));
  });
}

// Server-Sent Events: the job object after each change, until it has finished.
void get_events(JobService& jobs, const ServerOptions& options, const httplib::Request& req,
                httplib::Response& res) {
  const std::string id = req.matches[1];
  if (!jobs.job(id)) throw HttpError(404, "not_found", fmt::format("no job '{}'", id));
  struct Stream {
    std::uint64_t seq = 0;
    std::string last_state;
    bool ended = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto stream = std::make_shared<Stream>();
  const auto keepalive = options.event_keepalive;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [&jobs, id, stream, keepalive](std::size_t, httplib::DataSink& sink) {
    // Runs outside the handler's try: nothing may escape from here.
    try {
      if (stream->ended || jobs.events_stopped()) {
        sink.done();
        return true;
      }
      const auto wait = std::min<std::chrono::milliseconds>(keepalive, std::chrono::milliseconds(1000));
      const auto event = jobs.next_event(id, stream->seq, wait);
      const auto now = std::chrono::steady_clock::now();
      if (!event) {
        if (now - stream->last_write < keepalive) return true;
        stream->last_write = now;
        return sink.write(": keep-alive\n\n", 14);
      }
      const std::string state = event->job["state"].get<std::string>();
      const char* type = state != stream->last_state ? "state" : "progress";
      const std::string text =
          fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event->seq, type, event->job.dump());
      stream->seq = event->seq;
      stream->last_state = state;
      stream->ended = event->finished;
      stream->last_write = now;
      return sink.write(text.data(), text.size());
    } catch (const std::exception& e) {
      const std::string text = fmt::format("event: error\ndata: {}\n\n", error_body("internal", e.what()));
      sink.write(text.data(), text.size());
      sink.done();
      return true;
    }
  });
}

void post_plan(JobService& jobs, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body_object(req);
  if (!body.contains("duration_sec") || !body["duration_sec"].is_number() || !(body["duration_sec"] > 0))
    throw HttpError(400, "bad_request", "'duration_sec' must be a positive number (seconds of speech)");
  const double duration = body["duration_sec"].get<double>();
  const Quality quality = parse_quality(body.value("quality", "balanced"));
  const Resolution resolution = parse_resolution(body.value("resolution", "480p"));
  PlanLimits limits;
  if (body.contains("budget_usd") && !body["budget_usd"].is_null()) limits.budget_usd = body["budget_usd"].get<double>();
  if (body.contains("deadline_sec") && !body["deadline_sec"].is_null())
    limits.deadline_seconds = body["deadline_sec"].get<double>();
  const std::string gpu_type = body.value("gpu_type", "");
  if (gpu_type.empty()) {
    send_json(res, 200, plan_to_json(jobs.plan(duration, quality, resolution, limits)));
    return;
  }
  // A named GPU type: every option with why it does or does not qualify (no error for unmet limits).
  PlanRequest r;
  r.duration_seconds = duration;
  r.quality = quality;
  r.resolution = resolution;
  r.gpu_type = gpu_type;
  r.gpus_available = body.value("gpus_available", 8);
  r.budget_usd = limits.budget_usd;
  r.deadline_seconds = limits.deadline_seconds;
  r.include_model_load = false;  // the server keeps its weights loaded
  send_json(res, 200, plan_to_json(evaluate_plan(r)));
}

std::string metrics_text(JobService& jobs, const HttpMetrics& metrics) {
  const JobService::Counts c = jobs.counts();
  std::string out;
  out += "# HELP talkgen_queue_depth Jobs waiting for devices.\n# TYPE talkgen_queue_depth gauge\n";
  out += fmt::format("talkgen_queue_depth {}\n", c.queued);
  out += "# HELP talkgen_jobs_running Jobs running now.\n# TYPE talkgen_jobs_running gauge\n";
  out += fmt::format("talkgen_jobs_running {}\n", c.running);
  out += "# HELP talkgen_jobs Job records by state.\n# TYPE talkgen_jobs gauge\n";
  for (const char* state : {"queued", "running", "retrying", "succeeded", "failed", "cancelled"}) {
    const auto it = c.by_state.find(state);
    out += fmt::format("talkgen_jobs{{state=\"{}\"}} {}\n", state, it == c.by_state.end() ? 0 : it->second);
  }
  out += "# HELP talkgen_gpu_seconds_total Device-seconds used by jobs of this process.\n"
         "# TYPE talkgen_gpu_seconds_total counter\n";
  out += fmt::format("talkgen_gpu_seconds_total {}\n", c.gpu_seconds_total);
  out += "# HELP talkgen_jobs_submitted_total Jobs accepted by this process.\n"
         "# TYPE talkgen_jobs_submitted_total counter\n";
  out += fmt::format("talkgen_jobs_submitted_total {}\n", c.submitted_total);
  out += metrics.prometheus();
  return out;
}

}  // namespace

bool is_authorized(const httplib::Request& req, const std::string& token) {
  if (token.empty()) return true;
  // (Owned copies: get_header_value / get_param_value return temporaries.)
  const std::string authorization = req.get_header_value("Authorization");
  std::string given;
  if (const auto bearer = bearer_token(authorization)) given = std::string(*bearer);
  else if (req.has_param("access_token")) given = req.get_param_value("access_token");
  return !given.empty() && tokens_equal(given, token);
}

void send_unauthorized(httplib::Response& res) {
  res.status = 401;
  res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(error_body("unauthorized", "a valid bearer token is required: send 'Authorization: Bearer "
                             "<token>' with the token the server was started with (--token-file)"),
                  "application/json");
}

void add_routes(httplib::Server& http, JobService& jobs, HttpMetrics& metrics, const ServerOptions& options) {
  const std::string id = R"(/v1/jobs/([^/]+))";
  const std::string& token = options.token;
  http.Post("/v1/jobs", guarded(token, [&jobs](const auto& req, auto& res) { post_job(jobs, req, res); }));
  http.Get("/v1/jobs", guarded(token, [&jobs](const auto& req, auto& res) {
    const int limit = query_int(req, "limit", 20, 1, 100);
    const int offset = query_int(req, "offset", 0, 0, 1 << 30);
    send_json(res, 200, jobs.list(limit, offset, req.get_param_value("state")));
  }));
  http.Get(id, guarded(token, [&jobs](const auto& req, auto& res) {
    const auto job = jobs.job(req.matches[1]);
    if (!job) throw HttpError(404, "not_found", fmt::format("no job '{}'", std::string(req.matches[1])));
    send_json(res, 200, *job);
  }));
  http.Get(id + "/events", guarded(token, [&jobs, &options](const auto& req, auto& res) { get_events(jobs, options, req, res); }));
  http.Get(id + "/video", guarded(token, [&jobs](const auto& req, auto& res) { get_video(jobs, req, res); }));
  http.Delete(id, guarded(token, [&jobs](const auto& req, auto& res) {
    json after;
    switch (jobs.remove(req.matches[1], &after)) {
      case JobService::Removal::not_found:
        throw HttpError(404, "not_found", fmt::format("no job '{}'", std::string(req.matches[1])));
      case JobService::Removal::cancelling: send_json(res, 202, after); break;
      case JobService::Removal::deleted:
        send_json(res, 200, json{{"id", std::string(req.matches[1])}, {"deleted", true}});
        break;
    }
  }));
  http.Post("/v1/plan", guarded(token, [&jobs](const auto& req, auto& res) { post_plan(jobs, req, res); }));
  http.Get("/v1/stats", guarded(token, [&jobs](const auto&, auto& res) { send_json(res, 200, jobs.stats()); }));
  http.Post("/v1/stats/reset", guarded(token, [&jobs](const auto&, auto& res) {
    jobs.reset_stats();
    send_json(res, 200, jobs.stats());
  }));
  http.Get("/healthz", guarded(std::string(), [&jobs](const auto&, auto& res) {
    if (jobs.draining()) send_json(res, 503, json{{"status", "draining"}});
    else send_json(res, 200, json{{"status", "ok"}});
  }));
  http.Get("/metrics", guarded(token, [&jobs, &metrics](const auto&, auto& res) {
    res.set_content(metrics_text(jobs, metrics), "text/plain; version=0.0.4");
  }));
  // The web page, last: its pattern matches every path the routes above did not take.
  http.Get("/.*", guarded(token, [](const auto& req, auto& res) {
    const auto asset = find_web_asset(req.path);
    if (!asset) throw HttpError(404, "not_found", fmt::format("no route GET {}; the API is under /v1 "
                                "(see docs/server-api.md)", req.path));
    res.set_content(std::string(asset->body), std::string(asset->content_type).c_str());
  }));
}

}  // namespace talkgen::server
