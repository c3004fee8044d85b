// The shared state behind a JobHandle: what the caller submitted, where the job is, and its result.
// Handles, the Client's scheduler and the job's worker threads all hold it; it outlives the Client.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "client/retry_plan.hpp"
#include "talkgen/client.hpp"

namespace talkgen {

struct JobHandle::State {
  using Clock = std::chrono::steady_clock;

  // ---- fixed at submit ----
  std::string id;
  Job job;
  JobCallbacks callbacks;
  std::uint64_t sequence = 0;            // submission order (the queue's order)
  Clock::time_point submitted;
  std::chrono::milliseconds timeout{0};  // 0: none; counted from the job's first start
  std::optional<double> estimated_seconds;
  /// Wakes the Client's scheduler (a no-op once the Client is gone; by then every job has finished).
  std::function<void()> poke;

  // ---- set from any thread ----
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> timed_out{false};

  // ---- guarded by `mutex` ----
  mutable std::mutex mutex;
  mutable std::condition_variable finished_cv;
  JobProgress progress;
  bool finished = false;
  JobResult result;

  // ---- guarded by the Client's scheduler lock ----
  client::AttemptShape shape;            // what the next attempt runs with
  int attempts = 0;                      // attempts started
  int overtaken = 0;                     // see queue_policy.hpp
  Clock::time_point ready_at;            // queued since, or when the retry delay ends
  std::optional<Clock::time_point> deadline;
  double queued_seconds = 0, gpu_seconds = 0;

  /// Whether the job's time limit has passed (and records it).
  bool past_deadline() {
    if (!deadline || Clock::now() < *deadline) return false;
    timed_out = true;
    return true;
  }
};

}  // namespace talkgen
