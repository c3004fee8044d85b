// Whole jobs through talkgen::Client on the CPU with the demo model: results, device policy, batches,
// threads, cancellation, time limits, retries (through the fault-injection seam), statistics.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "client/client_testing.hpp"
#include "client_test_support.hpp"
#include "talkgen/planner.hpp"
#include "support/error_capture.hpp"
#include "support/skip.hpp"

using namespace talkgen;
using namespace std::chrono_literals;
using talkgen_test::code_of;
using talkgen_test::message_of;
using talkgen_test::tiny_job;
namespace fs = std::filesystem;

namespace {



// One Client for the tests that need no special options (weights are made once).
Client& shared_client() {
  static Client c(talkgen_test::demo_cpu_options(2));
  return c;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

TEST_CASE("generate: a demo job returns a complete result and writes the MP4") {
  const std::string dir = talkgen_test::fresh_dir("generate");
  Client& client = shared_client();
  CHECK(client.untrained_model());
  CHECK_FALSE(client.devices().cuda);
  CHECK(client.devices().devices == std::vector<std::string>{"cpu", "cpu"});

  std::vector<JobState> states;
  int done_calls = 0;
  JobCallbacks callbacks;
  callbacks.progress = [&](const JobProgress& p) {
    if (states.empty() || states.back() != p.state) states.push_back(p.state);
    return true;
  };
  callbacks.done = [&](const JobResult& r) {
    ++done_calls;
    CHECK(r.ok());
  };
  const JobResult r = client.generate(tiny_job(dir + "/out.mp4"), callbacks);
  CHECK(r.ok());
  CHECK(r.state == JobState::succeeded);
  CHECK(r.error_code == ErrorCode::ok);
  CHECK(r.job_id.size() == 32);
  CHECK(r.attempts == 1);
  CHECK(r.gpus == 1);
  CHECK(r.devices == std::vector<std::string>{"cpu"});
  CHECK(r.resolution == "480p");
  CHECK(r.video.output_path == dir + "/out.mp4");
  CHECK(r.video.frames == 17);  // clip mode: one 17-frame chunk (the speech is longer)
  CHECK(r.video.untrained_model);
  CHECK(r.video.settings.steps == 2);
  CHECK(fs::file_size(dir + "/out.mp4") > 1000);
  CHECK(talkgen_test::files_containing(dir, ".tmp") == 0);
  CHECK(r.timings.total > 0);
  CHECK(r.timings.sampling > 0);
  CHECK(r.timings.total >= r.timings.sampling);
  CHECK(r.actual_seconds > 0);
  CHECK(r.actual_seconds <= r.timings.total);
  CHECK(r.gpu_seconds == Approx(r.actual_seconds));
  CHECK(r.cost_usd == 0.0);                 // the CPU is free
  CHECK_FALSE(r.estimated_seconds.has_value());  // the Planner cannot size the demo model
  CHECK(done_calls == 1);
  REQUIRE(states.size() >= 2);
  CHECK(states.front() == JobState::running);
  CHECK(states.back() == JobState::succeeded);
  CHECK(client.find(r.job_id).has_value());
  CHECK(client.find(r.job_id)->state() == JobState::succeeded);
  CHECK(code_of([&] { client.plan(10, Quality::balanced, Resolution::p480); }) == ErrorCode::unsupported);
}

TEST_CASE("generate: output in memory when no path is given") {
  const JobResult r = shared_client().generate(tiny_job(""));
  CHECK(r.video.output_path.empty());
  REQUIRE(r.video.mp4.size() > 1000);
  CHECK(std::string(r.video.mp4.begin() + 4, r.video.mp4.begin() + 8) == "ftyp");
}

TEST_CASE("device policy: cuda without a GPU is device_unavailable naming why, auto falls back loudly") {
  const DeviceInventory inventory = probe_devices();
  if (!inventory.cuda.empty()) TALKGEN_SKIP("this machine has a CUDA GPU; the no-GPU policy checks do not apply");
  ClientOptions o = talkgen_test::demo_cpu_options();
  o.device = DevicePolicy::cuda;
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::device_unavailable);
  const std::string message = message_of([&] { Client c(o); });
  CHECK_THAT(message, Catch::Contains(inventory.note));
  CHECK_THAT(message, Catch::Contains("cpu"));

  o.device = DevicePolicy::automatic;
  o.cpu_ranks = 3;
  Client automatic(o);
  CHECK_FALSE(automatic.devices().cuda);
  CHECK(automatic.devices().devices.size() == 3);
  CHECK(automatic.devices().policy == DevicePolicy::automatic);
  CHECK_THAT(automatic.devices().note, Catch::Contains("CPU"));
}

TEST_CASE("client options: exactly one model, a real model folder, sane numbers") {
  ClientOptions o = talkgen_test::demo_cpu_options();
  o.model = "";
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::invalid_argument);
  o.model = "demo";
  o.model_dir = "/nonexistent";
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::invalid_argument);
  o.model = "";
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::not_found);
  o = talkgen_test::demo_cpu_options();
  o.model = "big";
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::invalid_argument);
  o = talkgen_test::demo_cpu_options();
  o.cpu_ranks = 0;
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::invalid_argument);
  o = talkgen_test::demo_cpu_options();
  o.retry.max_attempts = 0;
  CHECK(code_of([&] { Client c(o); }) == ErrorCode::invalid_argument);
}

