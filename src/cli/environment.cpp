#include "cli/environment.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {
namespace {

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

}  // namespace

void apply_log_environment() {
  const std::string level = variable("TALKGEN_LOG");
  if (level.empty()) return;
  try {
    set_log_level(parse_log_level(level));
  } catch (const Error&) {
    fmt::print(stderr, "talkgen: TALKGEN_LOG='{}' is not one of trace|debug|info|warn|error|off; using info\n",
               level);
  }
}

std::string attention_from_environment() { return variable("TALKGEN_ATTENTION"); }
std::string dit_fast_paths_from_environment() { return variable("TALKGEN_DIT_FAST"); }

}  // namespace talkgen::cli
