// Request metrics for /metrics (Prometheus text format 0.0.4): a latency histogram and a request counter
// per route and method, and the connections held and refused. Every label comes from a fixed set — routes
// by pattern ("/v1/jobs/{id}", never the raw path), methods from the standard list ("other" for anything a
// client makes up) — so no request can add rows that never go away.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace talkgen::server {

/// "/v1/jobs/3f9c.../events" -> "/v1/jobs/{id}/events"; anything not under /v1, /healthz or /metrics
/// -> "/static" (the web page) .
std::string route_label(const std::string& path);
/// GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH as they are; any other method -> "other".
std::string method_label(const std::string& method);

class HttpMetrics {
 public:
  static constexpr std::array<double, 12> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  /// `route` must be a label from route_label() (or a route table's pattern); `method` is labelled by
  /// method_label() here; `status` is one the server answered with.
  void observe(const std::string& route, const std::string& method, int status, double seconds);
  void connection_opened();
  void connection_closed();
  /// A connection refused for being over --max-connections ("total") or --max-connections-per-client
  /// ("per_client").
  void connection_refused(const char* reason);
  /// The histogram and counter families as Prometheus text.
  std::string prometheus() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // cumulative at render time, per-bucket here
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;              // (route, method)
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // (route, method, status)
  std::int64_t connections_open_ = 0;
  std::map<std::string, std::uint64_t> connections_refused_;  // by reason
};

}  // namespace talkgen::server
