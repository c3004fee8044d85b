#include "server/http_routes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "server/api_json.hpp"
#include "server/http_error.hpp"
#include "server/http_range.hpp"
#include "server/job_service.hpp"
#include "server/metrics.hpp"
#include "server/multipart.hpp"
#include "server/request_json.hpp"
#include "server/server.hpp"
#include "server/web/web_assets.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;
using Route = ApiRoutes::Route;

struct RouteMatch {
  Route route = Route::unknown;
  std::string job_id;  // percent-decoded
};

// The fixed route table. Paths are matched as sent (ids and routes need no escapes); a job id segment is
// percent-decoded for the lookup.
RouteMatch match_route(const std::string& path) {
  static const std::pair<const char*, Route> kFixed[] = {
      {"/healthz", Route::healthz}, {"/metrics", Route::metrics},         {"/v1/jobs", Route::jobs},
      {"/v1/plan", Route::plan},    {"/v1/stats", Route::stats},          {"/v1/stats/reset", Route::stats_reset}};
  for (const auto& [p, route] : kFixed)
    if (path == p) return {route, {}};
  constexpr std::string_view kJobs = "/v1/jobs/";
  const std::string_view view = path;
  if (view.size() > kJobs.size() && view.substr(0, kJobs.size()) == kJobs) {
    std::string_view rest = view.substr(kJobs.size());
    const auto slash = rest.find('/');
    const std::string_view id = rest.substr(0, slash);
    const std::string_view tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    auto decoded = percent_decode(id, false);
    if (id.empty() || !decoded) return {};
    if (tail.empty()) return {Route::job, std::move(*decoded)};
    if (tail == "/events") return {Route::job_events, std::move(*decoded)};
    if (tail == "/video") return {Route::job_video, std::move(*decoded)};
    return {};
  }
  if (path.rfind("/v1/", 0) == 0 || path == "/v1") return {};
  return {Route::page, {}};
}

// The methods each route answers (HEAD wherever GET is).
const char* allowed_methods(Route route) {
  switch (route) {
    case Route::jobs: return "GET, HEAD, POST";
    case Route::job: return "GET, HEAD, DELETE";
    case Route::job_events: return "GET";
    case Route::plan:
    case Route::stats_reset: return "POST";
    case Route::healthz:
    case Route::metrics:
    case Route::job_video:
    case Route::stats:
    case Route::page: return "GET, HEAD";
    case Route::unknown: return "";
  }
  return "";
}

bool method_allowed(Route route, const std::string& method) {
  const std::string_view allowed = allowed_methods(route);
  std::size_t start = 0;
  while (start < allowed.size()) {
    const auto end = std::min(allowed.find(", ", start), allowed.size());
    if (allowed.substr(start, end - start) == method) return true;
    start = end + 2;
  }
  return false;
}

