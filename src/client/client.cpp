// talkgen::Client: submit() validates and queues; one scheduler thread hands disjoint device groups to
// waiting jobs (queue_policy.hpp); each attempt runs on its own worker thread, on one device through
// Pipeline::run or on several through the group's DistributedRunner; failures are retried per
// RetryPolicy (retry_plan.hpp); finished jobs feed the statistics.
#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <thread>

#include <c10/core/DeviceGuard.h>

#include "client/client_testing.hpp"
#include "client/device_pool.hpp"
#include "client/job_id.hpp"
#include "client/job_sizing.hpp"
#include "client/job_state.hpp"
#include "client/job_stats.hpp"
#include "client/job_validation.hpp"
#include "client/queue_policy.hpp"
#include "client/retry_plan.hpp"
#include "distributed/comm_failure.hpp"
#include "pipeline/model_loader.hpp"
#include "talkgen/log.hpp"

namespace talkgen {
namespace {

using Clock = std::chrono::steady_clock;
using StatePtr = std::shared_ptr<JobHandle::State>;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::max(0.0, std::chrono::duration<double>(b - a).count());
}

const char* resolution_name(Resolution r) { return r == Resolution::p720 ? "720p" : "480p"; }

void check_model_options(const ClientOptions& o) {
  if (o.model.empty() == o.model_dir.empty())
    fail(ErrorCode::invalid_argument, "ClientOptions: give exactly one of model (\"demo\") or model_dir (the "
         "official weights); got {}", o.model.empty() ? "neither" : "both");
  if (!o.model.empty() && o.model != "demo")
    fail(ErrorCode::invalid_argument, "ClientOptions::model is '{}'; the only built-in model is \"demo\" (set "
         "model_dir for the official weights)", o.model);
  // not_found names what is missing
  if (!o.model_dir.empty()) pipeline::ModelPaths::from_model_dir(o.model_dir, o.multi_person_weights);
  client::dit_runtime_options(o);  // a bad attention / fast-path name fails here, before any weight loads
  if (o.collective_timeout.count() <= 0)
    fail(ErrorCode::invalid_argument, "ClientOptions::collective_timeout must be positive, got {} ms",
         o.collective_timeout.count());
  if (o.job_timeout.count() < 0)
    fail(ErrorCode::invalid_argument, "ClientOptions::job_timeout must be >= 0 ms (0 = none), got {}",
         o.job_timeout.count());
  client::validate_retry_policy(o.retry);
  if (o.finished_jobs_kept < 1)
    fail(ErrorCode::invalid_argument, "ClientOptions::finished_jobs_kept must be >= 1, got {}", o.finished_jobs_kept);
}

// Younger jobs may start past a waiting bigger one this many times; then it has the next free devices.
int max_overtakes(int pool_size) { return std::max(2, pool_size); }

// The Client's state, shared with job handles (weakly: a handle's cancel() wakes the scheduler while the
// Client lives) and used by the scheduler and worker threads, which the Client joins before it goes.
struct Core : std::enable_shared_from_this<Core> {
  ClientOptions options;
  client::DevicePool pool;
  client::PoolForPlanning planning;
  double usd_per_device_hour = 0;
  DistillLora model_lora = DistillLora::none;  // what the pool's DiT weights merge (from the model folder)

  // ---- the scheduler (guarded by `mutex`) ----
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool dirty = false;       // something changed since the scheduler last looked
  bool stopping = false;
  std::vector<StatePtr> waiting;              // queued or sitting out a retry delay, oldest first
  std::map<std::string, StatePtr> jobs;       // unfinished jobs, and the newest finished ones (below)
  std::deque<StatePtr> finished_jobs;         // finished, oldest first: at most options.finished_jobs_kept
  std::vector<bool> busy;                     // per device slot
  int running = 0;
  std::uint64_t next_sequence = 0;
  client::JobStats stats;
  std::map<std::thread::id, std::thread> workers;
  std::vector<std::thread::id> exited;        // workers done, to be joined
  std::mt19937_64 jitter_random{std::random_device{}()};
  std::thread scheduler;

