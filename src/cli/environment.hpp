// The environment variables the command line honours, read in one place: the library reads none for its
// behaviour (an embedding host decides through options), so the CLI turns these into options.
//
//   TALKGEN_LOG        trace|debug|info|warn|error|off: the log level (default info)
//   TALKGEN_ATTENTION  the DiT's attention kernel (auto, cudnn, flash, efficient, fa3)
//   TALKGEN_DIT_FAST   the DiT's fast paths (default, all, none or a list such as fused,kernels,gelu)
#pragma once

#include <string>

namespace talkgen::cli {

/// Sets the log level from TALKGEN_LOG (a bad value is reported on stderr and ignored).
void apply_log_environment();

/// TALKGEN_ATTENTION / TALKGEN_DIT_FAST, or "" when unset (the build's defaults).
std::string attention_from_environment();
std::string dit_fast_paths_from_environment();

}  // namespace talkgen::cli
