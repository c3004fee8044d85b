// Submitted jobs through the C ABI on the demo model: submit returns at once, poll, wait with a timeout,
// results on every wait, cancel, and a released handle that leaves its job running.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>

#include "capi_test_client.hpp"
#include "talkgen.h"

namespace {

namespace fs = std::filesystem;
using capi_test::DemoClient;
using capi_test::ResultGuard;
using capi_test::TinyJob;

struct JobGuard {
  ~JobGuard() { talkgen_job_free(job); }
  talkgen_job* job = nullptr;
};

bool count_call(const talkgen_progress*, void* user_data) {
  ++*static_cast<std::atomic<int>*>(user_data);
  return true;
}

talkgen_stats stats_of(talkgen_client* client) {
  talkgen_stats stats{};
  stats.struct_size = sizeof(stats);
  REQUIRE(talkgen_client_stats(client, &stats) == TALKGEN_OK);
  return stats;
}

}  // namespace

TEST_CASE("submit returns at once: poll, a wait that times out, then the result on every wait") {
  DemoClient demo;
  TinyJob tiny;
  tiny.params.job_id = "submit-poll-wait";
  std::atomic<int> calls{0};
  JobGuard job;
  const talkgen_status submitted = talkgen_client_submit(demo.client, &tiny.params, count_call, &calls, &job.job);
  INFO(talkgen_last_error());
  REQUIRE(submitted == TALKGEN_OK);
  REQUIRE(job.job != nullptr);
  CHECK(std::string(talkgen_job_id(job.job)) == "submit-poll-wait");

  talkgen_progress progress{};
  progress.struct_size = sizeof(progress);
  REQUIRE(talkgen_job_poll(job.job, &progress) == TALKGEN_OK);
  CHECK(progress.struct_size == sizeof(talkgen_progress));
  CHECK(std::string(progress.job_id) == "submit-poll-wait");
  CHECK(progress.state != TALKGEN_JOB_SUCCEEDED);  // the demo model is not even loaded yet
  CHECK(progress.fraction >= 0.0);
  CHECK(progress.fraction < 1.0);

  // Not finished in 0 s: TIMEOUT, no result, and the job goes on.
  talkgen_result* none = reinterpret_cast<talkgen_result*>(0x1);
  CHECK(talkgen_job_wait(job.job, 0.0, &none) == TALKGEN_TIMEOUT);
  CHECK(none == nullptr);
  CHECK(std::string(talkgen_last_error()).find("submit-poll-wait") != std::string::npos);

  ResultGuard first;
  const talkgen_status waited = talkgen_job_wait(job.job, 300.0, &first.r);
  INFO(talkgen_last_error());
  REQUIRE(waited == TALKGEN_OK);
  REQUIRE(first.r != nullptr);
  CHECK(first.r->state == TALKGEN_JOB_SUCCEEDED);
  CHECK(std::string(first.r->job_id) == "submit-poll-wait");
  CHECK(first.r->frames == 25);
  CHECK(std::string(first.r->quality) == "draft");
  REQUIRE(first.r->video.size > 1000);
  CHECK(calls > 0);

  // Finished: every wait returns at once with a result of its own.
  ResultGuard second;
  REQUIRE(talkgen_job_wait(job.job, 0.0, &second.r) == TALKGEN_OK);
  REQUIRE(second.r != nullptr);
  CHECK(second.r != first.r);
  CHECK(second.r->frames == 25);
  CHECK(talkgen_job_wait(job.job, -1.0, nullptr) == TALKGEN_OK);  // result_out may be NULL

  REQUIRE(talkgen_job_poll(job.job, &progress) == TALKGEN_OK);
  CHECK(progress.state == TALKGEN_JOB_SUCCEEDED);
  CHECK(talkgen_job_cancel(job.job) == TALKGEN_NOT_FOUND);  // nothing left to cancel
  CHECK(std::string(talkgen_last_error()).find("already finished") != std::string::npos);
}

