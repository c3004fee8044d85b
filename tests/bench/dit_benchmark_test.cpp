// The benchmark's FLOP count and a tiny run on the CPU.
#include "model_dit/dit_test_util.hpp"  // first: see there

#include <cstdio>
#include <fstream>

#include "bench/dit_benchmark.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

TEST_CASE("DiT FLOP count at 480p x 81 frames matches the reference's measured rate", "[dit][bench]") {
  // /work/shared/reference/README.md: 32,760 tokens, 4.55 s at ~400 TFLOP/s => ~1.82 PFLOP per forward.
  const auto f = dit_forward_flops(DitConfig::wan_14b(), 81, 480, 832);
  CHECK(f.total() == Approx(1.82e15).epsilon(0.02));
  CHECK(f.self_attention > f.cross_attention);
  CHECK(f.linear > f.cross_attention);
  // Self-attention grows with the square of the tokens, the rest linearly.
  const auto g = dit_forward_flops(DitConfig::wan_14b(), 161, 480, 832);  // 41 latent frames vs 21
  CHECK(g.self_attention / f.self_attention == Approx((41.0 / 21) * (41.0 / 21)).epsilon(1e-9));
}

TEST_CASE("video sizes parse", "[dit][bench]") {
  CHECK(parse_video_size("480p") == std::make_pair<int64_t, int64_t>(480, 832));
  CHECK(parse_video_size("720p") == std::make_pair<int64_t, int64_t>(720, 1280));
  CHECK(parse_video_size("512x512") == std::make_pair<int64_t, int64_t>(512, 512));
  CHECK_THROWS_AS(parse_video_size("500x512"), Error);
  CHECK_THROWS_AS(parse_video_size("big"), Error);
}

TEST_CASE("tiny DiT benchmark runs on the CPU", "[dit][bench]") {
  DitBenchOptions o;
  o.config = DitConfig::tiny();
  o.height = 64, o.width = 96, o.frames = 9, o.reps = 1, o.warmup = 0;
  o.dtype = at::kFloat;
  o.peak_tflops = 1.0;
  const auto r = bench_dit(o);
  CHECK(r.tokens == 3 * 4 * 6);
  CHECK(r.forward_s > 0);
  CHECK(r.step_s > 0);
  CHECK(r.tflops > 0);
  CHECK(r.mfu == Approx(r.tflops));
  CHECK(r.peak_bytes == -1);
  o.frames = 10;
  CHECK_THROWS_AS(bench_dit(o), Error);
}

TEST_CASE("DiT config.json: real keys, defaults for the audio keys, errors", "[dit][config]") {
  const std::string dir = TALKGEN_TEST_SCRATCH_DIR;
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  // The Wan2.1-I2V-14B-480P config.json as published.
  const auto c = DitConfig::from_json_file(
      write("dit_config_14b.json", R"({"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 5120,
        "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256, "in_dim": 36, "model_type": "i2v", "num_heads": 40,
        "num_layers": 40, "out_dim": 16, "text_len": 512})"));
  CHECK(c.dim == 5120);
  CHECK(c.num_layers == 40);
  CHECK(c.audio_output_dim == 768);
  CHECK(c.audio_blocks == 12);
  CHECK_THROWS_AS(DitConfig::from_json_file(dir + "/no_such_config.json"), Error);
  CHECK_THROWS_AS(DitConfig::from_json_file(write("dit_config_bad.json", "{\"dim\": ")), Error);
  CHECK_THROWS_AS(DitConfig::from_json_file(write("dit_config_type.json", "{\"dim\": \"wide\"}")), Error);
  CHECK_THROWS_AS(DitConfig::from_json_file(write("dit_config_t2v.json", "{\"model_type\": \"t2v\"}")), Error);
  CHECK_THROWS_AS(DitConfig::from_json_file(write("dit_config_heads.json", "{\"num_heads\": 7}")), Error);
}