TEST_CASE("submit: bad jobs are refused at once with typed errors, duplicate ids of unfinished jobs too") {
  const std::string dir = talkgen_test::fresh_dir("submit");
  Client client(talkgen_test::demo_cpu_options(1));
  Job missing = tiny_job(dir + "/a.mp4");
  missing.generate.audio_path = dir + "/nope.wav";
  CHECK(code_of([&] { client.submit(missing); }) == ErrorCode::not_found);
  Job too_big = tiny_job(dir + "/a.mp4");
  too_big.gpus = 2;
  CHECK(code_of([&] { client.submit(too_big); }) == ErrorCode::invalid_argument);

  Job first = tiny_job(dir + "/first.mp4", 6);
  first.job_id = "dup";
  JobHandle h = client.submit(first);
  Job second = tiny_job(dir + "/second.mp4");
  second.job_id = "dup";
  CHECK(code_of([&] { client.submit(second); }) == ErrorCode::invalid_argument);
  CHECK(h.wait().ok());
  // Once the first has finished, the id may be used again.
  CHECK(client.submit(second).wait().ok());
}

TEST_CASE("generate_batch: one bad job does not sink the others, results keep the input order") {
  const std::string dir = talkgen_test::fresh_dir("batch");
  const std::string not_audio = dir + "/not_audio.wav";
  std::ofstream(not_audio) << "this is not a WAV file";
  std::vector<Job> jobs;
  jobs.push_back(tiny_job(dir + "/0.mp4"));
  jobs.push_back(tiny_job(dir + "/1.mp4"));
  jobs[1].generate.image_path = dir + "/missing.png";  // refused at submit
  jobs.push_back(tiny_job(dir + "/2.mp4"));
  jobs[2].generate.audio_path = not_audio;             // fails when it runs
  jobs.push_back(tiny_job(dir + "/3.mp4"));
  for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].job_id = "batch-" + std::to_string(i);
  std::mutex m;
  std::set<std::string> done;
  JobCallbacks callbacks;
  callbacks.done = [&](const JobResult& r) {
    std::lock_guard<std::mutex> lock(m);
    done.insert(r.job_id);
  };
  const std::vector<JobResult> results = shared_client().generate_batch(jobs, callbacks);
  REQUIRE(results.size() == 4);
  for (std::size_t i = 0; i < results.size(); ++i) CHECK(results[i].job_id == jobs[i].job_id);
  CHECK(results[0].ok());
  CHECK(results[1].state == JobState::failed);
  CHECK(results[1].error_code == ErrorCode::not_found);
  CHECK(results[2].state == JobState::failed);
  CHECK(results[2].error_code == ErrorCode::invalid_argument);
  CHECK(results[2].attempts == 1);  // bad input is never retried
  CHECK(results[3].ok());
  CHECK(fs::exists(dir + "/0.mp4"));
  CHECK_FALSE(fs::exists(dir + "/2.mp4"));
  CHECK(fs::exists(dir + "/3.mp4"));
  CHECK(talkgen_test::files_containing(dir, ".tmp") == 0);
  CHECK(done.size() == 4);
}

