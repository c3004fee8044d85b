// Reading options objects from JavaScript and making the Errors the addon rejects with. Type mistakes are
// TypeErrors thrown at once (before any work is queued), naming the option.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talkgen.h"

namespace talkgen_node {

/// An Error whose `code` is the talkgen status name ("not_found", ...) and `status` its number.
inline Napi::Error make_error(Napi::Env env, talkgen_status status, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, talkgen_status_name(status)));
  error.Set("status", Napi::Number::New(env, status));
  return error;
}

inline bool has(const Napi::Object& o, const char* key) {
  if (!o.Has(key)) return false;
  const Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

inline std::optional<std::string> optional_string(const Napi::Object& o, const char* key) {
  if (!has(o, key)) return std::nullopt;
  if (!o.Get(key).IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return o.Get(key).As<Napi::String>().Utf8Value();
}

inline std::optional<double> optional_number(const Napi::Object& o, const char* key) {
  if (!has(o, key)) return std::nullopt;
  if (!o.Get(key).IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return o.Get(key).As<Napi::Number>().DoubleValue();
}

/// A number > 0, or nothing (the library's default). 0 and below are refused rather than silently meaning
/// "the default".
inline double positive_or_zero(const Napi::Object& o, const char* key) {
  const auto v = optional_number(o, key);
  if (!v) return 0;
  if (!(*v > 0)) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be a positive number (leave it out for the default)");
  }
  return *v;
}

inline std::optional<bool> optional_bool(const Napi::Object& o, const char* key) {
  if (!has(o, key)) return std::nullopt;
  if (!o.Get(key).IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a boolean");
  return o.Get(key).As<Napi::Boolean>().Value();
}

/// A path (string) or the bytes of a Buffer / Uint8Array (copied: the job runs on another thread).
struct Source {
  std::optional<std::string> path;
  std::vector<std::uint8_t> bytes;
};
inline Source optional_source(const Napi::Object& o, const char* key) {
  Source source;
  if (!has(o, key)) return source;
  const Napi::Value v = o.Get(key);
  if (v.IsString()) {
    source.path = v.As<Napi::String>().Utf8Value();
  } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    const auto a = v.As<Napi::Uint8Array>();
    source.bytes.assign(a.Data(), a.Data() + a.ByteLength());
    if (source.bytes.empty()) throw Napi::TypeError::New(o.Env(), std::string(key) + " is an empty buffer");
  } else {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a path (string) or a Buffer / Uint8Array");
  }
  return source;
}

inline const char* c_str(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

}  // namespace talkgen_node
