#include "distributed/thread_comm.hpp"

#include <fmt/ranges.h>

#include "distributed/collective_shapes.hpp"
#include "distributed/comm_failure.hpp"

namespace talkgen::distributed {
namespace {

std::string rank_list(const std::vector<int>& ranks) { return fmt::format("{}", fmt::join(ranks, ", ")); }

// Every rank's result is its own tensor on its own input's device, so no rank sees another's writes.
std::vector<at::Tensor> per_rank_copies(const at::Tensor& value, const std::vector<at::Tensor>& inputs) {
  std::vector<at::Tensor> out;
  out.reserve(inputs.size());
  for (const auto& in : inputs) out.push_back(value.to(in.device(), /*non_blocking=*/false, /*copy=*/true).contiguous());
  return out;
}

}  // namespace

ThreadRendezvous::ThreadRendezvous(int world, std::chrono::milliseconds timeout)
    : world_(world), timeout_(timeout), next_seq_(world > 0 ? world : 0, 0), finished_(world > 0 ? world : 0, false) {
  if (world < 1) fail(ErrorCode::invalid_argument, "ThreadRendezvous: world size {} is invalid; expected >= 1", world);
  if (timeout.count() <= 0)
    fail(ErrorCode::invalid_argument, "ThreadRendezvous: collective timeout {} ms is invalid; expected > 0",
         timeout.count());
}

void ThreadRendezvous::abort(const CommFailure& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  abort_locked(failure);
}

void ThreadRendezvous::abort_locked(const CommFailure& f) {
  if (!failure_) failure_ = f;
  changed_.notify_all();
}

std::optional<CommFailure> ThreadRendezvous::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void ThreadRendezvous::begin_job() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::fill(finished_.begin(), finished_.end(), false);
}

void ThreadRendezvous::rank_finished(int rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_.at(rank) = true;
  changed_.notify_all();
}

std::string ThreadRendezvous::mismatch(const Slot& slot, uint64_t seq) const {
  for (int r = 1; r < world_; ++r) {
    if (slot.signatures[r] != slot.signatures[0])
      return fmt::format(
          "collective #{} does not match across ranks: rank 0 called {} but rank {} called {}; every rank must call "
          "the same collectives in the same order with the same shapes",
          seq, slot.signatures[0], r, slot.signatures[r]);
  }
  return {};
}

at::Tensor ThreadRendezvous::exchange(int rank, const char* op, const std::string& signature, const at::Tensor& input,
                                      const Compute& compute) {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t seq = next_seq_.at(rank)++;
  const std::string what = fmt::format("{} (collective #{})", op, seq);
  if (failure_) throw_aborted(*failure_, what, rank);

  Slot& slot = slots_[seq];
  if (slot.arrived.empty()) {
    slot.signatures.assign(world_, "");
    slot.inputs.assign(world_, at::Tensor());
    slot.arrived.assign(world_, false);
  }
  slot.signatures[rank] = signature;
  slot.inputs[rank] = input;
  slot.arrived[rank] = true;

  if (++slot.arrivals == world_) {
    // Last to arrive: every other rank is blocked in this slot, so their inputs cannot change under us.
    if (const auto bad = mismatch(slot, seq); !bad.empty()) {
      abort_locked({rank, ErrorCode::invalid_argument, bad});
      fail(ErrorCode::invalid_argument, "{}", bad);
    }
    auto inputs = std::move(slot.inputs);
    lock.unlock();
    std::vector<at::Tensor> outputs;
    try {
      outputs = compute(inputs);
    } catch (...) {
      abort(failure_from_exception(std::current_exception(), rank));
      throw;
    }
    inputs.clear();
    lock.lock();
    slot.outputs = std::move(outputs);
    slot.done = true;
    changed_.notify_all();
  } else {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      if (slot.done) break;
      if (failure_) throw_aborted(*failure_, what, rank);
      std::vector<int> gone;
      for (int r = 0; r < world_; ++r)
        if (!slot.arrived[r] && finished_[r]) gone.push_back(r);
      if (!gone.empty()) {
        const auto message = fmt::format(
            "{} on rank {} cannot complete: rank(s) {} returned from the job without calling it; every rank must "
            "call the same collectives",
            what, rank, rank_list(gone));
        abort_locked({gone.front(), ErrorCode::internal, message});
        fail(ErrorCode::internal, "{}", message);
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && !slot.done && !failure_) {
        std::vector<int> missing;  // now, not before the wait: arrivals other than the last wake nobody
        for (int r = 0; r < world_; ++r)
          if (!slot.arrived[r]) missing.push_back(r);
        const auto message = fmt::format(
            "{} timed out after {} ms on rank {}: rank(s) {} did not arrive. If they are only slow, raise "
            "DistributedOptions::collective_timeout; otherwise check that every rank calls the same collectives",
            what, timeout_.count(), rank, rank_list(missing));
        abort_locked({rank, ErrorCode::timeout, message});
        fail(ErrorCode::timeout, "{}", message);
      }
    }
  }
  at::Tensor out = std::move(slot.outputs[rank]);
  if (++slot.taken == world_) slots_.erase(seq);
  return out;
}

