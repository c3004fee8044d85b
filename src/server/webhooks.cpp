#include "server/webhooks.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include <httplib.h>

#include "server/digest.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kShownBytes = 80;  // of a URL in messages

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_private_v4(const unsigned char* b) {
  return b[0] == 0 || b[0] == 10 || b[0] == 127 ||    // "this" network, private, loopback
         (b[0] == 100 && (b[1] & 0xc0) == 64) ||       // 100.64/10 shared (CGNAT)
         (b[0] == 169 && b[1] == 254) ||               // link-local (cloud metadata services live here)
         (b[0] == 172 && (b[1] & 0xf0) == 16) ||       // 172.16/12 private
         (b[0] == 192 && b[1] == 168) ||               // private
         (b[0] == 192 && b[1] == 0 && b[2] == 0) ||    // IETF protocol assignments
         (b[0] == 198 && (b[1] & 0xfe) == 18) ||       // 198.18/15 benchmarking
         b[0] >= 224;                                  // multicast, reserved, broadcast
}

bool is_private_v6(const unsigned char* b) {
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static constexpr unsigned char kZero[12] = {};
  // IPv4 inside IPv6 (mapped, NAT64, the old "compatible" form, :: and ::1 among them): judged as IPv4.
  if (std::equal(b, b + 12, kMapped) || std::equal(b, b + 12, kNat64)) return is_private_v4(b + 12);
  if (std::equal(b, b + 12, kZero)) return true;
  return (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||  // fe80::/10 link-local
         (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||  // fec0::/10 old site-local
         (b[0] & 0xfe) == 0xfc ||                    // fc00::/7 unique local
         b[0] == 0xff;                               // multicast
}

bool is_ip_literal(const std::string& host) {
  std::array<unsigned char, 16> bytes{};
  return inet_pton(AF_INET, host.c_str(), bytes.data()) == 1 || inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1;
}

bool is_localhost_name(const std::string& host) {
  const std::string h = lower(host);
  return h == "localhost" || (h.size() > 10 && h.compare(h.size() - 10, 10, ".localhost") == 0) ||
         h == "localhost." || (h.size() > 11 && h.compare(h.size() - 11, 11, ".localhost.") == 0);
}

// The addresses `host` resolves to, as text (IP literals included), or an empty list with `why`.
std::vector<std::string> resolve(const WebhookUrl& url, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  std::vector<std::string> addresses;
  if (rc != 0) {
    why = fmt::format("cannot resolve '{}': {}", url.host, gai_strerror(rc));
    return addresses;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    const void* bytes = a->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, bytes, text.data(), text.size())) addresses.emplace_back(text.data());
  }
  if (addresses.empty()) why = fmt::format("'{}' resolves to no IP address", url.host);
  return addresses;
}

}  // namespace

bool is_private_address(const std::string& address) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) return is_private_v4(bytes.data());
  if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) return is_private_v6(bytes.data());
  return true;
}

WebhookUrl parse_webhook_url(std::string_view url, bool allow_private) {
  const std::string shown(url.substr(0, kShownBytes));
  const auto refuse = [&](const std::string& why) {
    fail(ErrorCode::invalid_argument, "'webhook_url' {:?}{}: {}", shown, url.size() > kShownBytes ? "..." : "", why);
  };
  if (url.size() > kMaxUrlBytes) refuse(fmt::format("{} bytes, over the limit of {}", url.size(), kMaxUrlBytes));
  for (const char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      refuse("it holds a space, a control character or non-ASCII text; percent-encode them");
  const auto sep = url.find("://");
  WebhookUrl u;
  u.scheme = sep == std::string_view::npos ? std::string() : lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") refuse("expected an http:// or https:// URL");
  const std::string_view rest = url.substr(sep + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail = rest.substr(authority_end);
  if (tail.find('#') != std::string_view::npos) refuse("a fragment (#...) is never sent to a server; remove it");
  if (authority.find('@') != std::string_view::npos)
    refuse("user:password@ in the URL is not supported; verify deliveries by their Talkgen-Signature");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) refuse("an IPv6 address without its closing ']'");
    u.host = std::string(authority.substr(1, close - 1));
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, u.host.c_str(), bytes.data()) != 1) refuse("the bracketed host is not an IPv6 address");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') refuse("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (const char c : u.host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'))
        refuse("the host name holds characters other than letters, digits, '.' and '-' (use punycode for IDNs)");
  }
  if (u.host.empty()) refuse("no host");
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port_text.empty() || (authority.size() > 0 && authority.back() == ':')) {
    int port = 0;
    bool ok = !port_text.empty() && port_text.size() <= 5;
    for (const char c : port_text) {
      ok = ok && std::isdigit(static_cast<unsigned char>(c));
      port = port * 10 + (c - '0');
    }
    if (!ok || port < 1 || port > 65535) refuse("the port is not a number from 1 to 65535");
    u.port = port;
  }
  u.target = tail.empty() ? "/" : tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  if (!allow_private) {
    if (is_localhost_name(u.host) || (is_ip_literal(u.host) && is_private_address(u.host)))
      refuse("it names a loopback or private address, which this server does not send to (an operator allows "
             "them with --allow-private-webhooks)");
  }
  return u;
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  std::string signed_text = std::to_string(unix_seconds);
  signed_text += '.';
  signed_text.append(body);
  return fmt::format("t={},v1={}", unix_seconds, hmac_sha256_hex(secret, signed_text));
}

