#include "server/job_service.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "client/job_id.hpp"
#include "client/job_json.hpp"
#include "server/http_error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

std::string database_path(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) fail(ErrorCode::io_error, "cannot create --data-dir '{}': {}", data_dir, ec.message());
  return (std::filesystem::path(data_dir) / "jobs.db").string();
}

bool unfinished_state(const std::string& s) { return s == "queued" || s == "running" || s == "retrying"; }

// An id from a URL (any text): shown quoted and cut to what an id can be (32 hex digits).
HttpError no_such_job(const std::string& id) {
  return HttpError(404, "not_found", fmt::format("no job {:?}", id.substr(0, 40)));
}

// The job could not be written down: refused with 507, the detail (server paths) kept for the log.
[[noreturn]] void refuse_unstorable(const Error& e) {
  log_error("serve: a job was refused: it could not be stored: {}", e.what());
  throw HttpError(507, "insufficient_storage",
                  "the server could not store the job: its data folder is full or not writable (the server's log "
                  "has the details); the job was not accepted, retry later");
}

}  // namespace

JobService::JobService(ClientOptions client_options, std::string data_dir, Limits limits, JobCustomizer customize,
                       WebhookOptions webhooks)
    : limits_(limits), customize_(std::move(customize)), data_dir_(data_dir), store_(database_path(data_dir)),
      files_(data_dir), webhooks_(std::move(webhooks)) {
  client_ = std::make_unique<Client>(std::move(client_options));
  recover();
}

JobService::~JobService() {
  stop_events();
  // Cancels what is left; on_done() puts those jobs back to queued, so the store must outlive the Client.
  client_.reset();
  flush_unrecorded();  // last chance for final states the disk refused
  std::lock_guard<std::mutex> lock(unrecorded_mutex_);
  for (const auto& [id, outcome] : unrecorded_)
    log_error("serve: job {} ended {} but that could not be written down; it runs again at the next start", id,
              outcome.state);
}

void JobService::recover() {
  // Killed writes (inputs, videos) leave temporary files that no one will rename: they only take space.
  if (const int removed = files_.remove_temporary_files(); removed > 0)
    log_info("serve: removed {} temporary file(s) left by interrupted writes", removed);
  // A crash between writing a job's files and its record leaves a folder nobody knows: not accepted.
  const auto known_ids = store_.ids();
  const std::set<std::string> known(known_ids.begin(), known_ids.end());
  for (const std::string& id : files_.ids())
    if (!known.count(id)) files_.remove(id);

  const auto unfinished = store_.unfinished();
  std::size_t requeued = 0;
  for (const JobRecord& record : unfinished) {
    JobRecord r = record;
    if (r.state != "queued") {
      // It was running when the server died (a crash, a kill, power): from the start again, unless it was
      // running at every one of the last stops: then it is likely the cause, and running it again would take
      // the server down once more (and again at every start).
      r.interruptions = store_.mark_interrupted(r.id);
      r.state = "queued";
      if (r.interruptions >= kMaxInterruptions) {
        store_.mark_finished(r.id, "failed", nullptr, to_string(ErrorCode::internal),
                             fmt::format("the server stopped unexpectedly {} times while this job was running, so "
                                         "the job may be what stops it; it is not run again. Check its inputs and "
                                         "the server's log, then submit it again with a new job_id",
                                         r.interruptions),
                             now_seconds());
        log_error("serve: job {} was running at {} unexpected stops of the server; failed instead of run again",
                  r.id, r.interruptions);
        continue;
      }
    }
    try {
      enqueue(r);
      ++requeued;
    } catch (const Error& e) {
      store_.mark_finished(r.id, "failed", nullptr, to_string(e.code()),
                           fmt::format("could not be queued again after a server restart: {}", e.what()),
                           now_seconds());
    }
  }
  if (requeued > 0) log_info("serve: {} unfinished job(s) from before the restart queued again", requeued);
}

