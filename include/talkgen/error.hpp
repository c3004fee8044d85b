// talkgen::Error — the one exception type the library throws.
//
// Every error carries a code (stable, mapped 1:1 to the C ABI's status codes and the CLI's exit codes)
// and a message that says what was expected, what was found, and what to do about it.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "talkgen/export.hpp"

namespace talkgen {

enum class ErrorCode : int {
  ok = 0,
  invalid_argument = 1,    // a bad option or a corrupt / unusable input
  not_found = 2,           // a file, model component or job that does not exist
  unsupported = 3,         // a format, codec, resolution or feature this build cannot handle
  checkpoint_mismatch = 4, // a checkpoint with missing, unexpected or mis-shaped keys
  out_of_memory = 5,       // host or device memory exhausted
  device_unavailable = 6,  // the requested device (CUDA, NVENC, a GPU index) is not usable
  cancelled = 7,           // the caller cancelled the job
  timeout = 8,             // a deadline or collective timeout expired
  io_error = 9,            // reading or writing the filesystem failed (permissions, disk full)
  internal = 10,           // a bug in talkgen: please report it
};

/// "invalid_argument", "not_found", ...
TALKGEN_API const char* to_string(ErrorCode code) noexcept;

class TALKGEN_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

/// Throws Error(code, fmt::format(...)): `fail(ErrorCode::not_found, "no file '{}'", path)`.
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace talkgen
