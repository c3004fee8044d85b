#include "server/auth.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "talkgen/error.hpp"

namespace talkgen::server {

namespace {
constexpr std::size_t kMinTokenLength = 16;
}

std::string load_token_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read the {} file '{}': create it with a random {}, e.g. "
                "`openssl rand -hex 32 > {}`", what, path, what, path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string token = buffer.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.size() < kMinTokenLength)
    fail(ErrorCode::invalid_argument, "the {} in '{}' has {} characters; expected at least {} (a short one can be "
         "guessed): write a random one, e.g. `openssl rand -hex 32 > {}`", what, path, token.size(),
         kMinTokenLength, path);
  for (const char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u) || u >= 0x80)
      fail(ErrorCode::invalid_argument, "the {} in '{}' holds whitespace, control or non-ASCII characters; "
           "expected one line of printable ASCII", what, path);
  }
  return token;
}

bool tokens_equal(std::string_view given, std::string_view expected) noexcept {
  // Walk the expected token whatever `given` is, so the time reveals neither a matching prefix nor
  // the expected length through an early exit.
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0u;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0 && !expected.empty();
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace talkgen::server
