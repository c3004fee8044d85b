// Expected numbers: the reference's guidance formulas, adaptive_projected_guidance and
// match_and_blend_colors (skimage 0.19) evaluated in Python on the same inputs.
#include "support/catch_torch.hpp"  // first: see there

#include <vector>

#include "pipeline/color_match.hpp"
#include "samplers/guidance.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::pipeline;
using namespace talkgen::samplers;

namespace {

at::Tensor field(double mul, double scale) {
  return (at::sin(at::arange(2 * 3 * 4 * 5, at::kFloat) * mul) * scale).view({1, 2, 3, 4, 5});
}

void check_samples(const at::Tensor& t, const std::vector<double>& want, double want_sum, double tol = 1e-5) {
  at::Tensor f = t.flatten().to(at::kDouble);
  const int64_t idx[] = {0, 7, 31, 64, 119};
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << idx[i]);
    CHECK(f[idx[i]].item<double>() == Approx(want[i]).margin(tol * 10));
  }
  CHECK(f.sum().item<double>() == Approx(want_sum).margin(tol * 100));
}

}  // namespace

TEST_CASE("forward counts: 3 with both guidances, 2 when text is 1, 1 when both are 1") {
  GuidanceConfig g;
  CHECK(forwards_needed(g).size() == 3);
  g.text_scale = 1.0;
  CHECK((forwards_needed(g) == std::vector<ForwardKind>{ForwardKind::cond, ForwardKind::drop_audio}));
  g.audio_scale = 1.0 + 1e-12;  // math.isclose
  CHECK((forwards_needed(g) == std::vector<ForwardKind>{ForwardKind::cond}));
  CHECK(is_unit_scale(1.0));
  CHECK_FALSE(is_unit_scale(1.001));
}

TEST_CASE("vanilla CFG combinations match the reference") {
  const at::Tensor cond = field(0.37, 3.0), drop_text = field(0.11, 2.5), uncond = field(0.23, 2.0),
                   drop_audio = field(0.05, 1.0);
  GuidanceConfig g;
  Guidance three(g);
  check_samples(three.combine({cond, drop_text, uncond}),
                {0.0, 0.12493503093719482, -17.17538070678711, -21.62155532836914, -5.25089168548584},
                -47.64997100830078);
  g.text_scale = 1.0;
  Guidance two(g);
  check_samples(two.combine({cond, drop_audio}),
                {0.0, 5.2598371505737305, -13.674013137817383, -11.741352081298828, 1.5533661842346191},
                -2.4858598709106445);
  g.audio_scale = 1.0;
  Guidance one(g);
  CHECK(at::equal(one.combine({cond}), cond));
  CHECK_THROWS_AS(one.combine({cond, cond}), talkgen::Error);
}

TEST_CASE("APG with momentum over three steps matches the reference") {
  const at::Tensor cond = field(0.37, 3.0), drop_text = field(0.11, 2.5), uncond = field(0.23, 2.0);
  GuidanceConfig g;
  g.use_apg = true;
  g.apg_norm_threshold = 7.0;
  Guidance apg(g);
  at::Tensor out;
  for (int step = 0; step < 3; ++step) {
    at::Tensor c = cond * (1 + 0.1 * step), d = drop_text * (1 - 0.05 * step);
    out = apg.combine({c, d, uncond});
  }
  check_samples(out, {0.0, 0.07517462968826294, -4.529206275939941, -4.923377513885498, -1.2209908962249756},
                -13.394617080688477);

  g.text_scale = 1.0;
  g.apg_norm_threshold = 55.0;
  Guidance apg2(g);
  check_samples(apg2.combine({cond, field(0.05, 1.0)}),
                {0.0, 0.5672014951705933, -5.708352565765381, -2.8490242958068848, 1.1263765096664429},
                -2.7265496253967285);
}

TEST_CASE("rgb_to_lab / lab_to_rgb match skimage") {
  at::Tensor rgb = at::tensor({0.2, 0.5, 0.9, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.01, 0.7, 0.03}, at::kDouble).view({4, 3});
  const std::vector<double> lab_want = {53.700907177702675, 12.159268605834328, -58.34866544744224, 100.0,
                                        -0.0024549378620508655, 0.004653421154054982, 0.0, 0.0, 0.0,
                                        63.40198126923386, -65.63893549262595, 62.69215784841889};
  at::Tensor lab = rgb_to_lab(rgb).flatten();
  for (size_t i = 0; i < lab_want.size(); ++i) CHECK(lab[i].item<double>() == Approx(lab_want[i]).margin(1e-9));
  at::Tensor back = lab_to_rgb(at::tensor({50.0, 80.0, -90.0, 20.0, -10.0, 60.0}, at::kDouble).view({2, 3})).flatten();
  const std::vector<double> rgb_want = {0.6144385309470722, 0.21071899376787323, 1.0, 0.2160671523745552,
                                        0.19896890902967224, 0.0};
  for (size_t i = 0; i < rgb_want.size(); ++i) CHECK(back[i].item<double>() == Approx(rgb_want[i]).margin(1e-9));
  CHECK(at::allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, 0, 1e-9));
}

TEST_CASE("match_and_blend_colors matches the reference") {
  const int64_t T = 3, H = 6, W = 8;
  at::Tensor src = (at::sin(at::arange(3 * T * H * W, at::kFloat) * 0.731) * 0.9).view({1, 3, T, H, W});
  src[0][1][2].fill_(0.3);  // a flat channel in frame 2: its std is 0
  at::Tensor ref = (at::cos(at::arange(3 * H * W, at::kFloat) * 0.417) * 0.8 + 0.1).view({1, 3, 1, H, W});
  check_samples(match_and_blend_colors(src, ref, 1.0),
                {-0.1737256646156311, -0.726146936416626, 0.08832895755767822, 0.6874691247940063, -1.0},
                36.33307647705078, 2e-5);
  check_samples(match_and_blend_colors(src, ref, 0.4),
                {-0.06949019432067871, -0.7868567705154419, -0.2999376058578491, 0.4550144672393799,
                 -0.8471394777297974},
                22.441003799438477, 2e-5);
  CHECK(match_and_blend_colors(src, ref, 0.0).data_ptr() == src.data_ptr());
  CHECK_THROWS_AS(match_and_blend_colors(src, ref, 1.5), talkgen::Error);
  at::Tensor unbatched = match_and_blend_colors(src.squeeze(0), ref, 1.0);
  CHECK(unbatched.dim() == 4);
}
