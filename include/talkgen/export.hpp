// TALKGEN_API marks the declarations of libtalkgen's public C++ API: the library is compiled with
// -fvisibility=hidden, so only what carries this macro is exported from libtalkgen.so (everything under
// src/ stays internal). Put it on every class and free function declared in include/talkgen/:
//
//   class TALKGEN_API Encoder { ... };
//   TALKGEN_API Image decode_image(const std::string& path, const DecodeLimits& limits = {});
//
// Templates and inline functions defined in the headers need no mark: they are compiled into the caller.
// Consumers define nothing on Linux and macOS. On Windows the library's own sources are compiled with
// TALKGEN_BUILD (dllexport); a program linking the DLL gets dllimport, one linking the static parts
// defines TALKGEN_STATIC. The C ABI (talkgen.h, libtalkgen_c.so) has its own export list.
#pragma once

#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(TALKGEN_BUILD)
#    define TALKGEN_API __declspec(dllexport)
#  elif defined(TALKGEN_STATIC)
#    define TALKGEN_API
#  else
#    define TALKGEN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define TALKGEN_API __attribute__((visibility("default")))
#else
#  define TALKGEN_API
#endif
