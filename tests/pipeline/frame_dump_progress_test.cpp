#include "support/catch_torch.hpp"  // first: see there

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/io/tensor_source.hpp"
#include "pipeline/frame_dump.hpp"
#include "pipeline/job_inputs.hpp"
#include "pipeline/progress_tracker.hpp"
#include "talkgen/error.hpp"
#include "test_media.hpp"

using namespace talkgen;
using namespace talkgen::pipeline;

TEST_CASE("FrameDumpWriter streams a float32 safetensors file the checkpoint reader accepts") {
  const std::string path = talkgen_test::scratch("dump_test.safetensors");
  std::filesystem::remove(path);
  at::Tensor all = at::arange(2 * 3 * 4 * 5, at::kFloat).view({2, 3, 4, 5}) * 0.5 - 7;
  {
    FrameDumpWriter w(path, "frames", {2, 3, 4, 5}, {{"note", "a \"quoted\" value"}});
    w.append(all[0]);
    CHECK_FALSE(std::filesystem::exists(path));  // only a temporary file until finish()
    w.append(all[1]);
    w.finish();
  }
  const auto src = model::io::open_checkpoint(path);
  CHECK(at::equal(src->read("frames"), all));
}

TEST_CASE("FrameDumpWriter's header is JSON that keeps any metadata text (quotes and control characters too)") {
  const std::string path = talkgen_test::scratch("dump_header.safetensors");
  std::filesystem::remove(path);
  const std::map<std::string, std::string> metadata{
      {"model", "a \"quoted\" \\ name\nwith a tab\t, a \x01 and caf\xc3\xa9"}, {"seed", "7"}};
  {
    FrameDumpWriter w(path, "frames", {2, 3}, metadata);
    w.append(at::zeros({2, 3}));
    w.finish();
  }
  std::ifstream in(path, std::ios::binary);
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  CHECK(length % 8 == 0);  // the data section stays 8-byte aligned
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  const nlohmann::json json = nlohmann::json::parse(header);
  CHECK(json.at("frames").at("dtype") == "F32");
  CHECK(json.at("frames").at("shape") == nlohmann::json::array({2, 3}));
  CHECK(json.at("frames").at("data_offsets") == nlohmann::json::array({0, 24}));
  CHECK(json.at("__metadata__").get<std::map<std::string, std::string>>() == metadata);
}

TEST_CASE("FrameDumpWriter leaves nothing behind when abandoned, and checks sizes") {
  const std::string path = talkgen_test::scratch("dump_abandoned.safetensors");
  std::filesystem::remove(path);
  {
    FrameDumpWriter w(path, "frames", {4});
    w.append(at::ones({2}));
    CHECK_THROWS_AS(w.append(at::ones({3})), Error);
    CHECK_THROWS_AS(w.finish(), Error);  // 2 of 4 written
  }
  for (const auto& e : std::filesystem::directory_iterator(TALKGEN_TEST_SCRATCH_DIR))
    CHECK(e.path().filename().string().find("dump_abandoned") == std::string::npos);
  std::filesystem::remove_all(talkgen_test::scratch("missing_dir"));  // an earlier run may have made it
  try {
    FrameDumpWriter w(talkgen_test::scratch("missing_dir/x.safetensors"), "frames", {1});
    FAIL("expected an io_error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io_error);
  }
}

TEST_CASE("ProgressTracker: fractions, ETA after the first timed step, cancellation") {
  std::vector<GenerateProgress> seen;
  bool go_on = true;
  ProgressTracker t(
      [&](const GenerateProgress& p) {
        seen.push_back(p);
        return go_on;
      },
      2, 4, std::chrono::steady_clock::now());
  t.report(GenerateProgress::Stage::preparing, 0, 0);
  CHECK(seen.back().fraction == 0.0);
  CHECK(seen.back().eta_seconds < 0);
  t.report(GenerateProgress::Stage::sampling, 0, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  t.report(GenerateProgress::Stage::sampling, 0, 2);
  CHECK(seen.back().fraction == Approx(2.0 / 10));
  CHECK(seen.back().eta_seconds > 0);
  t.chunk_done(0);
  t.report(GenerateProgress::Stage::sampling, 1, 1);
  CHECK(seen.back().fraction == Approx(6.0 / 10));
  go_on = false;
  try {
    t.report(GenerateProgress::Stage::sampling, 1, 2);
    FAIL("expected cancellation");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
  t.report(GenerateProgress::Stage::done, 1, 4);  // no throw once done
  CHECK(seen.back().fraction == 1.0);
}

TEST_CASE("scaled buckets: the reference's table divided and rounded to 16 px") {
  CHECK(scaled_bucket(512, 512, Resolution::p480, 1).width == 640);
  const Size s8 = scaled_bucket(512, 512, Resolution::p480, 8);
  CHECK(s8.width == 80);
  CHECK(s8.height == 80);
  const Size s16 = scaled_bucket(120, 90, Resolution::p480, 16);  // ratio 0.75 -> 576 x 704
  CHECK(s16.height == 32);
  CHECK(s16.width == 48);
}
