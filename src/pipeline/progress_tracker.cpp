#include "pipeline/progress_tracker.hpp"

#include <algorithm>

#include "planner/work_model.hpp"
#include "talkgen/error.hpp"

namespace talkgen::pipeline {

using Stage = GenerateProgress::Stage;

namespace {

double seconds_between(ProgressTracker::Clock::time_point from, ProgressTracker::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

ProgressTracker::ProgressTracker(GenerateProgressCallback callback, int chunks, int steps, Clock::time_point started,
                                 Now now)
    : callback_(std::move(callback)),
      chunks_(std::max(chunks, 1)),
      steps_(std::max(steps, 1)),
      started_(started),
      now_(now ? std::move(now) : Now(Clock::now)) {}

double ProgressTracker::units_done(int chunk, int steps_done) const {
  // Chunks before `chunk` are complete (steps + 1 each); the current one has `steps_done` steps.
  const int complete = std::max(chunks_finished_, chunk);
  double units = static_cast<double>(complete) * (steps_ + 1);
  if (chunks_finished_ <= chunk) units += std::min(steps_done, steps_);
  return units;
}

double ProgressTracker::step_seconds() const {
  if (steps_timed_ > 0) return steps_seconds_ / steps_timed_;
  return first_step_seconds_;
}

double ProgressTracker::tail_seconds() const {
  if (tails_timed_ > 0) return tails_seconds_ / tails_timed_;
  // Before any tail is timed: the preparation VAE-encoded a chunk's worth of frames (the condition video),
  // the tail VAE-decodes one, and the decoder costs more per pixel (planner/work_model.hpp). Without a timed
  // preparation (a tracker fed by hand), one step's worth.
  constexpr double kDecodePerEncode = planner::kVaeDecodeFlopsPerPixel / planner::kVaeEncodeFlopsPerPixel;
  if (preparing_seconds_ > 0) return kDecodePerEncode * preparing_seconds_;
  return step_seconds();
}

GenerateProgress ProgressTracker::snapshot(Stage stage, int chunk, int steps_done) const {
  GenerateProgress p;
  p.stage = stage;
  p.chunk = chunk;
  p.chunks = chunks_;
  p.step = steps_done;
  p.steps = steps_;
  const double total = static_cast<double>(chunks_) * (steps_ + 1);
  const double done = stage == Stage::done ? total : units_done(chunk, steps_done);
  p.fraction = std::clamp(done / total, 0.0, 1.0);
  const auto now = now_();
  p.elapsed_seconds = seconds_between(started_, now);
  if (stage == Stage::done) {
    p.eta_seconds = 0;
    return p;
  }
  const double step = step_seconds();
  if (step < 0) return p;  // nothing timed yet: eta stays -1
  const double tail = tail_seconds();

  // The chunk under way (unless chunk_done() already closed it): its steps left, then its tail; a tail in
  // progress counts down from its estimate, so the ETA moves on while the decode runs instead of jumping.
  double eta = 0;
  if (chunks_finished_ <= chunk) {
    if (stage == Stage::decoding || stage == Stage::encoding) {
      const bool timing_tail = in_tail_ && tail_chunk_ == chunk;
      eta += std::max(0.0, tail - (timing_tail ? seconds_between(tail_start_, now) : 0.0));
    } else {
      eta += (steps_ - std::clamp(steps_done, 0, steps_)) * step + tail;
    }
  }
  const int later_chunks = chunks_ - std::max(chunk + 1, chunks_finished_);
  eta += std::max(later_chunks, 0) * (steps_ * step + tail);
  p.eta_seconds = eta;
  return p;
}

void ProgressTracker::time_event(Stage stage, int chunk, int steps_done, Clock::time_point now) {
  switch (stage) {
    case Stage::preparing:
      // The first preparing report comes before the preparation, the last when it is over: the
      // preparation's time is the tails' first estimate, and the first step is timed from its end.
      if (!preparing_started_) {
        preparing_started_ = true;
        preparing_start_ = now;
      } else {
        preparing_seconds_ = seconds_between(preparing_start_, now);
      }
      have_mark_ = true;
      mark_ = now;
      mark_chunk_ = chunk;
      mark_step_ = 0;
      break;
    case Stage::sampling: {
      const int steps = have_mark_ && mark_chunk_ == chunk ? steps_done - mark_step_ : 0;
      if (steps >= 1) {
        const double seconds = seconds_between(mark_, now);
        if (first_step_seconds_ < 0) {
          first_step_seconds_ = seconds / steps;  // may carry warm-up: used only until others are timed
        } else {
          steps_seconds_ += seconds;
          steps_timed_ += steps;
        }
      }
      if (steps >= 1 || !have_mark_ || mark_chunk_ != chunk) {
        have_mark_ = true;
        mark_ = now;
        mark_chunk_ = chunk;
        mark_step_ = steps_done;
      }
      break;
    }
    case Stage::decoding:
    case Stage::encoding:
      // The tail starts at the decoding report (or at encoding, should a pipeline not report decoding).
      if (!(in_tail_ && tail_chunk_ == chunk)) {
        in_tail_ = true;
        tail_chunk_ = chunk;
        tail_start_ = now;
      }
      break;
    case Stage::done:
      break;
  }
}

void ProgressTracker::report(Stage stage, int chunk, int steps_done) {
  time_event(stage, chunk, steps_done, now_());
  if (!callback_) return;
  const GenerateProgress p = snapshot(stage, chunk, steps_done);
  const bool go_on = callback_(p);
  if (!go_on && stage != Stage::done)
    fail(ErrorCode::cancelled, "the job was cancelled by its progress callback (chunk {} of {}, step {} of {})",
         chunk + 1, chunks_, steps_done, steps_);
}

void ProgressTracker::chunk_done(int chunk) {
  const auto now = now_();
  if (in_tail_ && tail_chunk_ == chunk) {
    tails_seconds_ += seconds_between(tail_start_, now);
    ++tails_timed_;
    in_tail_ = false;
  }
  // The next chunk's first step is timed from here (its noise and audio windows are part of it).
  have_mark_ = true;
  mark_ = now;
  mark_chunk_ = chunk + 1;
  mark_step_ = 0;
  chunks_finished_ = std::max(chunks_finished_, chunk + 1);
}

}  // namespace talkgen::pipeline