// Methods that change something: a cross-site page must not be able to send them (without a token).
bool is_state_changing(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

HttpResponse send_json(int status, const json& body) { return json_response(status, body.dump()); }

// The longest GET /v1/jobs/{id}?wait=N: a minute, like hosted APIs' long polls (and under the timeouts of
// common proxies); a client wanting longer asks again.
constexpr int kMaxWaitSeconds = 60;

int query_int(const HttpRequest& req, const char* key, int fallback, int lo, int hi) {
  const auto text = req.query_value(key);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const long v = std::stol(*text, &used);
    if (used == text->size() && v >= lo && v <= hi) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw HttpError(400, "bad_request", fmt::format("query parameter '{}' is '{}'; expected an integer in {}..{}",
                                                  key, clip_for_message(*text), lo, hi));
}

HttpResponse post_job(JobService& jobs, const HttpRequest& req) {
  const std::string content_type(req.header("Content-Type").value_or(""));
  JobRequest request;
  if (media_type(content_type) == "multipart/form-data")
    request = parse_job_form(parse_multipart_form(req.body, multipart_boundary(content_type)));
  else
    request = parse_job_json(req.body);
  const JobService::Submitted s = jobs.submit(std::move(request));
  return send_json(s.created ? 201 : 200, s.job)
      .header("Location", fmt::format("/v1/jobs/{}", s.job["id"].get<std::string>()));
}

// The MP4, whole or one byte range (http_range.hpp), streamed from the open file.
HttpResponse get_video(JobService& jobs, const HttpRequest& req, const std::string& id) {
  const std::string path = jobs.video_path(id);
  auto slice = std::make_shared<FileSlice>();
  slice->fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (slice->fd.get() < 0) {
    if (errno == ENOENT) throw HttpError(404, "not_found", fmt::format("no video for job '{}' (deleted?)", id));
    fail(ErrorCode::io_error, "cannot open the video of job {}", id);
  }
  struct stat st {};
  if (::fstat(slice->fd.get(), &st) != 0) fail(ErrorCode::io_error, "cannot read the size of job {}'s video", id);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const RangeDecision range = decide_range(req.header("Range").value_or(""), size);
  if (range.kind == RangeDecision::Kind::unsatisfiable)
    return error_response(416, "range_not_satisfiable",
                          fmt::format("the Range is outside the video's {} bytes", size))
        .header("Content-Range", fmt::format("bytes */{}", size))
        .header("Accept-Ranges", "bytes");
  HttpResponse r;
  r.content_type = "video/mp4";
  r.header("Accept-Ranges", "bytes");
  if (range.kind == RangeDecision::Kind::partial) {
    r.status = 206;
    r.header("Content-Range", fmt::format("bytes {}-{}/{}", range.first, range.first + range.length - 1, size));
    slice->offset = range.first;
    slice->length = range.length;
  } else {
    slice->length = size;
  }
  r.file = std::move(slice);
  return r;
}

// GET /v1/jobs/{id}?wait=N: the job once it has finished, or as it is when N seconds have passed (or the
// server stops). Polled by the transport like an event stream: a waiting request holds no thread.
class JobWait : public PendingAnswer {
 public:
  JobWait(JobService& jobs, std::string id, std::chrono::seconds wait)
      : jobs_(jobs), id_(std::move(id)), deadline_(std::chrono::steady_clock::now() + wait) {}

  std::optional<HttpResponse> poll(bool answer_now) override {
    // Only jobs running or queued in this process change; the check reads memory, not the store.
    if (!answer_now && std::chrono::steady_clock::now() < deadline_ && jobs_.changing(id_)) return std::nullopt;
    const auto job = jobs_.job(id_);
    if (!job) return error_response(404, "not_found", fmt::format("no job '{}' (deleted?)", clip_for_message(id_)));
    return send_json(200, *job);
  }

 private:
  JobService& jobs_;
  const std::string id_;
  const std::chrono::steady_clock::time_point deadline_;
};

// Server-Sent Events: the job object after each change, until it has finished. Polled by the transport
// (one poll at a time), never waiting: no thread is held while nothing happens.
class JobEventStream : public EventStream {
 public:
  JobEventStream(JobService& jobs, std::string id, std::chrono::milliseconds keepalive)
      : jobs_(jobs), id_(std::move(id)), keepalive_(keepalive), last_write_(std::chrono::steady_clock::now()) {}

  std::optional<std::string> poll() override {
    if (ended_ || jobs_.events_stopped()) return std::nullopt;
    try {
      const auto event = jobs_.next_event(id_, seq_, std::chrono::milliseconds(0));
      const auto now = std::chrono::steady_clock::now();
      if (!event) {
        if (now - last_write_ < keepalive_) return std::string();
        last_write_ = now;
        return std::string(": keep-alive\n\n");
      }
      const std::string state = event->job["state"].get<std::string>();
      const char* type = state != last_state_ ? "state" : "progress";
      seq_ = event->seq;
      last_state_ = state;
      ended_ = event->finished;
      last_write_ = now;
      return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event->seq, type, event->job.dump());
    } catch (const std::exception& e) {
      ended_ = true;  // this message, then the end
      return fmt::format("event: error\ndata: {}\n\n", error_body("internal", e.what()));
    }
  }

 private:
  JobService& jobs_;
  const std::string id_;
  const std::chrono::milliseconds keepalive_;
  std::uint64_t seq_ = 0;
  std::string last_state_;
  bool ended_ = false;
  std::chrono::steady_clock::time_point last_write_;
};

// The fields of POST /v1/plan (docs/server-api.md); any other is refused by name, as for jobs.
constexpr std::array<const char*, 7> kPlanFields = {"duration_sec", "quality",    "resolution",    "budget_usd",
                                                    "deadline_sec", "gpu_type", "gpus_available"};

// A number field of a plan request: absent or null -> nullopt; otherwise a finite number in [lo, hi].
std::optional<double> plan_number(const json& body, const char* key, double lo, double hi) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < lo || it->get<double>() > hi)
    throw HttpError(400, "bad_request", fmt::format("'{}' must be a number from {:g} to {:g}", key, lo, hi));
  return it->get<double>();
}

// A short text field of a plan request (names from fixed lists: never echoed at length).
std::string plan_text(const json& body, const char* key, const char* fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string() || it->get_ref<const std::string&>().size() > 64)
    throw HttpError(400, "bad_request", fmt::format("'{}' must be a name of at most 64 characters", key));
  return it->get<std::string>();
}

