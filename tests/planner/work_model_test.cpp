// The planner's arithmetic: tokens, FLOPs, parameters, forwards and chunks.
#include <catch2/catch.hpp>

#include "planner/work_model.hpp"
#include "talkgen/error.hpp"

using namespace talkgen;
using namespace talkgen::planner;

TEST_CASE("tokens per forward at 480p and 720p for 81 frames") {
  const ModelDims m;
  // (1 + 80 / 4) latent frames x (480 / 16) x (832 / 16) = 21 x 30 x 52; 720p: 21 x 45 x 80.
  CHECK(dit_tokens(m, 81, 480, 832) == 32760);
  CHECK(dit_tokens(m, 81, 720, 1280) == 75600);
  CHECK(dit_tokens(m, 1, 480, 832) == 1560);
}

TEST_CASE("DiT FLOPs per forward at 480p / 81 frames match a hand count within 1%") {
  // Hand count, L = 32760 tokens, D = 5120, F = 13824, 40 blocks, 512 text + 257 image keys, 32 audio keys:
  //   block linears  40 x 2 x (8 D^2 + 2 D F) x L            = 920.62 TFLOP  (self qkvo, cross q/o, audio q/proj, FFN)
  //   text+image attention 40 x 4 x 769 x D x L              =  20.64 TFLOP
  //   audio attention      40 x 4 x 32 x D x L               =   0.86 TFLOP
  //   self-attention       40 x 4 x L^2 x D                  = 879.18 TFLOP
  //   cross k/v over 769 tokens, embeddings, audio_proj      ~   3.7  TFLOP
  //   total                                                  ~ 1825   TFLOP
  const double hand_total = 920.62e12 + 20.64e12 + 0.86e12 + 879.18e12 + 3.7e12;
  const ForwardFlops f = dit_forward_flops(ModelDims{}, 32760, 21);
  CHECK(f.total() == Approx(hand_total).epsilon(0.01));
  CHECK(f.self_attention == Approx(879.18e12).epsilon(0.001));
  CHECK(f.fixed < 0.01 * f.total());
  // The reference measured 4.55 s per forward on an H100 at ~400 TFLOP/s.
  CHECK(f.total() / 400e12 == Approx(4.55).epsilon(0.03));
}

TEST_CASE("self-attention grows with the square of the tokens, the rest linearly") {
  const ForwardFlops a = dit_forward_flops(ModelDims{}, 32760, 21), b = dit_forward_flops(ModelDims{}, 75600, 21);
  const double ratio = 75600.0 / 32760.0;
  CHECK(b.self_attention / a.self_attention == Approx(ratio * ratio));
  CHECK(b.per_token / a.per_token == Approx(ratio));
  CHECK(b.fixed == Approx(a.fixed));
}

TEST_CASE("the DiT with audio modules has ~18.9 B parameters (35 GiB in bf16)") {
  const double p = dit_parameters(ModelDims{});
  CHECK(p == Approx(18.88e9).epsilon(0.005));
  CHECK(p * 2 / (1024.0 * 1024 * 1024) == Approx(35.2).epsilon(0.01));
}

TEST_CASE("forwards per step follow the guidance scales") {
  QualitySettings s;
  s.text_guidance = 5, s.audio_guidance = 4;
  CHECK(s.forwards_per_step() == 3);
  s.audio_guidance = 1;
  CHECK(s.forwards_per_step() == 3);  // text guidance still needs drop_text and uncond
  s.text_guidance = 1, s.audio_guidance = 2;
  CHECK(s.forwards_per_step() == 2);
  s.audio_guidance = 1;
  CHECK(s.forwards_per_step() == 1);
  s.text_guidance = 1.0 + 1e-12;  // math.isclose, as the reference
  CHECK(s.forwards_per_step() == 1);
}

TEST_CASE("default profiles are the ones generate.hpp documents") {
  const auto draft = quality_settings(Quality::draft, Resolution::p480);
  const auto balanced = quality_settings(Quality::balanced, Resolution::p480);
  const auto quality480 = quality_settings(Quality::quality, Resolution::p480);
  const auto quality720 = quality_settings(Quality::quality, Resolution::p720);
  CHECK(draft.steps * draft.forwards_per_step() == 8);
  CHECK(balanced.steps * balanced.forwards_per_step() == 16);
  CHECK(quality480.steps * quality480.forwards_per_step() == 120);
  CHECK(draft.lora == DistillLora::lightx2v);
  CHECK(quality480.lora == DistillLora::none);
  CHECK(quality480.shift == 7.0);
  CHECK(quality720.shift == 11.0);
}

TEST_CASE("chunks: 81 frames, then 72 new frames per chunk") {
  CHECK(chunk_count(1) == 1);
  CHECK(chunk_count(81) == 1);
  CHECK(chunk_count(82) == 2);
  CHECK(chunk_count(153) == 2);
  CHECK(chunk_count(154) == 3);
  CHECK(chunk_count(500) == 7);  // 81 + 6 x 72 = 513 >= 500
}

TEST_CASE("a 20 s balanced job at 480p") {
  const auto w = describe_workload(20.0, quality_settings(Quality::balanced, Resolution::p480),
                                   Resolution::p480);
  CHECK(w.summary.frames == 500);
  CHECK(w.summary.chunks == 7);
  CHECK(w.summary.forwards == 7 * 8 * 2);
  CHECK(w.summary.tokens == 32760);
  CHECK(w.summary.width == 832);
  CHECK(w.summary.tflop_per_forward == Approx(w.flops.total() / 1e12));
}

TEST_CASE("bad durations and steps are invalid_argument") {
  const auto s = quality_settings(Quality::draft, Resolution::p480);
  for (double d : {0.0, -1.0, std::nan(""), 1e9}) {
    try {
      describe_workload(d, s, Resolution::p480);
      FAIL("no error for duration " << d);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
    }
  }
  QualitySettings none = s;
  none.steps = 0;
  CHECK_THROWS_AS(describe_workload(5, none, Resolution::p480), Error);
}

TEST_CASE("a known frame size replaces the landscape bucket") {
  const auto s = quality_settings(Quality::draft, Resolution::p480);
  const auto square = describe_workload(3.24, s, Resolution::p480, {}, FrameSize{640, 640});
  CHECK(square.summary.width == 640);
  CHECK(square.summary.height == 640);
  CHECK(square.summary.tokens == 21 * 40 * 40);  // 33,600: more than the landscape bucket's 32,760
  CHECK(square.pixels_per_frame == 640.0 * 640.0);
  const auto landscape = describe_workload(3.24, s, Resolution::p480);
  CHECK(square.flops.self_attention > landscape.flops.self_attention);
  for (const FrameSize bad : {FrameSize{0, 640}, FrameSize{640, 630}, FrameSize{-16, 640}}) {
    try {
      describe_workload(3.24, s, Resolution::p480, {}, bad);
      FAIL("no error for " << bad.width << "x" << bad.height);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
    }
  }
}
