#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

using namespace talkgen;

namespace {
struct CapturedLog {
  std::vector<std::pair<LogLevel, std::string>> lines;
  LogLevel saved_level = log_level();
  CapturedLog() {
    set_log_sink([this](LogLevel level, std::string_view message) { lines.emplace_back(level, std::string(message)); });
  }
  ~CapturedLog() {
    set_log_sink(nullptr);
    set_log_level(saved_level);
  }
};
}  // namespace

TEST_CASE("the host's sink receives formatted messages at or above the level") {
  CapturedLog captured;
  set_log_level(LogLevel::info);
  log_debug("hidden {}", 1);
  log_info("shown {} of {}", 1, 2);
  log_error("also {}", "shown");
  REQUIRE(captured.lines.size() == 2);
  CHECK(captured.lines[0].first == LogLevel::info);
  CHECK(captured.lines[0].second == "shown 1 of 2");
  CHECK(captured.lines[1].first == LogLevel::error);
}

TEST_CASE("log levels parse case-insensitively and reject unknown names") {
  CHECK(parse_log_level("DEBUG") == LogLevel::debug);
  CHECK(parse_log_level("off") == LogLevel::off);
  CHECK_THROWS_MATCHES(parse_log_level("verbose"), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::invalid_argument; }));
}

TEST_CASE("the library reads no TALKGEN_LOG: the level is info until the host sets one") {
  // ctest runs each case in a process of its own, so this is the level the library starts with.
  ::setenv("TALKGEN_LOG", "off", 1);
  CHECK(log_level() == LogLevel::info);
  CapturedLog captured;
  log_info("still shown");
  ::unsetenv("TALKGEN_LOG");
  REQUIRE(captured.lines.size() == 1);
  CHECK(captured.lines[0].second == "still shown");
}
