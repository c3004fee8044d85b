// Process exit codes: 0 success, 2 usage error (CLI11), and 10 + ErrorCode for library errors, so scripts
// can tell "file not found" (12) from "out of memory" (15) without parsing messages.
#pragma once

#include "talkgen/error.hpp"

namespace talkgen::cli {

constexpr int kExitUsage = 2;
constexpr int exit_code_for(ErrorCode code) { return 10 + static_cast<int>(code); }

}  // namespace talkgen::cli