JobService::Submitted JobService::existing_or_conflict(const JobRecord& record,
                                                      const std::string& fingerprint) const {
  if (record.fingerprint != fingerprint)
    throw HttpError(409, "conflict", fmt::format("job_id '{}' was already used for {} (job {}); use a new "
                    "job_id for a new job", record.client_key,
                    // Before SHA-256 (64 hex digits), fingerprints were 16: such a job cannot be compared.
                    record.fingerprint.size() == fingerprint.size() ? "a different request"
                                                                   : "a job accepted by an older server version",
                    record.id));
  return {to_json(record), false};
}

JobService::Submitted JobService::submit(JobRequest request) {
  const auto refuse_if_draining = [this] {
    if (draining_)
      throw HttpError(503, "draining", "the server is shutting down and takes no new jobs; retry against "
                      "the restarted server");
  };
  refuse_if_draining();
  if (!request.webhook_url.empty()) {
    if (webhooks_.options().secret.empty())
      fail(ErrorCode::invalid_argument, "this server sends no webhooks: it has no --webhook-secret-file to sign "
           "them with. Leave 'webhook_url' out and follow the job with GET /v1/jobs/{{id}}?wait=60 or its /events");
    parse_webhook_url(request.webhook_url, webhooks_.options().allow_private);
  }
  const std::string fingerprint = request_fingerprint(request);
  // A retry of an accepted job: answer at once, without decoding the media again.
  if (!request.client_key.empty())
    if (auto existing = store_.find_by_client_key(request.client_key))
      return existing_or_conflict(*existing, fingerprint);

  const MediaFacts facts = validate_job_request(request, limits_);

  flush_unrecorded();  // the disk may take final states it refused before
  std::lock_guard<std::mutex> submit_lock(submit_mutex_);
  refuse_if_draining();
  if (!request.client_key.empty()) {
    if (auto existing = store_.find_by_client_key(request.client_key))
      return existing_or_conflict(*existing, fingerprint);
    // GET /v1/jobs/{name} takes either kind of id, the server's first: a job_id equal to another job's
    // server id would name that job, not this one.
    if (store_.get(request.client_key))
      throw HttpError(409, "conflict", fmt::format("job_id '{}' is the id the server gave another job; choose "
                      "another job_id", request.client_key));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int>(live_.size()) >= limits_.max_queued_jobs)
      throw HttpError(429, "too_many_jobs", fmt::format("{} jobs are queued or running, the limit "
                      "(--max-queued-jobs); retry later", live_.size()));
  }

  JobRecord record;
  record.id = client::make_job_id();
  record.client_key = request.client_key;
  record.fingerprint = fingerprint;
  record.request = request_parameters(request, facts);
  record.created_at = now_seconds();
  // Files first, then the record: a crash in between leaves a folder without a record, removed at start.
  try {
    files_.write_inputs(record.id, request.image, request.audio, request.audio2);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::io_error) throw;
    refuse_unstorable(e);  // write_inputs() left nothing behind
  }
  bool inserted = false;
  try {
    inserted = store_.insert(record);
  } catch (const Error& e) {
    std::error_code ignored;
    std::filesystem::remove_all(files_.folder(record.id), ignored);
    if (e.code() != ErrorCode::io_error) throw;
    refuse_unstorable(e);
  }
  if (!inserted) {
    files_.remove(record.id);
    fail(ErrorCode::internal, "job_id '{}' was taken while the job was being stored", request.client_key);
  }
  try {
    enqueue(record);
  } catch (...) {
    store_.remove(record.id);
    files_.remove(record.id);
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++submitted_total_;
  }
  log_info("serve: job {} accepted ({}, {})", record.id, record.request.value("quality", ""),
           record.request.value("speech", ""));
  return {to_json(record), true};
}

