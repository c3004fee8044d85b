#include "log_sink.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "js_values.hpp"
#include "talkgen.h"

namespace talkgen_node {
namespace {

constexpr std::array<const char*, 6> kLevelNames = {"trace", "debug", "info", "warn", "error", "off"};

struct LogEntry {
  talkgen_log_level level;
  std::string message;
};

// One sink per process (the library has one); the environment that installed it owns it.
std::mutex sink_mutex;
std::optional<Napi::ThreadSafeFunction> sink;
napi_env sink_env = nullptr;

void deliver(Napi::Env env, Napi::Function handler, LogEntry* raw) {
  std::unique_ptr<LogEntry> entry(raw);
  if (env == nullptr || handler.IsEmpty()) return;  // the environment is going away
  Napi::Object o = Napi::Object::New(env);
  const auto index = static_cast<size_t>(entry->level);
  o.Set("level", index < kLevelNames.size() ? kLevelNames[index] : "info");
  o.Set("message", entry->message);
  handler.Call({o});
}

// On a library thread (or the main one): queue the message; never blocks, never calls JavaScript here.
void on_log(talkgen_log_level level, const char* message, void* /*user_data*/) {
  std::lock_guard<std::mutex> lock(sink_mutex);
  if (!sink) return;
  auto entry = std::make_unique<LogEntry>(LogEntry{level, message ? message : ""});
  if (sink->NonBlockingCall(entry.get(), deliver) == napi_ok) entry.release();
}

// Back to stderr; the old sink is released once no library thread can be inside on_log with it.
void clear_sink() {
  talkgen_set_log_callback(nullptr, nullptr);
  std::optional<Napi::ThreadSafeFunction> old;
  {
    std::lock_guard<std::mutex> lock(sink_mutex);
    old.swap(sink);
    sink_env = nullptr;
  }
  if (old) old->Release();
}

}  // namespace

Napi::Value set_log_handler(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Value handler = info.Length() > 0 ? info[0] : env.Undefined();
  if (handler.IsNull() || handler.IsUndefined()) {
    clear_sink();
    return env.Undefined();
  }
  if (!handler.IsFunction()) {
    throw Napi::TypeError::New(env, "setLogHandler(handler): handler must be a function or null");
  }
  auto fresh = Napi::ThreadSafeFunction::New(env, handler.As<Napi::Function>(), "talkgen.log", 0, 1);
  fresh.Unref(env);  // a log handler alone does not keep the process alive
  std::optional<Napi::ThreadSafeFunction> old;
  {
    std::lock_guard<std::mutex> lock(sink_mutex);
    old = std::exchange(sink, fresh);
    sink_env = env;
  }
  talkgen_set_log_callback(on_log, nullptr);
  if (old) old->Release();
  return env.Undefined();
}

Napi::Value set_log_level(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (name == kLevelNames[i]) {
      const talkgen_status status = talkgen_set_log_level(static_cast<talkgen_log_level>(i));
      if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
      return env.Undefined();
    }
  }
  throw Napi::TypeError::New(env, "setLogLevel(level): level must be one of 'trace', 'debug', 'info', 'warn', "
                                  "'error', 'off'");
}

void add_log_cleanup_hook(Napi::Env env) {
  env.AddCleanupHook([env] {
    bool owner = false;
    {
      std::lock_guard<std::mutex> lock(sink_mutex);
      owner = sink_env == static_cast<napi_env>(env);
    }
    if (owner) clear_sink();
  });
}

}  // namespace talkgen_node