HttpResponse post_plan(JobService& jobs, const HttpRequest& req) {
  const json body = parse_request_object(req.body);
  for (const auto& item : body.items())
    if (std::find_if(kPlanFields.begin(), kPlanFields.end(), [&](const char* f) { return item.key() == f; }) ==
        kPlanFields.end())
      throw HttpError(400, "bad_request",
                      fmt::format("unknown field '{}' in the plan request; the fields are duration_sec, quality, "
                                  "resolution, budget_usd, deadline_sec, gpu_type and gpus_available",
                                  item.key().substr(0, 40)));
  const auto duration = plan_number(body, "duration_sec", 0, 86400);
  if (!duration || !(*duration > 0))
    throw HttpError(400, "bad_request", "'duration_sec' must be a positive number (seconds of speech)");
  const Quality quality = parse_quality(plan_text(body, "quality", to_string(default_quality)));
  const Resolution resolution = parse_resolution(plan_text(body, "resolution", "480p"));
  PlanLimits limits;
  limits.budget_usd = plan_number(body, "budget_usd", 0, 1e9);
  limits.deadline_seconds = plan_number(body, "deadline_sec", 0, 1e9);
  const std::string gpu_type = plan_text(body, "gpu_type", "");
  if (gpu_type.empty()) return send_json(200, plan_to_json(jobs.plan(*duration, quality, resolution, limits)));
  // A named GPU type: every option with why it does or does not qualify (no error for unmet limits).
  PlanRequest r;
  r.duration_seconds = *duration;
  r.quality = quality;
  r.resolution = resolution;
  r.gpu_type = gpu_type;
  const auto gpus = plan_number(body, "gpus_available", 1, 1024);
  if (gpus && *gpus != std::floor(*gpus))
    throw HttpError(400, "bad_request", "'gpus_available' must be a whole number from 1 to 1024");
  r.gpus_available = gpus ? static_cast<int>(*gpus) : 8;
  r.budget_usd = limits.budget_usd;
  r.deadline_seconds = limits.deadline_seconds;
  r.include_model_load = false;  // the server keeps its weights loaded
  return send_json(200, plan_to_json(evaluate_plan(r)));
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

std::string not_found_message(const HttpRequest& req) {
  return fmt::format("no route {} {}; the API is under /v1 (see docs/server-api.md)",
                     clip_for_message(req.method, 16), clip_for_message(req.path, 80));
}

}  // namespace

ApiRoutes::ApiRoutes(JobService& jobs, HttpMetrics& metrics, const ServerOptions& options)
    : jobs_(jobs), metrics_(metrics), options_(options) {}

void ApiRoutes::set_port(int port) { hosts_.emplace(options_.host, options_.public_hosts, port); }

HttpApplication::Admission ApiRoutes::admit(HttpRequest& req) {
  Admission a;
  RouteMatch match = match_route(req.path);
  req.route_label = route_label(req.path);
  req.route_id = static_cast<int>(match.route);
  if (!match.job_id.empty()) req.path_params = {match.job_id};
  const bool with_token = !options_.token.empty();

  // 1. Who asks. With a token nothing else is said to a caller without it (not even "no such route").
  if (with_token && match.route != Route::healthz && !request_has_token(req, options_.token)) {
    a.refusal = unauthorized_response();
    return a;
  }
  const auto host = req.header("Host");
  // Two Host fields: which one names the server depends on who reads them (a proxy may take the other).
  if (req.headers.count("Host") > 1) {
    a.refusal = error_response(400, "bad_request", "the request has more than one Host header");
    return a;
  }
  if (!host && req.version >= 11) {
    a.refusal = error_response(400, "bad_request", "an HTTP/1.1 request needs a Host header");
    return a;
  }
  // 2. Without a token: only this server's own names (a DNS-rebinding page sends its own name as Host).
  if (!with_token && host && hosts_ && !hosts_->allows_host(*host)) {
    a.refusal = error_response(403, "forbidden",
                               fmt::format("Host '{}' is not a name of this server: without --token-file it answers "
                                           "to localhost, 127.0.0.1, [::1], --host and --public-host names only",
                                           clip_for_message(*host)));
    return a;
  }
  // 3. The route and method.
  if (match.route == Route::unknown) {
    a.refusal = error_response(404, "not_found", not_found_message(req));
    return a;
  }
  if (!method_allowed(match.route, req.method)) {
    a.refusal = error_response(405, "method_not_allowed",
                               fmt::format("{} takes {}, not {}", req.route_label, allowed_methods(match.route),
                                           clip_for_message(req.method, 16)))
                    .header("Allow", allowed_methods(match.route));
    return a;
  }
  // 4. Without a token: writes only from this server's own page (or from clients that send no Origin:
  // browsers send one with every cross-site POST or DELETE).
  if (!with_token && is_state_changing(req.method)) {
    const auto origin = req.header("Origin");
    if (origin && !(hosts_ && hosts_->allows_origin(*origin))) {
      a.refusal = error_response(403, "forbidden",
                                 fmt::format("cross-origin {} refused: Origin '{}' is not this server's own page; "
                                             "without --token-file only the page the server serves may change "
                                             "anything",
                                             req.method, clip_for_message(*origin)));
      return a;
    }
  }
  // 5. The body: size, encoding and type, from the header.
  BodyFraming framing;
  if (auto refusal = check_body_headers(req, options_.limits.max_body_bytes, framing)) {
    a.refusal = std::move(*refusal);
    return a;
  }
  a.run_inline = match.route == Route::healthz || match.route == Route::page;  // neither waits on anything
  return a;
}

