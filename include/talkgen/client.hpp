// talkgen::Client — the façade host applications use: load the models once, then run jobs on a pool of
// devices, one job per disjoint GPU group at a time, with retries, timeouts, cancellation and statistics.
//
//   talkgen::ClientOptions options;
//   options.model_dir = "/models";                 // or options.model = "demo"
//   options.device = talkgen::DevicePolicy::cuda;  // never falls back silently
//   talkgen::Client client(options);
//
//   talkgen::Job job;
//   job.generate.image_path = "face.jpg";
//   job.generate.audio_path = "speech.wav";
//   job.generate.output_path = "out.mp4";
//   job.generate.quality = talkgen::Quality::draft;  // default: talkgen::default_quality (balanced)
//   job.gpus = 2;                                  // or leave empty: the Planner decides
//   talkgen::JobResult r = client.generate(job, {.progress = on_progress});
//
// Everything here is safe to call from several threads. A server is a thin layer over submit(): it gets a
// JobHandle per accepted job, watches it through the callbacks, and cancels it by id.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "talkgen/error.hpp"
#include "talkgen/export.hpp"
#include "talkgen/generate.hpp"
#include "talkgen/planner.hpp"

namespace talkgen {

/// Which devices a Client runs on. `automatic`: every visible CUDA GPU when there is one, else the CPU
/// (and the choice is logged and reported in every result). `cuda`: CUDA GPUs or Error(device_unavailable)
/// naming why there are none — never a silent CPU run. `cpu`: the CPU only.
enum class DevicePolicy { automatic, cuda, cpu };
/// "auto" | "cuda" | "cpu"; Error(invalid_argument) otherwise.
TALKGEN_API DevicePolicy parse_device_policy(const std::string& name);
TALKGEN_API const char* to_string(DevicePolicy policy) noexcept;

struct RetryPolicy {
  /// Attempts per job, the first included (1 = no retries). Only transient failures are retried:
  /// out_of_memory (with more GPUs when the pool has them free, else in the low-memory mode) and a
  /// collective timeout (with fewer GPUs). Bad inputs, cancellation and job timeouts are never retried.
  int max_attempts = 3;
  /// Delay before retry k (1-based): min(max_delay, base_delay * 2^(k-1)), times a random factor in
  /// [1 - jitter, 1] so that jobs failing together do not retry together.
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30000};
  double jitter = 0.5;
};

struct ClientOptions {
  // ---- the model (exactly one) ----
  std::string model;       ///< "demo": the tiny untrained model of the real architecture (no downloads)
  std::string model_dir;   ///< the official weights (see pipeline::ModelPaths::from_model_dir)
  /// With model_dir: InfiniteTalk/multi/infinitetalk.safetensors (trained for two speakers, also used for
  /// one) instead of InfiniteTalk/single/.
  bool multi_person_weights = false;
  std::uint64_t demo_seed = 0;  ///< weights of the demo model

  // ---- devices ----
  DevicePolicy device = DevicePolicy::automatic;
  /// CUDA device indices in the pool (empty: every visible GPU). Ignored on the CPU.
  std::vector<int> gpus;
  /// CPU ranks in the pool when running on the CPU: a job may use up to this many (sequence-parallel over
  /// the in-process ThreadComm, the same video as one rank), and jobs of fewer ranks run side by side.
  int cpu_ranks = 1;
  /// How long a collective waits for the other ranks before the job fails with ErrorCode::timeout.
  std::chrono::milliseconds collective_timeout{std::chrono::seconds(300)};

  // ---- kernels (empty: the build's fastest) ----
  /// The DiT's attention kernel: "auto", "cudnn", "flash", "efficient" or "fa3" (builds with FlashAttention-3).
  std::string attention;
  /// The DiT's fast paths: "default", "all", "none" or a list such as "fused,kernels,gelu" (each is checked
  /// against the plain transcription in the tests; "none" runs exactly the reference's operations).
  std::string dit_fast_paths;

