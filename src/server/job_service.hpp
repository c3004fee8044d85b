// The server's job logic over talkgen::Client, with no HTTP in it: accept a validated request durably
// (files, then the record, then Client::submit), follow each job through the Client's callbacks, answer
// queries from the store, cancel or delete, and bring unfinished jobs back after a restart.
//
// Rules that keep "nothing lost, nothing run twice":
//  - a job is on disk (inputs + record) before it is queued and before the client hears "201";
//  - a client job_id maps to one record (UNIQUE in SQLite; a submit lock closes the check-then-insert race);
//  - the record says `cancelled` only when a client asked (DELETE): a job stopped by drain or shutdown goes
//    back to `queued` and runs from the start at the next start;
//  - a job found `running` at start was interrupted by a crash or kill: it runs again, but one that was
//    running at kMaxInterruptions such stops is failed instead (it may be what takes the server down);
//  - a job the disk cannot take is not accepted (507); a job whose final state cannot be written (full disk)
//    is answered from memory and written as soon as the disk takes it again, never shown `running` forever.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_json.hpp"
#include "server/job_files.hpp"
#include "server/job_request.hpp"
#include "server/job_store.hpp"
#include "server/limits.hpp"
#include "server/webhooks.hpp"
#include "talkgen/client.hpp"

namespace talkgen::server {

class JobService {
 public:
  /// Applied to every job just before Client::submit (tests make demo jobs tiny with it).
  using JobCustomizer = std::function<void(Job&)>;
  /// A job running when the server stopped unexpectedly this many times is failed at the next start rather
  /// than run again: three, so that an operator's kill or an unrelated crash during a job does not condemn
  /// it, while a job that crashes the server stops doing so after the third time.
  static constexpr int kMaxInterruptions = 3;
  /// Opens (or creates) the store under `data_dir`, removes temporary files of killed writes, makes the
  /// Client, and re-queues unfinished jobs (failing those interrupted kMaxInterruptions times). `webhooks`:
  /// how finished jobs with a webhook_url are announced (without a secret, such jobs are refused).
  JobService(ClientOptions client_options, std::string data_dir, Limits limits, JobCustomizer customize = {},
             WebhookOptions webhooks = {});
  /// Stops the Client (running jobs go back to queued on disk) and closes the store.
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  struct Submitted {
    nlohmann::json job;
    bool created = false;  ///< false: the job this job_id made before
  };
  /// A webhook_url is refused (Error(invalid_argument)) when the server has no webhook secret, and when it
  /// names a loopback or private IP (webhooks.hpp) unless the options allow them.
  /// HttpError: 503 draining, 409 conflict (same job_id, other request; or a job_id that is another job's server
  /// id), 429 too_many_jobs, 507
  /// insufficient_storage (its files or record could not be written: nothing is kept).
  /// Error: invalid_argument / unsupported from validation or the Client.
  Submitted submit(JobRequest request);

  std::optional<nlohmann::json> job(const std::string& id) const;
  /// The server's id of the job `name` names: the server's id itself, or the job_id its client chose when it
  /// submitted it; `name` unchanged when no job has either (lookups then find nothing).
  std::string resolve_id(const std::string& name) const;
  /// Whether the job is queued or running in this process (so its record may still change); from memory.
  bool changing(const std::string& id) const;
  /// {"jobs", "total", "limit", "offset", "next_offset"}.
  nlohmann::json list(int limit, int offset, const std::string& state) const;

  enum class Removal { not_found, cancelling, deleted };
  /// Unfinished: cancels (`job_after` gets the job object). Finished: deletes the record and its files.
  Removal remove(const std::string& id, nlohmann::json* job_after);

  /// The MP4 of a succeeded job. HttpError 404 (unknown id) / 409 not_ready (not succeeded yet).
  std::string video_path(const std::string& id) const;

  /// One step of an event stream: the job once its sequence number passes `after` (or at once when
  /// `after` is 0), or nullopt after `timeout` with nothing new, or when stop_events() was called.
  struct Event {
    nlohmann::json job;
    std::uint64_t seq = 0;
    bool finished = false;  ///< the job is finished: the stream ends after this event
  };
  /// Throws HttpError(404) for an unknown id.
  std::optional<Event> next_event(const std::string& id, std::uint64_t after, std::chrono::milliseconds timeout);
  /// Ends every waiting event stream (server shutdown).
  void stop_events();
  bool events_stopped() const { return events_stopped_; }

  /// Refuses new jobs from now on; jobs not yet started are stopped and stay queued on disk.
  void begin_drain();
  bool draining() const { return draining_; }
  /// Waits until no job runs in this process; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  /// Stops every job still running (they go back to queued on disk).
  void interrupt_all();

  nlohmann::json stats() const;
  void reset_stats();
  Plan plan(double duration_seconds, Quality quality, Resolution resolution, const PlanLimits& limits) const;

  struct Counts {
    std::int64_t queued = 0, running = 0;   ///< in the Client now
    std::map<std::string, std::int64_t> by_state;  ///< records by state
    double gpu_seconds_total = 0;           ///< since this process started
    std::int64_t submitted_total = 0;       ///< accepted by this process
  };
  Counts counts() const;

 private:
  struct Live {
    LiveProgress progress;
    std::uint64_t seq = 1;
    bool started = false;         // has reported running at least once
    bool user_cancelled = false;  // DELETE asked: `cancelled` is final
  };

  // A final state the store could not take (full disk): shown from here, written by flush_unrecorded().
  struct Unrecorded {
    std::string state;
    nlohmann::json result;
    std::string error_code, error_message;
    double finished_at = 0;
  };

  void recover();
  void record_finished(const std::string& id, Unrecorded outcome);
  /// POSTs the finished job to its webhook_url, if it has one (off this thread: webhooks.hpp).
  void announce(const std::string& id);
  void flush_unrecorded();
  JobRecord with_unrecorded(JobRecord record) const;
  std::optional<JobRecord> record_of(const std::string& id) const;
  void enqueue(const JobRecord& record);
  bool on_progress(const JobProgress& progress);
  void on_done(const JobResult& result);
  nlohmann::json to_json(const JobRecord& record) const;  // takes mutex_
  Submitted existing_or_conflict(const JobRecord& record, const std::string& fingerprint) const;

  Limits limits_;
  JobCustomizer customize_;
  std::string data_dir_;
  JobStore store_;
  JobFiles files_;
  WebhookSender webhooks_;          // destroyed after the Client, whose last callbacks may queue deliveries
  std::unique_ptr<Client> client_;  // destroyed first (its callbacks use the store)

  mutable std::mutex mutex_;        // live_ and the counters
  std::condition_variable changed_; // any live job moved
  std::map<std::string, Live> live_;
  double gpu_seconds_total_ = 0;
  std::int64_t submitted_total_ = 0;

  mutable std::mutex unrecorded_mutex_;
  std::map<std::string, Unrecorded> unrecorded_;

  std::mutex submit_mutex_;         // job_id check + insert, one at a time
  std::atomic<bool> draining_{false};
  std::atomic<bool> events_stopped_{false};
};

}  // namespace talkgen::server
