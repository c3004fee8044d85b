// Progress of one job: fraction done, elapsed time and an ETA from the measured pace, reported through
// the job's callback, which can cancel (returns false -> Error(cancelled)).
#pragma once

#include <chrono>

#include "talkgen/generate.hpp"

namespace talkgen::pipeline {

class ProgressTracker {
 public:
  /// Work is counted in units: each sampling step is one, each chunk's decode + encode is one more.
  ProgressTracker(GenerateProgressCallback callback, int chunks, int steps,
                  std::chrono::steady_clock::time_point started);

  /// Reports `steps_done` steps finished in `chunk`. Throws Error(cancelled) when the callback says
  /// stop (except at Stage::done, when the work is already complete).
  void report(GenerateProgress::Stage stage, int chunk, int steps_done);
  /// Marks `chunk` as fully done (decoded and encoded).
  void chunk_done(int chunk);

  /// The state report() would send.
  GenerateProgress snapshot(GenerateProgress::Stage stage, int chunk, int steps_done) const;

 private:
  double units_done(int chunk, int steps_done) const;

  GenerateProgressCallback callback_;
  int chunks_, steps_;
  int chunks_finished_ = 0;
  std::chrono::steady_clock::time_point started_;
  // The pace is measured from the first finished step, so model loading and preparation do not skew it.
  bool pace_started_ = false;
  std::chrono::steady_clock::time_point pace_start_;
  double pace_units_at_start_ = 0;
};

}  // namespace talkgen::pipeline
