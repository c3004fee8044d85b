// What submit() checks before a job is queued: everything that needs no model and no decoding, so that a
// bad job fails at once, in the caller's thread, instead of after waiting for devices.
#pragma once

#include "talkgen/client.hpp"

namespace talkgen::client {

/// Checks `job` for a pool of `pool_size` devices and normalises it: max_duration_seconds becomes
/// generate.max_frames. Throws Error: invalid_argument (no or several image / speech sources, gpus out of
/// 1..pool_size, a bad job id, negative limits, blank speech text, a voice not in espeak-ng's list), not_found (an input file that does not exist), io_error
/// (an output folder that does not exist or is not writable).
void validate_job(Job& job, int pool_size);

/// A job id given by the caller: 1..128 characters of [A-Za-z0-9._-] (ids end up in file names and URLs).
void validate_job_id(const std::string& id);

}  // namespace talkgen::client
