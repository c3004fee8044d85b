// The SQLite job store: records survive reopening, client keys are unique, paging and states.
#include <catch2/catch.hpp>

#include <filesystem>

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
  const std::string dir = fresh_scratch_dir("store");
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
  const std::string dir = fresh_scratch_dir("files");
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
