// NcclGroup: the NCCL communicators of this process's ranks, their failure state and their watchdog.
// See nccl_comm.hpp for the design.
#pragma once

#ifdef TALKGEN_WITH_NCCL

#include <cstdint>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <c10/core/Event.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include "distributed/comm_group.hpp"
#include "distributed/nccl_comm.hpp"

namespace talkgen::distributed {

class NcclGroup final : public CommGroup {
 public:
  NcclGroup(const std::vector<c10::Device>& devices, std::chrono::milliseconds timeout, bool multi_process);
  ~NcclGroup() override;

  int world_size() const override { return world_; }
  int local_ranks() const override { return static_cast<int>(ranks_.size()); }
  Communicator& comm(int local_rank) override { return *comms_.at(local_rank); }
  void begin_job() override;
  void rank_finished(int local_rank) override;
  void abort(const CommFailure& failure) override;
  std::optional<CommFailure> failure() const override;

  /// Local rank `local` issues collective `op`: `call` enqueues it on the given communicator and stream (the
  /// rank's current one). Returns once NCCL accepted it; the watchdog then follows it to completion.
  using Call = std::function<ncclResult_t(ncclComm_t, cudaStream_t)>;
  void issue(int local, const char* op, const Call& call);
  /// Waits until everything queued on local rank `local`'s current stream has run (polling, so an abort or
  /// the timeout ends the wait).
  void wait_stream(int local, const char* op);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    uint64_t seq;
    const char* op;
    c10::Event done;
    Clock::time_point issued_at;
  };
  struct Rank {
    c10::Device device;
    int rank;
    std::mutex call_mutex;     // every NCCL call on `comm`, and its abort, hold this
    ncclComm_t comm = nullptr;  // null once aborted or destroyed
    // Guarded by state_mutex_:
    uint64_t issued = 0;
    std::deque<Pending> pending;
    bool finished = false;
    Rank(c10::Device d, int r) : device(d), rank(r) {}
  };

  [[noreturn]] void throw_failure(int local, const std::string& what) const;
  // Returns once every local rank has reached collective #seq (see issue()); throws on abort, on a rank that
  // left the job without it, or after the timeout.
  void meet_local_ranks(int local, uint64_t seq, const std::string& what);
  // Polls `comm` until `result` is no longer ncclInProgress; throws on abort, timeout or an NCCL error.
  void settle(int local, const char* op, ncclResult_t result);
  CommFailure nccl_failure(int local, const char* op, ncclResult_t result) const;
  void watch();
  std::optional<CommFailure> check_pending();
  void destroy_comms();

  const std::chrono::milliseconds timeout_;
  int world_ = 0;
  bool multi_process_ = false;
  std::vector<std::unique_ptr<Rank>> ranks_;
  std::vector<std::unique_ptr<NcclComm>> comms_;
  std::shared_ptr<void> store_;  // multi-process: the c10d store process 0 serves the unique id from

  mutable std::mutex state_mutex_;
  std::optional<CommFailure> failure_;
  std::atomic<bool> failed_{false};
  bool stopping_ = false;
  std::condition_variable stop_;
  std::condition_variable arrived_;  // a local rank reached a collective, finished its job, or the group failed
  std::thread watchdog_;
};

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
