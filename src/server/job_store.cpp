#include "server/job_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <sqlite3.h>

#include "talkgen/error.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- acceptance order
  id TEXT NOT NULL UNIQUE,
  client_key TEXT UNIQUE,                  -- NULL when the client sent no job_id
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  result TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at REAL NOT NULL,
  started_at REAL,
  finished_at REAL,
  restarts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
)sql";

// Schema versions (PRAGMA user_version): 0 = the table above as first shipped; 2 = with `interruptions`.
// Each step runs in one transaction with the version bump, so a crash leaves the old or the new schema.
constexpr int kSchemaVersion = 2;
constexpr const char* kMigrateTo2 = R"sql(
BEGIN IMMEDIATE;
ALTER TABLE jobs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;  -- running when the server died
PRAGMA user_version = 2;
COMMIT;
)sql";

constexpr const char* kColumns =
    "id, client_key, fingerprint, state, request, result, error_code, error_message, created_at, started_at, "
    "finished_at, restarts, interruptions";

// The database holds users' scripts and prompts: this account only, like the media beside it. SQLite
// creates its -wal and -shm files with the database file's permissions, so the file is made (or, from an
// older server, narrowed to) 0600 before SQLite opens it.
void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    fail(ErrorCode::io_error, "cannot open the job database '{}': {}; check that --data-dir is writable", path,
         std::strerror(errno));
  const int chmod_result = ::fchmod(fd, 0600);
  const int err = errno;
  ::close(fd);
  if (chmod_result != 0)
    fail(ErrorCode::io_error, "cannot make the job database '{}' private (0600): {}", path, std::strerror(err));
  for (const char* suffix : {"-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);  // missing is fine
}

// One prepared statement, finalized on scope exit. Errors name the database and SQLite's message.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const std::string& sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail_here("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& text_or_null(int i, const std::string& v) {
    if (v.empty()) sqlite3_bind_null(stmt_, i); else text(i, v);
    return *this;
  }
  Statement& real(int i, double v) { sqlite3_bind_double(stmt_, i, v); return *this; }
  Statement& integer(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  /// True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) throw ConstraintError();
    fail_here("step");
  }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  std::optional<double> column_real(int i) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, i);
  }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  struct ConstraintError {};

 private:
  [[noreturn]] void fail_here(const char* what) {
    fail(ErrorCode::io_error, "job database '{}': SQLite {} failed: {} (is the disk full or the file "
         "damaged? check --data-dir)", path_, what, sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

JobRecord read_record(const Statement& s) {
  JobRecord r;
  r.id = s.column_text(0);
  r.client_key = s.column_text(1);
  r.fingerprint = s.column_text(2);
  r.state = s.column_text(3);
  r.request = json::parse(s.column_text(4), nullptr, false);
  const std::string result = s.column_text(5);
  r.result = result.empty() ? json(nullptr) : json::parse(result, nullptr, false);
  r.error_code = s.column_text(6);
  r.error_message = s.column_text(7);
  r.created_at = s.column_real(8).value_or(0);
  r.started_at = s.column_real(9);
  r.finished_at = s.column_real(10);
  r.restarts = static_cast<int>(s.column_int(11));
  r.interruptions = static_cast<int>(s.column_int(12));
  return r;
}

}  // namespace

JobStore::JobStore(const std::string& path) : path_(path) {
  create_private_file(path);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCode::io_error, "cannot open the job database '{}': {}; check that --data-dir is writable",
         path, why);
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL: readers never block the writer; synchronous=FULL: a commit is on disk before it returns.
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  exec(kSchema);
  migrate();
}

int JobStore::schema_version() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.column_int(0)) : 0;
}

void JobStore::migrate() {
  const int version = schema_version();
  if (version >= kSchemaVersion) return;
  // Databases of version 0 have the first table; a fresh one has it too (kSchema), so one path fits both.
  char* message = nullptr;
  if (sqlite3_exec(db_, kMigrateTo2, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    fail(ErrorCode::io_error, "job database '{}': cannot upgrade it from schema {} to {}: {} (is the disk full? "
         "the database is unchanged)", path_, version, kSchemaVersion, why);
  }
}

JobStore::~JobStore() { sqlite3_close(db_); }

void JobStore::exec(const char* sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    fail(ErrorCode::io_error, "job database '{}': {}; check that --data-dir is writable and not damaged",
         path_, why);
  }
}

