// The SQLite job store: records survive reopening, client keys are unique, paging and states.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include <sqlite3.h>

#include "core/atomic_file.hpp"
#include "server/job_files.hpp"
#include "server/job_store.hpp"
#include "server_test_support.hpp"

using namespace talkgen::server;
using namespace talkgen_test;

namespace {
JobRecord record(const std::string& id, const std::string& key, double created) {
  JobRecord r;
  r.id = id;
  r.client_key = key;
  r.fingerprint = "fp-" + id;
  r.request = {{"quality", "draft"}};
  r.created_at = created;
  return r;
}
}  // namespace

TEST_CASE("job records persist across reopening and client keys stay unique", "[server][store]") {
  const std::string dir = server_scratch_dir("store");
  const std::string db = dir + "/jobs.db";
  {
    JobStore store(db);
    CHECK(store.insert(record("a1", "key-1", 100)));
    CHECK(store.insert(record("a2", "", 101)));
    CHECK(store.insert(record("a3", "", 102)));  // several jobs without a key are fine
    CHECK_FALSE(store.insert(record("a4", "key-1", 103)));  // the key is taken
    CHECK_FALSE(store.get("a4").has_value());
    store.mark_running("a2", 150);
    store.mark_finished("a3", "succeeded", {{"gpus", 1}}, "", "", 160);
  }
  JobStore store(db);
  const auto a1 = store.find_by_client_key("key-1");
  REQUIRE(a1);
  CHECK(a1->id == "a1");
  CHECK(a1->state == "queued");
  CHECK(a1->request["quality"] == "draft");
  CHECK_FALSE(a1->started_at.has_value());
  const auto a2 = store.get("a2");
  REQUIRE(a2);
  CHECK(a2->state == "running");
  CHECK(a2->started_at == 150.0);
  const auto a3 = store.get("a3");
  REQUIRE(a3);
  CHECK(a3->state == "succeeded");
  CHECK(a3->result["gpus"] == 1);
  CHECK(a3->finished_at == 160.0);

  // Unfinished, oldest first; a restart puts running ones back with the count raised.
  auto unfinished = store.unfinished();
  REQUIRE(unfinished.size() == 2);
  CHECK(unfinished[0].id == "a1");
  CHECK(unfinished[1].id == "a2");
  store.mark_queued("a2", true);
  CHECK(store.get("a2")->state == "queued");
  CHECK(store.get("a2")->restarts == 1);
  CHECK_FALSE(store.get("a2")->started_at.has_value());

  CHECK(store.count() == 3);
  CHECK(store.count("queued") == 2);
  CHECK(store.count_by_state().at("succeeded") == 1);
  const auto page = store.list(2, 0);
  REQUIRE(page.size() == 2);
  CHECK(page[0].id == "a3");  // newest first
  CHECK(page[1].id == "a2");
  CHECK(store.list(2, 2).size() == 1);
  CHECK(store.list(10, 0, "succeeded").size() == 1);

  CHECK(store.remove("a3"));
  CHECK_FALSE(store.remove("a3"));
  CHECK(store.count() == 2);
}

TEST_CASE("job files are written whole and removed with their folder", "[server][store]") {
  const std::string dir = server_scratch_dir("files");
  JobFiles files(dir);
  files.write_inputs("j1", {1, 2, 3}, {});
  CHECK(read_bytes(files.image_path("j1")) == std::vector<std::uint8_t>{1, 2, 3});
  CHECK_FALSE(std::filesystem::exists(files.audio_path("j1")));
  for (const auto& entry : std::filesystem::directory_iterator(files.folder("j1")))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);  // no temporary left behind
  CHECK((std::filesystem::status(files.image_path("j1")).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none);  // users' media: this account only
  files.write_inputs("j2", {4}, {5, 6});
  CHECK(read_bytes(files.audio_path("j2")) == std::vector<std::uint8_t>{5, 6});
  auto ids = files.ids();
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"j1", "j2"});
  files.remove("j1");
  CHECK_FALSE(std::filesystem::exists(files.folder("j1")));
  CHECK(files.ids() == std::vector<std::string>{"j2"});
  CHECK_THROWS_AS(talkgen::write_file_atomically(dir + "/no/such/folder/x", std::vector<std::uint8_t>{1}),
                  talkgen::Error);
}

