#include "pipeline/progress_tracker.hpp"

#include <algorithm>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {

using Clock = std::chrono::steady_clock;

ProgressTracker::ProgressTracker(GenerateProgressCallback callback, int chunks, int steps, Clock::time_point started)
    : callback_(std::move(callback)), chunks_(std::max(chunks, 1)), steps_(std::max(steps, 1)), started_(started) {}

double ProgressTracker::units_done(int chunk, int steps_done) const {
  // Chunks before `chunk` are complete (steps + 1 each); the current one has `steps_done` steps.
  const int complete = std::max(chunks_finished_, chunk);
  double units = static_cast<double>(complete) * (steps_ + 1);
  if (chunks_finished_ <= chunk) units += std::min(steps_done, steps_);
  return units;
}

GenerateProgress ProgressTracker::snapshot(GenerateProgress::Stage stage, int chunk, int steps_done) const {
  GenerateProgress p;
  p.stage = stage;
  p.chunk = chunk;
  p.chunks = chunks_;
  p.step = steps_done;
  p.steps = steps_;
  const double total = static_cast<double>(chunks_) * (steps_ + 1);
  const double done = stage == GenerateProgress::Stage::done ? total : units_done(chunk, steps_done);
  p.fraction = std::clamp(done / total, 0.0, 1.0);
  const auto now = Clock::now();
  p.elapsed_seconds = std::chrono::duration<double>(now - started_).count();
  if (stage == GenerateProgress::Stage::done) {
    p.eta_seconds = 0;
  } else if (pace_started_ && done > pace_units_at_start_) {
    const double pace = std::chrono::duration<double>(now - pace_start_).count() / (done - pace_units_at_start_);
    p.eta_seconds = pace * (total - done);
  }
  return p;
}

void ProgressTracker::report(GenerateProgress::Stage stage, int chunk, int steps_done) {
  if (!pace_started_ && stage == GenerateProgress::Stage::sampling && steps_done >= 1) {
    // The first step's own time is unknown (preparation ran just before it): start the clock here.
    pace_started_ = true;
    pace_start_ = Clock::now();
    pace_units_at_start_ = units_done(chunk, steps_done);
  }
  if (!callback_) return;
  const GenerateProgress p = snapshot(stage, chunk, steps_done);
  const bool go_on = callback_(p);
  if (!go_on && stage != GenerateProgress::Stage::done)
    fail(ErrorCode::cancelled, "the job was cancelled by its progress callback (chunk {} of {}, step {} of {})",
         chunk + 1, chunks_, steps_done, steps_);
}

void ProgressTracker::chunk_done(int chunk) { chunks_finished_ = std::max(chunks_finished_, chunk + 1); }

}  // namespace talkgen::pipeline
