// Every route of `talkgen serve` against an in-process server on an ephemeral port (demo model, tiny jobs),
// through cpp-httplib's client: what a remote client sees. (The transport's limits, through raw sockets:
// server_http_limits_test.cpp.)
#include <catch2/catch.hpp>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <regex>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "server/job_service.hpp"
#include "server_test_support.hpp"

using namespace talkgen_test;
using nlohmann::json;

namespace {

json job_body(const std::string& job_id = {}, double audio_seconds = 1.0) {
  json b{{"ref_image_b64", b64(portrait_bytes())}, {"audio_b64", b64(wav_bytes(audio_seconds))},
         {"quality", "draft"}, {"seed", 7}};
  if (!job_id.empty()) b["job_id"] = job_id;
  return b;
}

json parse(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Polls GET /v1/jobs/{id} until the job has finished (or 60 s).
json wait_finished(httplib::Client& http, const std::string& id, const httplib::Headers& headers = {}) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = http.Get(("/v1/jobs/" + id).c_str(), headers);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const json j = json::parse(r->body);
    const std::string s = j["state"];
    if (s == "succeeded" || s == "failed" || s == "cancelled") return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("job " << id << " did not finish within 60 s");
  return {};
}

void require_json_error(const httplib::Result& r, int status, const std::string& code) {
  REQUIRE(r);
  CHECK(r->status == status);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  const json j = json::parse(r->body);
  CHECK(j["code"] == code);
  CHECK(j["message"].get<std::string>().size() > 10);
}

}  // namespace

