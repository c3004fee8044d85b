// What every C ABI translation unit shares: this thread's last error, exception -> status translation, and
// the struct_size rules (talkgen.h's conventions): initialising a caller's struct of the caller's size,
// reading params structs from callers built against an older (shorter) or newer (longer) talkgen.h, and
// filling out structs no further than the caller's size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "abi_0_1.hpp"
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

/// talkgen_*_init_sized(): zeros and `defaults` into exactly `caller_size` bytes at `p`, struct_size =
/// caller_size. A caller_size below the first release's struct is a caller that did not pass sizeof(*p).
template <typename Params>
void init_sized(Params* p, size_t caller_size, Params defaults, const char* type_name) {
  if (!p) fail(ErrorCode::invalid_argument, "the {} pointer is NULL: pass the address of your struct", type_name);
  if (caller_size < first_release_size<Params>()) {
    fail(ErrorCode::invalid_argument,
         "caller_size is {}, smaller than {} has ever been ({} bytes in talkgen 0.1.0): pass sizeof(*p), as the "
         "{}_init(p) macro does",
         caller_size, type_name, first_release_size<Params>(), type_name);
  }
  std::memset(static_cast<void*>(p), 0, caller_size);
  defaults.struct_size = caller_size;
  std::memcpy(static_cast<void*>(p), &defaults, std::min(caller_size, sizeof(Params)));
}

/// A params struct as this library knows it: a shorter one from an older caller keeps our defaults beyond
/// its struct_size; a longer one from a newer caller is read if the fields we do not know are zero (the
/// value its init gave them in this library), and refused otherwise rather than silently ignored.
template <typename Params>
Params read_params(const Params* given, Params defaults, const char* name, const char* type_name) {
  if (!given) {
    fail(ErrorCode::invalid_argument, "{} is NULL: pass a {} initialised with {}_init()", name, type_name, type_name);
  }
  const size_t size = given->struct_size;
  if (size < first_release_size<Params>()) {
    fail(ErrorCode::invalid_argument,
         "{}.struct_size is {} (no talkgen release has a {} under {} bytes): initialise it with {}_init()", name,
         size, type_name, first_release_size<Params>(), type_name);
  }
  if (size > sizeof(Params)) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(given);
    const auto* unknown = std::find_if(bytes + sizeof(Params), bytes + size, [](unsigned char b) { return b != 0; });
    if (unknown != bytes + size) {
      fail(ErrorCode::unsupported,
           "{} sets a field at byte {} that this talkgen library ({}.{}.{}) does not have ({} ends at byte {}): "
           "the program was built against a newer talkgen.h; install that talkgen or leave the field unset",
           name, unknown - bytes, TALKGEN_ABI_VERSION_MAJOR, TALKGEN_ABI_VERSION_MINOR, TALKGEN_ABI_VERSION_PATCH,
           type_name, sizeof(Params));
    }
  }
  std::memcpy(static_cast<void*>(&defaults), given, std::min(size, sizeof(Params)));
  defaults.struct_size = sizeof(Params);
  return defaults;
}

/// Copies `value` into a caller-allocated out struct, no further than the caller's struct_size (a newer
/// caller's longer struct gets what this library has), and sets struct_size to the bytes filled.
template <typename Out>
void write_out(Out* out, Out value, const char* name) {
  if (!out) fail(ErrorCode::invalid_argument, "{} is NULL", name);
  const size_t size = out->struct_size;
  if (size < sizeof(size_t)) {
    fail(ErrorCode::invalid_argument, "{}->struct_size is {}: set it to sizeof the struct before the call", name,
         size);
  }
  const size_t filled = std::min(size, sizeof(Out));
  value.struct_size = filled;
  std::memcpy(static_cast<void*>(out), &value, filled);
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
