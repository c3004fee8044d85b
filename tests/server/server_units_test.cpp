// The pieces of the server that need no model: auth, base64, error mapping, metrics labels.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "pipeline/test_media.hpp"
#include "server/auth.hpp"
#include "server/base64.hpp"
#include "server/http_error.hpp"
#include "server/metrics.hpp"

using namespace talkgen::server;
using talkgen::ErrorCode;
using talkgen_test::scratch;

TEST_CASE("tokens compare equal only when identical", "[server][auth]") {
  CHECK(tokens_equal("0123456789abcdef", "0123456789abcdef"));
  CHECK_FALSE(tokens_equal("0123456789abcdeX", "0123456789abcdef"));
  CHECK_FALSE(tokens_equal("0123456789abcde", "0123456789abcdef"));    // prefix
  CHECK_FALSE(tokens_equal("0123456789abcdef0", "0123456789abcdef"));  // longer
  CHECK_FALSE(tokens_equal("", "0123456789abcdef"));
  CHECK_FALSE(tokens_equal("", ""));  // no token configured never authenticates
}

TEST_CASE("bearer tokens are read from the Authorization header", "[server][auth]") {
  CHECK(bearer_token("Bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("bearer   abc ") == std::optional<std::string_view>("abc"));
  CHECK_FALSE(bearer_token("Basic abc").has_value());
  CHECK_FALSE(bearer_token("Bearer ").has_value());
  CHECK_FALSE(bearer_token("").has_value());
}

TEST_CASE("loopback hosts are told from the others", "[server][auth]") {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) CHECK(is_loopback_host(h));
  for (const char* h : {"0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "128.0.0.1"})
    CHECK_FALSE(is_loopback_host(h));
}

TEST_CASE("token files: trimmed, long enough, one printable word", "[server][auth]") {
  const std::string path = scratch("server_token.txt");
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::binary) << text; };
  write("  s3cr3t-token-0123456789\n");
  CHECK(load_token_file(path) == "s3cr3t-token-0123456789");
  write("short\n");
  CHECK_THROWS_WITH(load_token_file(path), Catch::Contains("at least 16"));
  write("has a space in the middle of it\n");
  CHECK_THROWS_WITH(load_token_file(path), Catch::Contains("whitespace"));
  try {
    load_token_file(scratch("no_such_token_file"));
    FAIL("expected an error");
  } catch (const talkgen::Error& e) {
    CHECK(e.code() == ErrorCode::not_found);
  }
}

TEST_CASE("base64 round trips and rejects garbage", "[server][base64]") {
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
    const std::string text = encode_base64(bytes.data(), bytes.size());
    CHECK(decode_base64(text, "x") == bytes);
    std::string unpadded = text;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    CHECK(decode_base64(unpadded, "x") == bytes);
  }
  CHECK(decode_base64("data:image/png;base64,aGVsbG8=", "x") == std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'});
  CHECK(decode_base64("aGVs\nbG8=", "x").size() == 5);
  CHECK_THROWS_WITH(decode_base64("aGV*bG8=", "audio_b64"), Catch::Contains("audio_b64") && Catch::Contains("'*'"));
  CHECK_THROWS_WITH(decode_base64("aGVsb", "x"), Catch::Contains("lone character"));
  CHECK_THROWS_WITH(decode_base64("data:text/plain,hello", "x"), Catch::Contains(";base64"));
}

TEST_CASE("library error codes map to HTTP statuses in one place", "[server][errors]") {
  CHECK(http_status_for(ErrorCode::invalid_argument) == 422);
  CHECK(http_status_for(ErrorCode::unsupported) == 422);
  CHECK(http_status_for(ErrorCode::not_found) == 404);
  CHECK(http_status_for(ErrorCode::cancelled) == 409);
  CHECK(http_status_for(ErrorCode::timeout) == 504);
  CHECK(http_status_for(ErrorCode::out_of_memory) == 503);
  CHECK(http_status_for(ErrorCode::device_unavailable) == 503);
  CHECK(http_status_for(ErrorCode::internal) == 500);
  CHECK(http_status_for(ErrorCode::io_error) == 500);
  CHECK(error_body("not_found", "no job \"x\"") == R"({"code":"not_found","message":"no job \"x\""})");
}

TEST_CASE("metrics label routes by pattern and render Prometheus text", "[server][metrics]") {
  CHECK(route_label("/v1/jobs") == "/v1/jobs");
  CHECK(route_label("/v1/jobs/0123456789abcdef0123456789abcdef") == "/v1/jobs/{id}");
  CHECK(route_label("/v1/jobs/abc/events") == "/v1/jobs/{id}/events");
  CHECK(route_label("/v1/jobs/abc/video") == "/v1/jobs/{id}/video");
  CHECK(route_label("/v1/nope") == "/v1/other");
  CHECK(route_label("/app.js") == "/static");
  HttpMetrics m;
  m.observe("/v1/jobs", "GET", 200, 0.003);
  m.observe("/v1/jobs", "GET", 200, 0.2);
  m.observe("/v1/jobs", "POST", 422, 0.02);
  const std::string text = m.prometheus();
  CHECK_THAT(text, Catch::Contains("# TYPE talkgen_http_request_duration_seconds histogram"));
  CHECK_THAT(text, Catch::Contains(R"(talkgen_http_request_duration_seconds_bucket{route="/v1/jobs",method="GET",le="0.005"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(talkgen_http_request_duration_seconds_bucket{route="/v1/jobs",method="GET",le="0.25"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(talkgen_http_request_duration_seconds_count{route="/v1/jobs",method="GET"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(talkgen_http_requests_total{route="/v1/jobs",method="POST",status="422"} 1)"));
}
