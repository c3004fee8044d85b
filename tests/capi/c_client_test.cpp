// The C ABI of the Client on the demo model: create, generate (file and buffer), progress, cancel (from the
// callback and from another thread), batch with failures, stats. Jobs are tiny: 1 s of audio, draft, clip.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_client.hpp"
#include "capi_test_media.hpp"
#include "talkgen.h"

namespace {

namespace fs = std::filesystem;

using capi_test::DemoClient;
using capi_test::ResultGuard;
using capi_test::TinyJob;
using capi_test::tone_wav;
const std::string kPortrait = capi_test::portrait_path();

// Records what the progress callback saw; optionally cancels once sampling starts.
struct ProgressLog {
  std::mutex mutex;
  std::vector<talkgen_job_state> states;
  std::vector<std::string> job_ids;
  int sampling_calls = 0;
  bool malformed = false;
  bool cancel_when_sampling = false;
  std::atomic<bool> sampling{false};

  static bool callback(const talkgen_progress* p, void* user_data) {
    auto* self = static_cast<ProgressLog*>(user_data);
    std::lock_guard<std::mutex> lock(self->mutex);
    // Catch2 is not thread-safe: note problems here, check them on the test's thread.
    if (p->struct_size != sizeof(talkgen_progress) || p->fraction < 0.0 || p->fraction > 1.0) self->malformed = true;
    if (self->states.empty() || self->states.back() != p->state) self->states.push_back(p->state);
    self->job_ids.push_back(p->job_id);
    if (p->state == TALKGEN_JOB_RUNNING && p->stage == TALKGEN_STAGE_SAMPLING) {
      ++self->sampling_calls;
      self->sampling = true;
      if (self->cancel_when_sampling) return false;
    }
    return true;
  }
};

bool contains(const std::vector<talkgen_job_state>& v, talkgen_job_state s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("client option and job defaults carry their struct size and documented values") {
  talkgen_client_options o;
  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  CHECK(o.struct_size == sizeof(talkgen_client_options));
  CHECK(o.model == nullptr);
  CHECK(o.device == nullptr);
  CHECK(o.cpu_ranks == 1);
  CHECK(o.max_attempts == 3);
  CHECK(o.retry_base_delay_sec == Approx(0.5));
  CHECK(o.retry_max_delay_sec == Approx(30.0));
  CHECK(o.collective_timeout_sec == Approx(300.0));
  CHECK(o.job_timeout_sec == 0.0);
  CHECK_FALSE(o.multi_person_weights);

  talkgen_job_params p;
  REQUIRE(talkgen_job_params_init(&p) == TALKGEN_OK);
  CHECK(p.struct_size == sizeof(talkgen_job_params));
  CHECK(p.seed == 42);
  CHECK(p.gpus == 0);
  CHECK(p.crf == 17);
  CHECK(p.color_correction == 1.0);
  CHECK(p.output_path == nullptr);
  CHECK(p.quality == nullptr);  // the library's default profile
  CHECK(p.speaker_timing == nullptr);
  CHECK_FALSE(p.has_speaker_boxes);
  CHECK(std::string(talkgen_job_state_name(TALKGEN_JOB_CANCELLED)) == "cancelled");
  CHECK(std::string(talkgen_stage_name(TALKGEN_STAGE_SAMPLING)) == "sampling");
  CHECK(std::string(talkgen_job_state_name(static_cast<talkgen_job_state>(99))) == "unknown");
}

TEST_CASE("client_create refuses bad options with a status and a message") {
  talkgen_client* client = reinterpret_cast<talkgen_client*>(0x1);
  talkgen_client_options o;
  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  o.model = "demo";
  o.device = "tpu";
  CHECK(talkgen_client_create(&o, &client) == TALKGEN_INVALID_ARGUMENT);
  CHECK(client == nullptr);
  CHECK(std::string(talkgen_last_error()).find("tpu") != std::string::npos);

  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  o.model_dir = "/nonexistent/talkgen-weights";
  CHECK(talkgen_client_create(&o, &client) == TALKGEN_NOT_FOUND);
  CHECK(std::string(talkgen_last_error()).find("/nonexistent/talkgen-weights") != std::string::npos);

  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  CHECK(talkgen_client_create(&o, &client) == TALKGEN_INVALID_ARGUMENT);  // no model at all

  o.model = "demo";
  o.gpu_count = 2;  // but no gpus array
  CHECK(talkgen_client_create(&o, &client) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("gpu_count") != std::string::npos);

  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  o.struct_size = 0;
  CHECK(talkgen_client_create(&o, &client) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("struct_size") != std::string::npos);
  CHECK(talkgen_client_create(nullptr, &client) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_create(&o, nullptr) == TALKGEN_INVALID_ARGUMENT);
  talkgen_client_free(nullptr);  // harmless
}

TEST_CASE("a cpu client reports its pool, and device cuda without a GPU is an error naming the cause") {
  DemoClient demo;
  talkgen_device_pool pool{};
  pool.struct_size = sizeof(pool);
  REQUIRE(talkgen_client_devices(demo.client, &pool) == TALKGEN_OK);
  CHECK(std::string(pool.device_policy) == "cpu");
  CHECK_FALSE(pool.cuda);
  REQUIRE(pool.device_count == 1);
  CHECK(std::string(pool.devices[0]) == "cpu");
  CHECK(pool.untrained_model);

  talkgen_device_pool zero{};
  CHECK(talkgen_client_devices(demo.client, &zero) == TALKGEN_INVALID_ARGUMENT);  // struct_size not set

  talkgen_client_options o;
  REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
  o.model = "demo";
  o.device = "auto";
  talkgen_client* automatic = nullptr;
  REQUIRE(talkgen_client_create(&o, &automatic) == TALKGEN_OK);
  REQUIRE(talkgen_client_devices(automatic, &pool) == TALKGEN_OK);
  const bool has_cuda = pool.cuda;
  talkgen_client_free(automatic);
  if (!has_cuda) {
    o.device = "cuda";
    talkgen_client* cuda = nullptr;
    CHECK(talkgen_client_create(&o, &cuda) == TALKGEN_DEVICE_UNAVAILABLE);
    CHECK(cuda == nullptr);
    CHECK_FALSE(std::string(talkgen_last_error()).empty());
  }
}

TEST_CASE("generate into a library-owned buffer, with progress, result fields and stats") {
  DemoClient demo;
  TinyJob job;
  ProgressLog log;
  ResultGuard result;
  const talkgen_status s = talkgen_client_generate(demo.client, &job.params, ProgressLog::callback, &log, &result.r);
  INFO(talkgen_last_error());
  REQUIRE(s == TALKGEN_OK);
  REQUIRE(result.r != nullptr);
  const talkgen_result& r = *result.r;
  CHECK(r.struct_size == sizeof(talkgen_result));
  CHECK(r.state == TALKGEN_JOB_SUCCEEDED);
  CHECK(r.error_code == TALKGEN_OK);
  CHECK(std::string(r.error_message).empty());
  CHECK(std::strlen(r.job_id) == 32);  // made by the client
  CHECK(r.attempts == 1);
  CHECK(r.output_path == nullptr);
  REQUIRE(r.video.size > 1000);
  CHECK(std::string(reinterpret_cast<const char*>(r.video.data) + 4, 4) == "ftyp");
  CHECK(r.frames == 25);  // 1 s at 25 fps
  CHECK(r.fps == 25.0);
  CHECK(r.duration_sec == Approx(1.0));
  CHECK(r.chunks == 1);
  CHECK(r.seed == 42);
  CHECK(r.width > 0);
  CHECK(r.height > 0);
  CHECK(std::string(r.resolution) == "480p");
  CHECK(std::string(r.quality) == "draft");
  CHECK(r.steps == 4);  // the draft profile
  CHECK(r.untrained_model);
  CHECK(r.gpus == 1);
  REQUIRE(r.device_count == 1);
  CHECK(std::string(r.devices[0]) == "cpu");
  CHECK(r.estimated_sec == -1.0);  // the planner cannot size the demo model
  CHECK(r.timings.total_sec > 0);
  CHECK(r.timings.sampling_sec > 0);
  CHECK(r.timings.total_sec >= r.timings.sampling_sec);
  CHECK(r.actual_sec > 0);
  CHECK(r.cost_usd == 0.0);  // on the CPU

  CHECK(contains(log.states, TALKGEN_JOB_RUNNING));
  CHECK(log.sampling_calls >= 4);
  CHECK_FALSE(log.malformed);
  for (const auto& id : log.job_ids) CHECK(id == r.job_id);

  talkgen_stats stats{};
  stats.struct_size = sizeof(stats);
  REQUIRE(talkgen_client_stats(demo.client, &stats) == TALKGEN_OK);
  CHECK(stats.jobs == 1);
  CHECK(stats.succeeded == 1);
  CHECK(stats.failed == 0);
  CHECK(stats.success_rate == 1.0);
  CHECK(stats.mean_sec > 0);
  CHECK(stats.running == 0);
  REQUIRE(talkgen_client_reset_stats(demo.client) == TALKGEN_OK);
  REQUIRE(talkgen_client_stats(demo.client, &stats) == TALKGEN_OK);
  CHECK(stats.jobs == 0);
  CHECK(stats.succeeded == 0);
}

TEST_CASE("a progress callback returning false cancels the job and nothing is written") {
  DemoClient demo;
  TinyJob job;
  const fs::path dir = fs::path(TALKGEN_TEST_SCRATCH_DIR) / "capi_cancel_cb";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "never.mp4").string();
  job.params.output_path = out.c_str();
  job.params.job_id = "cancel-from-callback";
  ProgressLog log;
  log.cancel_when_sampling = true;
  ResultGuard result;
  CHECK(talkgen_client_generate(demo.client, &job.params, ProgressLog::callback, &log, &result.r) ==
        TALKGEN_CANCELLED);
  CHECK_FALSE(std::string(talkgen_last_error()).empty());
  REQUIRE(result.r != nullptr);
  CHECK(result.r->state == TALKGEN_JOB_CANCELLED);
  CHECK(result.r->error_code == TALKGEN_CANCELLED);
  CHECK(std::string(result.r->job_id) == "cancel-from-callback");
  CHECK(log.sampling_calls >= 1);
  CHECK(log.sampling_calls < 4);   // stopped before the draft profile's 4 steps were done
  CHECK_FALSE(log.malformed);
  CHECK(fs::is_empty(dir));        // no output, no temp file

  talkgen_stats stats{};
  stats.struct_size = sizeof(stats);
  REQUIRE(talkgen_client_stats(demo.client, &stats) == TALKGEN_OK);
  CHECK(stats.cancelled == 1);
  CHECK(stats.succeeded == 0);
}

TEST_CASE("talkgen_client_cancel stops a running job from another thread") {
  DemoClient demo;
  TinyJob job;
  job.params.job_id = "cancel-from-thread";
  ProgressLog log;
  talkgen_status status = TALKGEN_INTERNAL;
  talkgen_result* result = nullptr;
  std::string message;
  std::thread worker([&] {
    status = talkgen_client_generate(demo.client, &job.params, ProgressLog::callback, &log, &result);
    message = talkgen_last_error();  // thread-local: read on the thread that called
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!log.sampling && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const talkgen_status cancel = talkgen_client_cancel(demo.client, "cancel-from-thread");
  worker.join();
  ResultGuard guard{};
  guard.r = result;
  REQUIRE(log.sampling);
  CHECK(cancel == TALKGEN_OK);
  CHECK(status == TALKGEN_CANCELLED);
  CHECK_FALSE(message.empty());
  REQUIRE(result != nullptr);
  CHECK(result->state == TALKGEN_JOB_CANCELLED);
  CHECK(result->video.data == nullptr);

  // Finished (or unknown) jobs cannot be cancelled.
  CHECK(talkgen_client_cancel(demo.client, "cancel-from-thread") == TALKGEN_NOT_FOUND);
  CHECK(std::string(talkgen_last_error()).find("cancel-from-thread") != std::string::npos);
  CHECK(talkgen_client_cancel(demo.client, nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_cancel(nullptr, "x") == TALKGEN_INVALID_ARGUMENT);
}

TEST_CASE("bad job params are refused before a job exists") {
  DemoClient demo;
  TinyJob job;
  talkgen_result* result = reinterpret_cast<talkgen_result*>(0x1);

  job.params.quality = "ultra";
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(result == nullptr);
  CHECK(std::string(talkgen_last_error()).find("ultra") != std::string::npos);

  job.params.quality = "draft";
  job.params.mode = "forever";
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("forever") != std::string::npos);

  job.params.mode = "clip";
  job.params.gpus = -1;
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("gpus") != std::string::npos);

  job.params.gpus = 0;
  job.params.timeout_sec = -2;
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("timeout_sec") != std::string::npos);

  job.params.timeout_sec = 0;
  job.params.audio_size = 0;  // data without a size
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("audio_size") != std::string::npos);

