// The defaults of the params structs, taken from the C++ library's own defaults (never restated here):
// what talkgen_*_init_sized() writes and, cut to the 0.1.0 layout, what the 0.1 `_default()` symbols return.
#pragma once

#include "talkgen.h"

namespace talkgen::capi {

talkgen_encode_params encode_params_defaults();
talkgen_client_options client_options_defaults();
talkgen_job_params job_params_defaults();

}  // namespace talkgen::capi
