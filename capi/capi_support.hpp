// What every C ABI translation unit shares: this thread's last error, exception -> status translation, and
// reading params structs from callers built against an older (shorter) talkgen.h.
#pragma once

#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "talkgen.h"
#include "talkgen/error.hpp"

namespace talkgen::capi {

/// This thread's last failure message (talkgen_last_error()).
std::string& last_error();

inline talkgen_status record(ErrorCode code, const char* message) {
  last_error() = message;
  return static_cast<talkgen_status>(code);
}

/// Runs `body`, turning every exception into a status and this thread's last error.
template <typename Body>
talkgen_status guarded(Body&& body) noexcept {
  try {
    last_error().clear();
    body();
    return TALKGEN_OK;
  } catch (const Error& e) {
    return record(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return record(ErrorCode::out_of_memory, "out of host memory");
  } catch (const std::exception& e) {
    return record(ErrorCode::internal, e.what());
  } catch (...) {
    return record(ErrorCode::internal, "an unknown exception crossed the C ABI (a bug in talkgen: please report it)");
  }
}

/// A params struct from an older caller may be shorter: copy what it has over our defaults.
template <typename Params>
Params read_params(const Params* given, Params defaults, const char* name) {
  if (!given) fail(ErrorCode::invalid_argument, "{} is NULL: pass a struct filled by its *_default() function", name);
  if (given->struct_size == 0 || given->struct_size > sizeof(Params)) {
    fail(ErrorCode::invalid_argument,
         "{}.struct_size is {} (expected 1..{}): initialise {} with its *_default() function", name,
         given->struct_size, sizeof(Params), name);
  }
  std::memcpy(&defaults, given, given->struct_size);
  return defaults;
}

/// Copies `value` into a caller-allocated out struct, no further than the caller's struct_size.
template <typename Out>
void write_out(Out* out, Out value, const char* name) {
  if (!out) fail(ErrorCode::invalid_argument, "{} is NULL", name);
  const size_t size = out->struct_size;
  if (size == 0 || size > sizeof(Out)) {
    fail(ErrorCode::invalid_argument, "{}->struct_size is {} (expected 1..{}): set it to sizeof the struct", name,
         size, sizeof(Out));
  }
  value.struct_size = size;
  std::memcpy(out, &value, size);
}

/// Seconds >= 0 (finite) or Error(invalid_argument) naming the field.
inline double non_negative(double seconds, const char* field) {
  if (!std::isfinite(seconds) || seconds < 0) {
    fail(ErrorCode::invalid_argument, "{} is {} (expected a finite number >= 0; 0 means the default)", field,
         seconds);
  }
  return seconds;
}

}  // namespace talkgen::capi
