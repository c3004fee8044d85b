// The memory all request bodies being read may take together (--max-body-memory-mb): without it,
// --max-connections bodies of --max-body-mb each could be read at once. A body that does not fit is a 503
// with Retry-After, decided from Content-Length before the body is read, or while a chunked body grows.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "raw_http_client.hpp"
#include "server/http_body_budget.hpp"
#include "server_test_support.hpp"

using namespace talkgen_test;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

const std::string kToken = "budget-token-0123456789abcdef";

std::string post_header(int port, const std::string& extra) {
  return "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nAuthorization: Bearer " + kToken + "\r\nContent-Type: application/json\r\n" + extra + "\r\n";
}

std::string code_of(const RawResponse& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : std::string();
}

// Sends a whole body of `size` bytes that is not JSON (so the server reads it all, then answers 400).
RawResponse post_whole_body(int port, std::size_t size) {
  RawConnection c(port);
  return c.request(post_header(port, "Content-Length: " + std::to_string(size) + "\r\n") + std::string(size, 'x'),
                   milliseconds(10000));
}

// Two uploads that each announce 1 MiB and send none of it: together they hold 2 of the 2.5 MiB, and a third
// that announces 1 MiB is refused. Which header the server reads first is up to its threads (a CI machine of
// 2 cores runs other tests beside this one), so the third is sent again until it gets its answer; one that
// got none took a share itself and is dropped; if a holder was refused instead, everything starts over.
struct HeldBudget {
  std::unique_ptr<RawConnection> holder, holder2;
  RawResponse refusal;                    // the third's answer: the 503, once the holders hold
  std::unique_ptr<RawConnection> third;  // its connection, to see it closed
};

HeldBudget hold_two_largest_bodies(int port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  HeldBudget held;
  while (std::chrono::steady_clock::now() < deadline) {
    held.holder = std::make_unique<RawConnection>(port);
    REQUIRE(held.holder->send(post_header(port, "Content-Length: 1048576\r\n")));
    held.holder2 = std::make_unique<RawConnection>(port);
    REQUIRE(held.holder2->send(post_header(port, "Content-Length: 1048576\r\n")));
    while (std::chrono::steady_clock::now() < deadline) {
      held.third = std::make_unique<RawConnection>(port);
      held.refusal = held.third->request(post_header(port, "Content-Length: 1048576\r\n"), milliseconds(1000));
      if (held.refusal.status != 0) break;
      held.third.reset();  // no answer: it holds a share the holders should have; let it go, ask again
    }
    // The holders were not answered (a refused one is answered and closed): they are the ones that hold.
    if (held.refusal.status == 503 && !held.holder->closed_within(milliseconds(50)) &&
        !held.holder2->closed_within(milliseconds(50)))
      return held;
    held = HeldBudget{};
    std::this_thread::sleep_for(milliseconds(300));  // the server sees them closed and gives their shares back
  }
  FAIL("two uploads never held the body budget together within 10 s");
  return held;
}

}  // namespace

TEST_CASE("body budget: reservations grow, fail without taking anything and are given back", "[server][limits]") {
  using talkgen::server::BodyMemoryBudget;
  using talkgen::server::BodyReservation;
  BodyMemoryBudget budget(1000);
  {
    BodyReservation a(budget), b(budget);
    CHECK(a.grow_to(600));
    CHECK(a.grow_to(500));  // never shrinks
    CHECK(a.held() == 600);
    CHECK_FALSE(b.grow_to(401));
    CHECK(b.held() == 0);
    CHECK(budget.in_use() == 600);
    CHECK(b.grow_to(400));
    CHECK(budget.in_use() == 1000);
    CHECK_FALSE(a.grow_to(601));  // nothing left: a keeps what it had
    CHECK(a.held() == 600);
    a.release();
    CHECK(budget.in_use() == 400);
  }
  CHECK(budget.in_use() == 0);  // destroyed reservations give their bytes back
}

TEST_CASE("serve: bodies being read share --max-body-memory-mb, beyond it a 503 with Retry-After",
          "[server][limits][http]") {
  auto options = tiny_server_options(server_scratch_dir("http_body_budget"));
  options.token = kToken;
  options.limits.max_body_bytes = 1 << 20;
  // 2.5 MiB: two largest bodies and a half. (A chunked body's string may hold up to twice what it has read
  // while it grows: the budget counts what is allocated.)
  options.limits.max_body_memory_bytes = 5 << 19;
  RunningServer s(options);
  const int port = s.port();

  SECTION("a Content-Length that does not fit: 503 from the header, before its body") {
    HeldBudget held = hold_two_largest_bodies(port);  // each announces 1 MiB and sends none of it
    const auto& r = held.refusal;
    CHECK(r.status == 503);
    CHECK(code_of(r) == "server_busy");
    CHECK(r.header("Retry-After") == "1");
    CHECK_THAT(r.body, Catch::Contains("--max-body-memory-mb"));
    CHECK(held.third->closed_within(milliseconds(3000)));  // its body is never read
    // A body that fits the rest is read (and judged: not JSON).
    CHECK(post_whole_body(port, 300 * 1024).status == 400);
    // Once the holder goes, its share comes back: a largest body is read again.
    held.holder.reset();
    int status = 0;
    for (int i = 0; i < 30 && status != 400; ++i) {
      status = post_whole_body(port, 1 << 20).status;
      if (status != 400) std::this_thread::sleep_for(milliseconds(100));
    }
    CHECK(status == 400);
  }

  SECTION("a chunked body that outgrows the rest of the budget: 503, cut off while it is read") {
    const HeldBudget held = hold_two_largest_bodies(port);
    RawConnection c(port);
    REQUIRE(c.send(post_header(port, "Transfer-Encoding: chunked\r\n")));
    const std::string chunk(32 * 1024, 'x');
    const std::string framed = fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
    // 900 KiB: under --max-body-mb, over what the holders left. Never the last chunk.
    for (int i = 0; i < 28; ++i)
      if (!c.send(framed)) break;
    const auto r = c.read_response(milliseconds(5000));
    CHECK(r.status == 503);
    CHECK(code_of(r) == "server_busy");
    CHECK(r.header("Retry-After") == "1");
    CHECK(c.closed_within(milliseconds(5000)));
  }

  SECTION("without other uploads a chunked body of --max-body-mb is read whole") {
    RawConnection c(port);
    std::string text = post_header(port, "Transfer-Encoding: chunked\r\n");
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 15; ++i) text += fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
    text += "0\r\n\r\n";
    const auto r = c.request(text, milliseconds(10000));
    CHECK(r.status == 400);  // read and judged: not JSON
    CHECK(code_of(r) == "bad_request");
  }

  // Whatever was refused, the server answers and has given every byte back.
  RawConnection health(port);
  CHECK(health.request(raw_get("/healthz", port)).status == 200);
}

TEST_CASE("serve: --max-body-memory-mb below --max-body-mb is refused at start", "[server][limits]") {
  auto options = tiny_server_options(server_scratch_dir("http_body_budget_small"));
  options.limits.max_body_bytes = 4 << 20;
  options.limits.max_body_memory_bytes = 1 << 20;
  CHECK_THROWS_WITH(talkgen::server::Server(options), Catch::Contains("--max-body-memory-mb"));
  talkgen::server::Limits defaults;
  defaults.max_body_bytes = 10;
  CHECK(defaults.body_memory_bytes() == 40);  // unset: room for four of the largest bodies
}
