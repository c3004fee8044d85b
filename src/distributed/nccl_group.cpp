#ifdef TALKGEN_WITH_NCCL

#include "distributed/nccl_group.hpp"

#include <algorithm>

#include <fmt/ranges.h>

#include <c10/cuda/CUDAGuard.h>

#include "distributed/comm_failure.hpp"
#include "distributed/nccl_bootstrap.hpp"
#include "distributed/torchrun_env.hpp"

#if NCCL_VERSION_CODE < NCCL_VERSION(2, 14, 0)
#error "talkgen needs NCCL >= 2.14 (non-blocking communicators, ncclCommGetAsyncError polling)"
#endif

namespace talkgen::distributed {
namespace {

using namespace std::chrono_literals;

// How often a waiting thread and the watchdog look again: short against any collective worth splitting.
constexpr auto kPoll = 200us;
constexpr auto kWatchdogPeriod = 10ms;

ErrorCode code_of(ncclResult_t r) {
  switch (r) {
    case ncclInvalidArgument:
    case ncclInvalidUsage:
    case ncclInternalError:
      return ErrorCode::internal;  // our bug, not the machine's
    default:
      return ErrorCode::device_unavailable;  // system, CUDA or remote errors
  }
}

}  // namespace

NcclGroup::NcclGroup(const std::vector<c10::Device>& devices, std::chrono::milliseconds timeout, bool multi_process)
    : timeout_(timeout), multi_process_(multi_process) {
  const int local = static_cast<int>(devices.size());
  int process = 0, processes = 1;
  ncclUniqueId id;
  if (multi_process) {
    const auto env = read_torchrun_env();
    process = env.rank, processes = env.world_size;
    auto boot = exchange_unique_id(env, timeout);
    id = boot.id;
    store_ = std::move(boot.store);
  } else if (const ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
    fail(ErrorCode::device_unavailable, "ncclGetUniqueId failed: {}", ncclGetErrorString(r));
  }
  world_ = processes * local;
  for (int i = 0; i < local; ++i) ranks_.push_back(std::make_unique<Rank>(devices[i], process * local + i));

  // What ncclCommInitAll does (one id, every local rank in one group call), but with non-blocking
  // communicators so the wait below can give up.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclResult_t result = ncclGroupStart();
  for (int i = 0; i < local && (result == ncclSuccess || result == ncclInProgress); ++i) {
    c10::cuda::CUDAGuard guard(devices[i]);
    result = ncclCommInitRankConfig(&ranks_[i]->comm, world_, id, ranks_[i]->rank, &config);
  }
  const ncclResult_t end = ncclGroupEnd();
  if (result == ncclSuccess || result == ncclInProgress) result = end;

  const auto deadline = Clock::now() + timeout;
  std::string problem;
  ErrorCode code = ErrorCode::device_unavailable;
  for (int i = 0; i < local && problem.empty(); ++i) {
    ncclResult_t state = result;
    while (ranks_[i]->comm && (state == ncclInProgress || state == ncclSuccess)) {
      if (ncclCommGetAsyncError(ranks_[i]->comm, &state) != ncclSuccess) break;
      if (state != ncclInProgress) break;
      if (Clock::now() > deadline) {
        code = ErrorCode::timeout;
        problem = fmt::format("not every rank joined within {} ms", timeout.count());
        break;
      }
      std::this_thread::sleep_for(kPoll);
    }
    if (problem.empty() && (state != ncclSuccess || !ranks_[i]->comm))
      problem = fmt::format("rank {} on {}: {}", ranks_[i]->rank, devices[i].str(), ncclGetErrorString(state));
  }
  if (!problem.empty()) {
    for (auto& r : ranks_)
      if (r->comm) ncclCommAbort(r->comm), r->comm = nullptr;
    fail(code, "NCCL initialisation of {} rank(s) ({} process(es) x {}) failed: {}. Check the devices, "
         "NCCL_DEBUG=WARN output and, for several processes, that every process started with the same "
         "WORLD_SIZE and MASTER_ADDR/MASTER_PORT",
         world_, processes, local, problem);
  }

  for (int i = 0; i < local; ++i)
    comms_.push_back(std::make_unique<NcclComm>(*this, i, ranks_[i]->rank, world_, devices[i]));
  watchdog_ = std::thread([this] { watch(); });
}

NcclGroup::~NcclGroup() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  destroy_comms();
}

void NcclGroup::destroy_comms() {
  for (auto& r : ranks_) {
    std::lock_guard<std::mutex> lock(r->call_mutex);
    if (!r->comm) continue;
    // Finalize flushes this rank's outstanding work; a communicator that does not settle in time is aborted.
    ncclResult_t state = ncclCommFinalize(r->comm);
    const auto deadline = Clock::now() + timeout_;
    while (state == ncclInProgress && Clock::now() < deadline) {
      std::this_thread::sleep_for(kPoll);
      if (ncclCommGetAsyncError(r->comm, &state) != ncclSuccess) break;
    }
    if (state == ncclSuccess) ncclCommDestroy(r->comm);
    else ncclCommAbort(r->comm);
    r->comm = nullptr;
  }
}

