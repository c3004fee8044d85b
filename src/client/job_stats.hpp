// The figures behind Client::stats(): finished jobs' outcomes, times and costs.
#pragma once

#include <vector>

#include "talkgen/client.hpp"

namespace talkgen::client {

class JobStats {
 public:
  void record(const JobResult& result);
  /// Totals so far; `queued` and `running` are left for the caller (they are not history).
  ClientStats snapshot() const;
  void reset();

 private:
  ClientStats totals_;
  std::vector<double> succeeded_seconds_;  // timings.total of every succeeded job
};

/// The q-quantile (0..1) of `values` with linear interpolation between closest ranks (numpy's default);
/// 0 for none.
double quantile(std::vector<double> values, double q);

}  // namespace talkgen::client
