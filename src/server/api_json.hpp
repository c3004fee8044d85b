// The JSON the API answers with (see docs/server-api.md): jobs, results, plans, stats. Pure functions of
// their inputs, so the shapes are tested without a running server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/job_store.hpp"
#include "talkgen/client.hpp"

namespace talkgen::server {

/// What a job of this process is doing right now (absent for jobs not running here).
struct LiveProgress {
  JobState state = JobState::queued;
  double fraction = 0;        ///< monotonic: the highest fraction reported so far
  GenerateProgress generate;
  int attempt = 0;
  int gpus = 0;
  std::optional<int> queue_position;  ///< jobs waiting ahead of it (Client::queue_position) while queued
};

/// The job object: the stored record, overlaid with live progress when the job is running here.
nlohmann::json job_to_json(const JobRecord& record, const LiveProgress* live);

/// What is stored of a finished job's JobResult (`video_bytes`: the MP4's size on disk).
nlohmann::json result_to_json(const JobResult& result, std::int64_t video_bytes);

nlohmann::json plan_to_json(const Plan& plan);
nlohmann::json stats_to_json(const ClientStats& stats);

/// ISO 8601 UTC with milliseconds ("2026-11-25T16:20:00.123Z") of Unix seconds.
std::string iso_time(double unix_seconds);
/// Unix seconds now (wall clock, for records).
double now_seconds();

}  // namespace talkgen::server