TEST_CASE("serve: a job through every route", "[server][routes]") {
  RunningServer s(tiny_server_options(server_scratch_dir("routes")));
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);

  auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(parse(health)["status"] == "ok");

  auto posted = http.Post("/v1/jobs", job_body().dump(), "application/json");
  REQUIRE(posted);
  REQUIRE(posted->status == 201);
  const json job = parse(posted);
  const std::string id = job["id"];
  CHECK(std::regex_match(id, std::regex("[0-9a-f]{32}")));
  CHECK(job["job_id"] == id);
  CHECK(posted->get_header_value("Location") == "/v1/jobs/" + id);
  CHECK(job["request"]["quality"] == "draft");
  CHECK(job["request"]["audio_seconds"].get<double>() == Approx(1.0).margin(0.01));
  CHECK(job["request"].dump().find("/") == std::string::npos);  // no server paths in what clients see

  // Server-Sent Events: progress never goes back, the stream ends with `succeeded`.
  std::string stream;
  auto events = http.Get(("/v1/jobs/" + id + "/events").c_str(), [&](const char* data, size_t n) {
    stream.append(data, n);
    return true;
  });
  REQUIRE(events);
  CHECK(events->status == 200);
  CHECK(events->get_header_value("Content-Type") == "text/event-stream");
  std::vector<json> messages;
  std::vector<std::string> types;
  std::size_t pos = 0;
  while ((pos = stream.find("data: ", pos)) != std::string::npos) {
    const auto end = stream.find('\n', pos);
    messages.push_back(json::parse(stream.substr(pos + 6, end - pos - 6)));
    pos = end;
  }
  for (std::size_t p = 0; (p = stream.find("event: ", p)) != std::string::npos; p += 7)
    types.push_back(stream.substr(p + 7, stream.find('\n', p) - p - 7));
  REQUIRE(messages.size() >= 3);
  REQUIRE(types.size() == messages.size());
  CHECK(types.front() == "state");
  double last = -1;
  std::set<std::string> states;
  for (const json& m : messages) {
    CHECK(m["id"] == id);
    CHECK(m["progress"].get<double>() >= last);
    last = m["progress"].get<double>();
    states.insert(m["state"].get<std::string>());
  }
  CHECK(messages.back()["state"] == "succeeded");
  CHECK(messages.back()["progress"] == 1.0);
  CHECK(states.count("running") == 1);
  CHECK(std::count(types.begin(), types.end(), "progress") >= 1);

  const json done = parse(http.Get(("/v1/jobs/" + id).c_str()));
  CHECK(done["state"] == "succeeded");
  CHECK(done["error"].is_null());
  CHECK(done["result"]["video_url"] == "/v1/jobs/" + id + "/video");
  CHECK(done["result"]["untrained_model"] == true);
  CHECK(done["timings"]["total"].get<double>() > 0);
  CHECK_FALSE(done["started_at"].is_null());
  CHECK_FALSE(done["finished_at"].is_null());
  const std::int64_t bytes = done["result"]["bytes"];
  CHECK(bytes > 1000);

  // The video, whole and by range.
  auto video = http.Get(("/v1/jobs/" + id + "/video").c_str());
  REQUIRE(video);
  CHECK(video->status == 200);
  CHECK(video->get_header_value("Content-Type") == "video/mp4");
  CHECK(video->get_header_value("Accept-Ranges") == "bytes");
  REQUIRE(static_cast<std::int64_t>(video->body.size()) == bytes);
  CHECK(video->body.substr(4, 4) == "ftyp");
  auto part = http.Get(("/v1/jobs/" + id + "/video").c_str(), {{"Range", "bytes=4-11"}});
  REQUIRE(part);
  CHECK(part->status == 206);
  CHECK(part->body == video->body.substr(4, 8));
  CHECK(part->get_header_value("Content-Range") == fmt::format("bytes 4-11/{}", bytes));
  auto tail = http.Get(("/v1/jobs/" + id + "/video").c_str(), {{"Range", fmt::format("bytes={}-", bytes - 10)}});
  REQUIRE(tail);
  CHECK(tail->status == 206);
  CHECK(tail->body == video->body.substr(static_cast<std::size_t>(bytes - 10)));
  auto past_end = http.Get(("/v1/jobs/" + id + "/video").c_str(), {{"Range", fmt::format("bytes={}-", bytes + 5)}});
  REQUIRE(past_end);
  CHECK(past_end->status == 416);
  CHECK(past_end->get_header_value("Content-Range") == fmt::format("bytes */{}", bytes));
  // One range per request (docs/server-api.md): several, or bad syntax, get the whole file (RFC 7233 lets a
  // server ignore Range); the last n bytes; a zero-length suffix is unsatisfiable.
  const std::string video_path = "/v1/jobs/" + id + "/video";
  for (const char* ignored : {"bytes=0-1,4-5", "bytes=0-0,-1", "bytes=9-2", "bytes=abc", "items=0-1"}) {
    INFO(ignored);
    auto whole = http.Get(video_path.c_str(), {{"Range", ignored}});
    REQUIRE(whole);
    CHECK(whole->status == 200);
    CHECK(whole->body == video->body);
  }
  auto last10 = http.Get(video_path.c_str(), {{"Range", "bytes=-10"}});
  REQUIRE(last10);
  CHECK(last10->status == 206);
  CHECK(last10->body == video->body.substr(static_cast<std::size_t>(bytes - 10)));
  CHECK(last10->get_header_value("Content-Range") == fmt::format("bytes {}-{}/{}", bytes - 10, bytes - 1, bytes));
  auto first = http.Get(video_path.c_str(), {{"Range", "bytes=0-0"}});  // what the web page asks for
  REQUIRE(first);
  CHECK(first->status == 206);
  CHECK(first->body == video->body.substr(0, 1));
  auto clamped = http.Get(video_path.c_str(), {{"Range", fmt::format("bytes=10-{}", bytes * 2)}});
  REQUIRE(clamped);
  CHECK(clamped->status == 206);
  CHECK(clamped->body == video->body.substr(10));
  auto empty_suffix = http.Get(video_path.c_str(), {{"Range", "bytes=-0"}});
  REQUIRE(empty_suffix);
  CHECK(empty_suffix->status == 416);
  CHECK(empty_suffix->get_header_value("Content-Range") == fmt::format("bytes */{}", bytes));

  // List (paged), stats, plan, metrics, the page.
  http.Post("/v1/jobs", job_body().dump(), "application/json");  // a second job for paging
  const json page = parse(http.Get("/v1/jobs?limit=1"));
  CHECK(page["total"] == 2);
  REQUIRE(page["jobs"].size() == 1);
  CHECK(page["jobs"][0]["id"] != id);  // newest first
  CHECK(page["next_offset"] == 1);
  const json page2 = parse(http.Get("/v1/jobs?limit=1&offset=1"));
  REQUIRE(page2["jobs"].size() == 1);
  CHECK(page2["jobs"][0]["id"] == id);
  CHECK(page2["next_offset"].is_null());
  require_json_error(http.Get("/v1/jobs?limit=1000"), 400, "bad_request");
  wait_finished(http, page["jobs"][0]["id"]);

  const json stats = parse(http.Get("/v1/stats"));
  CHECK(stats["succeeded"] == 2);
  CHECK(stats["untrained_model"] == true);
  CHECK(stats["devices"] == json::array({"cpu"}));
  const json reset = parse(http.Post("/v1/stats/reset", "", "application/json"));
  CHECK(reset["jobs"] == 0);

  const json plan = parse(http.Post("/v1/plan", json{{"duration_sec", 20}, {"quality", "balanced"},
                                    {"gpu_type", "H100"}, {"gpus_available", 4}}.dump(), "application/json"));
  CHECK(plan["gpu_type"] == "H100");
  CHECK(plan["options"].size() == 4);
  CHECK(plan["options"][0]["seconds"].get<double>() > 0);
  // The demo model on the CPU cannot be sized by the Planner: a typed error, not a made-up plan.
  require_json_error(http.Post("/v1/plan", json{{"duration_sec", 20}}.dump(), "application/json"), 422, "unsupported");
  require_json_error(http.Post("/v1/plan", json{{"quality", "draft"}}.dump(), "application/json"), 400, "bad_request");
  // Plan requests are held to the same rules as jobs: unknown fields, wrong types and out-of-range numbers are a
  // 400 naming the field, and long names are never echoed.
  const auto plan_error = [&](const json& body) {
    auto res = http.Post("/v1/plan", body.dump(), "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->body.size() < 400);
    return json::parse(res->body)["message"].get<std::string>();
  };
  CHECK_THAT(plan_error(json{{"duration_sec", 20}, {"evil", 1}}), Catch::Contains("unknown field 'evil'"));
  CHECK_THAT(plan_error(json{{"duration_sec", 20}, {"deadline_sec", "x"}}), Catch::Contains("'deadline_sec'"));
  CHECK_THAT(plan_error(json{{"duration_sec", 20}, {"gpu_type", "H100"}, {"gpus_available", 99999999999.0}}),
             Catch::Contains("'gpus_available'"));
  CHECK_THAT(plan_error(json{{"duration_sec", 20}, {"gpu_type", std::string(100000, 'G')}}),
             Catch::Contains("'gpu_type'"));

  auto metrics = http.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK_THAT(metrics->body, Catch::Contains("talkgen_queue_depth 0"));
  CHECK_THAT(metrics->body, Catch::Contains("talkgen_jobs{state=\"succeeded\"} 2"));
  CHECK_THAT(metrics->body, Catch::Contains("talkgen_jobs_submitted_total 2"));
  CHECK_THAT(metrics->body, Catch::Contains("talkgen_http_request_duration_seconds_bucket{route=\"/v1/jobs/{id}/video\""));
  CHECK_THAT(metrics->body, Catch::Contains("talkgen_gpu_seconds_total"));

  auto page_html = http.Get("/");
  REQUIRE(page_html);
  CHECK(page_html->status == 200);
  CHECK_THAT(page_html->get_header_value("Content-Type"), Catch::StartsWith("text/html"));
  require_json_error(http.Get("/no/such/thing"), 404, "not_found");
  require_json_error(http.Get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found");

  // DELETE a finished job: record and files go.
  auto deleted = http.Delete(("/v1/jobs/" + id).c_str());
  REQUIRE(deleted);
  CHECK(deleted->status == 200);
  CHECK(parse(deleted)["deleted"] == true);
  require_json_error(http.Get(("/v1/jobs/" + id).c_str()), 404, "not_found");
  require_json_error(http.Get(("/v1/jobs/" + id + "/video").c_str()), 404, "not_found");
  CHECK_FALSE(std::filesystem::exists(scratch("server_routes") + "/jobs/" + id));
}

TEST_CASE("serve: bearer token on every route but /healthz, nothing leaked", "[server][auth]") {
  const std::string token = "test-token-0123456789abcdef";
  auto options = tiny_server_options(server_scratch_dir("auth"));
  options.token = token;
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());

  for (const char* path : {"/v1/jobs", "/v1/stats", "/metrics", "/", "/v1/jobs/0123456789abcdef0123456789abcdef"}) {
    INFO(path);
    auto none = http.Get(path);
    require_json_error(none, 401, "unauthorized");
    CHECK(none->get_header_value("WWW-Authenticate") == "Bearer");
    CHECK(none->body.find(token) == std::string::npos);
    require_json_error(http.Get(path, bearer("test-token-0123456789abcdeX")), 401, "unauthorized");
    require_json_error(http.Get(path, bearer(token.substr(0, 10))), 401, "unauthorized");
  }
  auto post = http.Post("/v1/jobs", job_body().dump(), "application/json");
  require_json_error(post, 401, "unauthorized");
  // Nothing was queued by the refused request.
  const json list = parse(http.Get("/v1/jobs", bearer(token)));
  CHECK(list["total"] == 0);

  auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(http.Get("/v1/stats", bearer(token))->status == 200);
  CHECK(http.Get(("/v1/stats?access_token=" + token).c_str())->status == 200);  // EventSource / <video>

  // Without a token the server will not listen beyond loopback.
  auto open = tiny_server_options(server_scratch_dir("auth_open"));
  open.host = "0.0.0.0";
  CHECK_THROWS_WITH(talkgen::server::Server(open), Catch::Contains("--token-file"));

  // The token is checked before anything else: a refused upload is never read.
  auto options_check = http.Post("/v1/jobs", "{}", "text/plain");
  require_json_error(options_check, 401, "unauthorized");
}