TEST_CASE("threads: concurrent generate calls all succeed, side by side on a 2-rank pool") {
  const std::string dir = talkgen_test::fresh_dir("threads");
  Client client(talkgen_test::demo_cpu_options(2));
  std::atomic<int> max_together{0};
  std::vector<std::thread> threads;
  std::vector<JobResult> results(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      JobCallbacks callbacks;
      callbacks.progress = [&](const JobProgress& p) {
        if (p.state == JobState::running && p.generate.stage == GenerateProgress::Stage::sampling) {
          const int now = client.stats().running;
          int seen = max_together;
          while (now > seen && !max_together.compare_exchange_weak(seen, now)) {
          }
        }
        return true;
      };
      results[t] = client.generate(tiny_job(dir + "/t" + std::to_string(t) + ".mp4", 4), callbacks);
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> ids;
  for (const auto& r : results) {
    CHECK(r.ok());
    ids.insert(r.job_id);
  }
  CHECK(ids.size() == 3);
  CHECK(max_together.load() == 2);  // two 1-device jobs at once on two ranks, never three
  const ClientStats s = client.stats();
  CHECK(s.jobs == 3);
  CHECK(s.succeeded == 3);
  CHECK(s.running == 0);
  CHECK(s.queued == 0);
}

TEST_CASE("cancel: a queued job never runs, a running one stops between steps, nothing is written") {
  const std::string dir = talkgen_test::fresh_dir("cancel");
  Client client(talkgen_test::demo_cpu_options(1));
  std::atomic<bool> sampling{false};
  JobCallbacks watch_running;
  watch_running.progress = [&](const JobProgress& p) {
    if (p.generate.stage == GenerateProgress::Stage::sampling) sampling = true;
    return true;
  };
  Job long_job = tiny_job(dir + "/running.mp4", 200);
  long_job.job_id = "running";
  JobHandle running = client.submit(long_job, watch_running);
  std::atomic<bool> queued_ran{false};
  JobCallbacks watch_queued;
  watch_queued.progress = [&](const JobProgress& p) {
    if (p.state == JobState::running) queued_ran = true;
    return true;
  };
  Job queued_job = tiny_job(dir + "/queued.mp4");
  queued_job.job_id = "queued";
  JobHandle queued = client.submit(queued_job, watch_queued);
  CHECK(queued.state() == JobState::queued);
  CHECK(client.cancel("queued"));
  const JobResult q = queued.wait();
  CHECK(q.state == JobState::cancelled);
  CHECK(q.error_code == ErrorCode::cancelled);
  CHECK(q.attempts == 0);
  CHECK_FALSE(queued_ran.load());

  while (!sampling) std::this_thread::sleep_for(5ms);
  CHECK(running.cancel());
  const JobResult r = running.wait();
  CHECK(r.state == JobState::cancelled);
  CHECK(r.error_code == ErrorCode::cancelled);
  CHECK(r.attempts == 1);
  CHECK_FALSE(running.cancel());  // already finished
  CHECK_FALSE(client.cancel("running"));
  CHECK_FALSE(client.cancel("no-such-job"));
  CHECK_FALSE(fs::exists(dir + "/running.mp4"));
  CHECK_FALSE(fs::exists(dir + "/queued.mp4"));
  CHECK(talkgen_test::files_containing(dir, ".tmp") == 0);
  CHECK(client.stats().cancelled == 2);
}

TEST_CASE("cancel: a progress callback returning false cancels the job") {
  const std::string dir = talkgen_test::fresh_dir("cancel_callback");
  JobCallbacks callbacks;
  callbacks.progress = [](const JobProgress& p) { return p.generate.step < 1; };
  const JobHandle h = shared_client().submit(tiny_job(dir + "/x.mp4", 20), callbacks);
  const JobResult r = h.wait();
  CHECK(r.state == JobState::cancelled);
  CHECK_FALSE(fs::exists(dir + "/x.mp4"));
  CHECK(code_of([&] { shared_client().generate(tiny_job(dir + "/y.mp4", 20), callbacks); }) == ErrorCode::cancelled);
}

TEST_CASE("timeout: a job past its limit fails with timeout between steps, is not retried, leaves nothing") {
  const std::string dir = talkgen_test::fresh_dir("timeout");
  ClientOptions o = talkgen_test::demo_cpu_options(1);
  o.job_timeout = 300ms;
  Client client(o);
  Job job = tiny_job(dir + "/slow.mp4", 500);
  job.job_id = "slow";
  client.preload();  // the limit should hit sampling, not loading
  const auto started = std::chrono::steady_clock::now();
  const JobResult r = client.submit(job).wait();
  CHECK(r.state == JobState::failed);
  CHECK(r.error_code == ErrorCode::timeout);
  CHECK(r.attempts == 1);
  CHECK_THAT(r.error_message, Catch::Contains("time limit"));
  CHECK(seconds(std::chrono::steady_clock::now() - started) < 20);
  CHECK_FALSE(fs::exists(dir + "/slow.mp4"));
  CHECK(talkgen_test::files_containing(dir, ".tmp") == 0);

  // Job::timeout overrides the client's: 0 = no limit.
  Job unlimited = tiny_job(dir + "/fine.mp4", 2);
  unlimited.timeout = 0ms;
  CHECK(client.submit(unlimited).wait().ok());
}

TEST_CASE("retry: injected out_of_memory is retried with backoff, in low-memory mode on a full pool") {
  client::testing::clear();
  const std::string dir = talkgen_test::fresh_dir("retry_oom");
  ClientOptions o = talkgen_test::demo_cpu_options(1);
  o.retry.base_delay = 200ms;
  o.retry.jitter = 0;
  Client client(o);
  Job job = tiny_job(dir + "/oom.mp4");
  job.job_id = "oom-job";
  client::testing::inject_fault("oom-job", 1, ErrorCode::out_of_memory);
  client::testing::inject_fault("oom-job", 2, ErrorCode::out_of_memory);
  std::vector<JobState> states;
  JobCallbacks callbacks;
  callbacks.progress = [&](const JobProgress& p) {
    if (states.empty() || states.back() != p.state) states.push_back(p.state);
    return true;
  };
  const JobResult r = client.generate(job, callbacks);
  CHECK(r.ok());
  CHECK(r.attempts == 3);
  const auto attempts = client::testing::attempts_of("oom-job");
  REQUIRE(attempts.size() == 3);
  CHECK_FALSE(attempts[0].low_memory);
  CHECK(attempts[1].low_memory);
  CHECK(attempts[2].low_memory);
  for (const auto& a : attempts) CHECK(a.gpus == 1);
  // 200 ms then 400 ms between attempts (no jitter), plus the attempts' own time.
  CHECK(seconds(attempts[1].started - attempts[0].started) >= 0.2);
  CHECK(seconds(attempts[2].started - attempts[1].started) >= 0.4);
  CHECK(std::count(states.begin(), states.end(), JobState::retrying) == 2);
  CHECK(client.stats().retries == 2);
  client::testing::clear();
}

TEST_CASE("retry: attempts run out, non-transient errors are not retried") {
  client::testing::clear();
  const std::string dir = talkgen_test::fresh_dir("retry_exhausted");
  ClientOptions o = talkgen_test::demo_cpu_options(1);
  o.retry.max_attempts = 2;
  o.retry.base_delay = 10ms;
  Client client(o);
  Job job = tiny_job(dir + "/x.mp4");
  job.job_id = "always-oom";
  client::testing::inject_fault("always-oom", 1, ErrorCode::out_of_memory);
  client::testing::inject_fault("always-oom", 2, ErrorCode::out_of_memory);
  const JobResult r = client.submit(job).wait();
  CHECK(r.state == JobState::failed);
  CHECK(r.error_code == ErrorCode::out_of_memory);
  CHECK(r.attempts == 2);
  CHECK_THAT(r.error_message, Catch::Contains("injected"));

  Job bad = tiny_job(dir + "/y.mp4");
  bad.job_id = "internal";
  client::testing::inject_fault("internal", 1, ErrorCode::internal);
  const JobResult b = client.submit(bad).wait();
  CHECK(b.error_code == ErrorCode::internal);
  CHECK(b.attempts == 1);
  client::testing::clear();
}

TEST_CASE("stats: p50 / p95 over finished jobs, reset_stats forgets finished jobs") {
  const std::string dir = talkgen_test::fresh_dir("stats");
  Client client(talkgen_test::demo_cpu_options(1));
  std::vector<double> totals;
  for (int i = 0; i < 3; ++i) {
    Job job = tiny_job(dir + "/s" + std::to_string(i) + ".mp4", 1 + 2 * i);
    job.job_id = "stats-" + std::to_string(i);
    totals.push_back(client.generate(job).timings.total);
  }
  Job bad = tiny_job(dir + "/bad.mp4");
  bad.generate.steps = 0;  // refused by the pipeline: invalid_argument when it runs
  CHECK(client.submit(bad).wait().error_code == ErrorCode::invalid_argument);
  ClientStats s = client.stats();
  CHECK(s.jobs == 4);
  CHECK(s.succeeded == 3);
  CHECK(s.failed == 1);
  CHECK(s.success_rate == Approx(0.75));
  std::sort(totals.begin(), totals.end());
  CHECK(s.p50_seconds == Approx(totals[1]));
  CHECK(s.p95_seconds == Approx(totals[1] + 0.9 * (totals[2] - totals[1])));
  CHECK(s.mean_seconds == Approx((totals[0] + totals[1] + totals[2]) / 3));
  CHECK(s.gpu_seconds > 0);
  CHECK(s.cost_usd == 0);
  CHECK(client.find("stats-0").has_value());
  client.reset_stats();
  s = client.stats();
  CHECK(s.jobs == 0);
  CHECK(s.p95_seconds == 0);
  CHECK_FALSE(client.find("stats-0").has_value());
}

TEST_CASE("a Client remembers only the newest finished jobs, their handles outlive that") {
  ClientOptions o = talkgen_test::demo_cpu_options(1);
  o.finished_jobs_kept = 2;
  Client client(o);
  std::vector<JobHandle> handles;
  for (int i = 0; i < 3; ++i) {
    Job job = tiny_job("");
    job.job_id = "kept-" + std::to_string(i);
    job.generate.steps = 0;  // fails as soon as it runs: the cheapest finished job
    handles.push_back(client.submit(job));
    CHECK(handles.back().wait().error_code == ErrorCode::invalid_argument);
  }
  CHECK_FALSE(client.find("kept-0").has_value());  // the oldest is forgotten
  CHECK(client.find("kept-1").has_value());
  CHECK(client.find("kept-2").has_value());
  CHECK(handles[0].wait().job_id == "kept-0");     // its handle still has the result
  CHECK(client.stats().jobs == 3);                 // and it still counts
  o.finished_jobs_kept = 0;
  CHECK(code_of([&] { Client bad(o); }) == ErrorCode::invalid_argument);
}

TEST_CASE("shutdown: destroying the Client cancels queued and running jobs, handles outlive it") {
  const std::string dir = talkgen_test::fresh_dir("shutdown");
  std::optional<JobHandle> a, b;
  {
    Client client(talkgen_test::demo_cpu_options(1));
    a = client.submit(tiny_job(dir + "/a.mp4", 300));
    b = client.submit(tiny_job(dir + "/b.mp4", 300));
  }
  CHECK(is_finished(a->state()));
  CHECK(b->wait().state == JobState::cancelled);
  CHECK_FALSE(b->cancel());
  CHECK(talkgen_test::files_containing(dir, ".tmp") == 0);
}

namespace {

// The float32 tensor "frames" of a frame dump (safetensors: u64 header size, JSON header, raw data).
std::vector<float> read_frame_dump(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  const auto offsets = header.find("\"data_offsets\"");
  REQUIRE(offsets != std::string::npos);
  REQUIRE(header.find("F32") != std::string::npos);
  std::uint64_t begin = 0, end = 0;
  REQUIRE(std::sscanf(header.c_str() + header.find('[', offsets), "[%lu,%lu]", &begin, &end) == 2);
  std::vector<float> values((end - begin) / sizeof(float));
  in.seekg(static_cast<std::streamoff>(8 + header_size + begin));
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(end - begin));
  REQUIRE(in.good());
  return values;
}

}  // namespace

