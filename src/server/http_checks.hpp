// What the server checks from a request's header, before it reads one byte of the body (docs/server-api.md,
// "Security"): the token, the Host and Origin of a server without a token (DNS rebinding, cross-site
// requests), and the body's framing: its size from Content-Length, no compressed or otherwise encoded
// upload, and a JSON or multipart Content-Type. Each check is a pure function of the header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.hpp"

namespace talkgen::server {

/// A Host header or an Origin's authority split up: "[::1]:8080" -> {"::1", 8080}; the name lowercased.
struct HostAndPort {
  std::string name;         ///< without IPv6 brackets
  std::optional<int> port;  ///< nullopt when absent
};
/// nullopt when `authority` is empty or malformed (a bad port, an unclosed bracket, a user@ part).
std::optional<HostAndPort> split_host_port(std::string_view authority);

/// The names a server without a token answers to. A page on another site can make a browser send
/// requests to a loopback server, and with DNS rebinding even read the answers: the browser then sends
/// the attacker's name as Host, so only known names get through.
class HostPolicy {
 public:
  /// Loopback names (localhost, 127.0.0.0/8, ::1), `listen_host` unless it is a wildcard address, and
  /// `public_hosts` (--public-host); `port` is the port the server listens on.
  HostPolicy(const std::string& listen_host, const std::vector<std::string>& public_hosts, int port);
  /// A Host header ("name" or "name:port"): the name is allowed and the port, when given, is ours.
  bool allows_host(std::string_view host) const;
  /// An Origin header ("http://name:port"): the same rule, the port ours (80 / 443 when absent), an http
  /// or https scheme. "null" (sandboxed frames, file: pages) is not allowed.
  bool allows_origin(std::string_view origin) const;

 private:
  bool allows_name(const std::string& name) const;
  std::vector<std::string> names_;
  int port_;
};

/// The media type of a Content-Type value, lowercased, without parameters: "multipart/form-data".
std::string media_type(std::string_view content_type);

/// Whether `req` carries `token`: "Authorization: Bearer <token>" or, where a header cannot be set
/// (EventSource, <video src>, opening the page), ?access_token=<token>. True when `token` is empty.
bool request_has_token(const HttpRequest& req, const std::string& token);
/// The 401 answer (WWW-Authenticate: Bearer; nothing about the server in it).
HttpResponse unauthorized_response();

/// What the header says about the body.
struct BodyFraming {
  bool has_body = false;   ///< Content-Length > 0 or chunked
  bool chunked = false;
  std::uint64_t content_length = 0;  ///< 0 when chunked
};
/// The body's framing, or the refusal: 415 for a Transfer-Encoding other than chunked or any
/// Content-Encoding other than identity (no compressed uploads: a small gzip body can inflate to
/// gigabytes), 413 for a Content-Length over `max_body_bytes`, 415 for a body (or a Content-Type) that is
/// neither application/json nor multipart/form-data, 400 for a repeated Content-Type. `framing` is filled
/// either way.
std::optional<HttpResponse> check_body_headers(const HttpRequest& req, std::size_t max_body_bytes, BodyFraming& framing);

/// The 413 answer, naming --max-body-mb.
HttpResponse body_too_large_response(std::size_t max_body_bytes);

/// `text` cut to `max` bytes with "..." (messages never echo unbounded input).
std::string clip_for_message(std::string_view text, std::size_t max = 40);

}  // namespace talkgen::server
