// Where tests write: the build's scratch folder (TALKGEN_TEST_SCRATCH_DIR, set by tests/CMakeLists.txt).
#pragma once

#include <filesystem>
#include <string>

namespace talkgen_test {

/// A path in the scratch folder (nothing is made: tests also name paths in folders that must not exist).
inline std::string scratch_path(const std::string& name) {
  return (std::filesystem::path(TALKGEN_TEST_SCRATCH_DIR) / name).string();
}

/// An empty folder in the scratch folder for one test case (whatever an earlier run left there is removed).
inline std::string fresh_scratch_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(TALKGEN_TEST_SCRATCH_DIR) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace talkgen_test