TEST_CASE("ranks: a 2-rank CPU job makes the frames of a 1-rank job", "[distributed]") {
  const std::string dir = talkgen_test::fresh_dir("ranks");
  Client& client = shared_client();
  Job one = tiny_job(dir + "/one.mp4");
  one.gpus = 1;
  one.generate.dump_frames = dir + "/one.safetensors";
  Job two = tiny_job(dir + "/two.mp4");
  two.gpus = 2;
  two.generate.dump_frames = dir + "/two.safetensors";
  const JobResult a = client.generate(one);
  const JobResult b = client.generate(two);
  CHECK(a.devices == std::vector<std::string>{"cpu"});
  CHECK(b.gpus == 2);
  CHECK(b.devices == std::vector<std::string>{"cpu", "cpu"});
  CHECK(b.video.frames == a.video.frames);
  CHECK(b.gpu_seconds == Approx(2 * b.actual_seconds));
  const std::vector<float> fa = read_frame_dump(dir + "/one.safetensors");
  const std::vector<float> fb = read_frame_dump(dir + "/two.safetensors");
  REQUIRE(fa.size() == fb.size());
  REQUIRE(fa.size() == static_cast<std::size_t>(a.video.frames) * 3 * a.video.width * a.video.height);
  double max_diff = 0;
  for (std::size_t i = 0; i < fa.size(); ++i) max_diff = std::max(max_diff, double(std::abs(fa[i] - fb[i])));
  CHECK(max_diff <= 1e-5);
}

