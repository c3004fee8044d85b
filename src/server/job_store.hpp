// The durable job records: one SQLite database (WAL, synchronous=FULL, so a committed record survives
// SIGKILL and power loss). Media lives beside it as files (job_files.hpp); a record never holds a path.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace talkgen::server {

struct JobRecord {
  std::string id;                 ///< the server's id (32 hex digits)
  std::string client_key;         ///< the client's job_id (empty: none)
  std::string fingerprint;        ///< request_fingerprint() of what was submitted
  std::string state = "queued";   ///< to_string(JobState)
  nlohmann::json request;         ///< request_parameters()
  nlohmann::json result;          ///< null until finished (the JobResult as JSON)
  std::string error_code, error_message;
  double created_at = 0;          ///< Unix seconds
  std::optional<double> started_at, finished_at;
  int restarts = 0;               ///< re-runs from the start after a server restart
  int interruptions = 0;          ///< times the server stopped unexpectedly (crash, kill) while it was running
};

class JobStore {
 public:
  /// Opens (creating, 0600) the database at `path`, upgrading an older schema in place. Error(io_error)
  /// naming the file when SQLite cannot (a full disk included: nothing is changed then).
  explicit JobStore(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  /// Adds a record. False (and nothing written) when its client_key is already taken.
  bool insert(const JobRecord& record);
  std::optional<JobRecord> get(const std::string& id) const;
  std::optional<JobRecord> find_by_client_key(const std::string& key) const;

  void mark_running(const std::string& id, double started_at);
  /// Final state with the result / error.
  void mark_finished(const std::string& id, const std::string& state, const nlohmann::json& result,
                     const std::string& error_code, const std::string& error_message, double finished_at);
  /// Back to queued (to run from the start); `restart` counts a re-run after a crash or shutdown.
  void mark_queued(const std::string& id, bool restart);
  /// Back to queued after the server stopped unexpectedly while the job was running: counts a restart and an
  /// interruption. Returns the job's interruptions so far (0 when there is no such record).
  int mark_interrupted(const std::string& id);
  /// Deletes the record; false when there was none.
  bool remove(const std::string& id);

  /// Newest first; `state` empty: all.
  std::vector<JobRecord> list(int limit, int offset, const std::string& state = {}) const;
  std::int64_t count(const std::string& state = {}) const;
  std::map<std::string, std::int64_t> count_by_state() const;
  /// queued, running and retrying records, oldest first (the order they were accepted in).
  std::vector<JobRecord> unfinished() const;
  /// Every id (to find job folders without a record).
  std::vector<std::string> ids() const;

 private:
  void exec(const char* sql) const;
  int schema_version() const;
  void migrate();
  sqlite3* db_ = nullptr;
  std::string path_;
  mutable std::mutex mutex_;  // one connection, used by one thread at a time
};

}  // namespace talkgen::server
