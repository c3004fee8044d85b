#include "server/server.hpp"

#include <httplib.h>

#include <chrono>

#include "server/auth.hpp"
#include "server/http_error.hpp"
#include "server/http_routes.hpp"
#include "server/job_service.hpp"
#include "server/metrics.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace {

// When the request being handled on this thread started (cpp-httplib serves a connection on one thread,
// and the logger runs after the response on that same thread).
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local bool t_request_timed = false;

std::string default_error_message(const httplib::Request& req, int status, const Limits& limits) {
  switch (status) {
    case 400: return "the request could not be parsed as HTTP";
    case 404: return fmt::format("no route {} {}; the API is under /v1 (see docs/server-api.md)", req.method, req.path);
    case 413:
      return fmt::format("the request body is over the limit of {} bytes (--max-body-mb {}); send smaller media",
                         limits.max_body_bytes, limits.max_body_bytes >> 20);
    case 414: return "the request line is too long";
    case 416: return "the Range header is not satisfiable";
    default: return fmt::format("the request was refused with HTTP status {}", status);
  }
}

const char* default_error_code(int status) {
  switch (status) {
    case 404: return "not_found";
    case 413: return "payload_too_large";
    default: return status >= 500 ? "internal" : "bad_request";
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  JobService jobs;
  HttpMetrics metrics;
  httplib::Server http;
  int port = 0;

  explicit Impl(ServerOptions o)
      : options(std::move(o)), jobs(options.client, options.data_dir, options.limits, options.customize_job) {}
};

Server::Server(ServerOptions options) {
  if (options.token.empty() && !is_loopback_host(options.host))
    fail(ErrorCode::invalid_argument, "refusing to listen on '{}' without a token: anyone who can reach it could "
         "run jobs. Pass --token-file FILE (clients send 'Authorization: Bearer <token>'), or listen on "
         "127.0.0.1", options.host);
  if (options.http_threads < 2)
    fail(ErrorCode::invalid_argument, "--http-threads is {}; expected 2 or more", options.http_threads);
  impl_ = std::make_unique<Impl>(std::move(options));
  Impl& s = *impl_;
  httplib::Server& http = s.http;

  const int threads = s.options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  http.set_payload_max_length(s.options.limits.max_body_bytes);
  http.set_read_timeout(std::chrono::seconds(30));
  http.set_write_timeout(std::chrono::seconds(30));

  // Before routing: the clock starts. (The token is checked by each handler, once the body is read.)
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = std::chrono::steady_clock::now();
    t_request_timed = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors cpp-httplib answers itself (no route, body over the limit, bad request line): JSON too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    // Without the token, even "no such route" or "too large" says nothing but 401.
    if (req.path != "/healthz" && !is_authorized(req, s.options.token)) {
      send_unauthorized(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    res.set_content(error_body(default_error_code(res.status), default_error_message(req, res.status, s.options.limits)),
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(error_body("internal", "internal error while handling the request"), "application/json");
  });
  http.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        t_request_timed ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count() : 0.0;
    t_request_timed = false;
    s.metrics.observe(route_label(req.path), req.method, res.status, seconds);
  });
  add_routes(http, s.jobs, s.metrics, s.options);
}

Server::~Server() {
  if (impl_) {
    impl_->jobs.stop_events();
    impl_->http.stop();
  }
}

int Server::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
    if (s.port <= 0) fail(ErrorCode::io_error, "cannot listen on {} (any port): is the address local?", s.options.host);
  } else {
    if (!s.http.bind_to_port(s.options.host, s.options.port))
      fail(ErrorCode::io_error, "cannot listen on {}:{}: the port is in use or the address is not local; pick "
           "another --port (0 = any free one)", s.options.host, s.options.port);
    s.port = s.options.port;
  }
  return s.port;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::drain_and_stop() {
  Impl& s = *impl_;
  s.jobs.begin_drain();
  log_info("serve: draining: waiting up to {} s for running jobs", s.options.drain_timeout.count() / 1000.0);
  if (!s.jobs.wait_idle(s.options.drain_timeout)) {
    log_warn("serve: running jobs did not finish within the drain timeout; they are stopped and run again at the "
             "next start");
    s.jobs.interrupt_all();
    s.jobs.wait_idle(std::chrono::seconds(60));
  }
  s.jobs.stop_events();
  s.http.stop();
}

void Server::stop() {
  impl_->jobs.stop_events();
  impl_->http.stop();
}

JobService& Server::jobs() { return impl_->jobs; }

}  // namespace talkgen::server
