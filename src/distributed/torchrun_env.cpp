#include "distributed/torchrun_env.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "talkgen/error.hpp"

namespace talkgen::distributed {
namespace {

const char* required(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    fail(ErrorCode::invalid_argument,
         "multi-process run: environment variable {} is not set; start the processes with torchrun (or set "
         "MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and LOCAL_RANK)",
         name);
  return v;
}

int64_t integer(const char* name, int64_t lo, int64_t hi) {
  const char* v = required(name);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || value < lo || value > hi)
    fail(ErrorCode::invalid_argument, "multi-process run: {}='{}' is not an integer in {}..{}", name, v, lo, hi);
  return value;
}

}  // namespace

TorchrunEnv read_torchrun_env() {
  TorchrunEnv env;
  env.master_addr = required("MASTER_ADDR");
  env.master_port = static_cast<uint16_t>(integer("MASTER_PORT", 1, 65535));
  env.world_size = static_cast<int>(integer("WORLD_SIZE", 1, 1 << 20));
  env.rank = static_cast<int>(integer("RANK", 0, env.world_size - 1));
  env.local_rank = read_local_rank();
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent && (std::strcmp(agent, "True") == 0 || std::strcmp(agent, "1") == 0);
  return env;
}

int read_local_rank() { return static_cast<int>(integer("LOCAL_RANK", 0, 1 << 16)); }

}  // namespace talkgen::distributed
