#include "server/metrics.hpp"

#include <regex>

#include <fmt/format.h>

namespace talkgen::server {

std::string route_label(const std::string& path) {
  static const std::regex job(R"(^/v1/jobs/[^/]+(/(events|video))?$)");
  std::smatch m;
  if (std::regex_match(path, m, job)) return m[1].matched ? "/v1/jobs/{id}/" + m[2].str() : "/v1/jobs/{id}";
  for (const char* known : {"/v1/jobs", "/v1/plan", "/v1/stats", "/v1/stats/reset", "/healthz", "/metrics"})
    if (path == known) return path;
  if (path.rfind("/v1/", 0) == 0) return "/v1/other";
  return "/static";
}

void HttpMetrics::observe(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Histogram& h = latency_[{route, method}];
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
  ++requests_[{route, method, status}];
}

std::string HttpMetrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
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
