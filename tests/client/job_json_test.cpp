// `talkgen batch` job files and the JSON result shared by `generate --json` and `batch --json`.
#include <catch2/catch.hpp>

#include <fstream>

#include "client/job_json.hpp"
#include "client_test_support.hpp"
#include "support/error_capture.hpp"

using namespace talkgen;
using namespace talkgen::client;
using namespace std::chrono_literals;
using talkgen_test::code_of;
using talkgen_test::message_of;

TEST_CASE("job file: fields map onto Job and GenerateOptions, relative paths from the file's folder") {
  JobFileOptions options;
  options.base_dir = "/data/jobs";
  const auto jobs = jobs_from_json(R"([
    {"image": "face.png", "audio": "/abs/a.wav", "output": "out/a.mp4", "quality": "draft", "resolution": "720p",
     "seed": 7, "steps": 3, "gpus": 2, "job_id": "first", "max_duration_sec": 2.5, "timeout_seconds": 1.5,
     "mode": "clip", "prompt": "p", "shift": 3.5, "text_guidance": 1, "audio_guidance": 2.0, "low_memory": true,
     "budget_usd": 0.25, "deadline_seconds": 60},
    {"image": "face.png", "text": "Hello", "voice": "de", "gpus": "auto", "max_frames": 100}
  ])", options);
  REQUIRE(jobs.size() == 2);
  const Job& a = jobs[0];
  CHECK(a.job_id == "first");
  CHECK(a.generate.image_path == "/data/jobs/face.png");
  CHECK(a.generate.audio_path == "/abs/a.wav");
  CHECK(a.generate.output_path == "/data/jobs/out/a.mp4");
  CHECK(a.generate.quality == Quality::draft);
  CHECK(a.generate.resolution == Resolution::p720);
  CHECK(a.generate.mode == GenerationMode::clip);
  CHECK(a.generate.seed == 7);
  CHECK(a.generate.steps == 3);
  CHECK(a.generate.shift == 3.5);
  CHECK(a.generate.text_guidance == 1.0);
  CHECK(a.generate.audio_guidance == 2.0);
  CHECK(a.generate.low_memory);
  CHECK(a.generate.prompt == "p");
  CHECK(a.gpus == 2);
  CHECK(a.max_duration_seconds == 2.5);
  CHECK(a.timeout == 1500ms);
  CHECK(a.budget_usd == 0.25);
  CHECK(a.deadline_seconds == 60.0);
  const Job& b = jobs[1];
  CHECK(b.generate.speech_text == "Hello");
  CHECK(b.generate.speech.voice == "de");
  CHECK_FALSE(b.gpus.has_value());
  CHECK(b.generate.max_frames == 100);
  CHECK(b.generate.output_path == "/data/jobs/job-2.mp4");  // no output: named after the job
  CHECK(b.generate.seed == 42);
}

TEST_CASE("job file: two speakers (audio2, speaker_timing, boxes)") {
  JobFileOptions options;
  options.base_dir = "/data/jobs";
  const auto jobs = jobs_from_json(R"([
    {"image": "two.png", "audio": "a.wav", "audio2": "b.wav", "speaker_timing": "para",
     "speaker1_box": [0, 10, 300, 400.5], "speaker2_box": [300, 10, 640, 400]},
    {"image": "two.png", "audio": "a.wav", "audio2": "b.wav"}
  ])", options);
  REQUIRE(jobs.size() == 2);
  const GenerateOptions& a = jobs[0].generate;
  CHECK(a.audio2_path == "/data/jobs/b.wav");
  CHECK(a.speaker_timing == SpeakerTiming::together);
  REQUIRE(a.speaker1_box.has_value());
  CHECK(a.speaker1_box->x1 == 300);
  CHECK(a.speaker1_box->y1 == 400.5);
  REQUIRE(a.speaker2_box.has_value());
  CHECK(a.speaker2_box->x0 == 300);
  CHECK(jobs[1].generate.speaker_timing == SpeakerTiming::one_after_another);
  CHECK_FALSE(jobs[1].generate.speaker1_box.has_value());
  const JobFileOptions o;
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "speaker1_box": [1, 2, 3]}])", o); }) ==
        ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "speaker_timing": "both"}])", o); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("job file: --output-dir places outputs, {\"jobs\": [...]} is accepted") {
  JobFileOptions options;
  options.base_dir = "/in";
  options.output_dir = "/out";
  const auto jobs = jobs_from_json(R"({"jobs": [{"image": "f.png", "audio": "a.wav", "job_id": "x"},
                                               {"image": "f.png", "audio": "a.wav", "output": "y.mp4"}]})",
                                   options);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].generate.output_path == "/out/x.mp4");
  CHECK(jobs[0].generate.audio_path == "/in/a.wav");
  CHECK(jobs[1].generate.output_path == "/out/y.mp4");
}

