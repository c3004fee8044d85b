#include "catch_torch.hpp"  // first: see there

#include <filesystem>
#include <thread>

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