namespace {

// A job on a 2-rank CPU pool with `gpus` ranks whose first attempt fails with `fault`.
JobResult run_with_first_attempt_failing(const std::string& id, int gpus, ErrorCode fault) {
  ClientOptions o = talkgen_test::demo_cpu_options(2);
  o.retry.base_delay = 10ms;
  Client client(o);
  Job job = tiny_job(talkgen_test::fresh_dir(id) + "/out.mp4");
  job.job_id = id;
  job.gpus = gpus;
  client::testing::inject_fault(id, 1, fault);
  return client.generate(job);
}

}  // namespace

TEST_CASE("retry: a collective timeout is retried on fewer ranks", "[distributed]") {
  client::testing::clear();
  const JobResult r = run_with_first_attempt_failing("collective-timeout", 2, ErrorCode::timeout);
  CHECK(r.attempts == 2);
  CHECK(r.gpus == 1);
  const auto attempts = client::testing::attempts_of("collective-timeout");
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].gpus == 2);
  CHECK(attempts[1].gpus == 1);
  client::testing::clear();
}

TEST_CASE("retry: out_of_memory takes more ranks when the pool has them free", "[distributed]") {
  client::testing::clear();
  const JobResult r = run_with_first_attempt_failing("needs-more", 1, ErrorCode::out_of_memory);
  CHECK(r.attempts == 2);
  CHECK(r.gpus == 2);
  const auto attempts = client::testing::attempts_of("needs-more");
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[1].gpus == 2);
  CHECK_FALSE(attempts[1].low_memory);
  client::testing::clear();
}

TEST_CASE("submit: the default profile's LoRA missing from the model folder is refused at once, saying what to do",
          "[client][defaults]") {
  // The official layout with empty files: enough for the Client to start (weights load on first use).
  const std::string dir = talkgen_test::fresh_dir("lora_missing");
  fs::create_directories(dir + "/Wan2.1-I2V-14B-480P");
  fs::create_directories(dir + "/chinese-wav2vec2-base");
  fs::create_directories(dir + "/InfiniteTalk/single");
  std::ofstream(dir + "/InfiniteTalk/single/infinitetalk.safetensors") << "";
  ClientOptions o;
  o.model_dir = dir;
  o.device = DevicePolicy::cpu;
  Client client(o);

  Job job = talkgen_test::tiny_job(dir + "/out.mp4");
  job.generate.quality = default_quality;
  job.generate.steps.reset();
  const std::string message = message_of([&] { client.submit(job); });
  CHECK_THAT(message, Catch::Contains("(the default)") && Catch::Contains("lightx2v") &&
                          Catch::Contains("quality 'quality'"));
  CHECK(code_of([&] { client.submit(job); }) == ErrorCode::unsupported);
  CHECK(client.stats().queued == 0);  // nothing was queued
  // Explicit settings are the caller's choice: accepted here (the pipeline warns when it runs them).
  job.generate.steps = 2;
  job.generate.text_guidance = 1.0;
  CHECK(code_of([&] { client.submit(job).cancel(); }) == ErrorCode::ok);
  CHECK_THAT(message, Catch::Contains("huggingface-cli download Kijai/WanVideo_comfy"));

  // With the LoRA where InfiniteTalk's README downloads it, the default profile is accepted and 'quality'
  // (the base weights) is the one refused.
  fs::create_directories(dir + "/WanVideo_comfy");
  std::ofstream(dir + "/WanVideo_comfy/Wan21_T2V_14B_lightx2v_cfg_step_distill_lora_rank32.safetensors") << "";
  Client with_lora(o);
  Job default_job = talkgen_test::tiny_job(dir + "/out2.mp4");
  default_job.generate.quality = default_quality;
  default_job.generate.steps.reset();
  CHECK(code_of([&] { with_lora.submit(default_job).cancel(); }) == ErrorCode::ok);
  default_job.generate.quality = Quality::quality;
  CHECK(code_of([&] { with_lora.submit(default_job); }) == ErrorCode::unsupported);
}
