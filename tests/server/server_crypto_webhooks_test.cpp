// OpenSSL-backed pieces of the server (base64, SHA-256 fingerprints, HMAC-SHA256) and the webhook URL rules
// (form, private addresses, the delivery-time check on resolved addresses), without a running server.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <functional>
#include <random>
#include <thread>

#include "server/base64.hpp"
#include "server/digest.hpp"
#include "server/job_request.hpp"
#include "server/webhooks.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::server;
using talkgen::ErrorCode;

namespace {

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("base64 through OpenSSL: RFC 4648 vectors, optional padding, strict about the rest", "[server][base64]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    const auto bytes = bytes_of(plain);
    CHECK(encode_base64(bytes.data(), bytes.size()) == encoded);
    CHECK(decode_base64(encoded, "x") == bytes);
    std::string unpadded = encoded;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    CHECK(decode_base64(unpadded, "x") == bytes);
  }
  // Larger than one decoding block (4096 characters), with line breaks as MIME writes them.
  std::mt19937 random(7);
  std::vector<std::uint8_t> big(100001);
  for (auto& b : big) b = static_cast<std::uint8_t>(random());
  const std::string text = encode_base64(big.data(), big.size());
  CHECK(text.size() == (big.size() + 2) / 3 * 4);
  CHECK(decode_base64(text, "x") == big);
  std::string wrapped;
  for (std::size_t i = 0; i < text.size(); i += 76) wrapped += text.substr(i, 76) + "\r\n";
  CHECK(decode_base64(wrapped, "x") == big);

  CHECK_THROWS_WITH(decode_base64("aGVsbG8===", "x"), Catch::Contains("offset 9"));  // three '='
  CHECK_THROWS_WITH(decode_base64("aGk=aGk=", "x"), Catch::Contains("offset 4"));    // data after padding
  CHECK_THROWS_WITH(decode_base64("aGVsbA=", "x"), Catch::Contains("padding"));      // 6 + 1: not a group
  CHECK_THROWS_WITH(decode_base64("aGV-bG8_", "x"), Catch::Contains("'-'"));         // URL-safe alphabet
  CHECK_THROWS_WITH(decode_base64(std::string("aGVs\0bG8=", 9), "x"), Catch::Contains("0x00"));
  CHECK(code_of([] { decode_base64("a", "x"); }) == ErrorCode::invalid_argument);
}