  Core(ClientOptions o, ClientDevices devices) : options(std::move(o)), pool(options, std::move(devices)) {
    const ClientDevices& info = pool.info();
    planning.plannable = info.cuda && options.model != "demo";
    planning.gpu_name = info.gpu_name;
    planning.gpus = pool.size();
    planning.prices = options.prices;
    planning.calibration_directory = options.calibration_directory;
    if (info.cuda) {
      usd_per_device_hour = options.prices.find(info.gpu_name).value_or(0.0);
      if (usd_per_device_hour == 0.0)
        log_warn("no price for GPU type '{}': costs are reported as 0 (set ClientOptions::prices)", info.gpu_type);
    }
    busy.assign(static_cast<std::size_t>(pool.size()), false);
    if (!options.model_dir.empty()) {
      const auto paths = pipeline::ModelPaths::from_model_dir(options.model_dir, options.multi_person_weights);
      model_lora = paths.lora.path.empty() ? DistillLora::none : paths.lora_kind;
    }
  }

  // The pipeline refuses a profile whose LoRA the weights lack, but only once they are on a device (minutes
  // for the 14B model): said here at submit instead, with what to do.
  void check_profile_weights(const GenerateOptions& g) const {
    if (options.model == "demo") return;  // untrained weights: every profile runs
    // Explicit settings run on whatever the weights are (the pipeline warns).
    if (g.steps || g.shift || g.text_guidance || g.audio_guidance) return;
    const DistillLora needs = quality_settings(g.quality, g.resolution).lora;
    if (needs == model_lora) return;
    if (needs == DistillLora::lightx2v)
      fail(ErrorCode::unsupported,
           "quality '{}'{} runs the lightx2v step-distillation LoRA (InfiniteTalk's distilled setting: {} steps x 2 "
           "DiT forwards), but the model folder '{}' does not have it: download it with `huggingface-cli download "
           "Kijai/WanVideo_comfy {} --local-dir {}/{}` and create the Client again, or ask for quality 'quality' "
           "(the base weights: 40 steps x 3 forwards, 7.5x the work of balanced), or give steps and guidance "
           "scales explicitly",
           to_string(g.quality), g.quality == default_quality ? " (the default)" : "",
           quality_settings(g.quality, g.resolution).steps, options.model_dir, pipeline::kLightx2vLoraFile,
           options.model_dir, pipeline::kLightx2vLoraFolder);
    fail(ErrorCode::unsupported, "quality 'quality' runs the base weights, but this Client merged the lightx2v "
         "LoRA found in '{}' (for the default profile); ask for quality 'balanced' or 'draft', give steps and "
         "guidance scales explicitly, or use a model folder without the LoRA for 'quality'", options.model_dir);
  }

