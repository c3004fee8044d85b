#include "cli/run_temp_files.hpp"

#include <unistd.h>

#include <filesystem>

namespace talkgen::cli {
namespace {

// ".<target's name>.<anything>.tmp" in the target's folder.
std::vector<std::string> temp_files_of(const std::string& target) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  if (target.empty()) return found;
  const fs::path path(target);
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string prefix = "." + path.filename().string() + ".";
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > prefix.size() + 4 && name.compare(0, prefix.size(), prefix) == 0 &&
        name.compare(name.size() - 4, 4, ".tmp") == 0)
      found.push_back(it->path().string());
  }
  return found;
}

}  // namespace

RunTempFiles::RunTempFiles(std::vector<std::string> targets) : targets_(std::move(targets)) {
  for (const auto& target : targets_)
    for (auto& path : temp_files_of(target)) before_.insert(std::move(path));
}

int RunTempFiles::remove_new() const {
  int removed = 0;
  for (const auto& target : targets_)
    for (const auto& path : temp_files_of(target))
      if (!before_.count(path) && ::unlink(path.c_str()) == 0) ++removed;
  return removed;
}

}  // namespace talkgen::cli
