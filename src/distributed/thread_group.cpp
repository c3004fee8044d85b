// make_thread_group: a ThreadRendezvous and one ThreadComm per rank.
#include "distributed/comm_group.hpp"
#include "distributed/thread_comm.hpp"

namespace talkgen::distributed {
namespace {

class ThreadGroup final : public CommGroup {
 public:
  ThreadGroup(int world, std::chrono::milliseconds timeout)
      : rendezvous_(std::make_shared<ThreadRendezvous>(world, timeout)) {
    for (int r = 0; r < world; ++r) comms_.push_back(std::make_unique<ThreadComm>(rendezvous_, r));
  }

  int world_size() const override { return rendezvous_->world_size(); }
  int local_ranks() const override { return rendezvous_->world_size(); }
  Communicator& comm(int local_rank) override { return *comms_.at(local_rank); }
  void begin_job() override { rendezvous_->begin_job(); }
  void rank_finished(int local_rank) override { rendezvous_->rank_finished(local_rank); }
  void abort(const CommFailure& failure) override { rendezvous_->abort(failure); }
  std::optional<CommFailure> failure() const override { return rendezvous_->failure(); }

 private:
  std::shared_ptr<ThreadRendezvous> rendezvous_;
  std::vector<std::unique_ptr<ThreadComm>> comms_;
};

}  // namespace

std::unique_ptr<CommGroup> make_thread_group(int world, std::chrono::milliseconds timeout) {
  return std::make_unique<ThreadGroup>(world, timeout);
}

}  // namespace talkgen::distributed