  job.params.struct_size = sizeof(size_t);  // not initialised by talkgen_job_params_init()
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("struct_size") != std::string::npos);
  CHECK(talkgen_client_generate(demo.client, nullptr, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_generate(nullptr, &job.params, nullptr, nullptr, &result) == TALKGEN_INVALID_ARGUMENT);
  CHECK(result == nullptr);
}

TEST_CASE("a missing input fails the job with not_found") {
  DemoClient demo;
  TinyJob job;
  job.params.image_path = "/nonexistent/face.png";
  talkgen_result* result = nullptr;
  CHECK(talkgen_client_generate(demo.client, &job.params, nullptr, nullptr, &result) == TALKGEN_NOT_FOUND);
  CHECK(std::string(talkgen_last_error()).find("face.png") != std::string::npos);
  talkgen_result_free(result);  // a result may or may not exist (refused at submit or failed in the job)
}

TEST_CASE("generate_batch returns one result per job in input order, failures stay in their own result") {
  DemoClient demo;
  const fs::path dir = fs::path(TALKGEN_TEST_SCRATCH_DIR) / "capi_batch";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "good.mp4").string();

  std::ifstream png(kPortrait, std::ios::binary);
  const std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());

  TinyJob good, missing, refused;
  good.params.image_path = nullptr;  // the portrait from memory
  good.params.image_data = image.data();
  good.params.image_size = image.size();
  good.params.output_path = out.c_str();
  good.params.job_id = "batch-good";
  missing.params.image_path = "/nonexistent/face.png";
  missing.params.job_id = "batch-missing";
  refused.params.resolution = "1080p";
  refused.params.job_id = "batch-refused";
  const talkgen_job_params* params[] = {&good.params, &missing.params, &refused.params};
  talkgen_result* results[3] = {nullptr, nullptr, nullptr};

  std::atomic<int> calls{0};
  auto count = [](const talkgen_progress*, void* user_data) {
    ++*static_cast<std::atomic<int>*>(user_data);
    return true;
  };
  const talkgen_status s = talkgen_client_generate_batch(demo.client, params, 3, count, &calls, results);
  ResultGuard g0{}, g1{}, g2{};
  g0.r = results[0];
  g1.r = results[1];
  g2.r = results[2];
  INFO(talkgen_last_error());
  REQUIRE(s == TALKGEN_OK);
  REQUIRE(results[0] != nullptr);
  REQUIRE(results[1] != nullptr);
  REQUIRE(results[2] != nullptr);
  CHECK(std::string(results[0]->job_id) == "batch-good");
  CHECK(results[0]->state == TALKGEN_JOB_SUCCEEDED);
  CHECK(std::string(results[0]->output_path) == out);
  CHECK(fs::file_size(out) > 1000);
  CHECK(results[0]->video.data == nullptr);  // written to the file instead

  CHECK(std::string(results[1]->job_id) == "batch-missing");
  CHECK(results[1]->state == TALKGEN_JOB_FAILED);
  CHECK(results[1]->error_code == TALKGEN_NOT_FOUND);
  CHECK(std::string(results[1]->error_message).find("face.png") != std::string::npos);

  CHECK(std::string(results[2]->job_id) == "batch-refused");
  CHECK(results[2]->state == TALKGEN_JOB_FAILED);
  CHECK(results[2]->error_code == TALKGEN_UNSUPPORTED);
  CHECK(std::string(results[2]->error_message).find("1080p") != std::string::npos);
  CHECK(calls > 0);

  CHECK(talkgen_client_generate_batch(demo.client, nullptr, 2, nullptr, nullptr, results) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_generate_batch(demo.client, params, 0, nullptr, nullptr, nullptr) == TALKGEN_OK);
}