namespace {
unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("issue 22: the database is private and counts interruptions", "[server][store]") {
  const std::string dir = server_scratch_dir("store_private");
  const std::string db = dir + "/jobs.db";
  JobStore store(db);
  CHECK(store.insert(record("b1", "", 100)));
  CHECK(mode_of(db) == 0600);
  CHECK(mode_of(db + "-wal") == 0600);  // SQLite gives its side files the database's mode
  CHECK(mode_of(db + "-shm") == 0600);
  store.mark_running("b1", 110);
  CHECK(store.mark_interrupted("b1") == 1);
  auto b1 = store.get("b1");
  CHECK(b1->state == "queued");
  CHECK(b1->restarts == 1);
  CHECK(b1->interruptions == 1);
  CHECK_FALSE(b1->started_at.has_value());
  store.mark_running("b1", 120);
  CHECK(store.mark_interrupted("b1") == 2);
  store.mark_queued("b1", true);  // a shutdown's stop is not an interruption
  CHECK(store.get("b1")->interruptions == 2);
  CHECK(store.get("b1")->restarts == 3);
  CHECK(store.mark_interrupted("no-such-job") == 0);
}

TEST_CASE("issue 22: a database of the first schema opens, upgraded and made private", "[server][store]") {
  const std::string dir = server_scratch_dir("store_v0");
  const std::string db = dir + "/jobs.db";
  {
    // What a server before the interruption count wrote (user_version 0), readable by others.
    sqlite3* old = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &old) == SQLITE_OK);
    const char* v0 = R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, client_key TEXT UNIQUE,
        fingerprint TEXT NOT NULL, state TEXT NOT NULL, request TEXT NOT NULL, result TEXT, error_code TEXT,
        error_message TEXT, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
        restarts INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX jobs_state ON jobs(state);
      INSERT INTO jobs (id, client_key, fingerprint, state, request, created_at, started_at, restarts)
        VALUES ('old1', 'k-old', 'fp', 'running', '{"quality":"draft"}', 100, 101, 1);
    )sql";
    REQUIRE(sqlite3_exec(old, v0, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(old);
    ::chmod(db.c_str(), 0644);
  }
  {
    JobStore store(db);
    CHECK(mode_of(db) == 0600);
    const auto old1 = store.get("old1");
    REQUIRE(old1);
    CHECK(old1->state == "running");
    CHECK(old1->restarts == 1);
    CHECK(old1->interruptions == 0);
    CHECK(old1->request["quality"] == "draft");
    CHECK(store.mark_interrupted("old1") == 1);
    CHECK(store.insert(record("new1", "", 200)));
  }
  JobStore again(db);  // opening an upgraded database changes nothing
  CHECK(again.get("old1")->interruptions == 1);
  CHECK(again.get("new1")->interruptions == 0);
  CHECK(again.count() == 2);
}

TEST_CASE("issue 22: job folders are private and leftovers of killed writes are removed", "[server][store]") {
  const std::string dir = server_scratch_dir("files_tmp");
  JobFiles files(dir);
  CHECK(mode_of(dir + "/jobs") == 0700);
  files.write_inputs("j1", {1, 2, 3}, {4});
  CHECK(mode_of(files.folder("j1")) == 0700);
  CHECK(mode_of(files.image_path("j1")) == 0600);
  CHECK(mode_of(files.audio_path("j1")) == 0600);
  const std::vector<std::string> leftovers = {"image.tmp.123.0", "audio2.tmp.99.17", ".video.mp4.0badf00d.tmp"};
  const std::vector<std::string> kept = {"notes.tmp", "image.tmp.x.1", ".video.mp4.tmp", "image"};
  for (const auto& name : leftovers) std::ofstream(files.folder("j1") + "/" + name) << "partial";
  for (const auto& name : {"notes.tmp", "image.tmp.x.1", ".video.mp4.tmp"})
    std::ofstream(files.folder("j1") + "/" + name) << "not ours";
  CHECK(files.remove_temporary_files() == 3);
  for (const auto& name : leftovers) CHECK_FALSE(std::filesystem::exists(files.folder("j1") + "/" + name));
  for (const auto& name : kept) CHECK(std::filesystem::exists(files.folder("j1") + "/" + name));
  CHECK(files.remove_temporary_files() == 0);
}
