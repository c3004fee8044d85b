// Turning exceptions into CommFailure records and back into talkgen::Error.
#pragma once

#include <exception>
#include <string>

#include "distributed/distributed_runner.hpp"

namespace talkgen::distributed {

/// The failure a rank's exception stands for: talkgen::Error keeps its code; out-of-memory (std::bad_alloc,
/// c10::OutOfMemoryError) becomes out_of_memory; anything else internal.
CommFailure failure_from_exception(std::exception_ptr error, int rank);

/// The error a rank throws when its collective `what` finds the group already aborted by `failure`.
[[noreturn]] void throw_aborted(const CommFailure& failure, const std::string& what, int rank);

}  // namespace talkgen::distributed
