// JSON from a request body: parsed with a bound on nesting depth (the parser itself keeps an explicit
// stack, but printing, comparing or copying a value recurses once per level, so a body nested 100,000
// deep would overflow the stack later), and never echoed back in an error.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace talkgen::server {

/// The deepest nesting a request may use (objects and arrays; the job API needs 3).
inline constexpr int kMaxRequestJsonDepth = 16;

/// Parses `text` as one JSON object. Throws HttpError(400, "bad_request") when it is not valid JSON, not
/// an object, or nested deeper than `max_depth`; the message describes the problem, never the input.
nlohmann::json parse_request_object(std::string_view text, int max_depth = kMaxRequestJsonDepth);

/// Parses a single form field's text as a JSON value with the same bound; nullopt-like discarded value
/// (is_discarded()) when it is not valid JSON. Throws HttpError(400) when nested too deep.
nlohmann::json parse_request_value(std::string_view text, int max_depth = kMaxRequestJsonDepth);

}  // namespace talkgen::server
