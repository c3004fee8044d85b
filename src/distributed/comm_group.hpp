// The group behind a runner's communicators: one object that knows every local rank, so the runner can
// abort all of them at once, learn the first failure, and tell waiting ranks that a rank's job returned.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "distributed/distributed_runner.hpp"

namespace talkgen::distributed {

class CommGroup {
 public:
  virtual ~CommGroup() = default;

  virtual int world_size() const = 0;
  virtual int local_ranks() const = 0;
  /// The communicator of local rank `local_rank` (0 .. local_ranks()-1); valid while the group lives.
  virtual Communicator& comm(int local_rank) = 0;

  /// Marks every local rank as running a new job (clears "finished" marks).
  virtual void begin_job() = 0;
  /// Local rank `local_rank`'s job returned: a rank waiting for it in a collective fails at once instead of
  /// waiting for the timeout.
  virtual void rank_finished(int local_rank) = 0;

  virtual void abort(const CommFailure& failure) = 0;
  virtual std::optional<CommFailure> failure() const = 0;
};

/// In-process rendezvous for `world` ranks on any devices (ThreadComm).
std::unique_ptr<CommGroup> make_thread_group(int world, std::chrono::milliseconds timeout);

#ifdef TALKGEN_WITH_NCCL
/// NCCL communicators for `devices` (CUDA), one process or several (torchrun variables; see
/// DistributedOptions::multi_process).
std::unique_ptr<CommGroup> make_nccl_group(const std::vector<c10::Device>& devices, std::chrono::milliseconds timeout,
                                           bool multi_process);
#endif

}  // namespace talkgen::distributed
