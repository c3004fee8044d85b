// The Client's rules on their own: retry shapes and backoff, the queue's overtaking bound, statistics,
// job validation and ids, enum names.
#include <catch2/catch.hpp>

#include <set>

#include "client/job_id.hpp"
#include "client/job_stats.hpp"
#include "client/job_sizing.hpp"
#include "client/job_validation.hpp"
#include "client/queue_policy.hpp"
#include "client/retry_plan.hpp"
#include "client_test_support.hpp"
#include "support/error_capture.hpp"

using namespace talkgen;
using namespace talkgen::client;
using namespace std::chrono_literals;
using talkgen_test::code_of;

TEST_CASE("retry: only out_of_memory and timeout are transient") {
  CHECK(is_transient(ErrorCode::out_of_memory));
  CHECK(is_transient(ErrorCode::timeout));
  for (ErrorCode c : {ErrorCode::invalid_argument, ErrorCode::not_found, ErrorCode::cancelled, ErrorCode::internal,
                      ErrorCode::io_error, ErrorCode::unsupported, ErrorCode::device_unavailable})
    CHECK_FALSE(is_transient(c));
}

TEST_CASE("retry: out of memory takes more devices when free, else the low-memory mode") {
  AttemptShape one{1, false};
  AttemptShape n = next_attempt_shape(ErrorCode::out_of_memory, one, 4);
  CHECK(n.gpus == 2);
  CHECK_FALSE(n.low_memory);
  n = next_attempt_shape(ErrorCode::out_of_memory, AttemptShape{2, false}, 3);
  CHECK(n.gpus == 3);  // as many as are free when that is more
  n = next_attempt_shape(ErrorCode::out_of_memory, AttemptShape{2, false}, 2);
  CHECK(n.gpus == 2);
  CHECK(n.low_memory);
}

TEST_CASE("retry: a collective timeout halves the devices, down to one") {
  CHECK(next_attempt_shape(ErrorCode::timeout, AttemptShape{4, false}, 8).gpus == 2);
  CHECK(next_attempt_shape(ErrorCode::timeout, AttemptShape{2, true}, 8).gpus == 1);
  CHECK(next_attempt_shape(ErrorCode::timeout, AttemptShape{2, true}, 8).low_memory);
  CHECK(next_attempt_shape(ErrorCode::timeout, AttemptShape{1, false}, 8).gpus == 1);
}

TEST_CASE("retry: exponential backoff, capped, scaled down by the jitter") {
  RetryPolicy p;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  p.jitter = 0.5;
  CHECK(backoff_delay(p, 1, 0.0) == 100ms);
  CHECK(backoff_delay(p, 2, 0.0) == 200ms);
  CHECK(backoff_delay(p, 3, 0.0) == 400ms);
  CHECK(backoff_delay(p, 5, 0.0) == 1000ms);   // 1600 capped
  CHECK(backoff_delay(p, 50, 0.0) == 1000ms);  // no overflow
  CHECK(backoff_delay(p, 2, 1.0) == 100ms);    // 200 x (1 - 0.5)
  CHECK(backoff_delay(p, 2, 0.5) == 150ms);
  p.jitter = 0;
  CHECK(backoff_delay(p, 2, 0.9) == 200ms);
}

