// DiT forward tests that need no reference data: shapes, determinism, input checks, bf16 vs fp32.
#include "dit_test_util.hpp"  // first: see there

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

std::shared_ptr<DitModel> tiny_model(at::ScalarType dtype = at::kFloat, uint64_t seed = 7) {
  auto model = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(dtype));
  randomize_parameters(*model, seed);
  return model;
}

}  // namespace

TEST_CASE("tiny DiT forward: output shape, finite, deterministic", "[dit]") {
  const auto model = tiny_model();
  const auto in = test::random_inputs(model->config(), 3, 8, 12, 1);
  const auto a = model->forward(in);
  CHECK(a.sizes() == in.x.sizes());
  CHECK(a.scalar_type() == at::kFloat);
  CHECK(at::isfinite(a).all().item<bool>());
  CHECK(at::equal(a, model->forward(in)));
}

TEST_CASE("DiT outputs depend on every condition", "[dit]") {
  const auto model = tiny_model();
  const auto in = test::random_inputs(model->config(), 2, 4, 6, 2);
  const auto base = model->forward(in);
  auto change = [&](auto edit) {
    auto other = in;
    edit(other);
    return test::max_abs_diff(model->forward(other), base);
  };
  CHECK(change([](DitInputs& i) { i.t = i.t - 100; }) > 1e-4);
  CHECK(change([](DitInputs& i) { i.context = i.context * 2; }) > 1e-4);
  CHECK(change([](DitInputs& i) { i.clip_fea = i.clip_fea.roll(1, 2); }) > 1e-4);
  CHECK(change([](DitInputs& i) { i.audio = at::zeros_like(i.audio); }) > 1e-4);
  CHECK(change([](DitInputs& i) { i.y = i.y * 0.5; }) > 1e-4);
}

TEST_CASE("audio cross-attention is local to each latent frame", "[dit]") {
  const auto c = DitConfig::tiny();
  AudioCrossAttention attn(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(*attn, 11);
  const int64_t frames = 3, per_frame = 5;
  const auto x = at::randn({1, frames * per_frame, c.dim});
  const auto audio = at::randn({1, frames, c.audio_context_tokens, c.audio_output_dim});
  auto changed = audio.clone();
  changed.select(1, 1).mul_(-2);  // only frame 1's audio
  const auto diff = (attn->forward(x, changed) - attn->forward(x, audio)).abs().amax(-1).view({frames, per_frame});
  CHECK(diff[0].max().item<double>() == 0.0);
  CHECK(diff[1].min().item<double>() > 0.0);
  CHECK(diff[2].max().item<double>() == 0.0);
}

TEST_CASE("embedded conditions reused across forwards give the same output", "[dit]") {
  const auto model = tiny_model();
  const auto in = test::random_inputs(model->config(), 2, 4, 4, 4);
  const auto cond = model->embed_conditions(in);
  CHECK(at::equal(model->forward_embedded(in, cond), model->forward(in)));
  auto later = in;
  later.t = at::full({1}, 120.0);
  CHECK(at::equal(model->forward_embedded(later, cond), model->forward(later)));
}

TEST_CASE("batch of two equals two single forwards", "[dit]") {
  const auto model = tiny_model();
  const auto a = test::random_inputs(model->config(), 2, 4, 4, 5);
  const auto b = test::random_inputs(model->config(), 2, 4, 4, 6);
  DitInputs both;
  both.x = at::cat({a.x, b.x});
  both.y = at::cat({a.y, b.y});
  both.t = at::cat({a.t, b.t - 300});
  both.context = at::cat({a.context, b.context});
  both.clip_fea = at::cat({a.clip_fea, b.clip_fea});
  both.audio = at::cat({a.audio, b.audio});
  auto b2 = b;
  b2.t = b.t - 300;
  const auto out = model->forward(both);
  CHECK(test::max_abs_diff(out.slice(0, 0, 1), model->forward(a)) < 1e-5);
  CHECK(test::max_abs_diff(out.slice(0, 1, 2), model->forward(b2)) < 1e-5);
}

TEST_CASE("bf16 forward stays close to the fp32 forward of the same weights", "[dit][bf16]") {
  const auto f32 = tiny_model(at::kFloat, 9);
  const auto b16 = tiny_model(at::kBFloat16, 9);
  const auto in = test::random_inputs(f32->config(), 2, 4, 6, 7);
  const auto ref = f32->forward(in);
  const auto out = b16->forward(in);
  CHECK(out.scalar_type() == at::kFloat);
  const double scale = ref.abs().max().item<double>();
  INFO("max abs diff " << test::max_abs_diff(out, ref) << " at output scale " << scale);
  CHECK(test::max_abs_diff(out, ref) < 0.1 * scale);
  CHECK(test::max_abs_diff(out, ref) > 0);  // it really ran in bf16
}

TEST_CASE("DiT rejects inputs that do not fit the config", "[dit][errors]") {
  const auto model = tiny_model();
  const auto good = test::random_inputs(model->config(), 2, 4, 4, 8);
  auto expect_error = [&](auto edit, ErrorCode code, const char* mentions) {
    auto in = good;
    edit(in);
    try {
      model->forward(in);
      FAIL("no error for a bad input mentioning " << mentions);
    } catch (const Error& e) {
      CHECK(e.code() == code);
      CHECK_THAT(e.what(), Catch::Contains(mentions));
    }
  };
  expect_error([](DitInputs& i) { i.x = i.x.slice(3, 0, 3); }, ErrorCode::invalid_argument, "'x'");
  expect_error([](DitInputs& i) { i.y = i.y.slice(1, 0, 3); }, ErrorCode::invalid_argument, "'y'");
  expect_error([](DitInputs& i) { i.context = at::zeros({1, 17, 32}); }, ErrorCode::invalid_argument, "text_len");
  expect_error([](DitInputs& i) { i.clip_fea = i.clip_fea.slice(1, 0, 256); }, ErrorCode::invalid_argument,
               "clip_fea");
  expect_error([](DitInputs& i) { i.audio = i.audio.slice(2, 0, 4); }, ErrorCode::invalid_argument, "'audio'");
  // Two speakers need their masks (dit_speakers_test.cpp has the rest); three are not supported.
  expect_error([](DitInputs& i) { i.audio = at::cat({i.audio, i.audio}, 1); }, ErrorCode::invalid_argument,
               "ref_target_masks");
  expect_error([](DitInputs& i) { i.audio = at::cat({i.audio, i.audio, i.audio}, 1); }, ErrorCode::unsupported,
               "speakers");
  expect_error([](DitInputs& i) { i.t = at::Tensor(); }, ErrorCode::invalid_argument, "'t'");
}

TEST_CASE("DiT config validation", "[dit][errors]") {
  auto c = DitConfig::tiny();
  c.num_heads = 3;  // 64 / 3
  CHECK_THROWS_AS(c.validate(), Error);
  c = DitConfig::tiny();
  c.dim = 8, c.num_heads = 2;  // head dim 4 < 6: RoPE cannot split it
  CHECK_THROWS_AS(c.validate(), Error);
  CHECK_NOTHROW(DitConfig::wan_14b().validate());
  CHECK(DitConfig::wan_14b().head_dim() == 128);
}