void NcclGroup::begin_job() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  for (auto& r : ranks_) r->finished = false;
}

void NcclGroup::rank_finished(int local_rank) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    ranks_.at(local_rank)->finished = true;
  }
  arrived_.notify_all();
}

void NcclGroup::abort(const CommFailure& failure) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (failure_) return;
    failure_ = failure;
    failed_ = true;
  }
  arrived_.notify_all();
  // ncclCommAbort also stops the kernels that wait for a peer, so streams blocked on them drain.
  for (auto& r : ranks_) {
    std::lock_guard<std::mutex> lock(r->call_mutex);
    if (r->comm) ncclCommAbort(r->comm), r->comm = nullptr;
  }
}

std::optional<CommFailure> NcclGroup::failure() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return failure_;
}

void NcclGroup::throw_failure(int local, const std::string& what) const {
  const auto f = failure();
  throw_aborted(f ? *f : CommFailure{-1, ErrorCode::internal, "unknown"}, what, ranks_[local]->rank);
}

CommFailure NcclGroup::nccl_failure(int local, const char* op, ncclResult_t result) const {
  const auto& r = *ranks_[local];
  const char* detail = r.comm ? ncclGetLastError(r.comm) : nullptr;
  return {r.rank, code_of(result),
          fmt::format("NCCL {} on {} failed: {}{}{}", op, r.device.str(), ncclGetErrorString(result),
                      detail && *detail ? " - " : "", detail ? detail : "")};
}

void NcclGroup::settle(int local, const char* op, ncclResult_t result) {
  auto& r = *ranks_[local];
  const auto deadline = Clock::now() + timeout_;
  while (result == ncclInProgress) {
    std::this_thread::sleep_for(kPoll);
    if (failed_) throw_failure(local, op);
    if (Clock::now() > deadline) {
      const auto message = fmt::format("NCCL did not accept {} on rank {} within {} ms (a peer did not join)", op,
                                       r.rank, timeout_.count());
      abort({r.rank, ErrorCode::timeout, message});
      fail(ErrorCode::timeout, "{}", message);
    }
    std::lock_guard<std::mutex> lock(r.call_mutex);
    if (!r.comm) throw_failure(local, op);
    if (const ncclResult_t q = ncclCommGetAsyncError(r.comm, &result); q != ncclSuccess) result = q;
  }
  if (result != ncclSuccess) {
    const auto f = nccl_failure(local, op, result);
    abort(f);
    fail(f.code, "{}", f.message);
  }
}

void NcclGroup::meet_local_ranks(int local, uint64_t seq, const std::string& what) {
  const auto deadline = Clock::now() + timeout_;
  std::vector<int> missing;
  for (;;) {
    std::string left_early;
    {
      std::unique_lock<std::mutex> lock(state_mutex_);
      const auto here_or_gone = [&](const auto& o) { return o->issued > seq || o->finished; };
      arrived_.wait_until(lock, std::min(deadline, Clock::now() + kWatchdogPeriod), [&] {
        return failed_ || std::all_of(ranks_.begin(), ranks_.end(), here_or_gone);
      });
      if (!failed_) {
        missing.clear();
        for (const auto& o : ranks_) {
          if (o->issued > seq) continue;
          missing.push_back(o->rank);
          if (o->finished && left_early.empty()) left_early = fmt::format("rank {}", o->rank);
        }
        if (missing.empty()) return;
      }
    }
    if (failed_) throw_failure(local, what);
    if (!left_early.empty()) {
      const CommFailure f{ranks_[local]->rank, ErrorCode::internal,
                          fmt::format("{} on rank {} cannot complete: {} returned from the job without calling it; "
                                      "every rank must call the same collectives", what, ranks_[local]->rank,
                                      left_early)};
      abort(f);
      fail(f.code, "{}", f.message);
    }
    if (Clock::now() >= deadline) {
      const CommFailure f{ranks_[local]->rank, ErrorCode::timeout,
                          fmt::format("{} timed out after {} ms on rank {}: rank(s) {} did not arrive. If they are "
                                      "only slow, raise DistributedOptions::collective_timeout", what,
                                      timeout_.count(), ranks_[local]->rank, fmt::join(missing, ", "))};
      abort(f);
      fail(f.code, "{}", f.message);
    }
  }
}

