// The routes of `talkgen serve` (docs/server-api.md): /v1 jobs, plan and stats, /healthz, /metrics and the
// web page, as an HttpApplication for the transport (http_transport.hpp).
//
// admit() decides from the header alone, before the body is read, in this order: with a token, the token
// (401 for everything but /healthz, whatever else is wrong); without one, the Host (403 unless a name of
// this server: DNS rebinding); the route (404, 405); without a token, the Origin of state-changing requests
// (403 unless this server's own page); the body's framing and type (http_checks.hpp: 413, 415).
// handle() then turns every library error, HTTP error and bug into a JSON error (http_error.hpp).
#pragma once

#include <optional>
#include <string>

#include "server/http_checks.hpp"
#include "server/http_transport.hpp"

namespace talkgen::server {

class JobService;
class HttpMetrics;
struct ServerOptions;

class ApiRoutes : public HttpApplication {
 public:
  /// All three must outlive the routes.
  ApiRoutes(JobService& jobs, HttpMetrics& metrics, const ServerOptions& options);
  /// The port the server listens on (the Host and Origin checks need it). Call before serving.
  void set_port(int port);

  Admission admit(HttpRequest& req) override;
  HttpResponse handle(HttpRequest& req) override;

  /// The route a path names, for metrics and dispatch ("/v1/jobs/{id}"); see route_label() in metrics.hpp.
  enum class Route { healthz, metrics, jobs, job, job_events, job_video, plan, stats, stats_reset, page, unknown };

 private:
  HttpResponse dispatch(HttpRequest& req);

  JobService& jobs_;
  HttpMetrics& metrics_;
  const ServerOptions& options_;
  std::optional<HostPolicy> hosts_;
};

}  // namespace talkgen::server
