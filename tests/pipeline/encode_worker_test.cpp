// EncodeWorker: frames encoded in order on a background thread, errors surfacing on the caller's thread,
// and nothing left on disk when it is destroyed unfinished.
#include "support/catch_torch.hpp"  // first: see there

#include <filesystem>
#include <limits>

#include "pipeline/encode_worker.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "test_media.hpp"
#include "support/error_capture.hpp"

using namespace talkgen;
using namespace talkgen::pipeline;
using talkgen_test::code_of;
using talkgen_test::scratch;

namespace {

EncoderOptions fast() {
  EncoderOptions o;
  o.preset = "ultrafast";
  return o;
}

// float32 [3, n, 32, 48] in [-1, 1], a different level per chunk.
at::Tensor chunk(int n, float level) { return at::full({3, n, 32, 48}, level, at::kFloat); }

bool leftovers(const std::string& stem) {
  for (const auto& e : std::filesystem::directory_iterator(TALKGEN_TEST_SCRATCH_DIR))
    if (e.path().filename().string().find(stem) != std::string::npos) return true;
  return false;
}


}  // namespace

TEST_CASE("EncodeWorker encodes every pushed chunk into one MP4", "[pipeline][encode]") {
  const std::string out = scratch("worker_ok.mp4");
  std::filesystem::remove(out);
  {
    EncodeWorker worker(Encoder::to_file(out, fast()), 1);
    for (int i = 0; i < 4; ++i) worker.push(chunk(7, -0.5f + 0.3f * i));  // more chunks than the queue holds
    CHECK_FALSE(std::filesystem::exists(out));  // published by finish() only
    worker.finish();
    CHECK(worker.seconds_waited() >= 0.0);
  }
  REQUIRE(std::filesystem::exists(out));
  const VideoFrames v = decode_video_frames(out, [](int64_t) { return false; });
  CHECK(v.frames_read == 28);
  CHECK(v.width == 48);
  CHECK(v.height == 32);
}

TEST_CASE("EncodeWorker: an encoder error surfaces on the caller's thread and leaves no file", "[pipeline][encode]") {
  const std::string out = scratch("worker_nan.mp4");
  std::filesystem::remove(out);
  {
    EncodeWorker worker(Encoder::to_file(out, fast()), 1);
    worker.push(chunk(5, 0.1f));
    at::Tensor bad = chunk(5, 0.2f);
    bad[0][2][3][4] = std::numeric_limits<float>::quiet_NaN();
    // The error shows in whichever call comes after the worker met it: a later push or finish().
    const ErrorCode code = code_of([&] {
      worker.push(bad);
      for (int i = 0; i < 3; ++i) worker.push(chunk(5, 0.3f));
      worker.finish();
    });
    CHECK(code == ErrorCode::invalid_argument);
  }
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_FALSE(leftovers("worker_nan.mp4"));
}

TEST_CASE("EncodeWorker destroyed before finish discards the file", "[pipeline][encode]") {
  const std::string out = scratch("worker_dropped.mp4");
  std::filesystem::remove(out);
  {
    EncodeWorker worker(Encoder::to_file(out, fast()), 2);
    for (int i = 0; i < 3; ++i) worker.push(chunk(9, 0.0f));
  }
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_FALSE(leftovers("worker_dropped.mp4"));
}

TEST_CASE("EncodeWorker refuses frames it cannot hand to the encoder", "[pipeline][encode]") {
  EncodeWorker worker(Encoder::to_memory(fast()), 1);
  CHECK(code_of([&] { worker.push(at::zeros({3, 2, 8, 8}, at::kDouble)); }) == ErrorCode::internal);
  CHECK(code_of([&] { worker.push(at::zeros({2, 8, 8})); }) == ErrorCode::internal);
  worker.push(chunk(3, 0.0f));
  worker.finish();
  CHECK_FALSE(worker.take_buffer().empty());
}