  void notify() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      dirty = true;
    }
    wake.notify_all();
  }

  // ------------------------------------------------------------------------------------------------
  // Progress and results

  /// Updates the job's progress and tells its callback; false when the callback asks to cancel.
  static bool report(JobHandle::State& s, JobState state, int attempt, int gpus, const GenerateProgress* generate) {
    JobProgress p;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.progress.state = state;
      s.progress.attempt = attempt;
      s.progress.gpus = gpus;
      if (generate) s.progress.generate = *generate;
      p = s.progress;
    }
    if (!s.callbacks.progress) return true;
    try {
      return s.callbacks.progress(p);
    } catch (const std::exception& e) {
      log_error("job '{}': the progress callback threw ({}); cancelling the job", s.id, e.what());
      return false;
    }
  }

  /// The job is over: statistics, the final progress report, the done callback, then waiters wake.
  void finish(const StatePtr& s, JobResult r) {
    r.job_id = s->id;
    r.timings.total = seconds_between(s->submitted, Clock::now());
    r.timings.queued = s->queued_seconds;
    r.estimated_seconds = s->estimated_seconds;
    r.gpu_seconds = s->gpu_seconds;
    r.cost_usd = s->gpu_seconds / 3600.0 * usd_per_device_hour;
    r.resolution = resolution_name(s->job.generate.resolution);
    {
      std::lock_guard<std::mutex> lock(mutex);
      stats.record(r);
      remember_finished(s);
    }
    if (r.ok()) {
      log_info("job '{}' succeeded in {:.1f} s on {} device(s) ({} attempt(s))", r.job_id, r.timings.total, r.gpus,
               r.attempts);
    } else {
      log_info("job '{}' {}: {}", r.job_id, to_string(r.state), r.error_message);
    }
    report(*s, r.state, r.attempts, r.gpus, nullptr);
    if (s->callbacks.done) {
      try {
        s->callbacks.done(r);
      } catch (const std::exception& e) {
        log_error("job '{}': the done callback threw: {}", s->id, e.what());
      }
    }
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->result = std::move(r);
      s->progress.state = s->result.state;
      s->finished = true;
    }
    s->finished_cv.notify_all();
  }

  // Keeps the newest finished jobs findable and forgets the oldest past the limit. Caller holds `mutex`.
  void remember_finished(const StatePtr& s) {
    finished_jobs.push_back(s);
    while (static_cast<int>(finished_jobs.size()) > options.finished_jobs_kept) {
      const StatePtr old = finished_jobs.front();
      finished_jobs.pop_front();
      // The id may name a newer job by now (ids are reusable once a job finished): forget only this one.
      auto it = jobs.find(old->id);
      if (it != jobs.end() && it->second == old) jobs.erase(it);
    }
  }

  JobResult stopped_result(const JobHandle::State& s, int attempts) const {
    JobResult r;
    r.attempts = attempts;
    if (s.timed_out) {
      r.state = JobState::failed;
      r.error_code = ErrorCode::timeout;
      r.error_message = fmt::format("job '{}' ran past its time limit of {:.3f} s and was stopped before finishing; "
                                    "nothing was written. Raise Job::timeout / ClientOptions::job_timeout "
                                    "(--timeout), or make the job shorter", s.id, s.timeout.count() / 1000.0);
    } else {
      r.state = JobState::cancelled;
      r.error_code = ErrorCode::cancelled;
      r.error_message = fmt::format("job '{}' was cancelled{}; nothing was written", s.id,
                                    attempts == 0 ? " before it started" : "");
    }
    return r;
  }

  // ------------------------------------------------------------------------------------------------
  // The scheduler thread

  void schedule_loop() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      dirty = false;
      join_exited(lock);

      // Jobs that will never run: cancelled while waiting, or past their limit during a retry delay.
      std::vector<StatePtr> stopped;
      for (auto it = waiting.begin(); it != waiting.end();) {
        JobHandle::State& s = **it;
        if (s.cancel_requested || stopping || s.past_deadline()) {
          stopped.push_back(*it);
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }

      // Which waiting jobs start now.
      const auto now = Clock::now();
      std::vector<client::WaitingJob> view;
      std::optional<Clock::time_point> next_ready;
      for (const auto& s : waiting) {
        const bool ready = s->ready_at <= now;
        if (!ready) next_ready = next_ready ? std::min(*next_ready, s->ready_at) : s->ready_at;
        view.push_back({s->shape.gpus, ready, s->overtaken});
      }
      const int free_devices = static_cast<int>(std::count(busy.begin(), busy.end(), false));
      const auto picked = client::pick_jobs_to_start(view, free_devices, max_overtakes(pool.size()));
      for (std::size_t i = 0; i < waiting.size(); ++i) waiting[i]->overtaken = view[i].overtaken;
      std::vector<StatePtr> starting;
      for (std::size_t i : picked) starting.push_back(waiting[i]);
      for (const auto& s : starting) {
        waiting.erase(std::find(waiting.begin(), waiting.end(), s));
        launch(s, now);
      }

      if (!stopped.empty()) {
        lock.unlock();
        for (const auto& s : stopped) finish(s, stopped_result(*s, s->attempts));
        lock.lock();
        continue;
      }
      if (stopping && waiting.empty() && running == 0) break;
      if (dirty) continue;
      // A queued job with a time limit may expire while sitting out a retry delay: wake for that too.
      for (const auto& s : waiting)
        if (s->deadline) next_ready = next_ready ? std::min(*next_ready, *s->deadline) : *s->deadline;
      if (next_ready) {
        wake.wait_until(lock, *next_ready, [&] { return dirty; });
      } else {
        wake.wait(lock, [&] { return dirty; });
      }
    }
    join_exited(lock);
  }

  void join_exited(std::unique_lock<std::mutex>& lock) {
    std::vector<std::thread> done;
    for (const auto& id : exited) {
      auto it = workers.find(id);
      if (it != workers.end()) {
        done.push_back(std::move(it->second));
        workers.erase(it);
      }
    }
    exited.clear();
    lock.unlock();
    for (auto& t : done) t.join();
    lock.lock();
  }

  // Called with the lock held: gives `s` the lowest free slots and starts its attempt on a worker thread.
  void launch(const StatePtr& s, Clock::time_point now) {
    std::vector<int> slots;
    for (int i = 0; i < pool.size() && static_cast<int>(slots.size()) < s->shape.gpus; ++i)
      if (!busy[i]) slots.push_back(i);
    for (int i : slots) busy[i] = true;
    ++running;
    s->queued_seconds += seconds_between(s->ready_at, now);
    if (!s->deadline && s->timeout.count() > 0) s->deadline = now + s->timeout;
    const int attempt = ++s->attempts;
    const client::AttemptShape shape = s->shape;
    std::thread worker([this, s, slots, shape, attempt] {
      run_attempt(s, slots, shape, attempt);
      // Only now (callbacks done) may the scheduler join this thread without waiting on it.
      {
        std::lock_guard<std::mutex> lock(mutex);
        exited.push_back(std::this_thread::get_id());
        dirty = true;
      }
      wake.notify_all();
    });
    const auto id = worker.get_id();
    workers.emplace(id, std::move(worker));
  }

  // ------------------------------------------------------------------------------------------------
  // One attempt (worker thread)

  void run_attempt(const StatePtr& s, const std::vector<int>& slots, client::AttemptShape shape, int attempt) {
    const auto started = Clock::now();
    const int gpus = static_cast<int>(slots.size());
    if (!report(*s, JobState::running, attempt, gpus, nullptr)) s->cancel_requested = true;
    GenerateOptions options = s->job.generate;
    options.low_memory = options.low_memory || shape.low_memory;
    client::testing::on_attempt(s->id, {attempt, gpus, options.low_memory, started});

    GenerateResult video;
    double loading = 0;
    std::optional<CommFailure> failure;
    try {
      for (int slot : slots) loading += pool.ensure_loaded(slot);
      if (s->cancel_requested || s->past_deadline()) fail(ErrorCode::cancelled, "stopped before the pipeline ran");
      video = gpus == 1 ? run_on_one(s, slots.front(), options, attempt) : run_on_group(s, slots, options, attempt);
    } catch (...) {
      failure = distributed::failure_from_exception(std::current_exception(), -1);
    }
    const double seconds = seconds_between(started, Clock::now());

    JobResult r;
    r.attempts = attempt;
    r.gpus = gpus;
    for (int slot : slots) r.devices.push_back(pool.info().devices.at(slot));
    r.timings.loading = loading;
    // A transient failure with attempts left is retried: the new shape and delay are decided while the
    // attempt still holds its devices, the "retrying" report goes out, and only then does the job go back
    // in the queue (so its next "running" report cannot overtake the "retrying" one).
    std::optional<std::chrono::milliseconds> retry_delay;
    client::AttemptShape next = shape;
    if (failure && client::is_transient(failure->code) && attempt < this->options.retry.max_attempts) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!s->cancel_requested && !s->timed_out && !stopping) {
        const int free_devices = static_cast<int>(std::count(busy.begin(), busy.end(), false)) + gpus;
        next = client::next_attempt_shape(failure->code, shape, free_devices);
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        retry_delay = client::backoff_delay(this->options.retry, attempt, uniform(jitter_random));
      }
    }
    if (retry_delay) {
      log_warn("job '{}': attempt {} on {} device(s) failed ({}): {}; retrying in {} ms on {} device(s){}", s->id,
               attempt, gpus, to_string(failure->code), failure->message, retry_delay->count(), next.gpus,
               next.low_memory ? " in low-memory mode" : "");
      if (!report(*s, JobState::retrying, attempt, gpus, nullptr)) s->cancel_requested = true;
    }
    bool was_stopping = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (int slot : slots) busy[slot] = false;
      --running;
      s->gpu_seconds += seconds * gpus;
      was_stopping = stopping;
      if (retry_delay && !stopping) {
        s->shape = next;
        s->ready_at = Clock::now() + *retry_delay;
        s->overtaken = 0;
        // Back in the queue at its original place (it was submitted before anything younger); a cancel
        // that came meanwhile is seen by the scheduler there.
        auto at = std::find_if(waiting.begin(), waiting.end(), [&](const StatePtr& w) { return w->sequence > s->sequence; });
        waiting.insert(at, s);
      }
      dirty = true;
    }
    wake.notify_all();
    if (retry_delay && !was_stopping) return;

    if (!failure) {
      r.state = JobState::succeeded;
      r.timings.preparing = video.seconds_preparing;
      r.timings.sampling = video.seconds_sampling;
      r.timings.decoding = video.seconds_decoding;
      r.timings.encoding = video.seconds_encoding;
      r.actual_seconds = seconds;
      r.video = std::move(video);
    } else if (s->timed_out || s->cancel_requested || was_stopping || failure->code == ErrorCode::cancelled) {
      JobResult stopped = stopped_result(*s, attempt);
      r.state = stopped.state;
      r.error_code = stopped.error_code;
      r.error_message = stopped.error_message;
    } else {
      r.state = JobState::failed;
      r.error_code = failure->code;
      r.error_message = failure->message;
    }
    finish(s, std::move(r));
  }


  /// The pipeline's progress hook for an attempt: stops at the next step once the job is cancelled or past
  /// its limit; `forward` (rank 0) also updates the handle and calls the job's callback.
  static GenerateProgressCallback progress_hook(const StatePtr& s, int attempt, int gpus, bool forward) {
    return [s, attempt, gpus, forward](const GenerateProgress& p) {
      if (s->cancel_requested || s->past_deadline()) return false;
      if (!forward) return true;
      if (!report(*s, JobState::running, attempt, gpus, &p)) {
        s->cancel_requested = true;
        return false;
      }
      return true;
    };
  }

  static void inject_fault_if_due(const JobHandle::State& s, int attempt, int rank) {
    ErrorCode code;
    if (client::testing::fault_due(s.id, attempt, &code))
      fail(code, "injected fault: attempt {} of job '{}' on rank {}", attempt, s.id, rank);
  }

  GenerateResult run_on_one(const StatePtr& s, int slot, const GenerateOptions& options, int attempt) {
    c10::OptionalDeviceGuard guard;
    if (pool.device(slot).is_cuda()) guard.reset_device(pool.device(slot));
    inject_fault_if_due(*s, attempt, 0);
    pipeline::RunHooks hooks;
    hooks.progress = progress_hook(s, attempt, 1, true);
    return pool.pipeline(slot).run(options, std::move(hooks));
  }

  GenerateResult run_on_group(const StatePtr& s, const std::vector<int>& slots, const GenerateOptions& options,
                              int attempt) {
    const int gpus = static_cast<int>(slots.size());
    return pool.runner(slots).run<GenerateResult>([&](RankContext& rank) {
      inject_fault_if_due(*s, attempt, rank.rank);
      pipeline::RunHooks hooks;
      hooks.comm = &rank.comm;
      hooks.progress = progress_hook(s, attempt, gpus, rank.rank == 0);
      return pool.pipeline(slots.at(rank.local_rank)).run(options, std::move(hooks));
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Submission

  JobHandle submit(Job job, JobCallbacks callbacks) {
    client::validate_job(job, pool.size());
    check_profile_weights(job.generate);
    client::JobSizingCache sizing;
    const int gpus = client::resolve_gpu_count(job, planning, &sizing);
    if (gpus > pool.size())
      fail(ErrorCode::invalid_argument, "job '{}' needs {} GPU(s); the pool has {}", job.job_id, gpus, pool.size());

    auto s = std::make_shared<JobHandle::State>();
    s->estimated_seconds = client::estimate_seconds(job, gpus, planning, &sizing);
    s->timeout = job.timeout.value_or(options.job_timeout);
    s->shape.gpus = gpus;
    s->callbacks = std::move(callbacks);
    s->poke = [weak = std::weak_ptr<Core>(shared_from_this())] {
      if (auto self = weak.lock()) self->notify();
    };
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) fail(ErrorCode::cancelled, "the Client is shutting down; job '{}' was not accepted", job.job_id);
      auto unfinished = [&](const std::string& id) {
        auto it = jobs.find(id);
        if (it == jobs.end()) return false;
        std::lock_guard<std::mutex> job_lock(it->second->mutex);
        return !it->second->finished;
      };
      if (job.job_id.empty()) {
        do job.job_id = client::make_job_id();
        while (jobs.count(job.job_id));
      } else if (unfinished(job.job_id)) {
        fail(ErrorCode::invalid_argument, "a job with id '{}' is already queued or running; job ids must be unique "
             "(leave the id empty to get a fresh one)", job.job_id);
      }
      s->id = job.job_id;
      s->job = std::move(job);
      s->sequence = next_sequence++;
      s->submitted = s->ready_at = Clock::now();
      s->progress.job_id = s->id;
      s->progress.gpus = gpus;
      jobs[s->id] = s;
      waiting.push_back(s);
      dirty = true;
    }
    wake.notify_all();
    return JobHandle(s);
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      dirty = true;
      for (auto& [id, s] : jobs) s->cancel_requested = true;  // finished ones ignore it
    }
    wake.notify_all();
    if (scheduler.joinable()) scheduler.join();
    std::map<std::thread::id, std::thread> left;
    {
      std::lock_guard<std::mutex> lock(mutex);
      left.swap(workers);
    }
    for (auto& [id, t] : left) t.join();
  }
};

}  // namespace