TEST_CASE("retry: policy validation") {
  RetryPolicy p;
  p.max_attempts = 0;
  CHECK(code_of([&] { validate_retry_policy(p); }) == ErrorCode::invalid_argument);
  p = RetryPolicy{};
  p.jitter = 1.5;
  CHECK(code_of([&] { validate_retry_policy(p); }) == ErrorCode::invalid_argument);
  p = RetryPolicy{};
  p.base_delay = -1ms;
  CHECK(code_of([&] { validate_retry_policy(p); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { validate_retry_policy(RetryPolicy{}); }) == ErrorCode::ok);
}

TEST_CASE("queue: jobs start oldest first while devices last, small ones fill the gaps") {
  std::vector<WaitingJob> w = {{2}, {2}, {1}};
  CHECK(pick_jobs_to_start(w, 4, 4) == std::vector<std::size_t>{0, 1});
  w = {{4}, {1}, {1}};
  CHECK(pick_jobs_to_start(w, 2, 4) == std::vector<std::size_t>{1, 2});
  CHECK(w[0].overtaken == 2);
  w = {{1, false}, {1}};
  CHECK(pick_jobs_to_start(w, 1, 4) == std::vector<std::size_t>{1});  // a job in its retry delay neither runs nor blocks
  CHECK(w[0].overtaken == 0);
}

TEST_CASE("queue: a big job is overtaken a bounded number of times, then waits for its devices") {
  // A 4-device job behind a stream of 1-device jobs on a 4-device pool where 2 are busy.
  std::vector<WaitingJob> w = {{4}, {1}, {1}, {1}};
  const int limit = 3;
  int started_small = 0;
  for (int round = 0; round < 10; ++round) {
    auto picked = pick_jobs_to_start(w, 2, limit);
    for (auto it = picked.rbegin(); it != picked.rend(); ++it) {
      REQUIRE(*it != 0);
      w.erase(w.begin() + static_cast<long>(*it));
      ++started_small;
    }
    w.push_back({1});
    w.push_back({1});
  }
  CHECK(w[0].overtaken == limit);
  CHECK(started_small == limit);
  // Once the pool drains, the big job goes first.
  CHECK(pick_jobs_to_start(w, 4, limit) == std::vector<std::size_t>{0});
}

TEST_CASE("stats: quantiles interpolate between ranks") {
  CHECK(quantile({}, 0.5) == 0.0);
  CHECK(quantile({3.0}, 0.95) == 3.0);
  CHECK(quantile({4, 1, 3, 2}, 0.5) == Approx(2.5));
  std::vector<double> v;
  for (int i = 1; i <= 21; ++i) v.push_back(i);
  CHECK(quantile(v, 0.95) == Approx(20.0));
  CHECK(quantile(v, 0.0) == 1.0);
  CHECK(quantile(v, 1.0) == 21.0);
}

TEST_CASE("stats: counts, success rate, mean / p50 / p95 of succeeded jobs, GPU-seconds, cost") {
  JobStats stats;
  auto result = [](JobState state, double total, int attempts, double gpu_seconds, double cost) {
    JobResult r;
    r.state = state;
    r.timings.total = total;
    r.attempts = attempts;
    r.gpu_seconds = gpu_seconds;
    r.cost_usd = cost;
    return r;
  };
  for (int i = 1; i <= 10; ++i) stats.record(result(JobState::succeeded, i, 1, 2.0 * i, 0.01));
  stats.record(result(JobState::failed, 100, 3, 5, 0.5));
  stats.record(result(JobState::cancelled, 50, 1, 1, 0.0));
  ClientStats s = stats.snapshot();
  CHECK(s.jobs == 12);
  CHECK(s.succeeded == 10);
  CHECK(s.failed == 1);
  CHECK(s.cancelled == 1);
  CHECK(s.retries == 2);
  CHECK(s.success_rate == Approx(10.0 / 12));
  CHECK(s.mean_seconds == Approx(5.5));
  CHECK(s.p50_seconds == Approx(5.5));
  CHECK(s.p95_seconds == Approx(9.55));
  CHECK(s.gpu_seconds == Approx(110 + 5 + 1));
  CHECK(s.cost_usd == Approx(0.6));
  stats.reset();
  CHECK(stats.snapshot().jobs == 0);
  CHECK(stats.snapshot().p95_seconds == 0);
}

TEST_CASE("job ids: 32 hex digits, distinct, caller ids checked") {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = make_job_id();
    CHECK(id.size() == 32);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 100);
  CHECK(code_of([] { validate_job_id("job-1.a_B"); }) == ErrorCode::ok);
  CHECK(code_of([] { validate_job_id(""); }) == ErrorCode::invalid_argument);
  CHECK(code_of([] { validate_job_id("../etc/passwd"); }) == ErrorCode::invalid_argument);
  CHECK(code_of([] { validate_job_id(std::string(129, 'a')); }) == ErrorCode::invalid_argument);
}

