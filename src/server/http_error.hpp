// Errors as the HTTP API answers them: a status and a JSON body {"code", "message"}.
//
// Library errors (talkgen::Error) map to statuses in ONE place, http_status_for(); problems that exist only
// at the HTTP level (malformed JSON, a missing token, a full queue) are HttpError with their own code.
#pragma once

#include <stdexcept>
#include <string>

#include "talkgen/error.hpp"

namespace talkgen::server {

/// An HTTP-level failure: `status` and a stable `code` ("bad_request", "unauthorized", "forbidden",
/// "payload_too_large", "unsupported_media_type", "method_not_allowed", "range_not_satisfiable", "conflict",
/// "not_ready", "too_many_jobs", "too_many_connections", "server_busy", "draining", "not_found") plus a message saying
/// what to do.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, std::string message)
      : std::runtime_error(std::move(message)), status_(status), code_(std::move(code)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

/// The HTTP status for a library error code: invalid_argument/unsupported 422, not_found 404,
/// cancelled 409, timeout 504, out_of_memory/device_unavailable 503, the rest 500.
int http_status_for(ErrorCode code) noexcept;

/// {"code": code, "message": message} as compact JSON text.
std::string error_body(const std::string& code, const std::string& message);

}  // namespace talkgen::server