  // ---- policy ----
  RetryPolicy retry;
  /// Default per-job wall-clock limit (Job::timeout overrides); zero = none. Counted from the job's first
  /// start (time queued before it does not count; retries and their delays do). Expiry fails the job with
  /// ErrorCode::timeout between sampling steps, without a retry; nothing is left on disk.
  std::chrono::milliseconds job_timeout{0};
  /// Prices for result costs and auto GPU counts (default: PriceTable::defaults()).
  PriceTable prices = PriceTable::defaults();
  /// Planner calibration directory (empty: CalibrationStore::default_directory(); missing is fine).
  std::string calibration_directory;
  /// Finished jobs find() still knows, newest first; older ones are forgotten (their JobHandles keep
  /// working), so a long-running Client (e.g. `talkgen serve`) does not grow without end. At least 1.
  int finished_jobs_kept = 1000;
};

/// One generation job.
struct Job {
  GenerateOptions generate;
  /// Empty: the Client makes an unguessable one (32 hex digits from a CSPRNG). Ids of queued or running
  /// jobs must be unique: submitting a duplicate is Error(invalid_argument).
  std::string job_id;
  /// GPUs (CPU ranks on the CPU) for this job; nullopt: the Planner's recommendation for the pool's GPU type
  /// within `budget_usd` / `deadline_seconds` (1 on the CPU and for models the Planner cannot size).
  std::optional<int> gpus;
  std::optional<double> budget_usd, deadline_seconds;
  /// Caps the video at this many seconds of speech (sets generate.max_frames); nullopt: the options' cap.
  std::optional<double> max_duration_seconds;
  /// Overrides ClientOptions::job_timeout for this job.
  std::optional<std::chrono::milliseconds> timeout;
};

enum class JobState { queued, running, retrying, succeeded, failed, cancelled };
TALKGEN_API const char* to_string(JobState state) noexcept;
inline bool is_finished(JobState s) {
  return s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled;
}

/// Wall seconds per stage of the (last) attempt.
struct StageTimings {
  double queued = 0;      ///< waiting for free devices (all attempts)
  double loading = 0;     ///< first use of a device: weights onto it
  double preparing = 0;   ///< inputs, text / CLIP / audio encoders, reference latent
  double sampling = 0;    ///< DiT
  double decoding = 0;    ///< VAE decode + colour match
  double encoding = 0;    ///< H.264 / AAC not hidden behind sampling
  double total = 0;       ///< submit to finish
};

struct JobResult {
  std::string job_id;
  JobState state = JobState::queued;
  /// Set when state is failed or cancelled (ErrorCode::ok otherwise).
  ErrorCode error_code = ErrorCode::ok;
  std::string error_message;
  int attempts = 0;

  /// The video: its path, or bytes when Job::generate.output_path was empty; frames, fps, duration, size,
  /// chunks, settings actually run, whether the model is untrained.
  GenerateResult video;
  int gpus = 0;                       ///< devices the successful attempt used
  std::vector<std::string> devices;   ///< "cuda:0", "cuda:1" / "cpu" (one per rank)
  std::string resolution;             ///< "480p" / "720p"
  StageTimings timings;
  std::optional<double> estimated_seconds;  ///< the Planner's figure at submit (nullopt when it cannot size the model)
  double actual_seconds = 0;          ///< running time of the successful attempt
  double gpu_seconds = 0;             ///< actual_seconds x gpus, summed over attempts
  double cost_usd = 0;                ///< gpu_seconds x the price of the pool's GPU type (0 on the CPU)

  bool ok() const { return state == JobState::succeeded; }
};

/// Where a job is, for progress callbacks.
struct JobProgress {
  std::string job_id;
  JobState state = JobState::queued;
  int attempt = 0;
  int gpus = 0;
  GenerateProgress generate;  ///< stage, chunk, step, fraction, ETA of the running attempt
};

struct JobCallbacks {
  /// After every state change (running, retrying, then the final state; a job starts out queued) and
  /// every sampling step. Return false to cancel the job. Called from the job's worker thread: keep it
  /// short and do not call back into the Client's blocking functions.
  std::function<bool(const JobProgress&)> progress;
  /// Once, when the job has finished (any state), before JobHandle::wait() returns.
  std::function<void(const JobResult&)> done;
};

