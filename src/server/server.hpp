// talkgen::server::Server — `talkgen serve`: the HTTP/1.1 job API (docs/server-api.md) over a JobService,
// with bearer-token auth, body and connection limits, JSON errors, /metrics and the web page, on the
// Beast/Asio transport (http_transport.hpp). Used by the CLI and, in process on an ephemeral port, by the
// tests.
//
//   ServerOptions o;  o.client.model = "demo";  o.port = 0;  o.data_dir = "/tmp/jobs";
//   Server server(o);                 // opens the store, loads the Client, re-queues unfinished jobs
//   int port = server.bind();         // 0 -> an ephemeral port
//   std::thread t([&] { server.run(); });
//   ...  server.drain_and_stop();  t.join();
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/limits.hpp"
#include "server/webhooks.hpp"
#include "talkgen/client.hpp"

namespace talkgen::server {

class JobService;

struct ServerOptions {
  ClientOptions client;
  std::string host = "127.0.0.1";
  int port = 8080;                               ///< 0: an ephemeral port (bind() says which)
  std::string data_dir = "talkgen-data";         ///< jobs.db and jobs/<id>/...
  std::string token;                             ///< empty: no auth, loopback addresses only (see below)
  /// Without a token, a non-loopback `host` is refused unless this is set (--insecure-no-token): then
  /// anyone who can reach the port can run jobs.
  bool insecure_no_token = false;
  /// Without a token, the Host / Origin names answered besides loopback names and `host`
  /// (--public-host; e.g. the machine's LAN name with --insecure-no-token).
  std::vector<std::string> public_hosts;
  Limits limits;
  int http_threads = 16;                         ///< worker threads for handlers (uploads, the job store)
  int io_threads = 2;                            ///< threads that serve every connection (never block)
  int max_connections = 256;                     ///< --max-connections: open connections in total
  int max_connections_per_client = 16;           ///< --max-connections-per-client: per client IP address
  std::chrono::milliseconds header_timeout{10000};   ///< --header-timeout: a request's whole header
  std::chrono::milliseconds io_timeout{30000};       ///< --io-timeout: no progress on a body / an answer;
                                                     ///< an idle keep-alive connection
  std::chrono::milliseconds drain_timeout{60000};  ///< how long SIGTERM waits for running jobs
  std::chrono::milliseconds event_keepalive{15000};  ///< ": keep-alive" comment interval of event streams
  std::chrono::milliseconds event_poll_interval{200};  ///< how often an event stream looks for news
  /// Webhooks of finished jobs: --webhook-secret-file (none: jobs with a webhook_url are refused) and
  /// --allow-private-webhooks.
  WebhookOptions webhooks;
  /// Applied to every job before it is queued (tests: tiny demo jobs). Empty: none.
  std::function<void(Job&)> customize_job;
};

class Server {
 public:
  /// Error(invalid_argument): a non-loopback host without a token (unless insecure_no_token), or an option
  /// out of range. Otherwise as JobService (store, Client).
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port and returns the port. Error(io_error) when the address cannot be bound.
  int bind();
  /// Serves until stop() / drain_and_stop() (from another thread). Call bind() first.
  void run();
  /// Graceful stop: refuse new jobs (503), keep queued ones on disk, let running ones finish for up to
  /// drain_timeout (then stop them; they run again at the next start), end event streams, stop listening
  /// (requests in progress get their answer within a short grace).
  void drain_and_stop();
  /// Stops listening at once (running jobs are stopped by the destructor and run again at the next start).
  void stop();

  JobService& jobs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen::server
