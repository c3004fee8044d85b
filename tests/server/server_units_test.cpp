// The pieces of the server that need no model: auth, base64, error mapping, metrics labels, and the HTTP
// checks made from a request's header (Host, Origin, body framing), Range, multipart, connection caps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "pipeline/test_media.hpp"
#include "server/auth.hpp"
#include "server/base64.hpp"
#include "server/http_checks.hpp"
#include "server/http_connection_limits.hpp"
#include "server/http_error.hpp"
#include "server/http_message.hpp"
#include "server/http_range.hpp"
#include "server/metrics.hpp"
#include "server/multipart.hpp"

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
  CHECK(route_label("/v1/jobs/abc/other") == "/v1/other");
  CHECK(route_label("/v1/jobs/" + std::string(100000, 'a') + "/events") == "/v1/jobs/{id}/events");  // no regex
  CHECK(method_label("GET") == "GET");
  CHECK(method_label("DELETE") == "DELETE");
  CHECK(method_label("get") == "other");
  CHECK(method_label("FOO123") == "other");
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

TEST_CASE("metrics rows stay bounded whatever the methods", "[server][metrics]") {
  HttpMetrics m;
  m.observe("/static", "FOO0", 405, 0.001);
  const auto lines = [](const std::string& text) { return std::count(text.begin(), text.end(), '\n'); };
  const auto rows = lines(m.prometheus());
  for (int i = 1; i < 300; ++i) m.observe("/static", "FOO" + std::to_string(i), 405, 0.001);
  const std::string text = m.prometheus();
  CHECK(lines(text) == rows);  // only the counts change
  CHECK(text.find("FOO") == std::string::npos);
  CHECK_THAT(text, Catch::Contains(R"(talkgen_http_requests_total{route="/static",method="other",status="405"} 300)"));
}

TEST_CASE("Range: one byte range, several or malformed ones ignored, past the end unsatisfiable", "[server][range]") {
  using Kind = RangeDecision::Kind;
  const auto check = [](const char* header, std::uint64_t size, Kind kind, std::uint64_t first = 0,
                        std::uint64_t length = 0) {
    INFO(header << " of " << size);
    const RangeDecision d = decide_range(header, size);
    CHECK(d.kind == kind);
    if (kind == Kind::partial) {
      CHECK(d.first == first);
      CHECK(d.length == length);
    }
  };
  check("", 100, Kind::whole);
  check("bytes=0-9", 100, Kind::partial, 0, 10);
  check("bytes=90-", 100, Kind::partial, 90, 10);
  check("bytes=90-1000", 100, Kind::partial, 90, 10);
  check("bytes=-10", 100, Kind::partial, 90, 10);
  check("bytes=-1000", 100, Kind::partial, 0, 100);
  check("Bytes=5-5", 100, Kind::partial, 5, 1);
  check("bytes=99-99999999999999999999999", 100, Kind::partial, 99, 1);  // saturates, clamps
  check("bytes=100-", 100, Kind::unsatisfiable);
  check("bytes=99999999999999999999999-", 100, Kind::unsatisfiable);
  check("bytes=-0", 100, Kind::unsatisfiable);
  check("bytes=0-", 0, Kind::unsatisfiable);
  check("bytes=0-1,5-6", 100, Kind::whole);  // several ranges: the whole file
  check("bytes=0-1,", 100, Kind::whole);
  check("bytes=5-2", 100, Kind::whole);      // invalid: ignored (RFC 7233 §3.1)
  check("bytes=-", 100, Kind::whole);
  check("bytes=a-b", 100, Kind::whole);
  check("bytes=0x1-2", 100, Kind::whole);
  check("items=0-1", 100, Kind::whole);
  check("bytes=", 100, Kind::whole);
}

