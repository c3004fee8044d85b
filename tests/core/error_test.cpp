#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "talkgen/error.hpp"

using talkgen::Error;
using talkgen::ErrorCode;

TEST_CASE("fail() throws an Error with its code and formatted message") {
  try {
    talkgen::fail(ErrorCode::not_found, "no file '{}' ({} bytes expected)", "a.png", 12);
    FAIL("fail() returned");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::not_found);
    CHECK(std::string(error.what()) == "no file 'a.png' (12 bytes expected)");
  }
}

TEST_CASE("every error code has a distinct name") {
  std::set<std::string> names;
  for (int code = 0; code <= static_cast<int>(ErrorCode::internal); ++code) {
    names.insert(talkgen::to_string(static_cast<ErrorCode>(code)));
  }
  CHECK(names.size() == static_cast<size_t>(ErrorCode::internal) + 1);
  CHECK(names.count("unknown") == 0);
  CHECK(std::string(talkgen::to_string(ErrorCode::checkpoint_mismatch)) == "checkpoint_mismatch");
}
