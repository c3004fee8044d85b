// The torchrun variables a multi-process run is placed by: MASTER_ADDR, MASTER_PORT, WORLD_SIZE (processes),
// RANK (this process) and LOCAL_RANK (this process's index on its host).
//
// The one place the library reads environment variables, and on purpose: they are not talkgen settings but
// the placement torchrun (or any launcher speaking its protocol) gives each process it starts, and they
// differ per process, so a host cannot pass one value for them all. They are read only when the caller asks
// for a multi-process run (DistributedOptions::multi_process).
#pragma once

#include <cstdint>
#include <string>

namespace talkgen::distributed {

struct TorchrunEnv {
  std::string master_addr;
  uint16_t master_port = 0;
  int world_size = 0;  ///< processes
  int rank = 0;        ///< this process, 0 .. world_size-1
  int local_rank = 0;  ///< this process on its host (its GPU when it runs one)
  /// torchrun's agent hosts the store (TORCHELASTIC_USE_AGENT_STORE=True): every process is a client.
  bool agent_store = false;
};

/// Reads and checks the variables; throws Error(invalid_argument) naming a missing or malformed one.
TorchrunEnv read_torchrun_env();
/// LOCAL_RANK alone (the only variable a single-GPU-per-process placement needs up front).
int read_local_rank();

}  // namespace talkgen::distributed
