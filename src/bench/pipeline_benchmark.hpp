// `talkgen bench pipeline`: one real job through Pipeline::run, timed stage by stage.
//
// The device is synchronised at every progress report (after each sampling step, before and after each
// chunk's decode, after each chunk's encode), so every stage's seconds are its own: the work queued
// on the GPU is finished before the clock moves to the next stage. The cost is one host-device round
// trip per report, nothing next to a step. Stages (each interval between reports goes to one):
//   preparing  media decode and checks, umT5 on both prompts, wav2vec2, CLIP, the reference-image latent
//   sampling   the DiT forwards and the sampler (per step; chunk setup counts towards the chunk's first step)
//   decoding   VAE decode, colour matching, the next chunk's motion-frame encode
//   encoding   handing each chunk's frames to the Encoder (the copy to the host; H.264 runs on the Encoder's
//              thread while the next chunk samples) and waiting for the last frames and the MP4 at the end:
//              the encoding time not hidden behind sampling (what the planner's video_encode term models)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace talkgen::bench {

struct PipelineBenchTimes {
  double preparing = 0, sampling = 0, decoding = 0, encoding = 0;
  double total = 0;  ///< Pipeline::run's wall time (the stages add up to it)
};

struct PipelineBenchResult {
  GenerateResult job;             ///< what run() returned (frames, size, chunks, settings, ...)
  PipelineBenchTimes seconds;
  std::vector<double> step_seconds;  ///< every sampling step of every chunk, in order
  int forwards_per_step = 0;
  std::int64_t forwards = 0;      ///< DiT forwards of the whole job
  double forward_seconds = 0;     ///< median step / forwards_per_step
  std::int64_t tokens = 0;        ///< DiT video tokens per forward
  std::int64_t peak_bytes = -1;   ///< peak device memory allocated during the job (-1: not measurable, CPU)
};

/// What a benchmark run passes to Pipeline::run besides the timing.
struct PipelineBenchHooks {
  /// Rank 0's communicator of a sequence-parallel run (the other ranks call Pipeline::run with theirs).
  Communicator* comm = nullptr;
  /// TestHooks::on_frames: each chunk's new frames (called before the timing's own bookkeeping).
  std::function<void(int chunk, const at::Tensor& frames)> on_frames;
};

/// Runs `job` on `measured` and measures it. The job runs exactly as a user's would (its progress callback
/// is replaced by the timing one). With `hooks.comm` this is rank 0 of a group run: its clock covers the
/// whole group's work, since every step ends in collectives. Errors: whatever run() throws.
PipelineBenchResult bench_pipeline(pipeline::Pipeline& measured, const GenerateOptions& job,
                                   PipelineBenchHooks hooks = {});

/// `seconds` of speech for a benchmark: the file's audio at 16 kHz, looped or cut to length, as a 16-bit
/// PCM WAV in memory (GenerateOptions::audio_bytes). Throws Error(invalid_argument) for seconds <= 0 or
/// silence-only input, and decode_audio's errors.
std::vector<std::uint8_t> speech_of_length(const std::string& audio_path, double seconds);

/// Seconds of speech that make exactly `frames` video frames at 25 fps (the pipeline counts
/// int(seconds * 25)): half a frame more, so rounding cannot lose one.
double seconds_for_frames(std::int64_t frames);

}  // namespace talkgen::bench
