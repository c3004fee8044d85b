// Test seam for the Client (not part of the public API): make a given attempt of a job fail with a given
// error code, and see what each attempt ran with, so that retries, backoff and the retry shapes are
// tested through the real scheduler and pipeline. Keyed by job id, process-wide; costs one atomic load
// per attempt when unused.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "talkgen/error.hpp"

namespace talkgen::client::testing {

/// Attempt `attempt` (1-based) of job `job_id` throws Error(code) on every rank, after its devices are
/// assigned and its models loaded, before the pipeline runs. Also starts recording the job's attempts.
void inject_fault(const std::string& job_id, int attempt, ErrorCode code);
/// Records the job's attempts without injecting anything.
void watch(const std::string& job_id);

struct AttemptRecord {
  int attempt = 0;
  int gpus = 0;
  bool low_memory = false;
  std::chrono::steady_clock::time_point started;
};
/// The attempts of a watched job so far.
std::vector<AttemptRecord> attempts_of(const std::string& job_id);
/// Forgets every fault and record.
void clear();

// ---- used by the Client ----
/// Records the attempt if the job is watched.
void on_attempt(const std::string& job_id, const AttemptRecord& record);
/// Whether `job_id` has an injected fault for `attempt` (every rank of the attempt sees it).
bool fault_due(const std::string& job_id, int attempt, ErrorCode* code);

}  // namespace talkgen::client::testing
