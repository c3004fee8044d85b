// talkgen's log through the C ABI: a C callback as the process-wide talkgen::set_log_sink, and the level.
// The sink is called under the log's own lock, so the host's callback sees one message at a time.
#include <string>
#include <string_view>

#include "capi_support.hpp"
#include "talkgen.h"
#include "talkgen/log.hpp"

using talkgen::capi::guarded;

extern "C" {

void talkgen_set_log_callback(talkgen_log_fn fn, void* user_data) {
  // Nothing here is expected to fail (the sink holds two pointers); guarded() keeps it off the C caller.
  (void)guarded([&] {
    if (!fn) {
      talkgen::set_log_sink(nullptr);
      return;
    }
    talkgen::set_log_sink([fn, user_data](talkgen::LogLevel level, std::string_view message) {
      const std::string text(message);  // a view need not end in '\0'; the callback gets a C string
      fn(static_cast<talkgen_log_level>(level), text.c_str(), user_data);
    });
  });
}

talkgen_status talkgen_set_log_level(talkgen_log_level level) {
  return guarded([&] {
    if (level < TALKGEN_LOG_TRACE || level > TALKGEN_LOG_OFF) {
      talkgen::fail(talkgen::ErrorCode::invalid_argument,
                    "log level {} is not a talkgen_log_level (TALKGEN_LOG_TRACE = 0 .. TALKGEN_LOG_OFF = 5)",
                    static_cast<int>(level));
    }
    talkgen::set_log_level(static_cast<talkgen::LogLevel>(level));
  });
}

const char* talkgen_log_level_name(talkgen_log_level level) {
  if (level < TALKGEN_LOG_TRACE || level > TALKGEN_LOG_OFF) return "unknown";
  return talkgen::to_string(static_cast<talkgen::LogLevel>(level));
}

}  // extern "C"
