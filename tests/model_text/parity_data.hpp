// Locating the committed umT5 parity files (tools/parity/gen_umt5.py); a missing file fails the test
// with the command that makes it.
#pragma once

#include <filesystem>
#include <string>

#include "catch_prefixed.hpp"

namespace umt5_test {

inline std::string data_dir() { return std::string(TALKGEN_TEST_DATA_DIR) + "/parity/umt5"; }

inline std::string require_file(const std::string& name) {
  const std::string path = data_dir() + "/" + name;
  if (!std::filesystem::exists(path))
    CATCH_FAIL("missing parity file " << path
                                << ": generate it on the GPU machine with `python3 tools/parity/gen_umt5.py --ref "
                                   ".ref/infinitetalk` and commit tests/data/parity/umt5/");
  return path;
}

}  // namespace umt5_test
