// Logging: one process-wide sink that the host application may replace.
//
// The default sink writes "[talkgen level] message" to stderr. The level is info until set_log_level() is
// called; the library reads no environment variable for it (the `talkgen` CLI maps TALKGEN_LOG onto it).
#pragma once

#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "talkgen/export.hpp"

namespace talkgen {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

using LogSink = std::function<void(LogLevel, std::string_view message)>;

/// Replaces the sink (nullptr restores the stderr default). Thread-safe.
TALKGEN_API void set_log_sink(LogSink sink);
TALKGEN_API void set_log_level(LogLevel level);
TALKGEN_API LogLevel log_level();
/// Parses "trace".."off" (case-insensitive); throws Error(invalid_argument) otherwise.
TALKGEN_API LogLevel parse_log_level(std::string_view name);
TALKGEN_API const char* to_string(LogLevel level) noexcept;

namespace detail {
TALKGEN_API void emit_log(LogLevel level, std::string_view message);
}

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level()) return;
  detail::emit_log(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::debug, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::info, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::warn, f, std::forward<Args>(a)...); }
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::error, f, std::forward<Args>(a)...); }

}  // namespace talkgen
