// Binds the calling thread to a rank's device: on CUDA, the device and the rank's own stream become
// current (so every kernel and NCCL call of the rank is ordered on that stream); on the CPU, nothing.
#pragma once

#include <memory>
#include <vector>

#include <c10/core/Device.h>

namespace talkgen::distributed {

/// One stream per CUDA rank, picked once per runner; an empty handle for CPU ranks.
class RankStreams {
 public:
  /// Throws Error(device_unavailable) for a CUDA device this build or machine does not have.
  explicit RankStreams(const std::vector<c10::Device>& devices);
  ~RankStreams();

  /// While the returned object lives, the calling thread runs on rank `local_rank`'s device and stream.
  std::shared_ptr<void> bind(int local_rank) const;
  /// Waits for everything queued on rank `local_rank`'s stream (no-op on the CPU).
  void synchronize(int local_rank) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen::distributed
