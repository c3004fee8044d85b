// The talkgen 0.1 initialisers, kept for programs built against that release: they return the params
// structs by value, so they must return exactly the 0.1.0 layout (abi_0_1.hpp) -- a caller built then has a
// buffer of that size only. talkgen.h no longer declares them; new code uses talkgen_*_init(&p).
#include <cstring>

#include "abi_0_1.hpp"
#include "struct_defaults.hpp"
#include "talkgen.h"

namespace {

// Today's defaults cut to the 0.1.0 prefix (the fields sit at the same offsets: abi_0_1.hpp checks it).
template <typename Frozen, typename Current>
Frozen first_release_prefix(const Current& current) {
  Frozen frozen;
  std::memcpy(static_cast<void*>(&frozen), &current, sizeof(Frozen));
  frozen.struct_size = sizeof(Frozen);
  return frozen;
}

}  // namespace

extern "C" {

TALKGEN_API talkgen::capi::v0_1::encode_params talkgen_encode_params_default(void) {
  return first_release_prefix<talkgen::capi::v0_1::encode_params>(talkgen::capi::encode_params_defaults());
}

TALKGEN_API talkgen::capi::v0_1::client_options talkgen_client_options_default(void) {
  return first_release_prefix<talkgen::capi::v0_1::client_options>(talkgen::capi::client_options_defaults());
}

TALKGEN_API talkgen::capi::v0_1::job_params talkgen_job_params_default(void) {
  return first_release_prefix<talkgen::capi::v0_1::job_params>(talkgen::capi::job_params_defaults());
}

}  // extern "C"
