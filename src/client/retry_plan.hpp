// Whether and how a failed attempt is tried again (RetryPolicy in client.hpp): which failures are
// transient, what the next attempt changes, and how long it waits.
#pragma once

#include <chrono>
#include <optional>

#include "talkgen/client.hpp"

namespace talkgen::client {

/// What an attempt ran with.
struct AttemptShape {
  int gpus = 1;
  bool low_memory = false;
};

/// out_of_memory and timeout (a collective that timed out) are transient; everything else is not.
/// The job's own time limit and cancellation reach here as other codes (or are filtered before).
bool is_transient(ErrorCode code);

/// The next attempt after a transient failure of `failed`:
///  - out_of_memory: twice the devices when `free_devices` (devices idle now, the failed attempt's own
///    included) has them, else as many as are free if that is more, else the same devices in low-memory mode;
///  - timeout: half the devices (at least 1): fewer ranks, fewer peers to wait for.
AttemptShape next_attempt_shape(ErrorCode code, const AttemptShape& failed, int free_devices);

/// Delay before retry `retry` (1 = the first retry): min(max_delay, base_delay * 2^(retry-1)) scaled by
/// 1 - jitter * `uniform01` (uniform01 in [0, 1), drawn by the caller).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform01);

/// Throws Error(invalid_argument) for max_attempts < 1, negative delays or jitter outside [0, 1].
void validate_retry_policy(const RetryPolicy& policy);

}  // namespace talkgen::client
