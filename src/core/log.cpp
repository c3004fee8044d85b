#include "talkgen/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>

#include "talkgen/error.hpp"

namespace talkgen {
namespace {

// The level is the host's setting (set_log_level); the library reads no environment variable for it (the
// CLI maps TALKGEN_LOG onto set_log_level).
std::atomic<int> current_level{static_cast<int>(LogLevel::info)};

struct SinkHolder {
  std::mutex mutex;
  LogSink sink;
};
SinkHolder& sink_holder() {
  static SinkHolder holder;
  return holder;
}

}  // namespace

const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "?";
}

LogLevel parse_log_level(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (int i = 0; i <= static_cast<int>(LogLevel::off); ++i) {
    if (lower == to_string(static_cast<LogLevel>(i))) return static_cast<LogLevel>(i);
  }
  fail(ErrorCode::invalid_argument, "unknown log level '{}': expected trace, debug, info, warn, error or off", name);
}

void set_log_level(LogLevel level) { current_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(current_level.load(std::memory_order_relaxed)); }

void set_log_sink(LogSink sink) {
  auto& holder = sink_holder();
  std::lock_guard<std::mutex> lock(holder.mutex);
  holder.sink = std::move(sink);
}

namespace detail {
void emit_log(LogLevel level, std::string_view message) {
  auto& holder = sink_holder();
  std::lock_guard<std::mutex> lock(holder.mutex);
  if (holder.sink) {
    holder.sink(level, message);
    return;
  }
  fmt::print(stderr, "[talkgen {}] {}\n", to_string(level), message);
}
}  // namespace detail

}  // namespace talkgen
