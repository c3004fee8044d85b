#include "client/retry_plan.hpp"

#include <algorithm>
#include <cmath>

namespace talkgen::client {

bool is_transient(ErrorCode code) { return code == ErrorCode::out_of_memory || code == ErrorCode::timeout; }

AttemptShape next_attempt_shape(ErrorCode code, const AttemptShape& failed, int free_devices) {
  AttemptShape next = failed;
  if (code == ErrorCode::out_of_memory) {
    // More devices split the DiT's tokens (and activations) further; doubling keeps the usual head counts
    // divisible (40 heads: 1, 2, 4, 8). Without spare devices, the low-memory mode is the remaining lever.
    const int more = std::min(failed.gpus * 2, free_devices);
    if (more > failed.gpus) {
      next.gpus = more;
    } else {
      next.low_memory = true;
    }
  } else if (code == ErrorCode::timeout) {
    next.gpus = std::max(1, failed.gpus / 2);
  }
  return next;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform01) {
  const double base = static_cast<double>(policy.base_delay.count());
  const double cap = static_cast<double>(policy.max_delay.count());
  const double exponential = std::min(cap, base * std::ldexp(1.0, std::clamp(retry, 1, 60) - 1));
  const double factor = 1.0 - policy.jitter * std::clamp(uniform01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(exponential * factor)));
}

void validate_retry_policy(const RetryPolicy& policy) {
  if (policy.max_attempts < 1)
    fail(ErrorCode::invalid_argument, "RetryPolicy::max_attempts is {}; expected at least 1 (1 = no retries)",
         policy.max_attempts);
  if (policy.base_delay.count() < 0 || policy.max_delay.count() < 0)
    fail(ErrorCode::invalid_argument, "RetryPolicy delays must be >= 0 ms, got base {} / max {}",
         policy.base_delay.count(), policy.max_delay.count());
  if (!(policy.jitter >= 0.0 && policy.jitter <= 1.0))
    fail(ErrorCode::invalid_argument, "RetryPolicy::jitter is {}; expected a fraction between 0 and 1", policy.jitter);
}

}  // namespace talkgen::client
