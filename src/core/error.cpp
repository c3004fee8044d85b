#include "talkgen/error.hpp"

namespace talkgen {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::checkpoint_mismatch: return "checkpoint_mismatch";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::device_unavailable: return "device_unavailable";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}

}  // namespace talkgen
