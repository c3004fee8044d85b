// JobService without HTTP: jobs that keep taking the server down are failed instead of run again, leftovers of
// killed writes are removed at start, files are private, and a full disk neither keeps a job unfinished
// forever nor stops the server from starting once space is back.
//
// A full disk is simulated with RLIMIT_FSIZE (SIGXFSZ ignored): the kernel refuses to grow any file of this
// process past a size, so writes fail part-way exactly where they would on a full disk (EFBIG instead of
// ENOSPC), through the real code: the atomic file writer, SQLite's WAL, the MP4 encoder.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/http_error.hpp"
#include "server/job_request.hpp"
#include "server/job_service.hpp"
#include "server/job_store.hpp"
#include "server_test_support.hpp"

using namespace talkgen::server;
using namespace talkgen_test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// While alive, no file of this process grows past `bytes` (RLIMIT_FSIZE), as on a full disk.
class DiskFull {
 public:
  explicit DiskFull(std::uintmax_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of being killed
    rlimit limited = saved_;
    limited.rlim_cur = static_cast<rlim_t>(bytes);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~DiskFull() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  DiskFull(const DiskFull&) = delete;
  DiskFull& operator=(const DiskFull&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A 64x64 24-bit BMP (the smallest portrait the server takes): small inputs, so that a limit can let them
// through while the database cannot grow.
std::vector<std::uint8_t> small_portrait() {
  const int w = 64, h = 64, row = w * 3, data = row * h;
  std::vector<std::uint8_t> b(54 + data, 0);
  auto put32 = [&](int at, std::uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = std::uint8_t(v >> (8 * i)); };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, std::uint32_t(b.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, w);
  put32(22, h);
  b[26] = 1;
  b[28] = 24;
  put32(34, data);
  for (int i = 0; i < data; ++i) b[54 + i] = std::uint8_t((i * 7) % 251);
  return b;
}

JobRequest small_request(const std::string& key = {}) {
  json body{{"ref_image_b64", b64(small_portrait())}, {"audio_b64", b64(wav_bytes(0.5))}};
  if (!key.empty()) body["job_id"] = key;
  return parse_job_json(body.dump());
}

// The demo model on the CPU with tiny jobs; `steps` 400 keeps a job running long enough to be caught.
std::unique_ptr<JobService> make_service(const std::string& dir, int steps = 2) {
  ServerOptions o = tiny_server_options(dir);
  const auto tiny = o.customize_job;
  return std::make_unique<JobService>(o.client, dir, o.limits, [tiny, steps](talkgen::Job& job) {
    tiny(job);
    job.generate.steps = steps;
  });
}

// Polls `done` every 20 ms for up to 2 minutes.
template <typename F>
bool wait_for(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool finished(const json& job) {
  const std::string state = job["state"];
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

std::string state_on_disk(const std::string& dir, const std::string& id) {
  JobStore store(dir + "/jobs.db");
  const auto record = store.get(id);
  return record ? record->state : "missing";
}

}  // namespace

TEST_CASE("issue 22: a job running at 3 unexpected stops of the server is failed, not run again", "[server][service]") {
  const std::string dir = server_scratch_dir("service_crash_cap");
  std::string id;
  {
    auto service = make_service(dir, 400);
    id = service->submit(small_request()).job["id"].get<std::string>();
  }
  // Each round: the job is left `running` on disk, as a crash (or SIGKILL) mid-job leaves it.
  for (int stop = 1; stop <= JobService::kMaxInterruptions; ++stop) {
    {
      JobStore store(dir + "/jobs.db");
      store.mark_running(id, 1000 + stop);
    }
    auto service = make_service(dir, 400);
    const json job = *service->job(id);
    INFO("stop " << stop);
    if (stop < JobService::kMaxInterruptions) {
      CHECK_FALSE(finished(job));  // queued again: from the start
      CHECK(service->counts().queued + service->counts().running == 1);
    } else {
      CHECK(job["state"] == "failed");
      CHECK(job["error"]["code"] == "internal");
      CHECK_THAT(job["error"]["message"].get<std::string>(),
                 Catch::Contains("stopped unexpectedly 3 times") && Catch::Contains("not run again"));
      CHECK(service->counts().queued + service->counts().running == 0);  // never handed to the Client
    }
  }
  JobStore store(dir + "/jobs.db");
  CHECK(store.get(id)->interruptions == JobService::kMaxInterruptions);
  CHECK(store.get(id)->state == "failed");
}

TEST_CASE("issue 22: leftovers of killed writes go at start, and every file is private", "[server][service]") {
  const std::string dir = server_scratch_dir("service_private");
  std::string id;
  {
    auto service = make_service(dir);
    id = service->submit(small_request()).job["id"].get<std::string>();
    REQUIRE(wait_for([&] { return finished(*service->job(id)); }));
    REQUIRE(service->job(id).value()["state"] == "succeeded");
  }
  JobFiles files(dir);
  CHECK(mode_of(dir + "/jobs") == 0700);
  CHECK(mode_of(files.folder(id)) == 0700);
  CHECK(mode_of(dir + "/jobs.db") == 0600);
  for (const auto& path : {files.image_path(id), files.audio_path(id), files.video_path(id)}) {
    INFO(path);
    CHECK(mode_of(path) == 0600);
  }
  // What a SIGKILL in the middle of writing an input or the video leaves.
  std::ofstream(files.image_path(id) + ".tmp.4242.0") << "half an image";
  std::ofstream(files.folder(id) + "/.video.mp4.1234abcd.tmp") << "half a video";
  auto service = make_service(dir);
  CHECK_FALSE(fs::exists(files.image_path(id) + ".tmp.4242.0"));
  CHECK_FALSE(fs::exists(files.folder(id) + "/.video.mp4.1234abcd.tmp"));
  CHECK(fs::exists(files.video_path(id)));
  CHECK(service->job(id).value()["state"] == "succeeded");
}

TEST_CASE("issue 22: disk full: refused at submit with 507, nothing left behind", "[server][service][disk]") {
  const std::string dir = server_scratch_dir("service_disk_submit");
  auto service = make_service(dir);
  const auto count_folders = [&] { return JobFiles(dir).ids().size(); };
  const auto expect_507 = [&](const std::string& key) {
    try {
      service->submit(small_request(key));
      FAIL("expected 507");
    } catch (const HttpError& e) {
      CHECK(e.status() == 507);
      CHECK(e.code() == "insufficient_storage");
      CHECK_THAT(e.what(), Catch::Contains("not accepted"));
    }
  };

  SECTION("the inputs cannot be written") {
    {
      DiskFull full(4096);  // less than the portrait
      expect_507("full-1");
    }
    CHECK(count_folders() == 0);
    CHECK(service->list(10, 0, "")["total"] == 0);
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  }
  SECTION("the record cannot be written") {
    // Grow the write-ahead log past the inputs' size, then let no file grow any further: the inputs fit,
    // the record's commit does not.
    {
      JobStore other(dir + "/jobs.db");
      for (int i = 0; i < 12; ++i) {
        JobRecord padding;
        padding.id = "pad" + std::to_string(i);
        padding.fingerprint = "-";
        padding.state = "failed";
        padding.request = {{"padding", std::string(8000, 'p')}};
        REQUIRE(other.insert(padding));
      }
      const auto wal = fs::file_size(dir + "/jobs.db-wal");
      REQUIRE(wal > 2 * (small_portrait().size() + wav_bytes(0.5).size()));
      DiskFull full(wal);
      expect_507("full-2");
      for (int i = 0; i < 12; ++i) CHECK(other.get("pad" + std::to_string(i)).has_value());
    }
    CHECK(count_folders() == 0);  // the inputs written before the record failed are gone again
    CHECK(service->list(100, 0, "")["total"] == 12);  // the padding only
  }
  // Space is back: the same request is accepted.
  const auto accepted = service->submit(small_request("full-after"));
  CHECK(accepted.created);
  const std::string id = accepted.job["id"];
  REQUIRE(wait_for([&] { return finished(*service->job(id)); }));
  CHECK(service->job(id).value()["state"] == "succeeded");
}

TEST_CASE("issue 22: disk full: a final state the disk refuses is never shown as running", "[server][service][disk]") {
  const std::string dir = server_scratch_dir("service_disk_final");
  auto service = make_service(dir, 400);
  const std::string id = service->submit(small_request()).job["id"].get<std::string>();
  REQUIRE(wait_for([&] { return state_on_disk(dir, id) == "running"; }));
  {
    JobStore reader(dir + "/jobs.db");  // opened before the disk fills
    DiskFull full(fs::file_size(dir + "/jobs.db-wal"));
    json after;
    CHECK(service->remove(id, &after) == JobService::Removal::cancelling);
    REQUIRE(wait_for([&] { return finished(*service->job(id)); }));
    CHECK(service->job(id).value()["state"] == "cancelled");  // from memory: the record could not be updated
    CHECK(reader.get(id)->state == "running");
  }
  // The disk takes writes again: the next write of the service records it.
  const std::string second = service->submit(small_request()).job["id"].get<std::string>();
  CHECK(state_on_disk(dir, id) == "cancelled");
  CHECK(service->remove(second, nullptr) == JobService::Removal::cancelling);
}

TEST_CASE("issue 22: disk full at start: refused with io_error, starts once space is back", "[server][service][disk]") {
  const std::string dir = server_scratch_dir("service_disk_start");
  std::string id;
  {
    auto service = make_service(dir);
    id = service->submit(small_request()).job["id"].get<std::string>();
    REQUIRE(wait_for([&] { return finished(*service->job(id)); }));
  }
  {
    JobStore store(dir + "/jobs.db");
    store.mark_running(id, 2000);  // killed mid-job
  }
  {
    DiskFull full(0);
    try {
      make_service(dir);
      FAIL("expected the start to fail while nothing can be written");
    } catch (const talkgen::Error& e) {
      CHECK(e.code() == talkgen::ErrorCode::io_error);
      CHECK_THAT(e.what(), Catch::Contains("jobs.db"));
    }
  }
  CHECK(state_on_disk(dir, id) == "running");  // unchanged by the failed start
  auto service = make_service(dir);
  REQUIRE(wait_for([&] { return finished(*service->job(id)); }));
  const json job = *service->job(id);
  CHECK(job["state"] == "succeeded");
  CHECK(job["restarts"] == 1);
  CHECK(mode_of(JobFiles(dir).video_path(id)) == 0600);
}
