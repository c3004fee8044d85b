#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "distributed/comm_failure.hpp"
#include "distributed/comm_group.hpp"
#include "distributed/rank_device.hpp"
#include "distributed/torchrun_env.hpp"
#include "distributed/distributed_runner.hpp"

namespace talkgen {
namespace {

std::vector<c10::Device> devices_of(c10::DeviceType type, int count, const char* what) {
  if (count < 1) fail(ErrorCode::invalid_argument, "{}({}): expected at least one device", what, count);
  std::vector<c10::Device> out;
  for (int i = 0; i < count; ++i) out.emplace_back(type, static_cast<c10::DeviceIndex>(type == c10::kCPU ? -1 : i));
  return out;
}

// The options made whole and checked: the devices (cuda:LOCAL_RANK for a multi-process run without any),
// and the backend that `automatic` stands for.
DistributedOptions resolved(DistributedOptions o) {
  if (o.collective_timeout.count() <= 0)
    fail(ErrorCode::invalid_argument, "collective_timeout is {} ms; expected a positive duration",
         o.collective_timeout.count());
  if (o.devices.empty() && o.multi_process) o.devices = {c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(distributed::read_local_rank()))};
  if (o.devices.empty())
    fail(ErrorCode::invalid_argument, "DistributedOptions::devices is empty; name one device per rank, e.g. "
         "cuda_devices(4) or cpu_devices(2)");
  const bool all_cuda = std::all_of(o.devices.begin(), o.devices.end(), [](const auto& d) { return d.is_cuda(); });
  if (o.backend == CommBackend::automatic) {
#ifdef TALKGEN_WITH_NCCL
    o.backend = all_cuda ? CommBackend::nccl : CommBackend::threads;
#else
    o.backend = CommBackend::threads;
#endif
  }
  if (o.backend == CommBackend::nccl) {
#ifndef TALKGEN_WITH_NCCL
    fail(ErrorCode::unsupported, "the NCCL backend was requested but this build of talkgen has no NCCL; use "
         "CommBackend::threads or a CUDA build");
#endif
    if (!all_cuda) fail(ErrorCode::invalid_argument, "the NCCL backend needs CUDA devices only; got a non-CUDA device");
    std::set<int> seen;
    for (const auto& d : o.devices)
      if (!seen.insert(d.index()).second)
        fail(ErrorCode::invalid_argument, "device '{}' is listed twice; NCCL runs one rank per GPU", d.str());
  }
  if (o.multi_process && o.backend != CommBackend::nccl)
    fail(ErrorCode::unsupported, "multi-process runs need the NCCL backend (CUDA devices and a build with NCCL)");
  return o;
}

}  // namespace

std::vector<c10::Device> cpu_devices(int count) { return devices_of(c10::kCPU, count, "cpu_devices"); }
std::vector<c10::Device> cuda_devices(int count) { return devices_of(c10::kCUDA, count, "cuda_devices"); }

struct DistributedRunner::Impl {
  DistributedOptions options;
  distributed::RankStreams streams;
  std::unique_ptr<distributed::CommGroup> group;
  std::mutex run_mutex;

  explicit Impl(DistributedOptions o) : options(resolved(std::move(o))), streams(options.devices) { build_group(); }

  void build_group() {
    group.reset();
    const int n = static_cast<int>(options.devices.size());
#ifdef TALKGEN_WITH_NCCL
    if (options.backend == CommBackend::nccl) {
      group = distributed::make_nccl_group(options.devices, options.collective_timeout, options.multi_process);
      return;
    }
#endif
    group = distributed::make_thread_group(n, options.collective_timeout);
  }
};

DistributedRunner::DistributedRunner(DistributedOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
DistributedRunner::~DistributedRunner() = default;

int DistributedRunner::world_size() const { return impl_->group->world_size(); }
int DistributedRunner::local_ranks() const { return impl_->group->local_ranks(); }
const DistributedOptions& DistributedRunner::options() const { return impl_->options; }

void DistributedRunner::run_ranks(const std::function<void(RankContext&)>& job) {
  auto& im = *impl_;
  std::lock_guard<std::mutex> serial(im.run_mutex);
  // An aborted group cannot be reused (NCCL communicators are gone, ThreadComm is poisoned): start afresh.
  if (im.group->failure()) im.build_group();

  auto& group = *im.group;
  const int local = group.local_ranks(), world = group.world_size();
  group.begin_job();

  std::vector<std::thread> threads;
  threads.reserve(local);
  for (int i = 0; i < local; ++i) {
    threads.emplace_back([&, i] {
      auto& comm = group.comm(i);
      try {
        const auto bound = im.streams.bind(i);
        RankContext ctx{comm.rank(), world, i, im.options.devices[i], comm};
        job(ctx);
        // The caller reads rank 0's result on its own stream: finish the rank's queued work first.
        im.streams.synchronize(i);
      } catch (...) {
        // First failure wins; a rank stopped by someone else's abort leaves the record as it is.
        group.abort(distributed::failure_from_exception(std::current_exception(), comm.rank()));
      }
      group.rank_finished(i);
    });
  }
  for (auto& t : threads) t.join();

  if (const auto f = group.failure()) {
    fail(f->code, "rank {} of {} failed: {}", f->rank, world, f->message);
  }
}

}  // namespace talkgen
