// ThreadComm: collectives between threads of one process. A ThreadRendezvous is created once for a world
// size and shared; each rank's thread gets its own ThreadComm over it. Tensors may be on any device (each
// rank's result lands on its own input's device); it is the CPU backend and the one every test uses.
//
// Each rank's k-th collective meets the other ranks' k-th collective in one slot. The last rank to arrive
// checks that every rank called the same collective with the same shapes, computes every rank's result,
// and wakes the others. A waiting rank gives up when the group is aborted, when a rank it waits for has
// already returned from its job, or after the timeout.
#pragma once

#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"

namespace talkgen::distributed {

class ThreadRendezvous {
 public:
  ThreadRendezvous(int world, std::chrono::milliseconds timeout);

  int world_size() const { return world_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  void abort(const CommFailure& failure);
  std::optional<CommFailure> failure() const;
  /// See CommGroup::begin_job / rank_finished.
  void begin_job();
  void rank_finished(int rank);

  /// One rank's side of a collective. `signature` names the call and its arguments (everything but the
  /// tensor); it must be the same on every rank. `compute` turns every rank's input into every rank's
  /// output; it runs once, on the last rank to arrive. Returns this rank's output.
  using Compute = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;
  at::Tensor exchange(int rank, const char* op, const std::string& signature, const at::Tensor& input,
                      const Compute& compute);

 private:
  struct Slot {
    std::vector<std::string> signatures;  // per rank, "" until it arrives
    std::vector<at::Tensor> inputs;
    std::vector<bool> arrived;
    int arrivals = 0;
    bool done = false;
    std::vector<at::Tensor> outputs;
    int taken = 0;
  };

  // Called with the lock held: records `f` if it is the first failure and wakes every waiter.
  void abort_locked(const CommFailure& f);
  // The mismatch message when ranks called different collectives or shapes, or "" when they agree.
  std::string mismatch(const Slot& slot, uint64_t seq) const;

  const int world_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<uint64_t, Slot> slots_;
  std::vector<uint64_t> next_seq_;
  std::vector<bool> finished_;
  std::optional<CommFailure> failure_;
};

class ThreadComm final : public Communicator {
 public:
  ThreadComm(std::shared_ptr<ThreadRendezvous> rendezvous, int rank);

  int rank() const override { return rank_; }
  int world_size() const override { return rendezvous_->world_size(); }

  at::Tensor all_to_all(const at::Tensor& input, int64_t scatter_dim, int64_t gather_dim) override;
  at::Tensor all_gather(const at::Tensor& input, int64_t dim) override;
  at::Tensor all_reduce_sum(const at::Tensor& input) override;
  at::Tensor broadcast(const at::Tensor& input, int root) override;
  void barrier() override;

  void abort(const CommFailure& failure) override { rendezvous_->abort(failure); }
  std::optional<CommFailure> failure() const override { return rendezvous_->failure(); }

 private:
  std::shared_ptr<ThreadRendezvous> rendezvous_;
  int rank_;
};

}  // namespace talkgen::distributed
