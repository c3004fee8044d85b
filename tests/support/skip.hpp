// TALKGEN_SKIP(reason): ends the running test case as *skipped*, for a case this machine cannot run (no
// CUDA device, a build without NCCL, fewer GPUs than the case needs, hardware that makes the checked path
// unreachable). Catch2 2.13 has no SKIP(): a case that WARNs and returns is counted as passed, which hides
// that nothing was checked. Here the skip is recorded and tests/catch_main.cpp ends a run whose every case
// was skipped (and none failed) with kSkippedExitCode, which ctest reports as "Skipped" (SKIP_RETURN_CODE,
// set on every discovered test in tests/CMakeLists.txt). A skip never hides a failure: a case that failed a
// check before skipping still fails.
//
// Use it before the case checks anything, in the test case's own body (it `return`s from the enclosing
// function), and only where the machine truly cannot run the case: anything a CPU machine can run must run.
//
//   if (!at::hasCUDA()) TALKGEN_SKIP("needs a CUDA device; this machine has none");
#pragma once

#include <sstream>
#include <string>

namespace talkgen_test {

/// Exit status of a test executable whose every test case run was skipped (the automake convention).
constexpr int kSkippedExitCode = 77;

/// Marks the running test case as skipped and prints "TALKGEN-SKIPPED: <case>: <reason>" on stdout.
void mark_skipped(const std::string& reason);

}  // namespace talkgen_test

#define TALKGEN_SKIP(reason)                                 \
  do {                                                       \
    std::ostringstream talkgen_skip_reason_;                 \
    talkgen_skip_reason_ << reason;                          \
    ::talkgen_test::mark_skipped(talkgen_skip_reason_.str()); \
    return;                                                  \
  } while (false)
