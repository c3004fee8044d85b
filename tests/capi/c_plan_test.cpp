// The Planner through the C ABI (talkgen_client_plan over talkgen::Client::plan): its arguments are checked,
// and a client the Planner cannot size says so with UNSUPPORTED instead of inventing figures.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "capi_test_client.hpp"
#include "talkgen.h"

using capi_test::DemoClient;

TEST_CASE("talkgen_client_plan refuses bad arguments before planning") {
  DemoClient demo;
  talkgen_plan* plan = reinterpret_cast<talkgen_plan*>(0x1);
  CHECK(talkgen_client_plan(demo.client, 0.0, nullptr, nullptr, 0, 0, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(plan == nullptr);
  CHECK(std::string(talkgen_last_error()).find("duration_sec") != std::string::npos);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(talkgen_client_plan(demo.client, nan, nullptr, nullptr, 0, 0, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_plan(demo.client, 10, "ultra", nullptr, 0, 0, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("ultra") != std::string::npos);
  CHECK(talkgen_client_plan(demo.client, 10, nullptr, "1080p", 0, 0, &plan) == TALKGEN_UNSUPPORTED);
  CHECK(std::string(talkgen_last_error()).find("1080p") != std::string::npos);
  CHECK(talkgen_client_plan(demo.client, 10, nullptr, nullptr, -1, 0, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("budget_usd") != std::string::npos);
  CHECK(talkgen_client_plan(demo.client, 10, nullptr, nullptr, 0, nan, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("deadline_sec") != std::string::npos);
  CHECK(talkgen_client_plan(nullptr, 10, nullptr, nullptr, 0, 0, &plan) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_plan(demo.client, 10, nullptr, nullptr, 0, 0, nullptr) == TALKGEN_INVALID_ARGUMENT);
  CHECK(plan == nullptr);
  talkgen_plan_free(nullptr);  // harmless
}

TEST_CASE("talkgen_client_plan on the demo model on the CPU is UNSUPPORTED, naming why") {
  DemoClient demo;
  talkgen_plan* plan = reinterpret_cast<talkgen_plan*>(0x1);
  CHECK(talkgen_client_plan(demo.client, 10, "balanced", "480p", 0.5, 60, &plan) == TALKGEN_UNSUPPORTED);
  CHECK(plan == nullptr);
  const std::string message = talkgen_last_error();
  CHECK(message.find("demo model") != std::string::npos);
  CHECK(message.find("talkgen plan --gpu-type") != std::string::npos);
}