/// A submitted job. Cheap to copy (shared state); outlives the Client that made it.
class TALKGEN_API JobHandle {
 public:
  const std::string& job_id() const;
  JobState state() const;
  JobProgress progress() const;
  /// Blocks until the job has finished; returns its result (never throws for the job's own failure).
  JobResult wait() const;
  /// As wait(), or nullopt after `timeout`.
  std::optional<JobResult> wait_for(std::chrono::milliseconds timeout) const;
  /// Cancels: a queued job never runs; a running one stops before its next sampling step.
  /// False when it had already finished.
  bool cancel() const;

  struct State;
  explicit JobHandle(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

struct ClientStats {
  std::int64_t jobs = 0;              ///< finished jobs
  std::int64_t succeeded = 0, failed = 0, cancelled = 0;
  std::int64_t retries = 0;           ///< attempts beyond the first
  double success_rate = 0;            ///< succeeded / jobs (0 when none)
  double mean_seconds = 0, p50_seconds = 0, p95_seconds = 0;  ///< total time of succeeded jobs
  double gpu_seconds = 0;
  double cost_usd = 0;
  std::int64_t queued = 0, running = 0;  ///< now
};

/// The pool the Client runs on.
struct ClientDevices {
  DevicePolicy policy = DevicePolicy::automatic;
  bool cuda = false;                  ///< CUDA GPUs (false: CPU ranks)
  std::vector<std::string> devices;   ///< "cuda:0", ... or "cpu" x cpu_ranks
  std::string gpu_name;               ///< CUDA name of the pool's GPUs ("" on the CPU)
  std::string gpu_type;               ///< Planner type ("H100", ...) or the name when unknown
  std::string note;                   ///< why automatic chose the CPU, etc.
};

class TALKGEN_API Client {
 public:
  /// Checks the model (files present, or "demo"), resolves the device policy and probes the devices.
  /// Weights are loaded onto a device the first time a job uses it (preload() does it now).
  /// Errors: invalid_argument (options), not_found (model files), device_unavailable (policy cuda, no GPU).
  explicit Client(ClientOptions options);
  /// Cancels queued and running jobs and waits for the workers.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Loads the weights onto every device of the pool now (instead of on first use).
  void preload();

  /// Queues a job and returns at once. Validation that needs no model (options, files present, job id) is
  /// done here and throws Error; everything else is reported through the handle.
  JobHandle submit(Job job, JobCallbacks callbacks = {});
  /// submit() + wait(); throws Error(code, message) of a failed or cancelled job.
  JobResult generate(const Job& job, JobCallbacks callbacks = {});
  /// Every job at once over the pool (disjoint device groups in parallel, the rest queued); one failure
  /// does not affect the others; results in input order (never throws for a job's failure).
  /// `callbacks` is shared by all jobs (JobProgress::job_id tells them apart).
  std::vector<JobResult> generate_batch(const std::vector<Job>& jobs, JobCallbacks callbacks = {});

  /// Cancels a queued or running job by id; false when no such unfinished job.
  bool cancel(const std::string& job_id);
  /// A job submitted to this Client: unfinished ones, and the newest ClientOptions::finished_jobs_kept
  /// finished ones (until reset_stats()); nullopt when unknown or forgotten.
  std::optional<JobHandle> find(const std::string& job_id) const;
  /// How many jobs wait ahead of this one (0: it is the next to start once its devices are free); jobs
  /// sitting out a retry delay keep their place and count. nullopt when it is not waiting (running,
  /// finished or unknown). A younger job that needs fewer devices may start past a bigger one ahead of it a
  /// few times (the queue's rule against idle devices), so this is a rank, not a promise of order.
  std::optional<int> queue_position(const std::string& job_id) const;

  ClientStats stats() const;
  void reset_stats();

  const ClientDevices& devices() const;
  /// The Planner's options for a job on this Client's pool (its GPU type and count, its prices).
  /// Error(unsupported) on the CPU or for a model the Planner cannot size (the demo model).
  Plan plan(double duration_seconds, Quality quality, Resolution resolution, const PlanLimits& limits = {}) const;
  /// Whether this client runs the untrained demo model.
  bool untrained_model() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen
