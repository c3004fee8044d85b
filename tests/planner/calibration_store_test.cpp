// CalibrationStore: round trip, key separation, atomic writes, the cache directory.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"
#include "talkgen/version.hpp"

using namespace talkgen;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  const std::string dir = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/" + name;
  fs::remove_all(dir);
  return dir;
}

Calibration sample(const std::string& driver = "570.86.15") {
  Calibration c;
  c.gpu_name = "NVIDIA H100 80GB HBM3";
  c.driver_version = driver;
  c.memory_bytes = 85520809984;
  c.dit_tflops = 401.5;
  c.attention_tflops = 520.25;
  c.measured_tokens = 32760;
  c.dit_peak_bytes = 41000000000;
  c.vae_decode_mpix_per_s = 17.5;
  c.vae_encode_mpix_per_s = 30.0;
  c.video_encode_mpix_per_s = 48.0;
  c.gpus = 8;
  c.comm_gbps = 180.5;
  return c;
}

// Sets an environment variable for the scope, restoring the old value.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(const char* n, const char* value) : name(n) {
    if (const char* v = std::getenv(n)) old = v;
    if (value) setenv(n, value, 1); else unsetenv(n);
  }
  ~ScopedEnv() {
    if (old) setenv(name.c_str(), old->c_str(), 1); else unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("a calibration survives a save / load round trip") {
  const CalibrationStore store(fresh_dir("planner_cal_roundtrip"));
  const Calibration saved = record_calibration(sample(), store);
  CHECK(saved.talkgen_version == version());
  CHECK(saved.measured_at.size() == 20);  // 2025-01-02T03:04:05Z
  const auto loaded = store.find(saved.gpu_name, saved.driver_version, saved.talkgen_version);
  REQUIRE(loaded);
  CHECK(loaded->gpu_name == saved.gpu_name);
  CHECK(loaded->measured_at == saved.measured_at);
  CHECK(loaded->memory_bytes == saved.memory_bytes);
  CHECK(loaded->dit_tflops == saved.dit_tflops);
  CHECK(loaded->attention_tflops == saved.attention_tflops);
  CHECK(loaded->measured_tokens == saved.measured_tokens);
  CHECK(loaded->dit_peak_bytes == saved.dit_peak_bytes);
  CHECK(loaded->vae_decode_mpix_per_s == saved.vae_decode_mpix_per_s);
  CHECK(loaded->vae_encode_mpix_per_s == saved.vae_encode_mpix_per_s);
  CHECK(loaded->video_encode_mpix_per_s == saved.video_encode_mpix_per_s);
  CHECK(loaded->gpus == saved.gpus);
  CHECK(loaded->comm_gbps == saved.comm_gbps);
}

TEST_CASE("GPU, driver and talkgen version each make a separate entry") {
  const CalibrationStore store(fresh_dir("planner_cal_keys"));
  Calibration a = sample("570.86.15"), b = sample("580.1.2"), c = sample("570.86.15");
  a.talkgen_version = b.talkgen_version = "0.1.0";
  c.talkgen_version = "0.2.0";
  b.dit_tflops = 300;
  c.dit_tflops = 200;
  Calibration d = a;
  d.gpu_name = "NVIDIA H200";
  d.dit_tflops = 100;
  for (const auto& x : {a, b, c, d}) store.save(x);
  CHECK(store.list().size() == 4);
  CHECK(store.find(a.gpu_name, "570.86.15", "0.1.0")->dit_tflops == 401.5);
  CHECK(store.find(a.gpu_name, "580.1.2", "0.1.0")->dit_tflops == 300);
  CHECK(store.find(a.gpu_name, "570.86.15", "0.2.0")->dit_tflops == 200);
  CHECK(store.find("NVIDIA H200", "570.86.15", "0.1.0")->dit_tflops == 100);
  CHECK_FALSE(store.find(a.gpu_name, "570.86.14", "0.1.0"));
  CHECK(store.path_for(a.gpu_name, "570.86.15", "0.1.0") != store.path_for(a.gpu_name, "580.1.2", "0.1.0"));
  // Keys that differ only where the readable file name cannot tell them apart still get separate files.
  CHECK(store.path_for("GPU a/b", "1", "v") != store.path_for("GPU a_b", "1", "v"));
}

TEST_CASE("saving the same key again replaces it atomically and leaves no temp files") {
  const std::string dir = fresh_dir("planner_cal_atomic");
  const CalibrationStore store(dir);
  Calibration c = sample();
  c.talkgen_version = "0.1.0";
  store.save(c);
  c.dit_tflops = 123;
  store.save(c);
  CHECK(store.find(c.gpu_name, c.driver_version, "0.1.0")->dit_tflops == 123);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    CHECK(e.path().extension() == ".json");
  }
  CHECK(files == 1);
}

TEST_CASE("unreadable files are skipped, not fatal") {
  const std::string dir = fresh_dir("planner_cal_corrupt");
  const CalibrationStore store(dir);
  Calibration c = sample();
  c.talkgen_version = "0.1.0";
  store.save(c);
  std::ofstream(store.path_for("broken", "1", "0.1.0")) << "{ not json";
  std::ofstream(dir + "/unrelated.json") << "[]";
  CHECK(store.list().size() == 1);
  CHECK_FALSE(store.find("broken", "1", "0.1.0"));
}

TEST_CASE("record_calibration refuses numbers that were not measured") {
  const CalibrationStore store(fresh_dir("planner_cal_bad"));
  auto code = [&](Calibration c) {
    try {
      record_calibration(c, store);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::ok;
  };
  Calibration c = sample();
  c.gpu_name = "";
  CHECK(code(c) == ErrorCode::invalid_argument);
  c = sample();
  c.dit_tflops = 0;
  CHECK(code(c) == ErrorCode::invalid_argument);
  c = sample();
  c.comm_gbps = -1;
  CHECK(code(c) == ErrorCode::invalid_argument);
  c = sample();
  c.measured_tokens = 0;  // an attention rate without the token count cannot be split
  CHECK(code(c) == ErrorCode::invalid_argument);
  CHECK(store.list().empty());
}

TEST_CASE("the cache directory: XDG_CACHE_HOME, else ~/.cache") {
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg-test");
    CHECK(CalibrationStore::default_directory() == "/tmp/xdg-test/talkgen");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "relative/ignored");
    ScopedEnv home("HOME", "/home/someone");
    CHECK(CalibrationStore::default_directory() == "/home/someone/.cache/talkgen");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", nullptr);
    try {
      CalibrationStore::default_directory();
      FAIL("no error without HOME");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::not_found);
    }
  }
  const std::string dir = fresh_dir("planner_cal_xdg");
  ScopedEnv xdg("XDG_CACHE_HOME", dir.c_str());
  const Calibration c = record_calibration(sample(), CalibrationStore());
  CHECK(fs::exists(dir + "/talkgen"));
  CHECK(CalibrationStore(dir + "/talkgen").find(c.gpu_name, c.driver_version, c.talkgen_version));
}