TEST_CASE("serve: limits and corrupt media are refused before queueing", "[server][limits]") {
  auto options = tiny_server_options(server_scratch_dir("limits"));
  options.limits.max_body_bytes = 2 << 20;
  options.limits.max_audio_seconds = 300;
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);

  json big = job_body();
  big["prompt"] = std::string(3 << 20, 'x');
  auto too_big = http.Post("/v1/jobs", big.dump(), "application/json");
  require_json_error(too_big, 413, "payload_too_large");
  CHECK_THAT(too_big->body, Catch::Contains("--max-body-mb"));

  // 10 minutes of audio (8 kHz WAV, ~9.6 MB) is over the 5-minute cap: a second server whose body limit
  // lets it through, so the audio limit is what answers.
  json long_audio = job_body();
  long_audio["audio_b64"] = b64(wav_bytes(600.0, 8000));
  auto options2 = tiny_server_options(server_scratch_dir("limits_audio"));
  options2.limits.max_body_bytes = 32 << 20;
  RunningServer s2(options2);
  httplib::Client http2("127.0.0.1", s2.port());
  http2.set_read_timeout(60, 0);
  auto too_long = http2.Post("/v1/jobs", long_audio.dump(), "application/json");
  require_json_error(too_long, 422, "invalid_argument");
  CHECK_THAT(too_long->body, Catch::Contains("--max-audio-seconds") && Catch::Contains("600.0 s"));

  json corrupt_image = job_body();
  auto png = portrait_bytes();
  png.resize(png.size() / 2);
  corrupt_image["ref_image_b64"] = b64(png);
  require_json_error(http.Post("/v1/jobs", corrupt_image.dump(), "application/json"), 422, "invalid_argument");
  json corrupt_audio = job_body();
  corrupt_audio["audio_b64"] = b64(std::vector<std::uint8_t>(4000, 0x5a));
  auto bad_audio = http.Post("/v1/jobs", corrupt_audio.dump(), "application/json");
  REQUIRE(bad_audio);
  CHECK(bad_audio->status == 422);
  require_json_error(http.Post("/v1/jobs", "{\"ref_image_b64\": ", "application/json"), 400, "bad_request");

  // Nothing above was queued or stored.
  CHECK(parse(http.Get("/v1/jobs"))["total"] == 0);
  CHECK(parse(http2.Get("/v1/jobs"))["total"] == 0);
  CHECK(std::filesystem::is_empty(scratch("server_limits") + "/jobs"));
}

