// The hidden temporary files the MP4 writer and the frame dump make beside their targets
// (".<name>.<random>.tmp", see media/encoder_file_output.cpp and pipeline/frame_dump.cpp). Those that were not
// there when a command started are its own: a second Ctrl-C, which quits without waiting for the library to
// unwind (and remove them itself), removes them first.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace talkgen::cli {

class RunTempFiles {
 public:
  /// Notes the temporary files already beside each target (empty targets are ignored).
  explicit RunTempFiles(std::vector<std::string> targets);

  /// Removes the temporary files that appeared since; returns how many. Safe while the job's thread is
  /// still writing one (the file goes; its writer fails or is never heard from again).
  int remove_new() const;

 private:
  std::vector<std::string> targets_;
  std::set<std::string> before_;
};

}  // namespace talkgen::cli
