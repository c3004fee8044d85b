// Who may call the server: a bearer token from a file, compared in constant time, and the rule that a
// server without a token only listens on the loopback interface.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace talkgen::server {

/// The token in `path` (surrounding whitespace trimmed). Error(not_found) when the file cannot be read,
/// Error(invalid_argument) when the token is shorter than 16 characters or holds whitespace or control
/// characters (it travels in an HTTP header).
/// `what` names the secret in messages ("token", "webhook secret"): the same rules hold for both.
std::string load_token_file(const std::string& path, const char* what = "token");

/// Compares in time that depends only on the expected token's length, not on where the strings differ.
bool tokens_equal(std::string_view given, std::string_view expected) noexcept;

/// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive); nullopt otherwise.
std::optional<std::string_view> bearer_token(std::string_view authorization);

/// "localhost", 127.0.0.0/8, ::1 (with or without brackets). Names other than localhost are not resolved:
/// they count as non-loopback.
bool is_loopback_host(const std::string& host);

}  // namespace talkgen::server
