// ProgressTracker's ETA on a fake clock: steps and chunk tails (decode + hand-off to the encoder) are timed
// apart, so a long decode neither makes the ETA jump up at the encoding stage nor makes later steps look
// slower; a tail under way counts down; the job's first step (warm-up) stops counting once others are timed.
#include "support/catch_torch.hpp"  // first: see there

#include <chrono>
#include <vector>

#include "pipeline/progress_tracker.hpp"

using talkgen::GenerateProgress;
using talkgen::pipeline::ProgressTracker;
using Stage = GenerateProgress::Stage;
using namespace std::chrono_literals;

namespace {

struct FakeJob {
  ProgressTracker::Clock::time_point now{};
  std::vector<GenerateProgress> seen;
  ProgressTracker tracker;

  FakeJob(int chunks, int steps)
      : tracker([this](const GenerateProgress& p) { return seen.push_back(p), true; }, chunks, steps, now,
                [this] { return now; }) {}

  double at(std::chrono::duration<double> when, Stage stage, int chunk, int step) {
    now = ProgressTracker::Clock::time_point{} + std::chrono::duration_cast<ProgressTracker::Clock::duration>(when);
    tracker.report(stage, chunk, step);
    return seen.back().eta_seconds;
  }
  void chunk_done(std::chrono::duration<double> when, int chunk) {
    now = ProgressTracker::Clock::time_point{} + std::chrono::duration_cast<ProgressTracker::Clock::duration>(when);
    tracker.chunk_done(chunk);
  }
};

}  // namespace

TEST_CASE("ProgressTracker: the ETA times steps and decodes apart and does not jump at the encoding stage",
          "[pipeline][progress]") {
  // 3 chunks x 4 steps; steps take 1 s (the first 2 s: warm-up), the first decode 5 s.
  FakeJob job(3, 4);
  CHECK(job.at(0s, Stage::preparing, 0, 0) < 0);  // nothing timed yet
  // After the first step alone: its time for every step and (before any is timed) for every tail.
  CHECK(job.at(2s, Stage::sampling, 0, 1) == Approx(3 * 2 + 2 + 2 * (4 * 2 + 2)));
  // From the second step on, the warm-up step no longer counts: 3 + 1 steps of 1 s, 2 x (4 + 1).
  CHECK(job.at(3s, Stage::sampling, 0, 2) == Approx(2 + 1 + 2 * 5));
  job.at(4s, Stage::sampling, 0, 3);
  CHECK(job.at(5s, Stage::sampling, 0, 4) == Approx(1 + 2 * 5));
  const double at_decoding = job.at(5s, Stage::decoding, 0, 4);
  CHECK(at_decoding == Approx(11));
  // The decode took 5 s, five times its estimate: the ETA stops falling, it does not jump up (the single
  // pace of old made it (5 + 5) / 3 x 11 units ~ 36.7 s here).
  const double at_encoding = job.at(10s, Stage::encoding, 0, 4);
  CHECK(at_encoding <= at_decoding);
  CHECK(at_encoding == Approx(2 * 5));
  job.chunk_done(10.5s, 0);  // the tail: 5.5 s, now the estimate for the tails to come

  // Chunk 2: steps at 1 s (the decode did not slow them down), tails at 5.5 s.
  CHECK(job.at(11.5s, Stage::sampling, 1, 1) == Approx(3 * 1 + 5.5 + 1 * (4 + 5.5)));
  job.at(12.5s, Stage::sampling, 1, 2);
  job.at(13.5s, Stage::sampling, 1, 3);
  job.at(14.5s, Stage::sampling, 1, 4);
  CHECK(job.at(14.5s, Stage::decoding, 1, 4) == Approx(5.5 + 9.5));
  // A tail under way counts down with the clock.
  CHECK(job.at(17s, Stage::encoding, 1, 4) == Approx(3 + 9.5));
  job.chunk_done(19.5s, 1);

  job.at(20.5s, Stage::sampling, 2, 1);
  job.at(23.5s, Stage::sampling, 2, 4);
  job.at(23.5s, Stage::decoding, 2, 4);
  CHECK(job.at(30s, Stage::encoding, 2, 4) == Approx(0));  // past its estimate: nothing left to promise
  job.chunk_done(30s, 2);
  CHECK(job.at(31s, Stage::done, 2, 4) == 0);

  double fraction = 0;
  for (const auto& p : job.seen) {
    CHECK(p.fraction >= fraction);
    fraction = p.fraction;
  }
  CHECK(fraction == 1.0);
  CHECK(job.seen.back().elapsed_seconds == Approx(31));
}

TEST_CASE("ProgressTracker: one step per chunk is timed from the previous chunk's end", "[pipeline][progress]") {
  FakeJob job(3, 1);
  job.at(0s, Stage::preparing, 0, 0);
  CHECK(job.at(1s, Stage::sampling, 0, 1) == Approx(0 + 1 + 2 * (1 + 1)));
  job.at(1s, Stage::decoding, 0, 1);
  job.chunk_done(3s, 0);  // tail 2 s
  // The second chunk's step (2 s) is the first one timed after the warm-up step: it alone sets the pace.
  CHECK(job.at(5s, Stage::sampling, 1, 1) == Approx(2 + 1 * (2 + 2)));
}

TEST_CASE("ProgressTracker: a repeated report of the same step changes nothing", "[pipeline][progress]") {
  FakeJob job(1, 4);
  job.at(0s, Stage::preparing, 0, 0);
  job.at(1s, Stage::sampling, 0, 1);
  const double eta = job.at(2s, Stage::sampling, 0, 2);
  CHECK(job.at(2s, Stage::sampling, 0, 2) == Approx(eta));
  CHECK(job.at(3s, Stage::sampling, 0, 3) == Approx(1 + 1));
}

TEST_CASE("ProgressTracker: before a tail is timed, the preparation estimates it", "[pipeline][progress]") {
  // The preparation (first to last preparing report) VAE-encoded a chunk's worth of frames: the tail, which
  // decodes one, is estimated at decoder / encoder cost (8.4 / 5.0 MFLOP per pixel) times its time.
  FakeJob job(2, 2);
  job.at(0s, Stage::preparing, 0, 0);
  CHECK(job.at(2s, Stage::preparing, 0, 0) < 0);
  const double tail = 8.4 / 5.0 * 2;
  CHECK(job.at(3s, Stage::sampling, 0, 1) == Approx(1 + tail + 1 * (2 + tail)));
  job.at(4s, Stage::sampling, 0, 2);
  const double at_decoding = job.at(4s, Stage::decoding, 0, 2);
  // A decode that takes what was estimated: the ETA falls by the time it took, no jump at either end.
  CHECK(job.at(4s + std::chrono::duration<double>(tail), Stage::encoding, 0, 2) == Approx(at_decoding - tail));
  job.chunk_done(4s + std::chrono::duration<double>(tail), 0);
  CHECK(job.at(5s + std::chrono::duration<double>(tail), Stage::sampling, 1, 1) == Approx(1 + tail));
}
