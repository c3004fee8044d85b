// The conventions of hosted video APIs that `talkgen serve` follows (docs/server-api.md): long polls with
// ?wait=N, queue positions, lookup by the client's own job_id, signed webhooks, and the one default quality.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <regex>

#include <nlohmann/json.hpp>

#include "server/digest.hpp"
#include "server_test_support.hpp"
#include "talkgen/generate.hpp"

using namespace talkgen_test;
using nlohmann::json;

namespace {

json job_body(std::int64_t seed, const std::string& job_id = {}) {
  json b{{"ref_image_b64", b64(portrait_bytes())}, {"audio_b64", b64(wav_bytes(1.0))}, {"quality", "draft"},
         {"seed", seed}};
  if (!job_id.empty()) b["job_id"] = job_id;
  return b;
}

json parse(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

// Tiny jobs, except that seed 1 makes a job long enough to hold the only CPU rank until it is cancelled.
talkgen::server::ServerOptions options_with_a_long_job(const std::string& name) {
  auto options = tiny_server_options(server_scratch_dir(name));
  const auto tiny = options.customize_job;
  options.customize_job = [tiny](talkgen::Job& job) {
    tiny(job);
    if (job.generate.seed == 1) job.generate.steps = 400;
  };
  return options;
}

json wait_for_state(httplib::Client& http, const std::string& id, const std::string& state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json j;
  do {
    j = parse(http.Get(("/v1/jobs/" + id).c_str()));
    if (j["state"] == state) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  FAIL("job " << id << " never became " << state << " (last: " << j["state"] << ")");
  return j;
}

// The Talkgen-Signature header's parts; empty strings when malformed.
std::pair<std::string, std::string> signature_parts(const std::string& header) {
  std::smatch m;
  static const std::regex form("t=([0-9]+),v1=([0-9a-f]{64})");
  if (!std::regex_match(header, m, form)) return {};
  return {m[1], m[2]};
}

}  // namespace

TEST_CASE("serve: queue positions, ?wait=N long polls that hold no worker, and client job_ids",
          "[server][conventions]") {
  auto options = options_with_a_long_job("conventions");
  options.http_threads = 2;  // fewer workers than waiting requests below
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(90, 0);

  const std::string busy = parse(http.Post("/v1/jobs", job_body(1).dump(), "application/json"))["id"];
  wait_for_state(http, busy, "running");
  const json second = parse(http.Post("/v1/jobs", job_body(2, "my-order-2").dump(), "application/json"));
  const json third = parse(http.Post("/v1/jobs", job_body(3).dump(), "application/json"));
  const std::string id2 = second["id"], id3 = third["id"];
  CHECK(std::regex_match(id2, std::regex("[0-9a-f]{32}")));  // the server's own id stays unguessable

  // Queue positions: 0-based, jobs waiting ahead; null once running or finished.
  CHECK(second["queue_position"] == 0);
  CHECK(third["queue_position"] == 1);
  CHECK(parse(http.Get(("/v1/jobs/" + busy).c_str()))["queue_position"].is_null());

  // The client's job_id names the job on every route, as the server's id does.
  const json by_key = parse(http.Get("/v1/jobs/my-order-2"));
  CHECK(by_key["id"] == id2);
  CHECK(by_key["job_id"] == "my-order-2");
  CHECK(http.Get("/v1/jobs/no-such-order")->status == 404);
  // A job_id that is another job's server id would name that job: refused.
  const auto squat = http.Post("/v1/jobs", job_body(4, busy).dump(), "application/json");
  REQUIRE(squat);
  CHECK(squat->status == 409);

  // Long polls on a queued job: more of them than worker threads, and a plain request still answers
  // at once, before any of them (a waiting request holds no thread).
  std::atomic<int> waits_done{0};
  std::atomic<bool> plain_answered_first{false};
  std::vector<std::thread> waiters;
  std::vector<json> waited(4);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_read_timeout(90, 0);
      const auto r = c.Get(("/v1/jobs/" + id3 + "?wait=2").c_str());
      if (r && r->status == 200) waited[i] = json::parse(r->body);
      ++waits_done;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let them all be waiting
  const auto stats = http.Get("/v1/stats");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  plain_answered_first = waits_done == 0;
  for (auto& t : waiters) t.join();
  CHECK(plain_answered_first);
  const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(waited_s >= 1.9);  // each waited its 2 s: the job did not finish
  for (const json& j : waited) {
    CHECK(j["id"] == id3);
    CHECK(j["state"] == "queued");
  }

  // Bounds: an integer from 0 to 60.
  CHECK(http.Get(("/v1/jobs/" + id3 + "?wait=61").c_str())->status == 400);
  CHECK(http.Get(("/v1/jobs/" + id3 + "?wait=-1").c_str())->status == 400);
  CHECK(http.Get(("/v1/jobs/" + id3 + "?wait=1.5").c_str())->status == 400);
  const auto now = std::chrono::steady_clock::now();
  CHECK(parse(http.Get(("/v1/jobs/" + id3 + "?wait=0").c_str()))["state"] == "queued");
  CHECK(std::chrono::steady_clock::now() - now < std::chrono::seconds(2));

  // Cancel the long job by DELETE; a wait by the client's job_id then returns the finished job at once
  // when it ends, well before its 60 s.
  REQUIRE(http.Delete(("/v1/jobs/" + busy).c_str())->status == 202);
  const auto before = std::chrono::steady_clock::now();
  const json finished = parse(http.Get("/v1/jobs/my-order-2?wait=60"));
  CHECK(finished["state"] == "succeeded");
  CHECK(finished["queue_position"].is_null());
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(50));
  CHECK(http.Get("/v1/jobs/my-order-2/video")->status == 200);
  const auto events = http.Get("/v1/jobs/my-order-2/events");
  REQUIRE(events);
  CHECK(events->body.find("\"state\":\"succeeded\"") != std::string::npos);
  // A wait on a finished job answers at once.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(parse(http.Get(("/v1/jobs/" + id2 + "?wait=60").c_str()))["state"] == "succeeded");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(http.Delete("/v1/jobs/my-order-2")->status == 200);
  CHECK(http.Get(("/v1/jobs/" + id2).c_str())->status == 404);

  // The server tells the page which profile a job without `quality` gets: the library's default.
  CHECK(parse(http.Get("/v1/stats"))["default_quality"] == talkgen::to_string(talkgen::default_quality));
}

TEST_CASE("serve: a waiting request is answered when the server stops", "[server][conventions]") {
  auto options = options_with_a_long_job("wait_stop");
  options.drain_timeout = std::chrono::seconds(1);  // then the long job is stopped (and kept queued)
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(90, 0);
  const std::string id = parse(http.Post("/v1/jobs", job_body(1).dump(), "application/json"))["id"];
  wait_for_state(http, id, "running");
  int waited_status = 0;  // 0: no answer
  std::thread waiter([&] {
    httplib::Client c("127.0.0.1", s.port());
    c.set_read_timeout(90, 0);
    if (const auto r = c.Get(("/v1/jobs/" + id + "?wait=60").c_str())) waited_status = r->status;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto before = std::chrono::steady_clock::now();
  s.drain_and_join();
  waiter.join();
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(30));
  CHECK(waited_status == 200);
}

TEST_CASE("serve: webhooks are signed, retried, and refused without a secret or to private addresses",
          "[server][webhooks]") {
  const std::string secret = "webhook-secret-0123456789";
  // A receiver that fails the first delivery (500) and accepts the second.
  httplib::Server receiver;
  std::mutex mutex;
  std::vector<httplib::Request> deliveries;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    deliveries.push_back(req);
    res.status = deliveries.size() == 1 ? 500 : 200;
  });
  const int receiver_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  const std::string hook = "http://127.0.0.1:" + std::to_string(receiver_port) + "/hook";

