// NcclComm: the CUDA backend. One NCCL communicator per local GPU, all created together by one NcclGroup
// (one process: a fresh unique id shared in memory; several processes: the id of process 0 handed out
// through a c10d TCPStore at MASTER_ADDR:MASTER_PORT).
//
// Communicators are non-blocking (ncclConfig_t::blocking = 0), so no NCCL call can trap a thread: every call
// is polled with ncclCommGetAsyncError while the group's failure flag and the timeout are checked. Work runs
// on the rank's current CUDA stream; a watchdog thread follows each collective through a CUDA event and
// aborts every communicator (ncclCommAbort, which also ends the kernels waiting for a missing peer) when a
// collective exceeds the timeout, when NCCL reports an asynchronous error, or when a rank's job returned
// while its peers wait for it.
//
// The local ranks (threads of this process) meet on the host before each collective is enqueued
// (NcclGroup::issue): in one process, a thread inside cudaMalloc or a pageable copy can hold the driver's
// page-table lock while it waits for its GPU, whose queued collective waits for a peer thread that needs
// that lock to get there. Without the meeting, `talkgen bench dit --gpus 1,2` hung on 2 H100s (no
// progress in 260 s); with it, it runs (benchmarks/RESULTS.md).
#pragma once

#ifdef TALKGEN_WITH_NCCL

#include <cstdint>
#include <memory>

#include <ATen/ATen.h>

#include "distributed/comm_group.hpp"

namespace talkgen::distributed {

class NcclGroup;

class NcclComm final : public Communicator {
 public:
  NcclComm(NcclGroup& group, int local_rank, int rank, int world, c10::Device device);

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  at::Tensor all_to_all(const at::Tensor& input, int64_t scatter_dim, int64_t gather_dim) override;
  at::Tensor all_gather(const at::Tensor& input, int64_t dim) override;
  at::Tensor all_reduce_sum(const at::Tensor& input) override;
  at::Tensor broadcast(const at::Tensor& input, int root) override;
  void barrier() override;

  void abort(const CommFailure& failure) override;
  std::optional<CommFailure> failure() const override;

 private:
  // `input` checked to be defined and on this rank's device; returns it contiguous.
  at::Tensor prepared(const at::Tensor& input, const char* op) const;

  NcclGroup& group_;
  int local_, rank_, world_;
  c10::Device device_;
};

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