TEST_CASE("serve: the same job_id twice makes one job", "[server][idempotency]") {
  RunningServer s(tiny_server_options(server_scratch_dir("idempotent")));
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);

  auto first = http.Post("/v1/jobs", job_body("retry-me-1").dump(), "application/json");
  REQUIRE(first);
  CHECK(first->status == 201);
  auto again = http.Post("/v1/jobs", job_body("retry-me-1").dump(), "application/json");
  REQUIRE(again);
  CHECK(again->status == 200);
  const json a = parse(first), b = parse(again);
  CHECK(a["id"] == b["id"]);
  CHECK(b["job_id"] == "retry-me-1");
  // Same key, different request: a conflict, not a silent reuse.
  json other = job_body("retry-me-1");
  other["seed"] = 8;
  require_json_error(http.Post("/v1/jobs", other.dump(), "application/json"), 409, "conflict");

  // Racing retries (as a client with a short timeout would send): still one job.
  std::atomic<int> created{0}, existing{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_read_timeout(60, 0);
      auto r = c.Post("/v1/jobs", job_body("race-1").dump(), "application/json");
      if (r && r->status == 201) ++created;
      if (r && r->status == 200) ++existing;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(created == 1);
  CHECK(existing == 3);

  const json list = parse(http.Get("/v1/jobs"));
  CHECK(list["total"] == 2);
  for (const json& j : list["jobs"]) wait_finished(http, j["id"]);
  const json stats = parse(http.Get("/v1/stats"));
  CHECK(stats["jobs"] == 2);  // each ran exactly once
  CHECK(stats["succeeded"] == 2);
}

TEST_CASE("serve: cancel a running job, delete it afterwards", "[server][cancel]") {
  auto options = tiny_server_options(server_scratch_dir("cancel"));
  const auto tiny = options.customize_job;
  options.customize_job = [tiny](talkgen::Job& job) {
    tiny(job);
    job.generate.steps = 400;  // long enough to be caught running
  };
  RunningServer s(options);
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);

  const std::string id = parse(http.Post("/v1/jobs", job_body().dump(), "application/json"))["id"];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json j;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    j = parse(http.Get(("/v1/jobs/" + id).c_str()));
  } while (!(j["state"] == "running" && j["stage"] == "sampling") && std::chrono::steady_clock::now() < deadline);
  REQUIRE(j["state"] == "running");
  require_json_error(http.Get(("/v1/jobs/" + id + "/video").c_str()), 409, "not_ready");

  auto cancel = http.Delete(("/v1/jobs/" + id).c_str());
  REQUIRE(cancel);
  CHECK(cancel->status == 202);
  const json finished = wait_finished(http, id);
  CHECK(finished["state"] == "cancelled");
  CHECK(finished["error"]["code"] == "cancelled");
  require_json_error(http.Get(("/v1/jobs/" + id + "/video").c_str()), 409, "not_ready");
  CHECK(http.Delete(("/v1/jobs/" + id).c_str())->status == 200);
  CHECK(http.Get(("/v1/jobs/" + id).c_str())->status == 404);
}

TEST_CASE("serve: drain finishes running jobs, keeps queued ones for the next start", "[server][drain]") {
  const std::string dir = server_scratch_dir("drain");
  auto options = tiny_server_options(dir);
  const auto tiny = options.customize_job;
  options.customize_job = [tiny](talkgen::Job& job) {
    tiny(job);
    job.generate.steps = 30;  // a few seconds: the drain starts while the first job runs
  };
  std::string first, second;
  {
    RunningServer s(options);
    httplib::Client http("127.0.0.1", s.port());
    http.set_read_timeout(60, 0);
    first = parse(http.Post("/v1/jobs", job_body().dump(), "application/json"))["id"];
    second = parse(http.Post("/v1/jobs", job_body().dump(), "application/json"))["id"];
    json j;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      j = parse(http.Get(("/v1/jobs/" + first).c_str()));
    } while (j["state"] != "running");
    std::thread drain([&] { s.drain_and_join(); });
    while (!s.server().jobs().draining()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    require_json_error(http.Post("/v1/jobs", job_body().dump(), "application/json"), 503, "draining");
    auto health = http.Get("/healthz");
    if (health) CHECK(health->status == 503);
    drain.join();
  }
  {
    talkgen::server::JobStore store(dir + "/jobs.db");
    CHECK(store.get(first)->state == "succeeded");
    CHECK(store.get(second)->state == "queued");  // not run, not lost
  }
  // The next start runs it.
  RunningServer s(tiny_server_options(dir));
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);
  CHECK(wait_finished(http, second)["state"] == "succeeded");
  CHECK(http.Get(("/v1/jobs/" + first + "/video").c_str())->status == 200);
}

