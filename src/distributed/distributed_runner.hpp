// Multi-device execution in one process: one thread per device ("rank"), and the collectives the ranks
// use to exchange tensors.
//
//   talkgen::DistributedOptions opts;
//   opts.devices = talkgen::cuda_devices(4);              // or cpu_devices(n) for in-process CPU ranks
//   talkgen::DistributedRunner runner(opts);
//   at::Tensor out = runner.run<at::Tensor>([&](talkgen::RankContext& rank) {
//     return model.forward(inputs, rank.comm);           // every rank runs this; rank 0's result returns
//   });
//
// A rank that throws aborts the communicator: the other ranks leave their collectives within moments,
// every thread is joined, and run() throws the failing rank's talkgen::Error ("rank 2 of 4 failed: ...").
// A collective that some rank does not reach within `collective_timeout` fails with ErrorCode::timeout,
// naming the collective and the ranks that did not arrive.
//
// Internal to the library (it speaks ATen): applications choose devices through ClientOptions
// (talkgen/client.hpp), and the Client runs its jobs on these runners.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "talkgen/error.hpp"

namespace talkgen {

/// The first failure of a communicator's group: the rank it happened on and its error.
struct CommFailure {
  int rank = -1;
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

/// Collectives over the ranks of one group. Every rank must call the same collectives in the same order
/// with tensors of the same shape and dtype (on its own device). Inputs may be non-contiguous; outputs are
/// new contiguous tensors on the input's device. Every call may throw talkgen::Error: ErrorCode::timeout
/// when a rank does not arrive in time, or the group's first failure once the group is aborted.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  /// Cuts `input` into world_size() equal pieces along `scatter_dim` (its size must divide) and sends piece
  /// j to rank j; returns the pieces received, concatenated along `gather_dim` in rank order.
  virtual at::Tensor all_to_all(const at::Tensor& input, int64_t scatter_dim, int64_t gather_dim) = 0;
  /// Every rank's `input`, concatenated along `dim` in rank order.
  virtual at::Tensor all_gather(const at::Tensor& input, int64_t dim) = 0;
  /// The element-wise sum of every rank's `input`.
  virtual at::Tensor all_reduce_sum(const at::Tensor& input) = 0;
  /// Rank `root`'s `input` on every rank (the other ranks pass a tensor of the same shape and dtype; its
  /// values are ignored).
  virtual at::Tensor broadcast(const at::Tensor& input, int root) = 0;
  /// Returns once every rank has called barrier().
  virtual void barrier() = 0;

  /// Aborts the whole group: every rank's pending and future collectives throw `failure`'s error. The first
  /// abort wins; later ones are ignored. Safe to call from any thread.
  virtual void abort(const CommFailure& failure) = 0;
  /// The failure that aborted the group, if any. Long computations between collectives may poll this to
  /// stop early.
  virtual std::optional<CommFailure> failure() const = 0;
};

/// One device per rank, in rank order.
std::vector<c10::Device> cpu_devices(int count);
std::vector<c10::Device> cuda_devices(int count);

enum class CommBackend {
  automatic,  ///< NCCL when every device is CUDA and the build has NCCL, else in-process threads
  threads,    ///< in-process rendezvous (ThreadComm): CPU tensors, tests, any device without NCCL
  nccl,       ///< NCCL (NcclComm): CUDA devices only; needs a build with NCCL
};

struct DistributedOptions {
  /// One rank per device, rank i on devices[i]. Several CPU entries make several CPU ranks.
  std::vector<c10::Device> devices;
  CommBackend backend = CommBackend::automatic;
  /// How long a collective waits for the other ranks before failing with ErrorCode::timeout.
  std::chrono::milliseconds collective_timeout{std::chrono::seconds(300)};
  /// Several processes (e.g. hosts) in one NCCL group, through the torchrun variables MASTER_ADDR,
  /// MASTER_PORT, WORLD_SIZE (processes) and RANK (this process). Each process runs devices.size() ranks
  /// (all processes the same number): global rank = RANK * devices.size() + local index. When `devices`
  /// is empty, it is cuda:LOCAL_RANK. NCCL only.
  bool multi_process = false;
};

/// What a rank's job gets.
struct RankContext {
  int rank;          ///< global rank
  int world_size;    ///< ranks in the group
  int local_rank;    ///< index into DistributedOptions::devices
  c10::Device device;  ///< this rank's device (current for the thread; CUDA: its stream is current too)
  Communicator& comm;
};

/// Runs jobs on every rank: one thread per device, bound to its device and stream. The communicators are
/// created once (NCCL initialisation is costly) and rebuilt after a failure. One job at a time: run() is
/// not reentrant; concurrent run() calls on one runner are serialised.
class DistributedRunner {
 public:
  explicit DistributedRunner(DistributedOptions options);
  ~DistributedRunner();
  DistributedRunner(const DistributedRunner&) = delete;
  DistributedRunner& operator=(const DistributedRunner&) = delete;

  int world_size() const;
  int local_ranks() const;
  const DistributedOptions& options() const;

  /// Runs `job` on every local rank and returns the result of the first local rank (rank 0 in one process).
  template <typename Result>
  Result run(const std::function<Result(RankContext&)>& job) {
    std::optional<Result> first;
    run_ranks([&](RankContext& rank) {
      Result r = job(rank);
      if (rank.local_rank == 0) first.emplace(std::move(r));
    });
    return std::move(*first);
  }
  template <typename Job>
  auto run(Job&& job) -> decltype(job(std::declval<RankContext&>())) {
    using Result = decltype(job(std::declval<RankContext&>()));
    if constexpr (std::is_void_v<Result>) {
      run_ranks(std::function<void(RankContext&)>(std::forward<Job>(job)));
    } else {
      return run<Result>(std::function<Result(RankContext&)>(std::forward<Job>(job)));
    }
  }

  /// Runs `job` on every local rank; throws the first failing rank's error after every thread has joined.
  void run_ranks(const std::function<void(RankContext&)>& job);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen
