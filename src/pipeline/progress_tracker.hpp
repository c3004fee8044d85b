// Progress of one job: fraction done, elapsed time and an ETA from the measured pace, reported through
// the job's callback, which can cancel (returns false -> Error(cancelled)).
//
// A job is `chunks` x (`steps` sampling steps + the chunk's tail: VAE decode, colour match, hand-off to the
// encoder). Steps and tails cost very different amounts of time (a decode can be many steps' worth on one
// device and a fraction of one on another), so the ETA times them separately:
//   ETA = steps left x seconds per step + tails left x seconds per tail - the part of the current tail done.
// One pace for both (the old rule) let a long decode inflate the per-step pace while no unit was finished,
// so the ETA jumped up at the encoding stage and every later chunk's steps looked slower than they were.
// Before the first tail has been timed, its estimate comes from the preparation, which VAE-encodes a chunk's
// worth of frames as the tail decodes one, so the first chunk's decode does not surprise the ETA either.
#pragma once

#include <chrono>
#include <functional>

#include "talkgen/generate.hpp"

namespace talkgen::pipeline {

class ProgressTracker {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  /// The fraction counts each sampling step as one unit and each chunk's tail as one more. `now` is the
  /// clock (tests pass a fake one).
  ProgressTracker(GenerateProgressCallback callback, int chunks, int steps, Clock::time_point started,
                  Now now = Clock::now);

  /// Reports `steps_done` steps finished in `chunk` (Stage::decoding starts the chunk's tail). Throws
  /// Error(cancelled) when the callback says stop (except at Stage::done, when the work is complete).
  void report(GenerateProgress::Stage stage, int chunk, int steps_done);
  /// Marks `chunk` as fully done (decoded and handed to the encoder): ends the timing of its tail.
  void chunk_done(int chunk);

  /// The state report() would send.
  GenerateProgress snapshot(GenerateProgress::Stage stage, int chunk, int steps_done) const;

 private:
  double units_done(int chunk, int steps_done) const;
  /// Seconds per step: the mean over timed steps, the job's first step (which may carry warm-up) only
  /// while it is the only one timed; negative while none is.
  double step_seconds() const;
  /// Seconds per tail: the mean over finished tails; before the first one, estimated from the preparation
  /// (which VAE-encodes a chunk's worth of frames, as the tail decodes one), else one step's worth.
  double tail_seconds() const;
  void time_event(GenerateProgress::Stage stage, int chunk, int steps_done, Clock::time_point now);

  GenerateProgressCallback callback_;
  int chunks_, steps_;
  int chunks_finished_ = 0;
  Clock::time_point started_;
  Now now_;

  // Pace bookkeeping. `mark_` is when the work under way began: the end of preparation, of the previous
  // step, or of the previous chunk's tail.
  bool have_mark_ = false;
  Clock::time_point mark_;
  int mark_chunk_ = -1, mark_step_ = 0;
  double first_step_seconds_ = -1;
  double steps_seconds_ = 0;  // timed steps after the job's first
  int steps_timed_ = 0;
  bool preparing_started_ = false;
  Clock::time_point preparing_start_;
  double preparing_seconds_ = 0;  // first to last preparing report
  double tails_seconds_ = 0;
  int tails_timed_ = 0;
  bool in_tail_ = false;
  int tail_chunk_ = -1;
  Clock::time_point tail_start_;
};

}  // namespace talkgen::pipeline
