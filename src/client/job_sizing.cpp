#include "client/job_sizing.hpp"

#include <algorithm>

#include "pipeline/job_inputs.hpp"
#include "talkgen/log.hpp"
#include "talkgen/media.hpp"

namespace talkgen::client {
namespace {

constexpr double kFps = 25.0;

double cached_video_seconds(const GenerateOptions& o, JobSizingCache* cache) {
  if (!cache->video_seconds) cache->video_seconds = video_seconds(o);
  return *cache->video_seconds;
}

const PlanRequest& cached_request(const Job& job, const PoolForPlanning& pool, JobSizingCache* cache) {
  if (!cache->request) cache->request = job_request(job, pool);
  return *cache->request;
}

}  // namespace

double video_seconds(const GenerateOptions& o) {
  double seconds = 0;
  if (!o.audio_path.empty()) {
    seconds = decode_audio(o.audio_path, 16000).duration_seconds();
  } else if (!o.audio_bytes.empty()) {
    seconds = decode_audio_bytes(o.audio_bytes.data(), o.audio_bytes.size(), 16000).duration_seconds();
  } else if (!o.speech_text.empty()) {
    seconds = synthesize_speech(o.speech_text, o.speech).duration_seconds();
  }
  // A second speaker: after the first, or beside it (pipeline::arrange_speakers).
  if (!o.audio2_path.empty() || !o.audio2_bytes.empty()) {
    const double second = o.audio2_path.empty()
                              ? decode_audio_bytes(o.audio2_bytes.data(), o.audio2_bytes.size(), 16000).duration_seconds()
                              : decode_audio(o.audio2_path, 16000).duration_seconds();
    seconds = o.speaker_timing == SpeakerTiming::one_after_another ? seconds + second : std::max(seconds, second);
  }
  if (o.mode == GenerationMode::clip) seconds = std::min(seconds, o.frames_per_chunk / kFps);
  if (o.mode == GenerationMode::streaming && o.max_frames > 0) seconds = std::min(seconds, o.max_frames / kFps);
  return seconds;
}

PlanRequest planner_request(const PoolForPlanning& pool, Resolution resolution) {
  PlanRequest r;
  r.gpu_type = pool.gpu_name;
  r.gpus_available = pool.gpus;
  r.resolution = resolution;
  r.prices = pool.prices;
  r.calibration_directory = pool.calibration_directory;
  r.include_model_load = false;  // the Client keeps its models loaded; loading is its own stage
  return r;
}

PlanRequest job_request(const Job& job, const PoolForPlanning& pool) {
  PlanRequest r = planner_request(pool, job.generate.resolution);
  if (job.generate.image_path.empty()) return r;
  try {
    const Image portrait = decode_image(job.generate.image_path);
    const Size size = pipeline::scaled_bucket(portrait.width, portrait.height, job.generate.resolution, 1);
    r.frame_width = size.width;
    r.frame_height = size.height;
  } catch (const Error& e) {
    // Only the estimate loses its precision here: the job itself reports the image when it runs.
    log_debug("job '{}': sizing with the landscape bucket: {}", job.job_id, e.what());
  }
  return r;
}

int resolve_gpu_count(const Job& job, const PoolForPlanning& pool, JobSizingCache* cache) {
  if (job.gpus) return *job.gpus;
  if (!pool.plannable) return 1;
  const PlanRequest& hardware = cached_request(job, pool, cache);
  PlanLimits limits;
  limits.budget_usd = job.budget_usd;
  limits.deadline_seconds = job.deadline_seconds;
  const int gpus = recommend_gpu_count(std::max(cached_video_seconds(job.generate, cache), 1.0 / kFps),
                                       job.generate.quality, limits, hardware);
  log_info("job '{}': the Planner recommends {} GPU(s)", job.job_id, gpus);
  return gpus;
}

std::optional<double> estimate_seconds(const Job& job, int gpus, const PoolForPlanning& pool, JobSizingCache* cache) {
  if (!pool.plannable) return std::nullopt;
  try {
    return estimate_time(std::max(cached_video_seconds(job.generate, cache), 1.0 / kFps), gpus,
                         job.generate.resolution, job.generate.quality, cached_request(job, pool, cache));
  } catch (const Error& e) {
    log_warn("job '{}': no time estimate: {}", job.job_id, e.what());
    return std::nullopt;
  }
}

}  // namespace talkgen::client
