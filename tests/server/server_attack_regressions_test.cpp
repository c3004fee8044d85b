// Requests an outside attacker sent to `talkgen serve` (issue 22 §1, second round) that were answered wrongly:
// two Host fields, a Transfer-Encoding the parser does not read as chunked, trailers over 64 KiB, ids that
// are not UTF-8. Each is refused with the right status and a valid JSON error, and the server stays up.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "raw_http_client.hpp"
#include "server_test_support.hpp"

using namespace talkgen_test;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string host_line(int port) { return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"; }

// The error body parses as JSON and has this code.
void check_error(const RawResponse& r, int status, const std::string& code) {
  INFO(r.head << r.body);
  CHECK(r.status == status);
  const json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j.value("code", "") == code);
}

}  // namespace

TEST_CASE("serve: attack regressions: Host, framing, trailers, non-UTF-8 ids", "[server][http][limits]") {
  RunningServer s(tiny_server_options(server_scratch_dir("http_attacks")));
  const int port = s.port();

  SECTION("two Host fields are a 400, whichever comes first") {
    for (const std::string hosts : {host_line(port) + "Host: rebind.evil.example\r\n",
                                    "Host: rebind.evil.example\r\n" + host_line(port)}) {
      RawConnection c(port);
      check_error(c.request("GET /v1/jobs HTTP/1.1\r\n" + hosts + "\r\n"), 400, "bad_request");
    }
  }

  SECTION("Transfer-Encoding with blanks around 'chunked': the checks and the parser read the same body") {
    // Both read it as chunked (the body is judged: duration_sec must be positive), and with a
    // Content-Length beside it (a smuggling attempt) the parser refuses it.
    const std::string body = R"({"duration_sec": 0})";
    RawConnection c(port);
    auto r = c.request("POST /v1/plan HTTP/1.1\r\n" + host_line(port) +
                       "Content-Type: application/json\r\nTransfer-Encoding:\tchunked \r\n\r\n" +
                       fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body));
    check_error(r, 400, "bad_request");
    CHECK_THAT(r.body, Catch::Contains("duration_sec"));
    RawConnection smuggle(port);
    r = smuggle.request("POST /v1/plan HTTP/1.1\r\n" + host_line(port) +
                        "Content-Type: application/json\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 10737418240\r\n\r\n");
    check_error(r, 400, "bad_request");
  }

  SECTION("trailers and chunk lines over the read buffer are a 400 (Beast would throw on a 64 KiB field)") {
    const std::string head = "POST /v1/plan HTTP/1.1\r\n" + host_line(port) +
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string body = R"({"duration_sec": 10})";
    RawConnection trailer(port);
    auto r = trailer.request(head + fmt::format("{:x}\r\n{}\r\n0\r\nX-T: {}\r\n\r\n", body.size(), body,
                                                std::string(100000, 'a')));
    check_error(r, 400, "bad_request");
    RawConnection extension(port);
    r = extension.request(head + fmt::format("{:x};{}\r\n{}\r\n0\r\n\r\n", body.size(), std::string(100000, 'e'), body));
    CHECK(r.status == 400);
  }

  SECTION("ids that are not UTF-8 (or are cut inside a character) get a 404 with a valid JSON body") {
    std::string cut = "/v1/jobs/";
    for (int i = 0; i < 30; ++i) cut += "a%C3%A9";  // "aé": 3 bytes, so the 40-byte clip splits an é
    for (const std::string path : {std::string("/v1/jobs/ab%FFcd"), std::string("/v1/jobs/%C3"), cut,
                                   std::string("/v1/jobs/ab%FFcd/events")}) {
      INFO(path);
      RawConnection c(port);
      check_error(c.request(raw_get(path, port)), 404, "not_found");
    }
  }

  RawConnection health(port);
  CHECK(health.request(raw_get("/healthz", port)).status == 200);
}
