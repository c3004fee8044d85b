// The benchmark function runs end to end on a tiny config (its numbers are not checked, only sanity).
#include "bench/vae_benchmark.hpp"
#include "model_vae/vae_test_util.hpp"

using namespace talkgen;
using namespace talkgen::model;

TEST_CASE("benchmark_vae times encode and decode and reports sizes", "[vae][bench]") {
  vae::VaeBenchOptions options;
  options.config = vae_test::tiny_config();
  options.height = 32;
  options.width = 48;
  options.latent_frames = 2;
  options.tiling = vae::TileOptions{2, 1};
  options.compare_untiled = true;
  const auto r = vae::benchmark_vae(options);
  CHECK(r.device == "cpu");
  CHECK(r.video_frames == 5);
  CHECK(r.encode_frame_ms > 0);
  CHECK(r.decode_ms > 0);
  CHECK(r.decode_ms_per_video_frame == Approx(r.decode_ms / 5));
  CHECK(r.encode_peak_bytes == -1);  // no device allocator statistics on the CPU
  CHECK(r.host_peak_rss_bytes > 0);
  CHECK(r.tiled_max_abs_diff >= 0);
  CHECK(r.tiled_mean_abs_diff <= r.tiled_max_abs_diff);
}

TEST_CASE("benchmark_vae rejects bad sizes and unavailable devices", "[vae][bench]") {
  vae::VaeBenchOptions options;
  options.config = vae_test::tiny_config();
  options.height = 30;
  try {
    vae::benchmark_vae(options);
    FAIL("accepted height 30");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
  }
#ifndef TALKGEN_WITH_CUDA
  options.height = 32;
  options.device = at::Device(at::kCUDA, 0);
  try {
    vae::benchmark_vae(options);
    FAIL("accepted cuda in a CPU build");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::device_unavailable);
  }
#endif
}