TEST_CASE("talkgen_job_cancel stops a submitted job, whose wait returns CANCELLED with its result") {
  DemoClient demo;
  TinyJob tiny;
  tiny.params.job_id = "submit-cancel";
  JobGuard job;
  REQUIRE(talkgen_client_submit(demo.client, &tiny.params, nullptr, nullptr, &job.job) == TALKGEN_OK);
  CHECK(talkgen_job_cancel(job.job) == TALKGEN_OK);
  ResultGuard result;
  CHECK(talkgen_job_wait(job.job, -1.0, &result.r) == TALKGEN_CANCELLED);
  CHECK_FALSE(std::string(talkgen_last_error()).empty());
  REQUIRE(result.r != nullptr);
  CHECK(result.r->state == TALKGEN_JOB_CANCELLED);
  CHECK(result.r->error_code == TALKGEN_CANCELLED);
  CHECK(result.r->video.data == nullptr);
  const talkgen_stats stats = stats_of(demo.client);
  CHECK(stats.cancelled == 1);
  CHECK(stats.succeeded == 0);
}

TEST_CASE("talkgen_job_free releases the handle without cancelling: the job still finishes") {
  DemoClient demo;
  TinyJob tiny;
  const fs::path dir = fs::path(TALKGEN_TEST_SCRATCH_DIR) / "capi_job_free";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "after_free.mp4").string();
  tiny.params.output_path = out.c_str();
  static std::atomic<int> calls{0};  // outlives the handle: the job reports to it until it has finished
  calls = 0;
  talkgen_job* job = nullptr;
  REQUIRE(talkgen_client_submit(demo.client, &tiny.params, count_call, &calls, &job) == TALKGEN_OK);
  talkgen_job_free(job);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  talkgen_stats stats = stats_of(demo.client);
  while (stats.jobs == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stats = stats_of(demo.client);
  }
  CHECK(stats.jobs == 1);
  CHECK(stats.succeeded == 1);
  CHECK(fs::file_size(out) > 1000);
  CHECK(calls > 0);
}

TEST_CASE("submit refuses bad params and duplicate ids before a job exists, and handles are checked") {
  DemoClient demo;
  TinyJob tiny;
  talkgen_job* job = reinterpret_cast<talkgen_job*>(0x1);
  tiny.params.quality = "ultra";
  CHECK(talkgen_client_submit(demo.client, &tiny.params, nullptr, nullptr, &job) == TALKGEN_INVALID_ARGUMENT);
  CHECK(job == nullptr);
  CHECK(std::string(talkgen_last_error()).find("ultra") != std::string::npos);
  tiny.params.quality = "draft";
  CHECK(talkgen_client_submit(nullptr, &tiny.params, nullptr, nullptr, &job) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_submit(demo.client, nullptr, nullptr, nullptr, &job) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_submit(demo.client, &tiny.params, nullptr, nullptr, nullptr) == TALKGEN_INVALID_ARGUMENT);

  tiny.params.job_id = "submit-duplicate";
  JobGuard first;
  REQUIRE(talkgen_client_submit(demo.client, &tiny.params, nullptr, nullptr, &first.job) == TALKGEN_OK);
  CHECK(talkgen_client_submit(demo.client, &tiny.params, nullptr, nullptr, &job) == TALKGEN_INVALID_ARGUMENT);
  CHECK(job == nullptr);
  CHECK(std::string(talkgen_last_error()).find("submit-duplicate") != std::string::npos);

  talkgen_progress progress{};  // struct_size not set
  CHECK(talkgen_job_poll(first.job, &progress) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_poll(first.job, nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_wait(first.job, std::numeric_limits<double>::quiet_NaN(), nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_cancel(first.job) == TALKGEN_OK);
  CHECK(talkgen_job_wait(first.job, -1.0, nullptr) == TALKGEN_CANCELLED);

  progress.struct_size = sizeof(progress);
  CHECK(talkgen_job_poll(nullptr, &progress) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_wait(nullptr, 0.0, nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_cancel(nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_job_id(nullptr)).empty());
  talkgen_job_free(nullptr);  // harmless
}
