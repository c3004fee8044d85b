#include "server/http_checks.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "server/auth.hpp"
#include "server/http_error.hpp"

namespace talkgen::server {

namespace {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_wildcard_address(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace

std::string clip_for_message(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

std::optional<HostAndPort> split_host_port(std::string_view authority) {
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  HostAndPort out;
  std::string_view rest;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.name = lower_ascii(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    out.name = lower_ascii(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (out.name.empty()) return std::nullopt;
  }
  if (rest.empty()) return out;
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
  int port = 0;
  const auto digits = rest.substr(1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) return std::nullopt;
  out.port = port;
  return out;
}

HostPolicy::HostPolicy(const std::string& listen_host, const std::vector<std::string>& public_hosts, int port)
    : port_(port) {
  const auto add = [this](const std::string& host) {
    if (is_wildcard_address(host)) return;
    const auto parsed = split_host_port(host);
    if (parsed) names_.push_back(parsed->name);
  };
  add(listen_host);
  for (const auto& h : public_hosts) add(h);
}

bool HostPolicy::allows_name(const std::string& name) const {
  return is_loopback_host(name) || std::find(names_.begin(), names_.end(), name) != names_.end();
}

bool HostPolicy::allows_host(std::string_view host) const {
  const auto parsed = split_host_port(trim(host));
  return parsed && allows_name(parsed->name) && (!parsed->port || *parsed->port == port_);
}

bool HostPolicy::allows_origin(std::string_view origin) const {
  origin = trim(origin);
  int default_port = 0;
  std::string_view authority;
  for (const auto& [scheme, port] : {std::pair<std::string_view, int>{"http://", 80}, {"https://", 443}}) {
    if (origin.size() > scheme.size() && iequals_ascii(origin.substr(0, scheme.size()), scheme)) {
      authority = origin.substr(scheme.size());
      default_port = port;
    }
  }
  if (authority.empty() || authority.find('/') != std::string_view::npos) return false;
  const auto parsed = split_host_port(authority);
  return parsed && allows_name(parsed->name) && parsed->port.value_or(default_port) == port_;
}

std::string media_type(std::string_view content_type) {
  return lower_ascii(trim(content_type.substr(0, content_type.find(';'))));
}

bool request_has_token(const HttpRequest& req, const std::string& token) {
  if (token.empty()) return true;
  std::string given;
  if (const auto authorization = req.header("Authorization")) {
    if (const auto bearer = bearer_token(*authorization)) given = std::string(*bearer);
  }
  if (given.empty()) {
    if (const auto query = req.query_value("access_token")) given = *query;
  }
  return !given.empty() && tokens_equal(given, token);
}

HttpResponse unauthorized_response() {
  return error_response(401, "unauthorized", "a valid bearer token is required: send 'Authorization: Bearer "
                        "<token>' with the token the server was started with (--token-file)")
      .header("WWW-Authenticate", "Bearer");
}

HttpResponse body_too_large_response(std::size_t max_body_bytes) {
  return error_response(413, "payload_too_large",
                        fmt::format("the request body is over the limit of {} bytes (--max-body-mb {}); send "
                                    "smaller media",
                                    max_body_bytes, max_body_bytes >> 20));
}

std::optional<HttpResponse> check_body_headers(const HttpRequest& req, std::size_t max_body_bytes,
                                               BodyFraming& framing) {
  framing = BodyFraming{};
  if (const auto te = req.header("Transfer-Encoding")) {
    if (!iequals_ascii(trim(*te), "chunked") || req.headers.count("Transfer-Encoding") != 1)
      return error_response(415, "unsupported_media_type",
                            fmt::format("Transfer-Encoding '{}' is not accepted: send the body as it is, with "
                                        "Content-Length or 'Transfer-Encoding: chunked' (no compression)",
                                        clip_for_message(*te)));
    // The parser must read the body as chunked too: it judges "chunked" by its own rules (a tab or stray
    // character around the token makes it not chunked), and a body framed one way here and another way
    // there is how requests are smuggled.
    if (!req.chunked)
      return error_response(400, "bad_request", "the Transfer-Encoding header is not exactly 'chunked'; send "
                            "'Transfer-Encoding: chunked' without other characters around the word");
    framing.chunked = true;
    framing.has_body = true;
  }
  if (const auto ce = req.header("Content-Encoding")) {
    if (!iequals_ascii(trim(*ce), "identity") || req.headers.count("Content-Encoding") != 1)
      return error_response(415, "unsupported_media_type",
                            fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed "
                                        "(images and audio are compressed already)",
                                        clip_for_message(*ce)));
  }
  if (const auto cl = req.header("Content-Length"); cl && !framing.chunked) {
    // (The HTTP parser has already refused malformed or conflicting values.)
    const std::string_view digits = trim(cl->substr(0, cl->find(',')));
    std::uint64_t length = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (ec == std::errc::result_out_of_range) return body_too_large_response(max_body_bytes);
    if (ec != std::errc() || end != digits.data() + digits.size())
      return error_response(400, "bad_request", "the Content-Length header is not a number");
    framing.content_length = length;
    framing.has_body = length > 0;
    if (length > max_body_bytes) return body_too_large_response(max_body_bytes);
  }
  if (req.headers.count("Content-Type") > 1)
    return error_response(400, "bad_request", "the request has more than one Content-Type header");
  const auto content_type = req.header("Content-Type");
  if (!framing.has_body && !content_type) return std::nullopt;
  const std::string type = content_type ? media_type(*content_type) : std::string();
  // Only the two types the API reads. A cross-site page can send text/plain or url-encoded forms without
  // a CORS preflight: they are refused here whatever the Origin says. (A cross-site page can send
  // multipart too; browsers put an Origin on every such POST, which the routes check.)
  if (type != "application/json" && type != "multipart/form-data")
    return error_response(415, "unsupported_media_type",
                          fmt::format("Content-Type '{}' is not accepted: send 'application/json' or "
                                      "'multipart/form-data'",
                                      clip_for_message(content_type.value_or(""))));
  return std::nullopt;
}

}  // namespace talkgen::server
