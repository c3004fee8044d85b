// A raw TCP connection to the server under test, for what no HTTP client library will do on purpose:
// send half a header and stop, announce a body and never send it, make up methods, hold 140 sockets
// without a thread each. POSIX sockets, blocking with poll() timeouts.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace talkgen_test {

struct RawResponse {
  int status = 0;          ///< 0: no complete status line arrived
  std::string head;        ///< status line and header fields
  std::string body;        ///< de-chunked when the answer was chunked
  bool complete = false;   ///< the whole answer arrived (Content-Length or the last chunk)

  /// A header field's value ("" when absent); names case-insensitive.
  std::string header(const std::string& name) const {
    std::string lower_head = head, lower_name = name + ":";
    for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = lower_head.find("\r\n" + lower_name);
    if (at == std::string::npos) return {};
    auto start = at + 2 + lower_name.size();
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Sends all of `data` unless the server has closed or reset the connection (then false).
  bool send(std::string_view data) {
    while (!data.empty()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads until `done(received so far)`, the peer closes, or `timeout` passes. `closed` says whether the
  /// peer closed (EOF or reset).
  std::string read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout,
                         bool* closed = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (!done(received_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[65536];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      received_.append(buffer, static_cast<std::size_t>(n));
    }
    return received_;
  }

  /// Whether the server closes the connection within `timeout` (whatever it sends first).
  bool closed_within(std::chrono::milliseconds timeout) {
    bool closed = false;
    read_until([](const std::string&) { return false; }, timeout, &closed);
    return closed;
  }

  /// One whole answer (the next one on this connection), or what arrived before `timeout`.
  RawResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    RawResponse r;
    std::size_t consumed = 0;
    read_until([&](const std::string& text) { return parse(text, r, consumed); }, timeout);
    received_.erase(0, consumed);
    return r;
  }

  /// Sends one request and reads its answer.
  RawResponse request(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    REQUIRE(send(text));
    return read_response(timeout);
  }

  /// Forgets what was read so far (after read_until, before the next read_response).
  void discard_received() { received_.clear(); }

 private:
  // Parses one answer at the start of `text` (skipping 1xx interim answers); true once it is complete.
  static bool parse(const std::string& text, RawResponse& r, std::size_t& consumed) {
    std::size_t start = 0;
    for (;;) {
      const auto end = text.find("\r\n\r\n", start);
      if (end == std::string::npos) return false;
      r = RawResponse{};
      r.head = text.substr(start, end + 2 - start);
      if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0) return false;
      r.status = std::atoi(r.head.substr(9, 3).c_str());
      std::size_t pos = end + 4;
      if (r.status >= 100 && r.status < 200) {
        start = pos;
        continue;
      }
      std::string te = r.header("Transfer-Encoding");
      if (te == "chunked") {
        for (;;) {
          const auto line_end = text.find("\r\n", pos);
          if (line_end == std::string::npos) return false;
          const std::size_t size = std::strtoul(text.substr(pos, line_end - pos).c_str(), nullptr, 16);
          if (text.size() < line_end + 2 + size + 2) return false;
          r.body += text.substr(line_end + 2, size);
          pos = line_end + 2 + size + 2;
          if (size == 0) break;
        }
      } else {
        const std::string length = r.header("Content-Length");
        const std::size_t n = length.empty() ? 0 : std::stoul(length);
        if (text.size() < pos + n) return false;
        r.body = text.substr(pos, n);
        pos += n;
      }
      r.complete = true;
      consumed = pos;
      return true;
    }
  }

  int fd_ = -1;
  std::string received_;
};

/// "GET path HTTP/1.1" with a Host for `port` and any `extra` header lines (each ending in \r\n).
inline std::string raw_get(const std::string& path, int port, const std::string& extra = {},
                           const std::string& method = "GET") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + extra + "\r\n";
}

}  // namespace talkgen_test
