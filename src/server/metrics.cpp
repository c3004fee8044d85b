#include "server/metrics.hpp"

#include <string_view>

#include <fmt/format.h>

namespace talkgen::server {

std::string route_label(const std::string& path) {
  // (String comparisons, not std::regex: libstdc++'s regex recurses once per character of the input.)
  constexpr std::string_view kJobs = "/v1/jobs/";
  const std::string_view p = path;
  if (p.size() > kJobs.size() && p.substr(0, kJobs.size()) == kJobs) {
    const std::string_view rest = p.substr(kJobs.size());
    const auto slash = rest.find('/');
    if (slash == 0) return "/v1/other";
    if (slash == std::string_view::npos) return "/v1/jobs/{id}";
    const std::string_view tail = rest.substr(slash);
    if (tail == "/events") return "/v1/jobs/{id}/events";
    if (tail == "/video") return "/v1/jobs/{id}/video";
    return "/v1/other";
  }
  for (const char* known : {"/v1/jobs", "/v1/plan", "/v1/stats", "/v1/stats/reset", "/healthz", "/metrics"})
    if (path == known) return path;
  if (path.rfind("/v1/", 0) == 0) return "/v1/other";
  return "/static";
}

std::string method_label(const std::string& method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
    if (method == known) return method;
  return "other";
}

void HttpMetrics::observe(const std::string& route, const std::string& raw_method, int status, double seconds) {
  const std::string method = method_label(raw_method);
  if (status < 100 || status > 599) status = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  Histogram& h = latency_[{route, method}];
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
  ++requests_[{route, method, status}];
}

void HttpMetrics::connection_opened() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connections_open_;
}

void HttpMetrics::connection_closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  --connections_open_;
}

void HttpMetrics::connection_refused(const char* reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connections_refused_[reason];
}

std::string HttpMetrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP talkgen_http_connections_open Client connections held now.\n";
  out += "# TYPE talkgen_http_connections_open gauge\n";
  out += fmt::format("talkgen_http_connections_open {}\n", connections_open_);
  out += "# HELP talkgen_http_connections_refused_total Connections refused over a connection limit.\n";
  out += "# TYPE talkgen_http_connections_refused_total counter\n";
  for (const char* reason : {"total", "per_client"}) {
    const auto it = connections_refused_.find(reason);
    out += fmt::format("talkgen_http_connections_refused_total{{reason=\"{}\"}} {}\n", reason,
                       it == connections_refused_.end() ? 0 : it->second);
  }
  out += "# HELP talkgen_http_request_duration_seconds Time from request line to response written.\n";
  out += "# TYPE talkgen_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const auto& [route, method] = key;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += h.buckets[b];
      out += fmt::format("talkgen_http_request_duration_seconds_bucket{{route=\"{}\",method=\"{}\",le=\"{}\"}} {}\n",
                         route, method, kBuckets[b], cumulative);
    }
    out += fmt::format("talkgen_http_request_duration_seconds_bucket{{route=\"{}\",method=\"{}\",le=\"+Inf\"}} {}\n",
                       route, method, h.count);
    out += fmt::format("talkgen_http_request_duration_seconds_sum{{route=\"{}\",method=\"{}\"}} {}\n", route,
                       method, h.sum);
    out += fmt::format("talkgen_http_request_duration_seconds_count{{route=\"{}\",method=\"{}\"}} {}\n", route,
                       method, h.count);
  }
  out += "# HELP talkgen_http_requests_total Requests answered, by route, method and status.\n";
  out += "# TYPE talkgen_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("talkgen_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route,
                       method, status, n);
  }
  return out;
}

}  // namespace talkgen::server