TEST_CASE("multipart/form-data: strict, bounded, every fault a 400", "[server][multipart]") {
  CHECK(multipart_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(multipart_boundary("multipart/form-data; charset=utf-8; boundary=\"a b:c\"") == "a b:c");
  CHECK(multipart_boundary("Multipart/Form-Data;BOUNDARY=----WebKitFormBoundaryx7") == "----WebKitFormBoundaryx7");
  CHECK_THROWS_WITH(multipart_boundary("multipart/form-data"), Catch::Contains("no boundary"));
  CHECK_THROWS_WITH(multipart_boundary("multipart/form-data; boundary="), Catch::Contains("1 to 70"));
  CHECK_THROWS_WITH(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')), Catch::Contains("1 to 70"));
  CHECK_THROWS_WITH(multipart_boundary("multipart/form-data; boundary=a\x01"), Catch::Contains("1 to 70"));

  const std::string binary("\x00\r\n--b\xff\r\n", 9);  // holds CR LF and a near-boundary
  const std::string body = "preamble\r\n--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"ref_image\"; filename=\"a \\\"b\\\".png\"\r\n"
                           "Content-Type: image/png\r\n\r\n" + binary + "\r\n--XyZ  \r\n"
                           "content-disposition: FORM-DATA; name=quality\r\n\r\n"
                           "draft\r\n--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
                           "\r\n--XyZ--\r\nepilogue";
  const auto parts = parse_multipart_form(body, "XyZ");
  REQUIRE(parts.size() == 3);
  CHECK(parts.at("ref_image") == binary);
  CHECK(parts.at("quality") == "draft");
  CHECK(parts.at("empty").empty());
  CHECK(parse_multipart_form("--XyZ--", "XyZ").empty());

  const auto part = [](const std::string& name, const std::string& content) {
    return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + content + "\r\n";
  };
  const auto fails = [](const std::string& text, const char* why) {
    INFO(why);
    try {
      parse_multipart_form(text, "B");
      FAIL("expected a 400");
    } catch (const HttpError& e) {
      CHECK(e.status() == 400);
      CHECK_THAT(e.what(), Catch::Contains(why));
    }
  };
  fails("no delimiter here", "does not start with the boundary");
  fails(part("a", "1"), "closing boundary is missing");
  fails(part("a", "1") + part("a", "2") + "--B--", "appears twice");
  fails("--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", "no Content-Disposition");
  fails("--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--", "not 'form-data");
  fails("--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--B--", "has no name");
  fails("--B\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--B--", "not 'form-data");
  fails("--B\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--B--",
        "Content-Transfer-Encoding");
  fails("--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Other: a\r\n b\r\n\r\nx\r\n--B--", "folding");
  fails("--B\r\nX-Long: " + std::string(9000, 'a') + "\r\n\r\nx\r\n--B--", "not terminated within 8192");
  fails("--Bxx\r\n", "does not end with CRLF");
  std::string many;
  for (int i = 0; i < 33; ++i) many += part("p" + std::to_string(i), "x");
  fails(many + "--B--", "more than 32 parts");
  fails(part(std::string(101, 'n'), "x") + "--B--", "longer than 100");
}

TEST_CASE("Host and Origin: loopback names, --host and --public-host, on this port", "[server][csrf]") {
  const HostPolicy loopback("127.0.0.1", {}, 8080);
  for (const char* host : {"127.0.0.1:8080", "localhost:8080", "LocalHost:8080", "[::1]:8080", "127.0.0.1", "localhost",
                           "127.1.2.3:8080"})
    CHECK(loopback.allows_host(host));
  for (const char* host : {"rebind.evil.example", "rebind.evil.example:8080", "127.0.0.1:8081", "localhost:80",
                           "10.0.0.1:8080", "", ":8080", "[::1", "user@localhost:8080", "localhost:99999",
                           "localhost:8080x", "0.0.0.0:8080", "localhost.:8080"})
    CHECK_FALSE(loopback.allows_host(host));
  CHECK(loopback.allows_origin("http://127.0.0.1:8080"));
  CHECK(loopback.allows_origin("http://localhost:8080"));
  CHECK(loopback.allows_origin("HTTP://[::1]:8080"));
  for (const char* origin : {"null", "http://evil.example", "http://evil.example:8080", "http://127.0.0.1:8081",
                             "http://127.0.0.1", "https://127.0.0.1", "file://", "http://127.0.0.1:8080/path", "",
                             "ftp://127.0.0.1:8080"})
    CHECK_FALSE(loopback.allows_origin(origin));
  const HostPolicy port80("localhost", {}, 80);
  CHECK(port80.allows_origin("http://localhost"));
  CHECK_FALSE(port80.allows_origin("https://localhost"));

  const HostPolicy named("0.0.0.0", {"Talkgen.LAN", "192.168.1.5"}, 9000);  // a wildcard names nothing
  CHECK(named.allows_host("talkgen.lan:9000"));
  CHECK(named.allows_host("192.168.1.5:9000"));
  CHECK(named.allows_origin("http://talkgen.lan:9000"));
  CHECK_FALSE(named.allows_host("0.0.0.0:9000"));
  CHECK_FALSE(named.allows_host("other.lan:9000"));
  const HostPolicy listen_name("10.1.2.3", {}, 9000);
  CHECK(listen_name.allows_host("10.1.2.3:9000"));
}

TEST_CASE("body framing is judged from the header: size, encodings, type", "[server][limits]") {
  const auto request = [](std::vector<std::pair<std::string, std::string>> fields) {
    HttpRequest r;
    r.method = "POST";
    for (auto& [n, v] : fields) r.headers.add(n, v);
    // As the transport's parser reads it: chunked when the one Transfer-Encoding ends in "chunked".
    const auto te = r.header("Transfer-Encoding");
    r.chunked = te && te->size() >= 7 && iequals_ascii(te->substr(te->size() - 7), "chunked");
    return r;
  };
  BodyFraming f;
  CHECK_FALSE(check_body_headers(request({}), 1000, f));
  CHECK_FALSE(f.has_body);
  CHECK_FALSE(check_body_headers(request({{"Content-Length", "0"}}), 1000, f));
  CHECK_FALSE(check_body_headers(request({{"content-length", "1000"}, {"Content-Type", "application/json; charset=utf-8"}}), 1000, f));
  CHECK(f.content_length == 1000);
  CHECK_FALSE(check_body_headers(request({{"Transfer-Encoding", "Chunked"}, {"Content-Type", "multipart/form-data; boundary=x"}}), 1000, f));
  CHECK(f.chunked);
  CHECK_FALSE(check_body_headers(request({{"Content-Length", "5"}, {"Content-Type", "application/json"},
                                          {"Content-Encoding", "identity"}}), 1000, f));

  const auto status = [&](std::vector<std::pair<std::string, std::string>> fields) {
    const auto refusal = check_body_headers(request(std::move(fields)), 1000, f);
    return refusal ? refusal->status : 0;
  };
  CHECK(status({{"Content-Length", "1001"}, {"Content-Type", "application/json"}}) == 413);
  CHECK(status({{"Content-Length", "99999999999999999999999"}, {"Content-Type", "application/json"}}) == 413);
  CHECK(status({{"Content-Length", "1001"}}) == 413);  // size first: no type needed to say it is too large
  CHECK(status({{"Content-Length", "10"}}) == 415);
  CHECK(status({{"Content-Length", "10"}, {"Content-Type", "text/plain"}}) == 415);
  CHECK(status({{"Content-Type", "text/plain"}}) == 415);  // a type is judged even without a body
  CHECK(status({{"Content-Length", "10"}, {"Content-Type", "application/json"}, {"Content-Type", "application/json"}}) == 400);
  CHECK(status({{"Content-Length", "10"}, {"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}) == 415);
  CHECK(status({{"Content-Length", "10"}, {"Content-Type", "application/json"}, {"Content-Encoding", "br"}}) == 415);
  CHECK(status({{"Transfer-Encoding", "gzip, chunked"}, {"Content-Type", "application/json"}}) == 415);
  CHECK(status({{"Transfer-Encoding", "gzip"}, {"Content-Type", "application/json"}}) == 415);
  // The header says chunked but the parser does not read it so (" chunked\t" by Beast's rules): refused, so
  // the checks and the parser never disagree on where the body ends.
  HttpRequest stray = request({{"Transfer-Encoding", "chunked"}, {"Content-Type", "application/json"}});
  stray.chunked = false;
  const auto stray_refusal = check_body_headers(stray, 1000, f);
  REQUIRE(stray_refusal);
  CHECK(stray_refusal->status == 400);
  const auto gzip = check_body_headers(request({{"Content-Length", "1"}, {"Content-Encoding", std::string(500, 'g')}}), 1000, f);
  REQUIRE(gzip);
  CHECK(gzip->body.size() < 300);  // the value is not echoed whole
}

TEST_CASE("tokens come from the Authorization header or ?access_token=", "[server][auth]") {
  HttpRequest r;
  CHECK(request_has_token(r, ""));
  CHECK_FALSE(request_has_token(r, "0123456789abcdef"));
  r.headers.add("authorization", "Bearer 0123456789abcdef");
  CHECK(request_has_token(r, "0123456789abcdef"));
  HttpRequest q;
  q.query.emplace("access_token", "0123456789abcdef");
  CHECK(request_has_token(q, "0123456789abcdef"));
  CHECK_FALSE(request_has_token(q, "0123456789abcdeX"));
  const HttpResponse refusal = unauthorized_response();
  CHECK(refusal.status == 401);
  CHECK_THAT(refusal.body, Catch::Contains("unauthorized"));
}

TEST_CASE("request targets: path and decoded query", "[server][http]") {
  std::string path;
  std::multimap<std::string, std::string> query;
  REQUIRE(parse_request_target("/v1/jobs?limit=5&state=running&access_token=a%2Bb+c&flag", path, query));
  CHECK(path == "/v1/jobs");
  CHECK(query.find("limit")->second == "5");
  CHECK(query.find("access_token")->second == "a+b c");
  CHECK(query.count("flag") == 1);
  CHECK_FALSE(parse_request_target("http://example.com/v1/jobs", path, query));
  CHECK_FALSE(parse_request_target("*", path, query));
  CHECK_FALSE(parse_request_target("/x?a=%zz", path, query));
  CHECK_FALSE(parse_request_target("/x?a=%4", path, query));
  CHECK(percent_decode("%41%62", false) == std::optional<std::string>("Ab"));
  CHECK(percent_decode("a+b", false) == std::optional<std::string>("a+b"));
}

TEST_CASE("connection caps: per client and in total", "[server][connections]") {
  ConnectionLimiter limits(3, 2);
  using V = ConnectionLimiter::Verdict;
  CHECK(limits.try_open("10.0.0.1") == V::admitted);
  CHECK(limits.try_open("10.0.0.1") == V::admitted);
  CHECK(limits.try_open("10.0.0.1") == V::too_many_from_client);
  CHECK(limits.try_open("10.0.0.2") == V::admitted);
  CHECK(limits.try_open("10.0.0.3") == V::too_many_total);
  CHECK(limits.open_total() == 3);
  limits.close("10.0.0.1");
  CHECK(limits.open_from("10.0.0.1") == 1);
  CHECK(limits.try_open("10.0.0.3") == V::admitted);
  limits.close("10.0.0.2");
  limits.close("10.0.0.2");  // a second close of the same slot changes nothing
  CHECK(limits.open_total() == 2);
}