struct Client::Impl {
  std::shared_ptr<Core> core;
};

Client::Client(ClientOptions options) {
  check_model_options(options);
  ClientDevices devices = client::resolve_devices(options);
  impl_ = std::make_unique<Impl>();
  impl_->core = std::make_shared<Core>(std::move(options), std::move(devices));
  Core* core = impl_->core.get();
  core->scheduler = std::thread([core] { core->schedule_loop(); });
}

Client::~Client() { impl_->core->shutdown(); }

void Client::preload() {
  Core& c = *impl_->core;
  for (int slot = 0; slot < c.pool.size(); ++slot) c.pool.ensure_loaded(slot);
}

JobHandle Client::submit(Job job, JobCallbacks callbacks) { return impl_->core->submit(std::move(job), std::move(callbacks)); }

JobResult Client::generate(const Job& job, JobCallbacks callbacks) {
  JobResult r = submit(job, std::move(callbacks)).wait();
  if (!r.ok()) throw Error(r.error_code, r.error_message);
  return r;
}

std::vector<JobResult> Client::generate_batch(const std::vector<Job>& jobs, JobCallbacks callbacks) {
  std::vector<std::optional<JobHandle>> handles(jobs.size());
  std::vector<JobResult> results(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    try {
      handles[i] = submit(jobs[i], callbacks);
    } catch (const Error& e) {
      // A job refused at submit fails alone; the others run.
      results[i].job_id = jobs[i].job_id;
      results[i].state = e.code() == ErrorCode::cancelled ? JobState::cancelled : JobState::failed;
      results[i].error_code = e.code();
      results[i].error_message = e.what();
      if (callbacks.done) callbacks.done(results[i]);
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (handles[i]) results[i] = handles[i]->wait();
  return results;
}

bool Client::cancel(const std::string& job_id) {
  const auto handle = find(job_id);
  return handle && handle->cancel();
}

std::optional<JobHandle> Client::find(const std::string& job_id) const {
  Core& c = *impl_->core;
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.jobs.find(job_id);
  if (it == c.jobs.end()) return std::nullopt;
  return JobHandle(it->second);
}

std::optional<int> Client::queue_position(const std::string& job_id) const {
  Core& c = *impl_->core;
  std::lock_guard<std::mutex> lock(c.mutex);
  for (std::size_t i = 0; i < c.waiting.size(); ++i)
    if (c.waiting[i]->id == job_id) return static_cast<int>(i);
  return std::nullopt;
}

ClientStats Client::stats() const {
  Core& c = *impl_->core;
  std::lock_guard<std::mutex> lock(c.mutex);
  ClientStats s = c.stats.snapshot();
  s.queued = static_cast<std::int64_t>(c.waiting.size());
  s.running = c.running;
  return s;
}

void Client::reset_stats() {
  Core& c = *impl_->core;
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.reset();
  for (auto it = c.jobs.begin(); it != c.jobs.end();) {
    bool finished;
    {
      std::lock_guard<std::mutex> job_lock(it->second->mutex);
      finished = it->second->finished;
    }
    it = finished ? c.jobs.erase(it) : std::next(it);
  }
  c.finished_jobs.clear();
}

const ClientDevices& Client::devices() const { return impl_->core->pool.info(); }

Plan Client::plan(double duration_seconds, Quality quality, Resolution resolution, const PlanLimits& limits) const {
  const Core& c = *impl_->core;
  if (!c.planning.plannable)
    fail(ErrorCode::unsupported, "the Planner sizes the InfiniteTalk-14B model on CUDA GPUs; this client runs {} on "
         "{}, which it cannot size. Plan for a GPU type with talkgen::plan() / `talkgen plan --gpu-type`",
         c.options.model == "demo" ? "the demo model" : "the real model", c.pool.info().cuda ? "CUDA" : "the CPU");
  PlanRequest request = client::planner_request(c.planning, resolution);
  request.duration_seconds = duration_seconds;
  request.quality = quality;
  request.budget_usd = limits.budget_usd;
  request.deadline_seconds = limits.deadline_seconds;
  return evaluate_plan(request);
}

bool Client::untrained_model() const { return impl_->core->options.model == "demo"; }

}  // namespace talkgen