TEST_CASE("validation: sources, files, output folder, device counts, limits") {
  const std::string dir = talkgen_test::fresh_dir("validation");
  auto check = [](Job job, ErrorCode expected) {
    CHECK(code_of([&] { validate_job(job, 2); }) == expected);
  };
  const Job good = talkgen_test::tiny_job(dir + "/out.mp4");
  check(good, ErrorCode::ok);
  Job j = good;
  j.generate.image_path.clear();
  check(j, ErrorCode::invalid_argument);
  j = good;
  j.generate.image_bytes = {1, 2, 3};
  check(j, ErrorCode::invalid_argument);  // two portrait sources
  j = good;
  j.generate.speech_text = "hello";
  check(j, ErrorCode::invalid_argument);  // two speech sources
  j = good;
  j.generate.audio_path = dir + "/missing.wav";
  check(j, ErrorCode::not_found);
  j = good;
  j.generate.image_path = dir + "/missing.png";
  check(j, ErrorCode::not_found);
  j = good;
  j.generate.output_path = dir + "/no/such/folder/out.mp4";
  check(j, ErrorCode::io_error);
  j = good;
  j.generate.output_path = dir;
  check(j, ErrorCode::invalid_argument);
  j = good;
  j.gpus = 3;
  check(j, ErrorCode::invalid_argument);
  j.gpus = 0;
  check(j, ErrorCode::invalid_argument);
  j = good;
  j.budget_usd = -1;
  check(j, ErrorCode::invalid_argument);
  j = good;
  j.max_duration_seconds = 2.0;
  j.generate.mode = GenerationMode::streaming;
  validate_job(j, 2);
  CHECK(j.generate.max_frames == 50);
  j = good;
  j.job_id = "a/b";
  check(j, ErrorCode::invalid_argument);
}

TEST_CASE("validation: text jobs need words and a voice from espeak-ng's list, never a path") {
  const std::string dir = talkgen_test::fresh_dir("validation_text");
  Job j = talkgen_test::tiny_job(dir + "/out.mp4");
  j.generate.audio_path.clear();
  j.generate.speech_text = "hello there";
  CHECK(code_of([&] { validate_job(j, 2); }) == ErrorCode::ok);
  j.generate.speech.voice = "../../../../etc/passwd";
  CHECK(code_of([&] { validate_job(j, 2); }) == ErrorCode::invalid_argument);
  j.generate.speech.voice = "no-such-voice";
  CHECK(code_of([&] { validate_job(j, 2); }) == ErrorCode::invalid_argument);
  j.generate.speech.voice = "en-us";
  j.generate.speech_text = " \t\n ";
  CHECK(code_of([&] { validate_job(j, 2); }) == ErrorCode::invalid_argument);
}

TEST_CASE("names: device policies and job states") {
  CHECK(parse_device_policy("auto") == DevicePolicy::automatic);
  CHECK(parse_device_policy("CUDA") == DevicePolicy::cuda);
  CHECK(parse_device_policy("cpu") == DevicePolicy::cpu);
  CHECK(code_of([] { parse_device_policy("tpu"); }) == ErrorCode::invalid_argument);
  CHECK(std::string(to_string(DevicePolicy::automatic)) == "auto");
  CHECK(std::string(to_string(JobState::retrying)) == "retrying");
  CHECK(is_finished(JobState::cancelled));
  CHECK_FALSE(is_finished(JobState::retrying));
}

TEST_CASE("sizing: the Planner prices the portrait's bucket, or the landscape one without a portrait") {
  PoolForPlanning pool;
  pool.plannable = true;
  pool.gpu_name = "H100";
  pool.gpus = 2;
  pool.prices = PriceTable::defaults();
  Job job = talkgen_test::tiny_job("");
  const PlanRequest square = job_request(job, pool);
  CHECK(square.frame_width == 640);  // examples/portrait.png is square: the 640x640 bucket at 480p
  CHECK(square.frame_height == 640);
  CHECK(square.gpu_type == "H100");
  CHECK(square.gpus_available == 2);
  job.generate.resolution = Resolution::p720;
  CHECK(job_request(job, pool).frame_width == 960);
  job.generate.image_path = "no-such-portrait.png";  // the job reports it when it runs; the estimate goes on
  const PlanRequest unknown = job_request(job, pool);
  CHECK(unknown.frame_width == 0);
  CHECK(unknown.frame_height == 0);
  JobSizingCache cache;
  job.generate.image_path = talkgen_test::portrait_path();
  job.generate.resolution = Resolution::p480;
  const auto seconds = estimate_seconds(job, 1, pool, &cache);
  REQUIRE(seconds.has_value());
  CHECK(*seconds > 0);
  REQUIRE(cache.request.has_value());
  CHECK(cache.request->frame_width == 640);
  CHECK(cache.video_seconds == Approx(0.68));  // clip mode: one 17-frame chunk of the 1 s speech
}