void NcclGroup::issue(int local, const char* op, const Call& call) {
  auto& r = *ranks_[local];
  if (failed_) throw_failure(local, op);
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    seq = r.issued++;  // arrived at collective #seq, whether or not NCCL accepts it at once
  }
  arrived_.notify_all();
  const auto what = fmt::format("{} (collective #{})", op, seq);
  // The local ranks meet on the host before any of them enqueues the collective. The ranks of one process
  // share the CUDA driver: a thread in cudaMalloc (or a copy to pageable host memory) holds the driver's
  // page-table lock while it waits for its own GPU, and if that GPU is already running this collective's
  // kernel, which waits for a peer whose thread needs the same lock to get there, nobody moves (the hang
  // XLA documents for ncclCommInitRank; 2 H100s hung in `bench dit --gpus 1,2` without this). Once every
  // rank is here, none of them is inside an allocation that the collective's kernels could be waiting behind.
  if (ranks_.size() > 1) meet_local_ranks(local, seq, what);
  const auto stream = c10::cuda::getCurrentCUDAStream(r.device.index());
  ncclResult_t result;
  {
    std::lock_guard<std::mutex> lock(r.call_mutex);
    if (!r.comm) throw_failure(local, what);
    result = call(r.comm, stream.stream());
  }
  settle(local, what.c_str(), result);
  c10::Event done(c10::DeviceType::CUDA);
  done.record(stream);
  std::lock_guard<std::mutex> lock(state_mutex_);
  r.pending.push_back({seq, op, std::move(done), Clock::now()});
}

void NcclGroup::wait_stream(int local, const char* op) {
  auto& r = *ranks_[local];
  const auto stream = c10::cuda::getCurrentCUDAStream(r.device.index());
  c10::Event done(c10::DeviceType::CUDA);
  done.record(stream);
  // The watchdog times out the collectives themselves; this bound only keeps a wedged GPU from holding us.
  const auto deadline = Clock::now() + 2 * timeout_;
  while (!done.query()) {
    if (failed_) throw_failure(local, op);
    if (Clock::now() > deadline)
      fail(ErrorCode::timeout, "{} on rank {}: the GPU work did not finish within {} ms", op, r.rank,
           2 * timeout_.count());
    std::this_thread::sleep_for(kPoll);
  }
  if (failed_) throw_failure(local, op);
}

std::optional<CommFailure> NcclGroup::check_pending() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  const auto now = Clock::now();
  for (auto& r : ranks_)
    while (!r->pending.empty() && r->pending.front().done.query()) r->pending.pop_front();
  for (auto& r : ranks_) {
    if (r->pending.empty()) continue;
    const auto& p = r->pending.front();
    // Local ranks that have not reached collective #seq yet: the ones everybody else waits for.
    std::vector<int> missing, gone;
    for (auto& o : ranks_) {
      if (o->issued > p.seq) continue;
      missing.push_back(o->rank);
      if (o->finished) gone.push_back(o->rank);
    }
    const auto what = fmt::format("{} (collective #{})", p.op, p.seq);
    if (!gone.empty())
      return CommFailure{gone.front(), ErrorCode::internal,
                         fmt::format("{} on rank {} cannot complete: rank(s) {} returned from the job without calling "
                                     "it; every rank must call the same collectives",
                                     what, r->rank, fmt::join(gone, ", "))};
    if (now - p.issued_at > timeout_) {
      const auto who = !missing.empty() ? fmt::format("rank(s) {} did not arrive", fmt::join(missing, ", "))
                       : multi_process_ ? std::string("every rank of this process issued it; a rank of another "
                                                      "process did not arrive, or a GPU is stuck")
                                        : std::string("every rank issued it, but it did not finish (a GPU is stuck)");
      return CommFailure{r->rank, ErrorCode::timeout,
                         fmt::format("{} timed out after {} ms on rank {}: {}. If they are only slow, raise "
                                     "DistributedOptions::collective_timeout",
                                     what, timeout_.count(), r->rank, who)};
    }
  }
  return std::nullopt;
}

void NcclGroup::watch() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(state_mutex_);
      if (stop_.wait_for(lock, kWatchdogPeriod, [this] { return stopping_; })) return;
      if (failure_) continue;
    }
    std::optional<CommFailure> found;
    try {
      found = check_pending();
    } catch (const std::exception& e) {
      found = CommFailure{-1, ErrorCode::device_unavailable, fmt::format("CUDA event query failed: {}", e.what())};
    }
    // Errors NCCL found on its own (a peer process died, a network failure).
    for (size_t i = 0; i < ranks_.size() && !found; ++i) {
      auto& r = *ranks_[i];
      std::lock_guard<std::mutex> lock(r.call_mutex);
      if (!r.comm) continue;
      ncclResult_t state = ncclSuccess;
      if (ncclCommGetAsyncError(r.comm, &state) == ncclSuccess && state != ncclSuccess && state != ncclInProgress)
        found = CommFailure{r.rank, code_of(state),
                            fmt::format("NCCL reported an asynchronous error on rank {}: {} - {}", r.rank,
                                        ncclGetErrorString(state), ncclGetLastError(r.comm))};
    }
    if (found) abort(*found);
  }
}

std::unique_ptr<CommGroup> make_nccl_group(const std::vector<c10::Device>& devices, std::chrono::milliseconds timeout,
                                           bool multi_process) {
  return std::make_unique<NcclGroup>(devices, timeout, multi_process);
}

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