  {
    // No secret: webhook_url refused before anything is stored.
    RunningServer plain(tiny_server_options(server_scratch_dir("webhooks_unsigned")));
    httplib::Client http("127.0.0.1", plain.port());
    json body = job_body(5);
    body["webhook_url"] = "https://hooks.example.com/x";
    const auto refused = http.Post("/v1/jobs", body.dump(), "application/json");
    REQUIRE(refused);
    CHECK(refused->status == 422);
    CHECK(refused->body.find("--webhook-secret-file") != std::string::npos);
    CHECK(parse(http.Get("/v1/jobs"))["total"] == 0);
  }
  {
    // A secret, but private addresses not allowed: the loopback receiver is refused at submit.
    auto options = tiny_server_options(server_scratch_dir("webhooks_public_only"));
    options.webhooks.secret = secret;
    RunningServer guarded(options);
    httplib::Client http("127.0.0.1", guarded.port());
    for (const std::string url : {hook, std::string("http://localhost/x"), std::string("http://[::1]/x"),
                                  std::string("http://169.254.169.254/latest"), std::string("ftp://example.com/")}) {
      json body = job_body(5);
      body["webhook_url"] = url;
      const auto refused = http.Post("/v1/jobs", body.dump(), "application/json");
      REQUIRE(refused);
      CHECK(refused->status == 422);
    }
    CHECK(parse(http.Get("/v1/jobs"))["total"] == 0);
  }

  auto options = tiny_server_options(server_scratch_dir("webhooks"));
  options.webhooks.secret = secret;
  options.webhooks.allow_private = true;
  options.webhooks.base_delay = std::chrono::milliseconds(100);
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(90, 0);
  json body = job_body(6, "hooked-1");
  body["webhook_url"] = hook;
  const json job = parse(http.Post("/v1/jobs", body.dump(), "application/json"));
  CHECK(job["request"]["webhook_url"] == hook);
  const json done = parse(http.Get("/v1/jobs/hooked-1?wait=60"));
  REQUIRE(done["state"] == "succeeded");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (deliveries.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  receiver.stop();
  serving.join();
  std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(deliveries.size() == 2);  // the failed try, then the accepted one; no more
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const httplib::Request& d = deliveries[i];
    CHECK(d.get_header_value("Content-Type") == "application/json");
    CHECK(d.get_header_value("Talkgen-Job-Id") == job["id"]);
    CHECK(d.get_header_value("Talkgen-Attempt") == std::to_string(i + 1));
    const auto [t, v1] = signature_parts(d.get_header_value("Talkgen-Signature"));
    REQUIRE_FALSE(t.empty());
    // What a receiver does: recompute the HMAC over "<t>.<body>" and compare; check t is recent.
    CHECK(talkgen::server::equal_in_constant_time(v1, talkgen::server::hmac_sha256_hex(secret, t + "." + d.body)));
    CHECK_FALSE(talkgen::server::equal_in_constant_time(
        v1, talkgen::server::hmac_sha256_hex("another-secret-0123456789", t + "." + d.body)));
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(std::abs(now - std::stoll(t)) < 120);
    const json sent = json::parse(d.body);
    CHECK(sent["id"] == job["id"]);
    CHECK(sent["job_id"] == "hooked-1");
    CHECK(sent["state"] == "succeeded");
    CHECK(sent["result"]["video_url"] == "/v1/jobs/" + job["id"].get<std::string>() + "/video");
  }
}
