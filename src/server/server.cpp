#include "server/server.hpp"

#include <chrono>

#include "server/auth.hpp"
#include "server/http_routes.hpp"
#include "server/http_transport.hpp"
#include "server/job_service.hpp"
#include "server/metrics.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace {

// How long a drained server still answers requests in progress once it stops listening.
constexpr std::chrono::milliseconds kStopGrace{2000};

void check_options(const ServerOptions& o) {
  if (o.token.empty() && !is_loopback_host(o.host) && !o.insecure_no_token)
    fail(ErrorCode::invalid_argument, "refusing to listen on '{}' without a token: anyone who can reach it could "
         "run jobs. Pass --token-file FILE (clients send 'Authorization: Bearer <token>'), listen on 127.0.0.1, or "
         "accept the risk with --insecure-no-token", o.host);
  if (o.http_threads < 2) fail(ErrorCode::invalid_argument, "--http-threads is {}; expected 2 or more", o.http_threads);
  if (o.io_threads < 1) fail(ErrorCode::invalid_argument, "io_threads is {}; expected 1 or more", o.io_threads);
  if (o.max_connections < 1)
    fail(ErrorCode::invalid_argument, "--max-connections is {}; expected 1 or more", o.max_connections);
  if (o.max_connections_per_client < 1)
    fail(ErrorCode::invalid_argument, "--max-connections-per-client is {}; expected 1 or more",
         o.max_connections_per_client);
  if (o.header_timeout.count() <= 0 || o.io_timeout.count() <= 0)
    fail(ErrorCode::invalid_argument, "--header-timeout and --io-timeout must be positive");
  if (o.limits.max_body_bytes == 0) fail(ErrorCode::invalid_argument, "--max-body-mb must be positive");
  if (o.limits.body_memory_bytes() < o.limits.max_body_bytes)
    fail(ErrorCode::invalid_argument, "--max-body-memory-mb is {:g}; expected at least --max-body-mb ({:g}), or no "
         "body of the largest size could be read", o.limits.body_memory_bytes() / 1048576.0,
         o.limits.max_body_bytes / 1048576.0);
}

HttpTransportOptions transport_options(const ServerOptions& o) {
  HttpTransportOptions t;
  t.io_threads = o.io_threads;
  t.worker_threads = o.http_threads;
  t.max_body_bytes = o.limits.max_body_bytes;
  t.max_body_memory_bytes = o.limits.body_memory_bytes();
  t.max_connections = static_cast<std::size_t>(o.max_connections);
  t.max_connections_per_client = static_cast<std::size_t>(o.max_connections_per_client);
  t.header_timeout = o.header_timeout;
  t.io_timeout = o.io_timeout;
  t.event_poll_interval = o.event_poll_interval;
  return t;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  JobService jobs;
  HttpMetrics metrics;
  ApiRoutes routes;
  HttpTransport http;  // destroyed first: its threads use the routes, the metrics and the jobs
  int port = 0;

  explicit Impl(ServerOptions o)
      : options(std::move(o)),
        jobs(options.client, options.data_dir, options.limits, options.customize_job, options.webhooks),
        routes(jobs, metrics, options),
        http(routes, metrics, transport_options(options)) {}
};

Server::Server(ServerOptions options) {
  check_options(options);
  if (options.token.empty() && !is_loopback_host(options.host))
    log_warn("serve: LISTENING ON '{}' WITHOUT A TOKEN (--insecure-no-token): anyone who can reach this port can "
             "run jobs, read every job and delete them. Use --token-file unless the network is yours alone.",
             options.host);
  impl_ = std::make_unique<Impl>(std::move(options));
}

Server::~Server() {
  if (impl_) {
    impl_->jobs.stop_events();
    impl_->http.stop(std::chrono::milliseconds(0));
  }
}

int Server::bind() {
  Impl& s = *impl_;
  s.port = s.http.bind(s.options.host, s.options.port);
  s.routes.set_port(s.port);
  return s.port;
}

void Server::run() { impl_->http.run(); }

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
  s.http.stop(kStopGrace);
}

void Server::stop() {
  impl_->jobs.stop_events();
  impl_->http.stop(std::chrono::milliseconds(0));
}

JobService& Server::jobs() { return impl_->jobs; }

}  // namespace talkgen::server