void JobService::enqueue(const JobRecord& r) {
  Job job;
  job.job_id = r.id;
  GenerateOptions& g = job.generate;
  const json& q = r.request;
  g.image_path = files_.image_path(r.id);
  if (q.value("speech", "audio") == "audio") {
    g.audio_path = files_.audio_path(r.id);
    if (q.value("speakers", 1) == 2) {
      g.audio2_path = files_.audio2_path(r.id);
      g.speaker_timing = parse_speaker_timing(q.value("speaker_timing", "one-after-another"));
      // Stored by request_parameters after validation.
      if (q.contains("speaker1_box")) g.speaker1_box = client::pixel_box_from_json(q["speaker1_box"]);
      if (q.contains("speaker2_box")) g.speaker2_box = client::pixel_box_from_json(q["speaker2_box"]);
    }
  } else {
    g.speech_text = q.value("script_text", "");
    if (q.contains("voice")) g.speech.voice = q["voice"].get<std::string>();
  }
  g.output_path = files_.video_path(r.id);
  g.resolution = parse_resolution(q.value("resolution", "480p"));
  g.quality = parse_quality(q.value("quality", to_string(default_quality)));
  g.seed = q.value("seed", std::int64_t{42});
  if (q.contains("prompt") && q["prompt"].is_string()) g.prompt = q["prompt"].get<std::string>();
  if (q.contains("num_gpus") && q["num_gpus"].is_number_integer()) job.gpus = q["num_gpus"].get<int>();
  if (q.contains("max_duration_sec") && q["max_duration_sec"].is_number())
    job.max_duration_seconds = q["max_duration_sec"].get<double>();
  if (customize_) customize_(job);

  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_[r.id] = Live{};
  }
  JobCallbacks callbacks;
  callbacks.progress = [this](const JobProgress& p) { return on_progress(p); };
  callbacks.done = [this](const JobResult& result) { on_done(result); };
  try {
    client_->submit(std::move(job), std::move(callbacks));
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(r.id);
    throw;
  }
}

bool JobService::on_progress(const JobProgress& p) {
  // A final state is announced only once on_done() has written the record: clients that see
  // `succeeded` must find the video there (GET /video would answer 409 not_ready otherwise).
  if (is_finished(p.state)) return true;
  bool became_running = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = live_.find(p.job_id);
    if (it == live_.end()) return true;
    Live& live = it->second;
    if (p.state == JobState::running && !live.started) live.started = became_running = true;
    live.progress.state = p.state;
    live.progress.generate = p.generate;
    live.progress.attempt = p.attempt;
    live.progress.gpus = p.gpus;
    // A retry starts its fraction again at 0; clients see the job's best so far, never a step back.
    live.progress.fraction = std::max(live.progress.fraction, std::clamp(p.generate.fraction, 0.0, 1.0));
    ++live.seq;
  }
  changed_.notify_all();
  if (became_running) {
    try {
      store_.mark_running(p.job_id, now_seconds());
    } catch (const Error& e) {
      log_error("serve: job {}: {}", p.job_id, e.what());
    }
  }
  return true;
}

void JobService::on_done(const JobResult& r) {
  bool user_cancelled = false, started = false;
  double fraction = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = live_.find(r.job_id); it != live_.end()) {
      user_cancelled = it->second.user_cancelled;
      started = it->second.started;
      fraction = it->second.progress.fraction;
    }
    gpu_seconds_total_ += r.gpu_seconds;
  }
  if (r.state == JobState::cancelled && !user_cancelled) {
    // Stopped by drain or shutdown, not by a client: it runs again at the next start.
    try {
      store_.mark_queued(r.job_id, started);
    } catch (const Error& e) {
      log_error("serve: job {} was stopped but could not be put back to queued: {}", r.job_id, e.what());
    }
  } else {
    Unrecorded outcome;
    outcome.state = to_string(r.state);
    outcome.error_code = r.error_code == ErrorCode::ok ? std::string() : to_string(r.error_code);
    outcome.error_message = r.error_message;
    std::int64_t bytes = 0;
    if (r.ok()) {
      try {
        // On disk before the record says `succeeded`: a power cut must not leave a record without its video.
        files_.finalize_video(r.job_id);
        std::error_code ec;
        bytes = static_cast<std::int64_t>(std::filesystem::file_size(files_.video_path(r.job_id), ec));
      } catch (const Error& e) {
        outcome.state = to_string(JobState::failed);
        outcome.error_code = to_string(e.code());
        outcome.error_message = fmt::format("the video was made but could not be saved: {}", e.what());
      }
    }
    outcome.result = result_to_json(r, bytes);
    outcome.result["progress"] = outcome.state == "succeeded" ? 1.0 : fraction;  // where it stopped
    outcome.finished_at = now_seconds();
    record_finished(r.job_id, std::move(outcome));
    announce(r.job_id);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(r.job_id);
  }
  changed_.notify_all();
}

