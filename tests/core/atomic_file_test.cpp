// Whole-file writes: the new content appears at once, a failed write leaves the old file and no
// temporary behind, and the mode is the one asked for.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/atomic_file.hpp"
#include "talkgen/error.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int temporaries_in(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("write_file_atomically writes, replaces and leaves no temporary") {
  const std::string dir = fresh_dir("atomic_file");
  const std::string path = dir + "/result.json";
  talkgen::write_file_atomically(path, std::string_view("{\"a\": 1}\n"));
  CHECK(read_all(path) == "{\"a\": 1}\n");
  talkgen::write_file_atomically(path, std::vector<std::uint8_t>{'x', 'y'}, 0600);
  CHECK(read_all(path) == "xy");
  CHECK((fs::status(path).permissions() & fs::perms::group_read) == fs::perms::none);
  CHECK(temporaries_in(dir) == 0);
}

TEST_CASE("write_file_atomically fails with io_error and keeps the old file") {
  const std::string dir = fresh_dir("atomic_file_fail");
  try {
    talkgen::write_file_atomically(dir + "/missing/folder/out.json", std::string_view("x"));
    FAIL("no error for a missing folder");
  } catch (const talkgen::Error& e) {
    CHECK(e.code() == talkgen::ErrorCode::io_error);
    CHECK(std::string(e.what()).find("missing/folder") != std::string::npos);
  }
  // A path that is a folder cannot be replaced by a file: the rename fails, the folder stays.
  const std::string taken = dir + "/taken";
  fs::create_directories(taken + "/inside");
  CHECK_THROWS_AS(talkgen::write_file_atomically(taken, std::string_view("x")), talkgen::Error);
  CHECK(fs::is_directory(taken + "/inside"));
  CHECK(temporaries_in(dir) == 0);
}