bool JobStore::insert(const JobRecord& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_,
              "INSERT INTO jobs (id, client_key, fingerprint, state, request, result, error_code, error_message, "
              "created_at, restarts) VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL, NULL, ?6, ?7)");
  s.text(1, r.id).text_or_null(2, r.client_key).text(3, r.fingerprint).text(4, r.state).text(5, r.request.dump())
      .real(6, r.created_at).integer(7, r.restarts);
  try {
    s.step();
  } catch (const Statement::ConstraintError&) {
    return false;
  }
  return true;
}

std::optional<JobRecord> JobStore::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, fmt::format("SELECT {} FROM jobs WHERE id = ?1", kColumns));
  s.text(1, id);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

std::optional<JobRecord> JobStore::find_by_client_key(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, fmt::format("SELECT {} FROM jobs WHERE client_key = ?1", kColumns));
  s.text(1, key);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

void JobStore::mark_running(const std::string& id, double started_at) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "UPDATE jobs SET state = 'running', started_at = ?2 WHERE id = ?1");
  s.text(1, id).real(2, started_at).step();
}

void JobStore::mark_finished(const std::string& id, const std::string& state, const json& result,
                             const std::string& error_code, const std::string& error_message,
                             double finished_at) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_,
              "UPDATE jobs SET state = ?2, result = ?3, error_code = ?4, error_message = ?5, finished_at = ?6 "
              "WHERE id = ?1");
  s.text(1, id).text(2, state).text_or_null(3, result.is_null() ? std::string() : result.dump())
      .text_or_null(4, error_code).text_or_null(5, error_message).real(6, finished_at).step();
}

void JobStore::mark_queued(const std::string& id, bool restart) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_,
              "UPDATE jobs SET state = 'queued', started_at = NULL, restarts = restarts + ?2 WHERE id = ?1");
  s.text(1, id).integer(2, restart ? 1 : 0).step();
}

int JobStore::mark_interrupted(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_,
              "UPDATE jobs SET state = 'queued', started_at = NULL, restarts = restarts + 1, "
              "interruptions = interruptions + 1 WHERE id = ?1 RETURNING interruptions");
  s.text(1, id);
  int count = 0;
  if (s.step()) {  // one row at most (id is unique); stepping to the end completes the statement
    count = static_cast<int>(s.column_int(0));
    while (s.step()) {
    }
  }
  return count;
}

bool JobStore::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "DELETE FROM jobs WHERE id = ?1");
  s.text(1, id).step();
  return sqlite3_changes(db_) > 0;
}

std::vector<JobRecord> JobStore::list(int limit, int offset, const std::string& state) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, fmt::format("SELECT {} FROM jobs WHERE (?3 = '' OR state = ?3) ORDER BY seq DESC "
                                      "LIMIT ?1 OFFSET ?2", kColumns));
  s.integer(1, limit).integer(2, offset).text(3, state);
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_record(s));
  return out;
}

std::int64_t JobStore::count(const std::string& state) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "SELECT COUNT(*) FROM jobs WHERE (?1 = '' OR state = ?1)");
  s.text(1, state);
  return s.step() ? s.column_int(0) : 0;
}

std::map<std::string, std::int64_t> JobStore::count_by_state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  std::map<std::string, std::int64_t> out;
  while (s.step()) out[s.column_text(0)] = s.column_int(1);
  return out;
}

std::vector<JobRecord> JobStore::unfinished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, fmt::format("SELECT {} FROM jobs WHERE state IN ('queued', 'running', 'retrying') "
                                      "ORDER BY seq ASC", kColumns));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_record(s));
  return out;
}

std::vector<std::string> JobStore::ids() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, path_, "SELECT id FROM jobs");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

}  // namespace talkgen::server
