// The HTTP/1.1 transport of `talkgen serve`, on Boost.Beast + Boost.Asio: a few I/O threads serve every
// connection asynchronously, and a bounded pool of worker threads runs the handlers that do real work
// (decoding uploads, the job database). No connection holds a thread while it waits, so idle, slow or
// streaming clients cannot starve the others (docs/server-api.md, "Connections").
//
// For each request:
//   1. the header is read (at most 16 KiB, within --header-timeout);
//   2. HttpApplication::admit() decides from the header alone — token, Host, Origin, route, body framing
//      and size — on the I/O thread, before one byte of the body is read; a refusal is answered at once
//      (and the connection closed if a body was announced);
//   3. the body is read, at most --max-body-mb of it, chunked or not (no progress for --io-timeout: closed),
//      its bytes taken from a budget all bodies share (--max-body-memory-mb; 503 when it is spent);
//   4. HttpApplication::handle() answers on a worker thread (or on the I/O thread for answers that never
//      block, e.g. /healthz); files are streamed from disk; event streams are polled on a timer.
// Connections are capped in total and per client address; over a cap a connection gets a short 503.
//
// This file knows nothing of jobs: the routes are an HttpApplication (http_routes.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "server/http_message.hpp"

namespace talkgen::server {

class HttpMetrics;

struct HttpTransportOptions {
  int io_threads = 2;                         ///< threads that run every connection (never blocked)
  int worker_threads = 16;                    ///< --http-threads: handlers that touch the store or decode media
  std::size_t max_body_bytes = std::size_t{64} << 20;  ///< --max-body-mb (chunked bodies by decoded size)
  /// --max-body-memory-mb: bodies being read, all connections together (503 + Retry-After beyond)
  std::size_t max_body_memory_bytes = std::size_t{256} << 20;
  std::size_t max_header_bytes = 16 * 1024;   ///< request line and header fields together (431 beyond)
  std::size_t max_connections = 256;          ///< --max-connections
  std::size_t max_connections_per_client = 16;  ///< --max-connections-per-client (by IP address)
  std::chrono::milliseconds header_timeout{10000};  ///< --header-timeout: a request's whole header
  std::chrono::milliseconds io_timeout{30000};      ///< --io-timeout: no progress reading a body or writing
                                                    ///< an answer; an idle keep-alive connection
  std::chrono::milliseconds linger_timeout{2000};   ///< after refusing a body: how long its rest is discarded
  std::chrono::milliseconds event_poll_interval{200};  ///< how often an event stream is polled
};

/// What the transport asks of the routes.
class HttpApplication {
 public:
  virtual ~HttpApplication() = default;

  struct Admission {
    std::optional<HttpResponse> refusal;  ///< answered instead of reading the body
    bool run_inline = false;              ///< handle() never blocks for this request: run it on the I/O thread
  };
  /// On an I/O thread, with the header only (`req.body` is empty): must not block. Sets `req.route_label`
  /// (bounded: metrics use it) and `req.path_params`.
  virtual Admission admit(HttpRequest& req) = 0;
  /// The answer to an admitted request whose body has been read. Must not throw.
  virtual HttpResponse handle(HttpRequest& req) = 0;
};

class HttpTransport {
 public:
  /// `app` and `metrics` must outlive the transport.
  HttpTransport(HttpApplication& app, HttpMetrics& metrics, HttpTransportOptions options);
  /// Stops at once (as stop(0)) and waits for the worker threads. run() must have returned.
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  /// Listens on host:port (0: any free port) and returns the port. Error(io_error) when it cannot.
  int bind(const std::string& host, int port);
  /// Serves on the calling thread and io_threads - 1 more, until stop(). Call bind() first.
  void run();
  /// Stops accepting. With `grace` > 0: connections idle between requests close now, requests in progress
  /// are answered (and event streams that end are closed), for up to `grace`; then everything stops.
  /// Thread-safe; run() returns soon after.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen::server
