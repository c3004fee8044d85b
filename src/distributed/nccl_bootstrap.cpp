#ifdef TALKGEN_WITH_NCCL

#include "distributed/nccl_bootstrap.hpp"

#include <atomic>
#include <cstring>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "talkgen/error.hpp"

namespace talkgen::distributed {

NcclBootstrap exchange_unique_id(const TorchrunEnv& env, std::chrono::milliseconds timeout) {
  // Every group built in this process gets a new key, so a rebuilt group never reads an old id (the agent's
  // store outlives our groups). Processes build their groups in the same order, so the counters agree.
  static std::atomic<uint64_t> generation{0};
  const std::string key = "talkgen/nccl_unique_id/" + std::to_string(generation++);

  c10d::TCPStoreOptions opts;
  opts.port = env.master_port;
  opts.isServer = env.rank == 0 && !env.agent_store;
  opts.numWorkers = static_cast<std::size_t>(env.world_size);
  opts.waitWorkers = false;
  opts.timeout = timeout;
  opts.multiTenant = true;

  NcclBootstrap out{};
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  } catch (const std::exception& e) {
    fail(ErrorCode::device_unavailable,
         "process {} of {} could not reach the rendezvous store at {}:{} ({}); check MASTER_ADDR/MASTER_PORT and "
         "that process 0 is running",
         env.rank, env.world_size, env.master_addr, env.master_port, e.what());
  }
  try {
    if (env.rank == 0) {
      if (const ncclResult_t r = ncclGetUniqueId(&out.id); r != ncclSuccess)
        fail(ErrorCode::device_unavailable, "ncclGetUniqueId failed: {}", ncclGetErrorString(r));
      std::vector<uint8_t> bytes(sizeof(out.id));
      std::memcpy(bytes.data(), &out.id, sizeof(out.id));
      store->set(key, bytes);
    } else {
      const auto bytes = store->get(key);  // waits up to opts.timeout
      if (bytes.size() != sizeof(out.id))
        fail(ErrorCode::internal, "the NCCL id in the store under '{}' has {} bytes; expected {}", key, bytes.size(),
             sizeof(out.id));
      std::memcpy(&out.id, bytes.data(), sizeof(out.id));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCode::timeout,
         "process {} of {} did not get the NCCL id through the store at {}:{} within {} ms ({}); start every process "
         "with the same MASTER_ADDR/MASTER_PORT/WORLD_SIZE",
         env.rank, env.world_size, env.master_addr, env.master_port, timeout.count(), e.what());
  }
  // intrusive_ptr -> shared_ptr<void>: the store lives as long as the group holds it.
  out.store = std::shared_ptr<void>(store.release(), [](void* p) {
    c10::intrusive_ptr<c10d::TCPStore>::reclaim(static_cast<c10d::TCPStore*>(p));
  });
  return out;
}

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