ThreadComm::ThreadComm(std::shared_ptr<ThreadRendezvous> rendezvous, int rank)
    : rendezvous_(std::move(rendezvous)), rank_(rank) {
  if (!rendezvous_) fail(ErrorCode::invalid_argument, "ThreadComm: no rendezvous given");
  if (rank < 0 || rank >= rendezvous_->world_size())
    fail(ErrorCode::invalid_argument, "ThreadComm: rank {} is out of range for world size {}", rank,
         rendezvous_->world_size());
}

at::Tensor ThreadComm::all_to_all(const at::Tensor& input, int64_t scatter_dim, int64_t gather_dim) {
  constexpr const char* op = "all_to_all";
  check_defined(input, op);
  const int64_t sd = checked_dim(input, scatter_dim, op), gd = checked_dim(input, gather_dim, op);
  const int world = world_size();
  check_divisible(input, sd, world, op);
  const auto sig = fmt::format("all_to_all(scatter_dim={}, gather_dim={}) of {}", sd, gd, shape_text(input));
  return rendezvous_->exchange(rank_, op, sig, input, [&](const std::vector<at::Tensor>& in) {
    std::vector<at::Tensor> out;
    for (int dst = 0; dst < world; ++dst) {
      std::vector<at::Tensor> pieces;
      for (int src = 0; src < world; ++src) pieces.push_back(in[src].chunk(world, sd)[dst].to(in[dst].device()));
      out.push_back(at::cat(pieces, gd).contiguous());
    }
    return out;
  });
}

at::Tensor ThreadComm::all_gather(const at::Tensor& input, int64_t dim) {
  constexpr const char* op = "all_gather";
  check_defined(input, op);
  const int64_t d = checked_dim(input, dim, op);
  const auto sig = fmt::format("all_gather(dim={}) of {}", d, shape_text(input));
  return rendezvous_->exchange(rank_, op, sig, input, [&](const std::vector<at::Tensor>& in) {
    std::vector<at::Tensor> on_first;
    for (const auto& t : in) on_first.push_back(t.to(in[0].device()));
    return per_rank_copies(at::cat(on_first, d), in);
  });
}

at::Tensor ThreadComm::all_reduce_sum(const at::Tensor& input) {
  constexpr const char* op = "all_reduce_sum";
  check_defined(input, op);
  if (input.scalar_type() == at::kBool)
    fail(ErrorCode::invalid_argument, "all_reduce_sum: bool tensors cannot be summed; convert to an integer dtype");
  const auto sig = fmt::format("all_reduce_sum of {}", shape_text(input));
  return rendezvous_->exchange(rank_, op, sig, input, [&](const std::vector<at::Tensor>& in) {
    // In rank order, in the input dtype: what a ring all-reduce of two ranks gives.
    at::Tensor sum = in[0].clone();
    for (size_t r = 1; r < in.size(); ++r) sum.add_(in[r].to(sum.device()));
    return per_rank_copies(sum, in);
  });
}

at::Tensor ThreadComm::broadcast(const at::Tensor& input, int root) {
  constexpr const char* op = "broadcast";
  check_defined(input, op);
  if (root < 0 || root >= world_size())
    fail(ErrorCode::invalid_argument, "broadcast: root rank {} is out of range; expected 0..{}", root, world_size() - 1);
  const auto sig =
      fmt::format("broadcast(root={}) of {}", root, shape_text(input));
  return rendezvous_->exchange(rank_, op, sig, input,
                               [&](const std::vector<at::Tensor>& in) { return per_rank_copies(in[root], in); });
}

void ThreadComm::barrier() {
  rendezvous_->exchange(rank_, "barrier", "barrier", at::Tensor(), [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>(in.size());
  });
}

}  // namespace talkgen::distributed