HttpResponse ApiRoutes::handle(HttpRequest& req) {
  try {
    return dispatch(req);
  } catch (const HttpError& e) {
    return error_response(e.status(), e.code(), e.what());
  } catch (const Error& e) {
    return error_response(http_status_for(e.code()), to_string(e.code()), e.what());
  } catch (const json::exception& e) {
    return error_response(400, "bad_request", fmt::format("malformed JSON value: {}", e.what()));
  } catch (const std::exception& e) {
    return error_response(500, to_string(ErrorCode::internal), fmt::format("internal error: {}", e.what()));
  }
}

HttpResponse ApiRoutes::dispatch(HttpRequest& req) {
  const auto route = static_cast<Route>(req.route_id);
  // A job is named by the server's id or by the job_id its client chose.
  const std::string id = req.path_params.empty() ? std::string() : jobs_.resolve_id(req.path_params.front());
  switch (route) {
    case Route::healthz:
      if (jobs_.draining()) return send_json(503, json{{"status", "draining"}});
      return send_json(200, json{{"status", "ok"}});
    case Route::metrics: {
      HttpResponse r = json_response(200, metrics_text(jobs_, metrics_));
      r.content_type = "text/plain; version=0.0.4";
      return r;
    }
    case Route::jobs:
      if (req.method == "POST") return post_job(jobs_, req);
      return send_json(200, jobs_.list(query_int(req, "limit", 20, 1, 100), query_int(req, "offset", 0, 0, 1 << 30),
                                       req.query_value("state").value_or("")));
    case Route::job: {
      if (req.method == "DELETE") {
        json after;
        switch (jobs_.remove(id, &after)) {
          case JobService::Removal::not_found:
            throw HttpError(404, "not_found", fmt::format("no job '{}'", clip_for_message(id)));
          case JobService::Removal::cancelling: return send_json(202, after);
          case JobService::Removal::deleted: return send_json(200, json{{"id", id}, {"deleted", true}});
        }
      }
      const auto job = jobs_.job(id);
      if (!job) throw HttpError(404, "not_found", fmt::format("no job '{}'", clip_for_message(id)));
      const int wait = query_int(req, "wait", 0, 0, kMaxWaitSeconds);
      if (wait > 0 && jobs_.changing(id)) {
        HttpResponse r;
        r.pending = std::make_shared<JobWait>(jobs_, id, std::chrono::seconds(wait));
        return r;
      }
      return send_json(200, *job);
    }
    case Route::job_events: {
      if (!jobs_.job(id)) throw HttpError(404, "not_found", fmt::format("no job '{}'", clip_for_message(id)));
      HttpResponse r;
      r.content_type = "text/event-stream";
      r.header("Cache-Control", "no-cache").header("X-Accel-Buffering", "no");
      r.events = std::make_shared<JobEventStream>(jobs_, id, options_.event_keepalive);
      return r;
    }
    case Route::job_video: return get_video(jobs_, req, id);
    case Route::plan: return post_plan(jobs_, req);
    case Route::stats: return send_json(200, jobs_.stats());
    case Route::stats_reset:
      jobs_.reset_stats();
      return send_json(200, jobs_.stats());
    case Route::page: {
      const auto asset = find_web_asset(req.path);
      if (!asset) throw HttpError(404, "not_found", not_found_message(req));
      HttpResponse r = json_response(200, std::string(asset->body));
      r.content_type = std::string(asset->content_type);
      return r;
    }
    case Route::unknown: break;
  }
  throw HttpError(404, "not_found", not_found_message(req));
}

}  // namespace talkgen::server