void JobService::announce(const std::string& id) {
  const auto record = record_of(id);
  if (!record || !record->request.is_object()) return;
  const std::string url = record->request.value("webhook_url", "");
  if (url.empty()) return;
  // The record is final here: no live progress (and no call into the Client, which may be shutting down).
  webhooks_.deliver(url, id, job_to_json(*record, nullptr).dump());
}

void JobService::record_finished(const std::string& id, Unrecorded outcome) {
  try {
    store_.mark_finished(id, outcome.state, outcome.result, outcome.error_code, outcome.error_message,
                         outcome.finished_at);
    std::lock_guard<std::mutex> lock(unrecorded_mutex_);
    unrecorded_.erase(id);
  } catch (const Error& e) {
    log_error("serve: job {} ended {} but its record could not be updated (kept in memory until the disk takes "
              "it): {}", id, outcome.state, e.what());
    std::lock_guard<std::mutex> lock(unrecorded_mutex_);
    unrecorded_[id] = std::move(outcome);
  }
}

void JobService::flush_unrecorded() {
  std::map<std::string, Unrecorded> pending;
  {
    std::lock_guard<std::mutex> lock(unrecorded_mutex_);
    if (unrecorded_.empty()) return;
    pending = unrecorded_;
  }
  for (auto& [id, outcome] : pending) {
    try {
      store_.mark_finished(id, outcome.state, outcome.result, outcome.error_code, outcome.error_message,
                           outcome.finished_at);
    } catch (const Error&) {
      return;  // still full: the rest would fail too
    }
    std::lock_guard<std::mutex> lock(unrecorded_mutex_);
    unrecorded_.erase(id);
  }
}

JobRecord JobService::with_unrecorded(JobRecord record) const {
  std::lock_guard<std::mutex> lock(unrecorded_mutex_);
  const auto it = unrecorded_.find(record.id);
  if (it == unrecorded_.end()) return record;
  record.state = it->second.state;
  record.result = it->second.result;
  record.error_code = it->second.error_code;
  record.error_message = it->second.error_message;
  record.finished_at = it->second.finished_at;
  return record;
}

std::optional<JobRecord> JobService::record_of(const std::string& id) const {
  auto record = store_.get(id);
  if (!record) return std::nullopt;
  return with_unrecorded(std::move(*record));
}

json JobService::to_json(const JobRecord& record) const {
  // Asked of the Client before mutex_ is taken: the Client calls on_progress(), which takes mutex_, with its
  // own lock free, but this keeps the two locks from ever nesting.
  const std::optional<int> queue_position = record.state == "queued" ? client_->queue_position(record.id)
                                                                     : std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = live_.find(record.id);
  if (it == live_.end()) return job_to_json(record, nullptr);
  LiveProgress live = it->second.progress;
  if (live.state == JobState::queued) live.queue_position = queue_position;
  return job_to_json(record, &live);
}

std::string JobService::resolve_id(const std::string& name) const {
  if (store_.get(name)) return name;
  if (const auto by_key = store_.find_by_client_key(name)) return by_key->id;
  return name;
}

bool JobService::changing(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !events_stopped_ && live_.count(id) > 0;
}

std::optional<json> JobService::job(const std::string& id) const {
  const auto record = record_of(id);
  if (!record) return std::nullopt;
  return to_json(*record);
}

json JobService::list(int limit, int offset, const std::string& state) const {
  json jobs = json::array();
  for (const JobRecord& r : store_.list(limit, offset, state)) jobs.push_back(to_json(with_unrecorded(r)));
  const std::int64_t total = store_.count(state);
  const std::int64_t next = offset + static_cast<std::int64_t>(jobs.size());
  return json{{"jobs", jobs}, {"total", total}, {"limit", limit}, {"offset", offset},
              {"next_offset", next < total && !jobs.empty() ? json(next) : json(nullptr)}};
}

