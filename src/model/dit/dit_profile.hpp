// Where a DiT forward's time goes, phase by phase (talkgen bench dit's profile breakdown).
//
// While a PhaseProfile is installed on the calling thread, every phase boundary in the model
// (profile_phase) waits for the device to finish the queued work and charges the wall time since the
// previous boundary to the phase just ended. That serialises the GPU, so a profiled forward runs a little
// slower than an unprofiled one, but each phase's share is exact. Without a profile a boundary costs
// one thread-local read.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::dit {

class PhaseProfile {
 public:
  /// Installs itself on this thread (one at a time; nesting throws Error(invalid_argument)).
  PhaseProfile();
  ~PhaseProfile();
  PhaseProfile(const PhaseProfile&) = delete;
  PhaseProfile& operator=(const PhaseProfile&) = delete;

  /// Starts the clock after waiting for `pending`'s device work (call right before the forward).
  void start(const at::Tensor& pending);
  /// Seconds per phase name, in the order the phases first ended.
  const std::vector<std::pair<std::string, double>>& seconds() const { return seconds_; }
  double total_seconds() const;

  void end_phase(const at::Tensor& done, const char* name);

 private:
  std::chrono::steady_clock::time_point last_;
  std::vector<std::pair<std::string, double>> seconds_;
};

/// Charges the time since the previous boundary to `name` once `done` (the phase's last result) is
/// computed — if a PhaseProfile is installed on this thread; otherwise nothing.
void profile_phase(const at::Tensor& done, const char* name);

}  // namespace talkgen::model::dit
