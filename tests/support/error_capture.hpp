// What a call threw, for tests that check error codes and messages. Include it after Catch (or after
// support/catch_torch.hpp in tests that use libtorch).
#pragma once

#include <functional>
#include <initializer_list>
#include <string>

#include <catch2/catch.hpp>

#include "talkgen/error.hpp"

namespace talkgen_test {

/// The talkgen::Error's code, or ErrorCode::ok when nothing was thrown. Other exceptions propagate.
inline talkgen::ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.code();
  }
  return talkgen::ErrorCode::ok;
}

/// The talkgen::Error's message, or "" when nothing was thrown.
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.what();
  }
  return "";
}

/// Requires `f` to throw a talkgen::Error of `code` whose message contains every one of `needles`.
inline void require_error(const std::function<void()>& f, talkgen::ErrorCode code,
                          std::initializer_list<std::string> needles = {}) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    INFO("message: " << e.what());
    CHECK(std::string(talkgen::to_string(e.code())) == talkgen::to_string(code));
    for (const std::string& n : needles) CHECK(std::string(e.what()).find(n) != std::string::npos);
    return;
  }
  FAIL("expected a talkgen::Error (" << talkgen::to_string(code) << ")");
}
inline void require_error(const std::function<void()>& f, talkgen::ErrorCode code, const std::string& needle) {
  require_error(f, code, {needle});
}

}  // namespace talkgen_test
