#include "client/job_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace talkgen::client {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double weight = position - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * weight;
}

void JobStats::record(const JobResult& r) {
  ++totals_.jobs;
  switch (r.state) {
    case JobState::succeeded:
      ++totals_.succeeded;
      succeeded_seconds_.push_back(r.timings.total);
      break;
    case JobState::cancelled: ++totals_.cancelled; break;
    default: ++totals_.failed; break;
  }
  totals_.retries += std::max(0, r.attempts - 1);
  totals_.gpu_seconds += r.gpu_seconds;
  totals_.cost_usd += r.cost_usd;
}

ClientStats JobStats::snapshot() const {
  ClientStats s = totals_;
  s.success_rate = s.jobs > 0 ? static_cast<double>(s.succeeded) / static_cast<double>(s.jobs) : 0.0;
  if (!succeeded_seconds_.empty()) {
    s.mean_seconds = std::accumulate(succeeded_seconds_.begin(), succeeded_seconds_.end(), 0.0) /
                     static_cast<double>(succeeded_seconds_.size());
    s.p50_seconds = quantile(succeeded_seconds_, 0.50);
    s.p95_seconds = quantile(succeeded_seconds_, 0.95);
  }
  return s;
}

void JobStats::reset() {
  totals_ = ClientStats{};
  succeeded_seconds_.clear();
}

}  // namespace talkgen::client