JobService::Removal JobService::remove(const std::string& id, json* job_after) {
  flush_unrecorded();  // a final state not yet written must not be overwritten by `cancelled`
  auto record = record_of(id);
  if (!record) return Removal::not_found;
  bool live = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = live_.find(id); it != live_.end()) {
      it->second.user_cancelled = true;
      live = true;
    }
  }
  if (live) {
    client_->cancel(id);  // on_done() records `cancelled` (or the job finished first: its own state)
  } else if (unfinished_state(record->state)) {
    // Known but not in the Client (left queued by a drain): cancelling is just writing it down.
    store_.mark_finished(id, "cancelled", nullptr, to_string(ErrorCode::cancelled), "cancelled by the client",
                         now_seconds());
  } else {
    store_.remove(id);
    {
      std::lock_guard<std::mutex> lock(unrecorded_mutex_);
      unrecorded_.erase(id);
    }
    files_.remove(id);
    return Removal::deleted;
  }
  if (job_after) {
    record = record_of(id);
    if (record) *job_after = to_json(*record);
  }
  return Removal::cancelling;
}

std::string JobService::video_path(const std::string& id) const {
  const auto record = record_of(id);
  if (!record) throw no_such_job(id);
  if (record->state != "succeeded")
    throw HttpError(409, "not_ready", fmt::format("job {} is {}; the video is there once it has succeeded",
                                                  id, record->state));
  const std::string path = files_.video_path(id);
  if (!std::filesystem::exists(path))
    fail(ErrorCode::io_error, "the video of job {} is missing from the server's data folder", id);
  return path;
}

std::optional<JobService::Event> JobService::next_event(const std::string& id, std::uint64_t after,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Live jobs: wait for a newer sequence number. Finished (or not running here): the record answers.
  const auto ready = [&] {
    if (events_stopped_) return true;
    const auto it = live_.find(id);
    return it == live_.end() || it->second.seq > after || after == 0;
  };
  if (!changed_.wait_for(lock, timeout, ready)) return std::nullopt;
  if (events_stopped_) return std::nullopt;
  const auto it = live_.find(id);
  if (it != live_.end()) {
    const std::uint64_t seq = it->second.seq;
    lock.unlock();
    const auto record = record_of(id);
    if (!record) throw no_such_job(id);
    // The record may already be final (on_done() writes it before the job leaves live_).
    return Event{to_json(*record), seq, !unfinished_state(record->state)};
  }
  lock.unlock();
  const auto record = record_of(id);
  if (!record) throw no_such_job(id);
  const bool finished = !unfinished_state(record->state);
  if (!finished) {
    // Known but idle here (left queued by a drain): nothing will change until a restart.
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1000)));
    if (after != 0) return std::nullopt;
  }
  return Event{to_json(*record), after + 1, finished};
}

void JobService::stop_events() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_stopped_ = true;
  }
  changed_.notify_all();
}

void JobService::begin_drain() {
  draining_ = true;
  std::vector<std::string> waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, live] : live_)
      if (!live.started) waiting.push_back(id);
  }
  for (const std::string& id : waiting) client_->cancel(id);  // on_done() keeps them queued on disk
  log_info("serve: draining: {} queued job(s) kept for the next start", waiting.size());
}

bool JobService::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return live_.empty(); });
}

void JobService::interrupt_all() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : live_) ids.push_back(entry.first);
  }
  for (const std::string& id : ids) client_->cancel(id);
}

json JobService::stats() const {
  json j = stats_to_json(client_->stats());
  const ClientDevices& d = client_->devices();
  j["devices"] = d.devices;
  j["device_policy"] = to_string(d.policy);
  j["gpu_type"] = d.gpu_type;
  j["untrained_model"] = client_->untrained_model();
  j["default_quality"] = to_string(default_quality);  // what a job or plan without `quality` runs
  j["draining"] = draining_.load();
  return j;
}

void JobService::reset_stats() { client_->reset_stats(); }

Plan JobService::plan(double duration_seconds, Quality quality, Resolution resolution,
                      const PlanLimits& limits) const {
  return client_->plan(duration_seconds, quality, resolution, limits);
}

JobService::Counts JobService::counts() const {
  Counts c;
  const ClientStats s = client_->stats();
  c.queued = s.queued;
  c.running = s.running;
  c.by_state = store_.count_by_state();
  std::lock_guard<std::mutex> lock(mutex_);
  c.gpu_seconds_total = gpu_seconds_total_;
  c.submitted_total = submitted_total_;
  return c;
}

}  // namespace talkgen::server