TEST_CASE("request fingerprints are SHA-256 over parameters and media", "[server][digest]") {
  JobRequest a;
  a.image = {1, 2, 3};
  a.audio = {4, 5};
  const std::string fa = request_fingerprint(a);
  CHECK(fa.size() == 64);
  CHECK(fa.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(request_fingerprint(a) == fa);
  JobRequest b = a;
  b.image = {1, 2};
  b.audio = {3, 4, 5};  // the same bytes in a row, split elsewhere: a different request
  CHECK(request_fingerprint(b) != fa);
  JobRequest c = a;
  c.seed = 43;
  CHECK(request_fingerprint(c) != fa);
  JobRequest d = a;
  d.webhook_url = "https://example.com/hook";
  CHECK(request_fingerprint(d) != fa);

  Sha256 empty;
  empty.add_piece("", 0);  // the empty piece still hashes its length (8 zero bytes)
  CHECK(empty.hex_digest() == "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc");
}

TEST_CASE("HMAC-SHA256 and webhook signatures", "[server][digest][webhooks]") {
  // RFC 4231, test case 2.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string sig = webhook_signature("Jefe", 1700000000, "{\"id\":\"x\"}");
  CHECK(sig == "t=1700000000,v1=" + hmac_sha256_hex("Jefe", "1700000000.{\"id\":\"x\"}"));
  CHECK(equal_in_constant_time("abc", "abc"));
  CHECK_FALSE(equal_in_constant_time("abc", "abd"));
  CHECK_FALSE(equal_in_constant_time("abc", "abcd"));
}

TEST_CASE("private addresses are told from public ones", "[server][webhooks]") {
  for (const char* a : {"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::",
                        "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                        "64:ff9b::a00:1", "not an address"})
    CHECK(is_private_address(a));
  for (const char* a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700::1111",
                        "::ffff:8.8.8.8"})
    CHECK_FALSE(is_private_address(a));
}

TEST_CASE("webhook URLs: http(s) with a host, private targets only when allowed", "[server][webhooks]") {
  const WebhookUrl u = parse_webhook_url("HTTPS://hooks.example.com:8443/talkgen?x=1", false);
  CHECK(u.scheme == "https");
  CHECK(u.host == "hooks.example.com");
  CHECK(u.port == 8443);
  CHECK(u.target == "/talkgen?x=1");
  CHECK(parse_webhook_url("http://example.com", false).target == "/");
  CHECK(parse_webhook_url("http://example.com", false).port == 80);
  CHECK(parse_webhook_url("https://example.com?a=b", false).target == "/?a=b");
  const WebhookUrl v6 = parse_webhook_url("http://[2606:4700::1111]:81/h", false);
  CHECK(v6.host == "2606:4700::1111");
  CHECK(v6.port == 81);

  for (const char* bad : {"ftp://example.com/", "file:///etc/passwd", "example.com/hook", "http://", "http:///x",
                          "http://user:pw@example.com/", "http://example.com/#frag", "http://exa mple.com/",
                          "http://example.com:0/", "http://example.com:65536/", "http://example.com:x/",
                          "http://[::1/", "http://ex_ample.com/", "gopher://example.com/"})
    CHECK(code_of([&] { parse_webhook_url(bad, true); }) == ErrorCode::invalid_argument);
  CHECK(code_of([] { parse_webhook_url("http://example.com/" + std::string(3000, 'a'), true); }) ==
        ErrorCode::invalid_argument);

  for (const char* inside : {"http://127.0.0.1:9000/", "http://localhost/", "http://api.localhost/",
                             "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/",
                             "http://[::ffff:192.168.1.1]/"}) {
    CHECK_THROWS_WITH(parse_webhook_url(inside, false), Catch::Contains("--allow-private-webhooks"));
    CHECK_NOTHROW(parse_webhook_url(inside, true));
  }
}

TEST_CASE("webhook deliveries are checked again on the resolved address", "[server][webhooks]") {
  httplib::Server receiver;
  std::atomic<int> received{0};
  receiver.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
    ++received;
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });

  // "127.1" is not an IP literal to inet_pton (so the submit check lets it through as a name), but the
  // resolver reads it as 127.0.0.1: the delivery must refuse it, and not try again.
  const std::string sneaky = "http://127.1:" + std::to_string(port) + "/hook";
  CHECK_NOTHROW(parse_webhook_url(sneaky, false));
  {
    WebhookOptions o;
    o.secret = "0123456789abcdef0123";
    o.base_delay = std::chrono::milliseconds(10);
    WebhookSender sender(o);
    REQUIRE(sender.deliver(sneaky, "job-1", "{}"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (sender.pending() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(sender.pending() == 0);
  }
  CHECK(received == 0);

  // Allowed: delivered to the same receiver.
  {
    WebhookOptions o;
    o.secret = "0123456789abcdef0123";
    o.allow_private = true;
    WebhookSender sender(o);
    REQUIRE(sender.deliver(sneaky, "job-2", "{}"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (received == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(received == 1);

  // Bounded: beyond max_pending, a delivery is dropped; without a secret, nothing is sent at all.
  {
    WebhookOptions o;
    o.secret = "0123456789abcdef0123";
    o.max_pending = 1;
    o.base_delay = std::chrono::seconds(30);
    o.allow_private = true;
    WebhookSender sender(o);
    // A closed port: the first try fails and the delivery waits 30 s for its second, holding the one place.
    CHECK(sender.deliver("http://127.0.0.1:1/hook", "job-3", "{}"));
    CHECK_FALSE(sender.deliver("http://127.0.0.1:1/hook", "job-4", "{}"));
  }
  {
    WebhookSender unsigned_sender(WebhookOptions{});
    CHECK_FALSE(unsigned_sender.deliver(sneaky, "job-5", "{}"));
  }
  receiver.stop();
  serving.join();
}
