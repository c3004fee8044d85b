// talkgen::server::Server — `talkgen serve`: the HTTP/1.1 job API (docs/server-api.md) over a JobService,
// with bearer-token auth, body limits, JSON errors, /metrics and the web page. Used by the CLI and, in
// process on an ephemeral port, by the tests.
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

#include "server/limits.hpp"
#include "talkgen/client.hpp"

namespace talkgen::server {

class JobService;

struct ServerOptions {
  ClientOptions client;
  std::string host = "127.0.0.1";
  int port = 8080;                               ///< 0: an ephemeral port (bind() says which)
  std::string data_dir = "talkgen-data";         ///< jobs.db and jobs/<id>/...
  std::string token;                             ///< empty: no auth, loopback addresses only
  Limits limits;
  int http_threads = 64;                         ///< connections served at once (event streams hold one each)
  std::chrono::milliseconds drain_timeout{60000};  ///< how long SIGTERM waits for running jobs
  std::chrono::milliseconds event_keepalive{15000};  ///< ": keep-alive" comment interval of event streams
  /// Applied to every job before it is queued (tests: tiny demo jobs). Empty: none.
  std::function<void(Job&)> customize_job;
};

class Server {
 public:
  /// Error(invalid_argument): a non-loopback host without a token. Otherwise as JobService (store, Client).
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port and returns the port. Error(io_error) when the address cannot be bound.
  int bind();
  /// Serves until stop() / drain_and_stop() (from another thread). Call bind() first.
  void run();
  /// Graceful stop: refuse new jobs (503), keep queued ones on disk, let running ones finish for up to
  /// drain_timeout (then stop them; they run again at the next start), end event streams, stop listening.
  void drain_and_stop();
  /// Stops listening at once (running jobs are stopped by the destructor and run again at the next start).
  void stop();

  JobService& jobs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen::server
