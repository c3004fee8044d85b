// What no request may do to `talkgen serve` (issue 22 §1): bodies bounded before they are read, with or
// without a token; no compressed uploads; no cross-site writes or DNS rebinding without a token; idle,
// slow and streaming clients that cannot starve the server; capped connections; bounded /metrics; one byte
// range; no recursion on JSON. An in-process server on an ephemeral port, spoken to through raw sockets.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "raw_http_client.hpp"
#include "server_test_support.hpp"

using namespace talkgen_test;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kToken = "limits-token-0123456789abcdef";

std::string auth_line(const std::string& token = kToken) { return "Authorization: Bearer " + token + "\r\n"; }

std::string post_header(int port, const std::string& path, const std::string& extra) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + extra + "\r\n";
}

std::string code_of(const RawResponse& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : std::string();
}

// A job body (JSON) that is valid, for the requests that must get through.
std::string small_job_json() {
  return json{{"ref_image_b64", b64(portrait_bytes())}, {"audio_b64", b64(wav_bytes(1.0))}, {"quality", "draft"}}.dump();
}

}  // namespace

TEST_CASE("serve: bodies are bounded from the header, before they are read, with or without a token",
          "[server][limits][http]") {
  auto options = tiny_server_options(server_scratch_dir("http_bodies"));
  options.token = kToken;
  options.limits.max_body_bytes = 1 << 20;
  RunningServer s(options);
  const int port = s.port();

  SECTION("no token: 401 from the header alone, even for a chunked or huge body") {
    RawConnection c(port);
    // Nothing of the body is sent: the answer cannot wait for it.
    auto r = c.request(post_header(port, "/v1/jobs", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"),
                       milliseconds(3000));
    CHECK(r.status == 401);
    CHECK(code_of(r) == "unauthorized");
    CHECK(c.closed_within(milliseconds(3000)));  // the announced body is never read: the connection ends
    RawConnection big(port);
    r = big.request(post_header(port, "/v1/jobs", "Content-Type: application/json\r\nContent-Length: 10737418240\r\n"),
                    milliseconds(3000));
    CHECK(r.status == 401);
    // A gzip body without the token is a 401 too (nothing else is said without it).
    RawConnection gz(port);
    r = gz.request(post_header(port, "/v1/plan", "Content-Encoding: gzip\r\nContent-Type: application/json\r\n"
                                                 "Content-Length: 100\r\n"),
                   milliseconds(3000));
    CHECK(r.status == 401);
  }

  SECTION("Content-Length over --max-body-mb: 413 before the body") {
    RawConnection c(port);
    const auto r = c.request(post_header(port, "/v1/jobs", auth_line() + "Content-Type: application/json\r\n"
                                                           "Content-Length: 10737418240\r\n"),
                             milliseconds(3000));
    CHECK(r.status == 413);
    CHECK(code_of(r) == "payload_too_large");
    CHECK_THAT(r.body, Catch::Contains("--max-body-mb"));
  }

  SECTION("a chunked body over --max-body-mb: 413 once the limit is passed, without waiting for the rest") {
    RawConnection c(port);
    REQUIRE(c.send(post_header(port, "/v1/jobs", auth_line() + "Content-Type: application/json\r\n"
                                                             "Transfer-Encoding: chunked\r\n")));
    const std::string chunk(64 * 1024, 'x');
    const std::string framed = fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
    // 1.5 MiB in 64 KiB chunks against a 1 MiB limit, and never the last chunk: a server that read the
    // whole body would wait forever. (Sends may fail once the server has answered and closed.)
    for (int i = 0; i < 24; ++i)
      if (!c.send(framed)) break;
    const auto r = c.read_response(milliseconds(5000));
    CHECK(r.status == 413);
    CHECK(code_of(r) == "payload_too_large");
    CHECK(c.closed_within(milliseconds(5000)));
  }

  SECTION("a chunk that announces more than the limit: 413 before its data") {
    RawConnection c(port);
    const auto r = c.request(post_header(port, "/v1/jobs", auth_line() + "Content-Type: application/json\r\n"
                                                           "Transfer-Encoding: chunked\r\n") +
                                 "40000000\r\n",
                             milliseconds(3000));
    CHECK(r.status == 413);
  }

  SECTION("Content-Encoding gzip or deflate, Transfer-Encoding gzip: 415 before the body") {
    for (const std::string header : {"Content-Encoding: gzip\r\nContent-Length: 100\r\n",
                                     "Content-Encoding: deflate\r\nContent-Length: 100\r\n",
                                     "Transfer-Encoding: gzip, chunked\r\n"}) {
      INFO(header);
      RawConnection c(port);
      const auto r = c.request(post_header(port, "/v1/jobs", auth_line() + "Content-Type: application/json\r\n" + header),
                               milliseconds(3000));
      CHECK(r.status == 415);
      CHECK(code_of(r) == "unsupported_media_type");
      CHECK_THAT(r.body, Catch::Contains("not accepted"));
    }
  }

  SECTION("Expect: 100-continue: the go-ahead only after the header has passed") {
    RawConnection refused(port);
    REQUIRE(refused.send(post_header(port, "/v1/plan", "Content-Type: application/json\r\nContent-Length: 20\r\n"
                                                       "Expect: 100-continue\r\n")));
    const std::string first = refused.read_until(
        [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; }, milliseconds(3000));
    CHECK_THAT(first, Catch::StartsWith("HTTP/1.1 401"));  // no "100 Continue" before it

    RawConnection c(port);
    const std::string body = R"({"duration_sec": 0})";
    REQUIRE(c.send(post_header(port, "/v1/plan", auth_line() + "Content-Type: application/json\r\nContent-Length: " +
                                                     std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n")));
    const std::string interim = c.read_until([](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; },
                                             milliseconds(3000));
    CHECK_THAT(interim, Catch::StartsWith("HTTP/1.1 100 Continue"));
    REQUIRE(c.send(body));
    const auto r = c.read_response(milliseconds(3000));
    CHECK(r.status == 400);  // the body was read and judged: duration_sec must be positive
  }

  // Whatever was refused above, the server answers.
  RawConnection health(port);
  CHECK(health.request(raw_get("/healthz", port)).status == 200);
  httplib::Client http("127.0.0.1", port);
  http.set_bearer_token_auth(kToken);
  CHECK(json::parse(http.Get("/v1/jobs")->body)["total"] == 0);
}

TEST_CASE("serve: without a token, only this server's names and its own page may write", "[server][csrf][http]") {
  RunningServer s(tiny_server_options(server_scratch_dir("http_csrf")));
  const int port = s.port();
  const std::string job = small_job_json();
  const auto length = [](const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n"; };

  SECTION("a text/plain or url-encoded POST (a cross-site form needs no preflight for these) is 415") {
    for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"}) {
      INFO(type);
      RawConnection c(port);
      const auto r = c.request(post_header(port, "/v1/jobs", "Content-Type: " + type + "\r\n" + length(job)) + job);
      CHECK(r.status == 415);
      CHECK(code_of(r) == "unsupported_media_type");
    }
    RawConnection none(port);
    CHECK(none.request(post_header(port, "/v1/jobs", length(job)) + job).status == 415);  // no Content-Type
  }

  SECTION("Host must be a name of this server (DNS rebinding)") {
    for (const std::string& host : std::vector<std::string>{"rebind.evil.example", "rebind.evil.example:" + std::to_string(port),
                                   "127.0.0.1:" + std::to_string(port + 1 == 65536 ? 1 : port + 1), "[::2]"}) {
      INFO(host);
      RawConnection c(port);
      const auto r = c.request("GET /v1/jobs HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      CHECK(r.status == 403);
      CHECK(code_of(r) == "forbidden");
      CHECK_THAT(r.body, Catch::Contains("--public-host"));
    }
    for (const std::string& host : std::vector<std::string>{"127.0.0.1:" + std::to_string(port), "localhost:" + std::to_string(port),
                                   "[::1]:" + std::to_string(port), "LOCALHOST", "127.0.0.1"}) {
      INFO(host);
      RawConnection c(port);
      CHECK(c.request("GET /v1/jobs HTTP/1.1\r\nHost: " + host + "\r\n\r\n").status == 200);
    }
    RawConnection missing(port);
    CHECK(missing.request("GET /healthz HTTP/1.1\r\n\r\n").status == 400);
  }

  SECTION("Origin: POST and DELETE only from this server's own page") {
    const std::string own = "http://127.0.0.1:" + std::to_string(port);
    for (const std::string& origin : std::vector<std::string>{"http://evil.example", "null", "http://127.0.0.1:" + std::to_string(port == 1 ? 2 : port - 1),
                                     "https://evil.example:" + std::to_string(port)}) {
      INFO(origin);
      RawConnection c(port);
      auto r = c.request(post_header(port, "/v1/jobs", "Origin: " + origin + "\r\nContent-Type: application/json\r\n" +
                                                           length(job)) + job);
      CHECK(r.status == 403);
      CHECK(code_of(r) == "forbidden");
      RawConnection d(port);
      r = d.request(raw_get("/v1/jobs/0123456789abcdef0123456789abcdef", port, "Origin: " + origin + "\r\n", "DELETE"));
      CHECK(r.status == 403);
      RawConnection reset(port);
      CHECK(reset.request(post_header(port, "/v1/stats/reset", "Origin: " + origin + "\r\n")).status == 403);
    }
    RawConnection c(port);
    CHECK(c.request(post_header(port, "/v1/stats/reset", "Origin: " + own + "\r\n")).status == 200);
    RawConnection localhost(port);
    CHECK(localhost.request(post_header(port, "/v1/stats/reset", "Origin: http://localhost:" + std::to_string(port) +
                                                                     "\r\n")).status == 200);
    // A cross-site GET changes nothing (and the browser does not let the page read the answer).
    RawConnection get(port);
    CHECK(get.request(raw_get("/healthz", port, "Origin: http://evil.example\r\n")).status == 200);
  }

  // None of the refused requests made a job.
  httplib::Client http("127.0.0.1", port);
  CHECK(json::parse(http.Get("/v1/jobs")->body)["total"] == 0);
}

TEST_CASE("serve: a non-loopback address needs a token or --insecure-no-token, and --public-host adds names",
          "[server][csrf][http]") {
  auto open = tiny_server_options(server_scratch_dir("http_open"));
  open.host = "0.0.0.0";
  CHECK_THROWS_WITH(talkgen::server::Server(open), Catch::Contains("--token-file") && Catch::Contains("--insecure-no-token"));
  open.insecure_no_token = true;
  open.public_hosts = {"talkgen.lan"};
  RunningServer s(open);
  const int port = s.port();
  RawConnection c(port);
  CHECK(c.request(raw_get("/healthz", port)).status == 200);
  RawConnection named(port);
  CHECK(named.request("GET /v1/jobs HTTP/1.1\r\nHost: talkgen.lan:" + std::to_string(port) + "\r\n\r\n").status == 200);
  RawConnection other(port);
  CHECK(other.request("GET /v1/jobs HTTP/1.1\r\nHost: other.lan:" + std::to_string(port) + "\r\n\r\n").status == 403);

  // With a token the token is what counts: any Host (a reverse proxy's name) and Origin get through.
  auto with_token = tiny_server_options(server_scratch_dir("http_open_token"));
  with_token.token = kToken;
  RunningServer t(with_token);
  RawConnection proxied(t.port());
  CHECK(proxied.request("GET /v1/jobs HTTP/1.1\r\nHost: talkgen.example.com\r\n" + auth_line() + "\r\n").status == 200);
}

TEST_CASE("serve: idle, slow and streaming clients do not starve the server", "[server][connections][http]") {
  auto options = tiny_server_options(server_scratch_dir("http_starve"));
  options.http_threads = 2;  // fewer workers than streams: a stream must not hold one
  options.max_connections = 400;
  options.max_connections_per_client = 400;
  options.header_timeout = milliseconds(2500);
  const auto tiny = options.customize_job;
  options.customize_job = [tiny](talkgen::Job& job) {
    tiny(job);
    job.generate.steps = 400;  // runs for the whole test: its event streams stay open
  };
  RunningServer s(options);
  const int port = s.port();
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  auto posted = http.Post("/v1/jobs", small_job_json(), "application/json");
  REQUIRE(posted);
  REQUIRE(posted->status == 201);
  const std::string id = json::parse(posted->body)["id"];

  // 70 slowloris connections: a header that never ends, a byte at a time.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 70; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(slow.back()->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  // 70 event streams on the running job, each seen to start.
  std::vector<std::unique_ptr<RawConnection>> streams;
  for (int i = 0; i < 70; ++i) {
    streams.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(streams.back()->send(raw_get("/v1/jobs/" + id + "/events", port)));
  }
  for (auto& stream : streams) {
    const std::string text = stream->read_until(
        [](const std::string& t) { return t.find("event: ") != std::string::npos; }, milliseconds(10000));
    REQUIRE_THAT(text, Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("text/event-stream"));
  }

  // The server still answers: /healthz (on the I/O threads) and the job list (on a worker). The bound is
  // "not starved" (starved, these waited 30 s and more), loose enough for a CI machine of 2 cores that also
  // samples the job on its CPU and runs other tests beside this one.
  for (int round = 0; round < 5; ++round) {
    for (auto& c : slow) c->send("x");
    const auto t0 = Clock::now();
    RawConnection health(port);
    CHECK(health.request(raw_get("/healthz", port), milliseconds(5000)).status == 200);
    RawConnection list(port);
    CHECK(list.request(raw_get("/v1/jobs", port), milliseconds(5000)).status == 200);
    CHECK(Clock::now() - t0 < milliseconds(5000));
    std::this_thread::sleep_for(milliseconds(200));
  }
  // The slow headers are cut off by --header-timeout (2.5 s), dribbling or not: every one is closed. When
  // exactly depends on the server's timers on a busy machine, so each gets until one shared deadline.
  const auto deadline = Clock::now() + milliseconds(10000);
  int closed = 0;
  for (auto& c : slow) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    closed += c->closed_within(std::max(left, milliseconds(1))) ? 1 : 0;
  }
  CHECK(closed == 70);

  // Cancelling the job ends every stream with its final state.
  CHECK(http.Delete(("/v1/jobs/" + id).c_str())->status == 202);
  for (auto& stream : streams) {
    const std::string text = stream->read_until(
        [](const std::string& t) { return t.find("\r\n0\r\n\r\n") != std::string::npos; }, milliseconds(30000));
    CHECK_THAT(text, Catch::Contains("\"state\":\"cancelled\""));
  }
}

TEST_CASE("serve: connections over the per-client or total cap get a 503 and nothing else", "[server][connections][http]") {
  auto options = tiny_server_options(server_scratch_dir("http_caps"));
  options.max_connections_per_client = 4;
  RunningServer s(options);
  const int port = s.port();
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(port));
    CHECK(held.back()->request(raw_get("/healthz", port)).status == 200);  // kept alive
  }
  RawConnection over(port);
  auto r = over.request(raw_get("/healthz", port), milliseconds(3000));
  CHECK(r.status == 503);
  CHECK(code_of(r) == "too_many_connections");
  CHECK_THAT(r.body, Catch::Contains("--max-connections-per-client"));
  CHECK(over.closed_within(milliseconds(3000)));

  // A slot given back is a slot to use.
  held.pop_back();
  const auto deadline = Clock::now() + milliseconds(3000);
  int status = 0;
  while (status != 200 && Clock::now() < deadline) {
    RawConnection again(port);
    status = again.request(raw_get("/healthz", port), milliseconds(1000)).status;
    if (status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(status == 200);
  held.clear();

  auto total_options = tiny_server_options(server_scratch_dir("http_caps_total"));
  total_options.max_connections = 3;
  RunningServer t(total_options);
  std::vector<std::unique_ptr<RawConnection>> all;
  for (int i = 0; i < 3; ++i) {
    all.push_back(std::make_unique<RawConnection>(t.port()));
    CHECK(all.back()->request(raw_get("/healthz", t.port())).status == 200);
  }
  RawConnection fourth(t.port());
  r = fourth.request(raw_get("/healthz", t.port()), milliseconds(3000));
  CHECK(r.status == 503);
  CHECK_THAT(r.body, Catch::Contains("--max-connections"));
  // The slot comes back once the server has seen the close: asked again until it answers. Every refusal on
  // the way is counted too, so the total to expect is the fourth's and those.
  all.pop_back();
  const auto metrics_deadline = Clock::now() + milliseconds(10000);
  int refusals = 1;
  r = RawResponse{};
  while (r.status != 200 && Clock::now() < metrics_deadline) {
    RawConnection metrics(t.port());
    r = metrics.request(raw_get("/metrics", t.port()), milliseconds(3000));
    if (r.status == 503) ++refusals;
    if (r.status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("talkgen_http_connections_refused_total{reason=\"total\"} " +
                                     std::to_string(refusals) + "\n"));
}

TEST_CASE("serve: /metrics is bounded: made-up methods and paths add no label rows", "[server][metrics][http]") {
  RunningServer s(tiny_server_options(server_scratch_dir("http_metrics")));
  const int port = s.port();
  RawConnection c(port);  // one kept-alive connection for all of it
  const auto made_up = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      const auto r = c.request(raw_get(i % 2 ? "/v1/made-up-" + std::to_string(i) : "/made/up/" + std::to_string(i),
                                       port, {}, "FOO" + std::to_string(i)));
      REQUIRE(r.status >= 400);
    }
  };
  const auto row_count = [&] {
    const auto r = c.request(raw_get("/metrics", port));
    REQUIRE(r.status == 200);
    CHECK(r.body.find("FOO") == std::string::npos);
    CHECK(r.body.find("made-up") == std::string::npos);
    return std::count(r.body.begin(), r.body.end(), '\n');
  };
  made_up(0, 10);
  row_count();  // the /metrics request itself adds its rows once
  const auto before = row_count();
  made_up(10, 310);
  CHECK(row_count() == before);
  const auto r = c.request(raw_get("/metrics", port));
  CHECK_THAT(r.body, Catch::Contains("method=\"other\""));
  CHECK_THAT(r.body, Catch::Contains("route=\"/v1/other\""));
}

TEST_CASE("serve: a JSON body nested 100,000 deep is a 400 and the server stays up", "[server][limits][http]") {
  RunningServer s(tiny_server_options(server_scratch_dir("http_deep_json")));
  const int port = s.port();
  const std::string arrays = std::string(100000, '[') + std::string(100000, ']');
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  for (const std::string path : {"/v1/plan", "/v1/jobs"}) {
    for (const std::string* body : std::vector<const std::string*>{&arrays, &objects}) {
      INFO(path);
      RawConnection c(port);
      const auto r = c.request(post_header(port, path, "Content-Type: application/json\r\nContent-Length: " +
                                                           std::to_string(body->size()) + "\r\n") + *body);
      CHECK(r.status == 400);
      CHECK(code_of(r) == "bad_request");
      CHECK(r.body.size() < 1000);  // the message describes the problem, never the input
    }
  }
  RawConnection health(port);
  CHECK(health.request(raw_get("/healthz", port)).status == 200);
}

TEST_CASE("serve: protocol edges: header size, methods, HEAD, keep-alive, pipelining", "[server][http]") {
  RunningServer s(tiny_server_options(server_scratch_dir("http_edges")));
  const int port = s.port();

  RawConnection big(port);
  auto r = big.request(raw_get("/healthz", port, "X-Big: " + std::string(20000, 'a') + "\r\n"));
  CHECK(r.status == 431);

  RawConnection garbage(port);
  CHECK(garbage.request("NOT HTTP AT ALL\r\n\r\n").status == 400);

  RawConnection c(port);
  r = c.request(raw_get("/v1/plan", port));
  CHECK(r.status == 405);
  CHECK(r.header("Allow") == "POST");
  CHECK(code_of(r) == "method_not_allowed");
  r = c.request(raw_get("/v1/nothing", port));
  CHECK(r.status == 404);
  r = c.request(raw_get("/healthz", port, {}, "OPTIONS"));  // no CORS: a preflight gets no blessing
  CHECK(r.status == 405);
  CHECK(r.header("Access-Control-Allow-Origin").empty());
  // Two requests in one write: two answers, in order, on the same connection.
  REQUIRE(c.send(raw_get("/healthz", port) + raw_get("/v1/stats", port)));
  CHECK(c.read_response().status == 200);
  r = c.read_response();
  CHECK(r.status == 200);
  CHECK(json::parse(r.body).contains("devices"));

  RawConnection head(port);
  REQUIRE(head.send(raw_get("/healthz", port, {}, "HEAD")));
  const std::string text = head.read_until([](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; },
                                           milliseconds(3000));
  CHECK_THAT(text, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(text, Catch::Contains("Content-Length: 15"));
  CHECK(text.substr(text.find("\r\n\r\n") + 4).empty());
  head.discard_received();
  CHECK(head.request(raw_get("/healthz", port)).status == 200);  // and the connection is still good
}
