// talkgen's log through the C ABI: a host callback receives the library's real messages (a demo job's),
// the level filters them, NULL gives them back to stderr.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "capi_test_client.hpp"
#include "talkgen.h"

namespace {

using capi_test::DemoClient;
using capi_test::ResultGuard;
using capi_test::TinyJob;

// What the callback received (from job worker threads).
struct Captured {
  std::mutex mutex;
  std::vector<std::pair<talkgen_log_level, std::string>> messages;

  static void callback(talkgen_log_level level, const char* message, void* user_data) {
    auto* self = static_cast<Captured*>(user_data);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->messages.emplace_back(level, message);
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return messages.size();
  }
  bool has(talkgen_log_level level, const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::any_of(messages.begin(), messages.end(), [&](const auto& m) {
      return m.first == level && m.second.find(text) != std::string::npos;
    });
  }
  bool any_below(talkgen_log_level level) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::any_of(messages.begin(), messages.end(), [&](const auto& m) { return m.first < level; });
  }
};

// Restores the process-wide log settings whatever the test's outcome.
struct LogSettingsGuard {
  ~LogSettingsGuard() {
    talkgen_set_log_callback(nullptr, nullptr);
    talkgen_set_log_level(TALKGEN_LOG_INFO);
  }
};

// Submits a job and cancels it at once: its end is logged at INFO ("job '<id>' cancelled: ...").
void cancelled_job(talkgen_client* client, const char* job_id) {
  TinyJob tiny;
  tiny.params.job_id = job_id;
  talkgen_job* job = nullptr;
  REQUIRE(talkgen_client_submit(client, &tiny.params, nullptr, nullptr, &job) == TALKGEN_OK);
  CHECK(talkgen_job_cancel(job) == TALKGEN_OK);
  CHECK(talkgen_job_wait(job, -1.0, nullptr) == TALKGEN_CANCELLED);  // the end is logged before waits return
  talkgen_job_free(job);
}

}  // namespace

TEST_CASE("a log callback receives the library's messages at and above the level") {
  Captured captured;
  LogSettingsGuard restore;  // destroyed first: the callback never outlives `captured`
  REQUIRE(talkgen_set_log_level(TALKGEN_LOG_INFO) == TALKGEN_OK);
  talkgen_set_log_callback(Captured::callback, &captured);

  DemoClient demo;
  TinyJob tiny;
  tiny.params.job_id = "log-capture";
  ResultGuard result;
  const talkgen_status s = talkgen_client_generate(demo.client, &tiny.params, nullptr, nullptr, &result.r);
  INFO(talkgen_last_error());
  REQUIRE(s == TALKGEN_OK);
  CHECK(captured.has(TALKGEN_LOG_INFO, "job 'log-capture' succeeded in"));
  CHECK(captured.has(TALKGEN_LOG_WARN, "UNTRAINED"));
  {
    std::lock_guard<std::mutex> lock(captured.mutex);
    for (const auto& m : captured.messages) {
      CHECK_FALSE(m.second.empty());
      CHECK(m.second.back() != '\n');  // one message, no line ending
    }
  }

  // WARN drops the INFO message of a job's end; INFO lets it through again.
  REQUIRE(talkgen_set_log_level(TALKGEN_LOG_WARN) == TALKGEN_OK);
  cancelled_job(demo.client, "log-quiet");
  CHECK_FALSE(captured.has(TALKGEN_LOG_INFO, "log-quiet"));
  REQUIRE(talkgen_set_log_level(TALKGEN_LOG_INFO) == TALKGEN_OK);
  cancelled_job(demo.client, "log-heard");
  CHECK(captured.has(TALKGEN_LOG_INFO, "job 'log-heard' cancelled"));
  CHECK_FALSE(captured.any_below(TALKGEN_LOG_INFO));

  // NULL: back to stderr, the callback hears nothing more.
  talkgen_set_log_callback(nullptr, nullptr);
  const size_t before = captured.count();
  cancelled_job(demo.client, "log-stderr");
  CHECK(captured.count() == before);
}

TEST_CASE("log levels outside the enum are refused, names match the C++ library's") {
  LogSettingsGuard restore;
  CHECK(talkgen_set_log_level(static_cast<talkgen_log_level>(6)) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("log level 6") != std::string::npos);
  CHECK(talkgen_set_log_level(static_cast<talkgen_log_level>(-1)) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_log_level_name(TALKGEN_LOG_TRACE)) == "trace");
  CHECK(std::string(talkgen_log_level_name(TALKGEN_LOG_WARN)) == "warn");
  CHECK(std::string(talkgen_log_level_name(TALKGEN_LOG_OFF)) == "off");
  CHECK(std::string(talkgen_log_level_name(static_cast<talkgen_log_level>(9))) == "unknown");
}
