// Runs a function on `world` threads, each with its own ThreadComm over one rendezvous, and collects what
// each rank returned or threw (without DistributedRunner, so ThreadComm is tested on its own).
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "distributed/thread_comm.hpp"

namespace talkgen::distributed::testing {

struct RankOutcome {
  at::Tensor result;
  std::exception_ptr error;
};

inline std::vector<RankOutcome> run_threads(int world, std::chrono::milliseconds timeout,
                                            const std::function<at::Tensor(ThreadComm&)>& fn) {
  auto rendezvous = std::make_shared<ThreadRendezvous>(world, timeout);
  std::vector<RankOutcome> out(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      ThreadComm comm(rendezvous, r);
      try {
        out[r].result = fn(comm);
      } catch (...) {
        out[r].error = std::current_exception();
        comm.abort({r, ErrorCode::internal, "rank threw"});
      }
      rendezvous->rank_finished(r);
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace talkgen::distributed::testing
