// Sizing a job with the Planner: how many GPUs when the job does not say, and how long it should take.
// Only for the real model on CUDA GPUs; the demo model and CPU ranks have no cost model (1 device, no
// estimate).
#pragma once

#include <optional>

#include "talkgen/client.hpp"

namespace talkgen::client {

struct PoolForPlanning {
  bool plannable = false;       ///< the real model on CUDA
  std::string gpu_name;         ///< CUDA name (matched to a type or a calibration by the Planner)
  int gpus = 0;                 ///< devices in the pool
  PriceTable prices;
  std::string calibration_directory;
};

/// Seconds of video the job will make: the speech's length (decoded, or synthesized for text), capped by
/// clip mode (one chunk) and max_frames.
double video_seconds(const GenerateOptions& options);

/// The hardware part of a Planner request for this pool.
PlanRequest planner_request(const PoolForPlanning& pool, Resolution resolution);

/// What sizing a job found out, kept between the calls for one submit (each is worked out once).
struct JobSizingCache {
  std::optional<double> video_seconds;
  std::optional<PlanRequest> request;  ///< planner_request + the portrait's bucket size
};

/// The request the Planner prices a job with: the pool's hardware and, when the job has a portrait that
/// decodes, its bucket as the frame size (what the pipeline will make: 640x640 for a square one at 480p),
/// else the resolution's landscape bucket (a video to dub; a bad image fails the job itself when it runs).
PlanRequest job_request(const Job& job, const PoolForPlanning& pool);

/// Job::gpus, or the Planner's recommendation within the job's budget / deadline (1 when not plannable).
/// Throws the Planner's Error when no GPU count fits or meets the limits.
int resolve_gpu_count(const Job& job, const PoolForPlanning& pool, JobSizingCache* cache);

/// The Planner's wall seconds on `gpus` GPUs (model already loaded); nullopt when not plannable or when the
/// Planner cannot size it.
std::optional<double> estimate_seconds(const Job& job, int gpus, const PoolForPlanning& pool, JobSizingCache* cache);

}  // namespace talkgen::client
