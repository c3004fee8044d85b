// Webhooks: a job submitted with `webhook_url` is POSTed to that URL when it finishes (docs/server-api.md,
// "Webhooks"). The body is the job object; the request is signed with HMAC-SHA256 under the server's
// --webhook-secret-file so the receiver can tell it came from this server and was not replayed:
//
//   Talkgen-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>
//
// Deliveries run on their own threads, never on a request's or a job's: a few tries with growing pauses,
// each bounded by a timeout, redirects not followed, at most max_pending waiting. A URL is checked twice:
// at submit (its form, and an IP-literal host), and before every try on the addresses its name resolves to,
// which are then the ones connected to (a name that resolves to a public address at submit and to
// 127.0.0.1 at delivery cannot reach the server's own network). Loopback, private, link-local, shared
// (CGNAT), multicast and reserved addresses are refused unless --allow-private-webhooks: otherwise anyone
// with a token could make the server probe its own network (SSRF).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace talkgen::server {

struct WebhookOptions {
  std::string secret;                 ///< --webhook-secret-file's content; empty: webhook_url is refused
  bool allow_private = false;         ///< --allow-private-webhooks: loopback and private addresses too
  int max_attempts = 5;               ///< tries per delivery
  /// Pause before try k (1-based, k >= 2): base_delay * 2^(k-2): 3, 6, 12, 24 s, so five tries span about a
  /// minute plus their timeouts.
  std::chrono::milliseconds base_delay{3000};
  std::chrono::milliseconds timeout{10000};  ///< per try: connecting, sending and reading the answer, each
  std::size_t max_pending = 1000;     ///< deliveries waiting or under way; beyond, a new one is dropped (logged)
  int threads = 2;                    ///< deliveries under way at once
};

/// A webhook URL in parts. Only http and https, an explicit host (no user:password@), an optional port.
struct WebhookUrl {
  std::string scheme;  ///< "http" / "https"
  std::string host;    ///< a name or an IP address (an IPv6 one without its brackets)
  int port = 0;
  std::string target;  ///< path and query, "/" at least
};

/// Parses and checks a webhook URL at submit. Error(invalid_argument) naming what is wrong: not http(s),
/// too long (2048), no host, user info, a bad port, a fragment, control characters or spaces; with
/// `allow_private` false also a loopback / private IP literal or a "localhost" name.
WebhookUrl parse_webhook_url(std::string_view url, bool allow_private);

/// Whether `address` (IPv4 or IPv6 text) is one the server must not send to without --allow-private-webhooks.
/// Unparseable text counts as private.
bool is_private_address(const std::string& address);

/// The Talkgen-Signature header value for `body` sent at `unix_seconds`.
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options);
  /// Stops the threads; deliveries not yet made are dropped (and logged): they are not kept across restarts.
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  const WebhookOptions& options() const { return options_; }
  /// Queues a POST of `body` to `url` (checked by parse_webhook_url at submit) about job `job_id`. False when
  /// max_pending deliveries are waiting already (the delivery is dropped and logged).
  bool deliver(const std::string& url, const std::string& job_id, std::string body);
  /// Deliveries waiting or under way now.
  std::size_t pending() const;

 private:
  struct Delivery {
    std::string url, job_id, body;
    int attempt = 0;  // tries made so far
    std::chrono::steady_clock::time_point due;
  };
  enum class Outcome { delivered, retry, give_up };
  void run();
  /// One try; `why` says what went wrong otherwise.
  Outcome try_once(const Delivery& d, std::string& why);

  const WebhookOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Delivery> waiting_;  // in no particular order: the earliest due is searched for
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace talkgen::server
