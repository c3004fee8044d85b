// What a call threw, for tests that check error codes and messages: the talkgen::Error's code (ok when
// nothing was thrown) or its message (empty when nothing was thrown). Other exceptions propagate.
#pragma once

#include <functional>
#include <string>

#include "talkgen/error.hpp"

namespace talkgen_test {

inline talkgen::ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.code();
  }
  return talkgen::ErrorCode::ok;
}

inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const talkgen::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace talkgen_test