WebhookSender::WebhookSender(WebhookOptions options) : options_(std::move(options)) {
  if (options_.max_attempts < 1 || options_.threads < 1 || options_.max_pending < 1 || options_.timeout.count() <= 0)
    fail(ErrorCode::invalid_argument, "webhook options: attempts, threads, pending and timeout must be positive");
  if (options_.secret.empty()) return;  // webhooks are refused at submit: nothing to run
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

WebhookSender::~WebhookSender() {
  std::size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped = waiting_.size();
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  if (dropped > 0) log_warn("serve: {} webhook delivery(ies) not made before the server stopped", dropped);
}

bool WebhookSender::deliver(const std::string& url, const std::string& job_id, std::string body) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || threads_.empty()) return false;
    if (waiting_.size() + in_flight_ >= options_.max_pending) {
      log_warn("serve: job {}: webhook not sent: {} deliveries are pending already (the most kept)", job_id,
               options_.max_pending);
      return false;
    }
    waiting_.push_back(Delivery{url, job_id, std::move(body), 0, Clock::now()});
  }
  wake_.notify_one();
  return true;
}

std::size_t WebhookSender::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_.size() + in_flight_;
}

void WebhookSender::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (waiting_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto earliest = std::min_element(waiting_.begin(), waiting_.end(),
                                           [](const Delivery& a, const Delivery& b) { return a.due < b.due; });
    if (earliest->due > Clock::now()) {
      wake_.wait_until(lock, earliest->due);
      continue;
    }
    Delivery d = std::move(*earliest);
    waiting_.erase(earliest);
    ++in_flight_;
    lock.unlock();
    ++d.attempt;
    std::string why;
    Outcome outcome = Outcome::retry;
    try {
      outcome = try_once(d, why);
    } catch (const std::exception& e) {
      why = e.what();
    }
    lock.lock();
    --in_flight_;
    if (outcome == Outcome::delivered) {
      log_info("serve: job {}: webhook delivered (try {})", d.job_id, d.attempt);
    } else if (outcome == Outcome::give_up || d.attempt >= options_.max_attempts || stopping_) {
      log_warn("serve: job {}: webhook not delivered after {} tr{}: {}", d.job_id, d.attempt,
               d.attempt == 1 ? "y" : "ies", why);
    } else {
      const auto delay = options_.base_delay * (1 << std::min(d.attempt - 1, 16));
      log_info("serve: job {}: webhook try {} failed ({}); next in {:.1f} s", d.job_id, d.attempt, why,
               std::chrono::duration<double>(delay).count());
      d.due = Clock::now() + delay;
      waiting_.push_back(std::move(d));
      wake_.notify_one();
    }
  }
}

WebhookSender::Outcome WebhookSender::try_once(const Delivery& d, std::string& why) {
  const WebhookUrl url = parse_webhook_url(d.url, true);  // its form; the addresses are judged below
  const std::vector<std::string> addresses = resolve(url, why);
  if (addresses.empty()) return Outcome::retry;  // DNS may answer at the next try
  if (!options_.allow_private)
    for (const std::string& a : addresses)
      if (is_private_address(a)) {
        why = fmt::format("'{}' resolves to {}, a loopback or private address, which this server does not send "
                          "to (--allow-private-webhooks allows them)", url.host, a);
        return Outcome::give_up;
      }
  // (Host and port given apart: an IPv6 literal needs no brackets, and gets them in the Host header.)
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.scheme == "https") {
    auto tls = std::make_unique<httplib::SSLClient>(url.host, url.port);
    tls->enable_server_certificate_verification(true);  // the system's CAs, and the name in the certificate
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  // Connect to the address judged above, not to whatever a second lookup would give (DNS rebinding).
  if (!is_ip_literal(url.host)) client->set_hostname_addr_map({{url.host, addresses.front()}});
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - seconds);
  client->set_connection_timeout(seconds.count(), micros.count());
  client->set_read_timeout(seconds.count(), micros.count());
  client->set_write_timeout(seconds.count(), micros.count());
  client->set_follow_location(false);  // a redirect could point anywhere, the checks above included
  client->set_keep_alive(false);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  const httplib::Headers headers = {{"Talkgen-Signature", webhook_signature(options_.secret, now, d.body)},
                                    {"Talkgen-Job-Id", d.job_id},
                                    {"Talkgen-Attempt", std::to_string(d.attempt)},
                                    {"User-Agent", "talkgen-webhook"}};
  const auto response = client->Post(url.target.c_str(), headers, d.body, "application/json");
  if (!response) {
    why = fmt::format("no answer from {}: {}", url.host, httplib::to_string(response.error()));
    return Outcome::retry;
  }
  if (response->status / 100 == 2) return Outcome::delivered;
  why = fmt::format("{} answered HTTP {}", url.host, response->status);
  return Outcome::retry;
}

}  // namespace talkgen::server
