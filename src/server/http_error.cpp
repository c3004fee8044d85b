#include "server/http_error.hpp"

#include <nlohmann/json.hpp>

namespace talkgen::server {

int http_status_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return 200;
    case ErrorCode::invalid_argument: return 422;     // the request is well-formed but its content is unusable
    case ErrorCode::unsupported: return 422;
    case ErrorCode::not_found: return 404;
    case ErrorCode::cancelled: return 409;
    case ErrorCode::timeout: return 504;
    case ErrorCode::out_of_memory: return 503;        // transient: a retry later may fit
    case ErrorCode::device_unavailable: return 503;
    case ErrorCode::checkpoint_mismatch: return 500;  // the server's own model files: not the client's fault
    case ErrorCode::io_error: return 500;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

std::string error_body(const std::string& code, const std::string& message) {
  // Messages quote request text (an id, a field name, clipped to a few bytes, which can cut a character in
  // two): bytes that are not UTF-8 become U+FFFD instead of making the error itself fail.
  return nlohmann::json{{"code", code}, {"message", message}}.dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace);
}

}  // namespace talkgen::server
