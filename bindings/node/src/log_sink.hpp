// The library's log messages delivered to JavaScript instead of stderr (talkgen_set_log_callback). The library
// calls its sink from any of its threads; a thread-safe function carries each message to the event loop.
#pragma once

#include <napi.h>

namespace talkgen_node {

/// setLogHandler(fn | null): fn({level, message}) receives every message from now on (null: stderr again).
Napi::Value set_log_handler(const Napi::CallbackInfo& info);
/// setLogLevel('trace' | 'debug' | 'info' | 'warn' | 'error' | 'off').
Napi::Value set_log_level(const Napi::CallbackInfo& info);
/// Hands the sink back to stderr when this environment ends (the library outlives it in a worker thread).
void add_log_cleanup_hook(Napi::Env env);

}  // namespace talkgen_node
