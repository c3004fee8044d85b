// JobHandle: a view of a job's shared state (job_state.hpp).
#include "client/job_state.hpp"

namespace talkgen {

JobHandle::JobHandle(std::shared_ptr<State> state) : state_(std::move(state)) {
  if (!state_) fail(ErrorCode::invalid_argument, "JobHandle needs a job state; get handles from Client::submit");
}

const std::string& JobHandle::job_id() const { return state_->id; }

JobState JobHandle::state() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->finished ? state_->result.state : state_->progress.state;
}

JobProgress JobHandle::progress() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->progress;
}

JobResult JobHandle::wait() const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->finished_cv.wait(lock, [&] { return state_->finished; });
  return state_->result;
}

std::optional<JobResult> JobHandle::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  if (!state_->finished_cv.wait_for(lock, timeout, [&] { return state_->finished; })) return std::nullopt;
  return state_->result;
}

bool JobHandle::cancel() const {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->finished) return false;
  }
  state_->cancel_requested = true;
  if (state_->poke) state_->poke();
  return true;
}

}  // namespace talkgen
