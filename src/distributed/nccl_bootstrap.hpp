// The NCCL unique id of a multi-process group: process 0 (RANK=0) makes it and publishes it in a c10d
// TCPStore at MASTER_ADDR:MASTER_PORT; the other processes read it from there.
#pragma once

#ifdef TALKGEN_WITH_NCCL

#include <chrono>
#include <memory>

#include <nccl.h>

#include "distributed/torchrun_env.hpp"

namespace talkgen::distributed {

struct NcclBootstrap {
  ncclUniqueId id;
  /// Keeps the store (and on process 0 its server) alive until every process has its communicators.
  std::shared_ptr<void> store;
};

/// Throws Error(timeout) when the id does not arrive within `timeout`, Error(device_unavailable) when the
/// store cannot be reached.
NcclBootstrap exchange_unique_id(const TorchrunEnv& env, std::chrono::milliseconds timeout);

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
