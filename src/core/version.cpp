#include "talkgen/version.hpp"

#include "core/build_info.hpp"

namespace talkgen {
const char* version() { return TALKGEN_VERSION_STRING; }
const char* build_features() { return TALKGEN_BUILD_FEATURES; }
}  // namespace talkgen