TEST_CASE("job file: malformed lists and jobs are invalid_argument naming the job and the field") {
  const JobFileOptions o;
  CHECK(code_of([&] { jobs_from_json("[{", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json("{}", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json("[]", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json("[3]", o); }) == ErrorCode::invalid_argument);
  std::string m = message_of([&] { jobs_from_json(R"([{"image": "f"}, {"image": "f", "qualty": "draft"}])", o); });
  CHECK_THAT(m, Catch::Contains("job 2"));
  CHECK_THAT(m, Catch::Contains("qualty"));
  m = message_of([&] { jobs_from_json(R"([{"image": "f", "seed": "seven"}])", o); });
  CHECK_THAT(m, Catch::Contains("seed"));
  CHECK_THAT(m, Catch::Contains("number"));
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "steps": 2.5}])", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "gpus": "many"}])", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "mode": "loop"}])", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "quality": "best"}])", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "timeout": -1}])", o); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { jobs_from_json(R"([{"image": "f", "use_apg": 1}])", o); }) == ErrorCode::invalid_argument);
}

TEST_CASE("job file: read from disk, a missing file is not_found") {
  const std::string dir = talkgen_test::fresh_dir("job_file");
  const std::string path = dir + "/jobs.json";
  std::ofstream(path) << R"([{"image": "face.png", "audio": "a.wav"}])";
  const auto jobs = read_job_file(path, {});
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].generate.image_path == dir + "/face.png");
  CHECK(jobs[0].generate.output_path == dir + "/job-1.mp4");
  CHECK(code_of([&] { read_job_file(dir + "/none.json", {}); }) == ErrorCode::not_found);
}

TEST_CASE("result JSON: what a script needs, errors as code + message") {
  JobResult r;
  r.job_id = "j";
  r.state = JobState::succeeded;
  r.attempts = 2;
  r.gpus = 2;
  r.devices = {"cuda:0", "cuda:1"};
  r.resolution = "480p";
  r.video.output_path = "/o.mp4";
  r.video.frames = 50;
  r.video.settings.steps = 8;
  r.timings.sampling = 3;
  r.timings.total = 5;
  r.estimated_seconds = 4.5;
  r.gpu_seconds = 9;
  r.cost_usd = 0.01;
  nlohmann::json j = result_to_json(r);
  CHECK(j["ok"] == true);
  CHECK(j["state"] == "succeeded");
  CHECK(j["devices"] == nlohmann::json({"cuda:0", "cuda:1"}));
  CHECK(j["frames"] == 50);
  CHECK(j["steps"] == 8);
  CHECK(j["timings"]["sampling"] == 3.0);
  CHECK_FALSE(j.contains("seconds"));  // one name for stage times everywhere: `timings`
  CHECK(j["estimated_seconds"] == 4.5);
  CHECK(j["cost_usd"] == 0.01);
  CHECK_FALSE(j.contains("error"));

  JobResult f;
  f.job_id = "k";
  f.state = JobState::failed;
  f.error_code = ErrorCode::out_of_memory;
  f.error_message = "too big";
  j = result_to_json(f);
  CHECK(j["ok"] == false);
  CHECK(j["error"]["code"] == "out_of_memory");
  CHECK(j["error"]["message"] == "too big");
  CHECK(j["estimated_seconds"].is_null());
  CHECK_FALSE(j.contains("output"));
}

TEST_CASE("one default quality profile, defined once in the library", "[client][defaults]") {
  // balanced: 8 steps x 2 forwards with the lightx2v LoRA (see include/talkgen/generate.hpp for why).
  STATIC_REQUIRE(default_quality == Quality::balanced);
  CHECK(GenerateOptions{}.quality == default_quality);
  CHECK(Job{}.generate.quality == default_quality);
  const QualitySettings s = quality_settings(default_quality, Resolution::p480);
  CHECK(s.steps == 8);
  CHECK(s.forwards_per_step() == 2);
  CHECK(s.lora == DistillLora::lightx2v);
  // A job file without "quality" gets it too.
  JobFileOptions options;
  options.base_dir = "/data";
  const auto jobs = jobs_from_json(R"([{"image": "f.png", "audio": "a.wav", "output": "o.mp4"}])", options);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].generate.quality == default_quality);
}