TEST_CASE("serve: multipart form uploads", "[server][routes]") {
  RunningServer s(tiny_server_options(server_scratch_dir("multipart")));
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);
  const auto image = portrait_bytes();
  const auto audio = wav_bytes(1.0);
  httplib::MultipartFormDataItems items = {
      {"ref_image", std::string(image.begin(), image.end()), "face.png", "image/png"},
      {"audio", std::string(audio.begin(), audio.end()), "speech.wav", "audio/wav"},
      {"quality", "draft", "", ""},
      {"job_id", "form-job", "", ""},
  };
  auto r = http.Post("/v1/jobs", items);
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const json job = parse(r);
  CHECK(job["job_id"] == "form-job");
  CHECK(wait_finished(http, job["id"])["state"] == "succeeded");

  // Malformed forms are 400s that say what is wrong (the parser's cases: server_units_test.cpp).
  const std::string unterminated = "--b0undary\r\nContent-Disposition: form-data; name=\"quality\"\r\n\r\ndraft";
  auto bad = http.Post("/v1/jobs", unterminated, "multipart/form-data; boundary=b0undary");
  require_json_error(bad, 400, "bad_request");
  CHECK_THAT(bad->body, Catch::Contains("closing boundary"));
  require_json_error(http.Post("/v1/jobs", unterminated, "multipart/form-data"), 400, "bad_request");  // no boundary
}

TEST_CASE("serve: two speakers, stored with the job and run by the library", "[server][routes]") {
  const std::string dir = server_scratch_dir("two_speakers");
  auto options = tiny_server_options(dir);
  std::mutex seen_mutex;
  talkgen::GenerateOptions seen;  // what the library was asked for
  options.customize_job = [base = options.customize_job, &seen, &seen_mutex](talkgen::Job& job) {
    base(job);
    std::lock_guard<std::mutex> lock(seen_mutex);
    seen = job.generate;
  };
  RunningServer s(std::move(options));
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(60, 0);
  const auto image = portrait_bytes();
  const auto audio = wav_bytes(1.0), audio2 = wav_bytes(0.5);
  httplib::MultipartFormDataItems items = {
      {"ref_image", std::string(image.begin(), image.end()), "two.png", "image/png"},
      {"audio", std::string(audio.begin(), audio.end()), "left.wav", "audio/wav"},
      {"audio2", std::string(audio2.begin(), audio2.end()), "right.wav", "audio/wav"},
      {"speaker_timing", "one-after-another", "", ""},
      {"speaker1_box", "[0, 0, 256, 512]", "", ""},
      {"speaker2_box", "[256, 0, 512, 512]", "", ""},
      {"quality", "draft", "", ""},
  };
  auto r = http.Post("/v1/jobs", items);
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const json job = parse(r);
  CHECK(job["request"]["speakers"] == 2);
  CHECK(job["request"]["speaker_timing"] == "one-after-another");
  const std::string id = job["id"];
  CHECK(read_bytes(dir + "/jobs/" + id + "/audio2") == audio2);
  const json done = wait_finished(http, id);
  CHECK(done["state"] == "succeeded");
  std::lock_guard<std::mutex> lock(seen_mutex);
  CHECK(seen.audio2_path == dir + "/jobs/" + id + "/audio2");
  CHECK(seen.speaker_timing == talkgen::SpeakerTiming::one_after_another);
  REQUIRE(seen.speaker2_box.has_value());
  CHECK(seen.speaker2_box->x0 == 256);
  CHECK(seen.speaker1_box->x1 == 256);
}

