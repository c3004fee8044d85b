// The DiT's fast paths (dit_fused.hpp, DitSpeedOptions in dit_model.hpp), the attention backend switch and the
// benchmark's A/B and profile options: every fast path must compute what the plain transcription computes.
#include "model_dit/dit_test_util.hpp"  // first: see there

#include "bench/dit_benchmark.hpp"
#include "model/dit/dit_fused.hpp"
#include "model/dit/dit_profile.hpp"
#include "model/layers/attention.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

at::Tensor randn(at::IntArrayRef sizes, uint64_t seed, at::ScalarType dtype = at::kFloat) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(sizes, gen, at::TensorOptions().dtype(at::kFloat)).to(dtype);
}

std::shared_ptr<DitModel> tiny_model(at::ScalarType dtype, uint64_t seed) {
  auto model = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(dtype));
  randomize_parameters(*model, seed);
  return model;
}

// Largest difference in units of the bf16 spacing at the reference's magnitude (2^-7 relative), so a
// single differently rounded element shows as ~1 and a wrong formula as >> 1.
double bf16_ulps(const at::Tensor& got, const at::Tensor& want) {
  const auto w = want.to(at::kFloat);
  const auto spacing = at::clamp_min(w.abs(), 1e-3) * (1.0 / 128);
  return ((got.to(at::kFloat) - w).abs() / spacing).max().item<double>();
}

}  // namespace

TEST_CASE("fused elementwise helpers compute the plain formulas", "[dit][speed]") {
  const int64_t dim = 64;
  const auto x = randn({2, 7, dim}, 1) * 3 + 0.5;
  const auto w = 1 + 0.2 * randn({dim}, 2), b = 0.1 * randn({dim}, 3);
  const auto scale = 0.3 * randn({2, 1, dim}, 4), shift = 0.3 * randn({2, 1, dim}, 5);
  const double eps = 1e-6;

  SECTION("float32: equal to float32 rounding") {
    CHECK(test::max_abs_diff(layer_norm_fused(x, eps), model::layers::float32_layer_norm(x, eps)) < 1e-5);
    CHECK(test::max_abs_diff(layer_norm_fused(x, eps, w, b), model::layers::float32_layer_norm(x, eps, w, b)) < 1e-5);
    const auto n = model::layers::float32_layer_norm(x, eps);
    CHECK(test::max_abs_diff(modulate(n, scale + 1, shift), n * (1 + scale) + shift) < 1e-6);
    auto r = x.clone();
    const auto y = randn({2, 7, dim}, 6);
    gated_residual_(r, y, scale);
    CHECK(test::max_abs_diff(r, x + y * scale) < 1e-6);
    CHECK(test::max_abs_diff(rms_norm_fused(x, w, eps, at::kFloat), model::layers::rms_norm(x, w, eps)) < 1e-5);
  }

  SECTION("bfloat16: the plain path's values up to one rounding") {
    const auto xb = x.to(at::kBFloat16), wb = w.to(at::kBFloat16), bb = b.to(at::kBFloat16);
    const auto ln = layer_norm_fused(xb, eps, wb, bb);
    CHECK(ln.scalar_type() == at::kBFloat16);
    CHECK(bf16_ulps(ln, model::layers::float32_layer_norm(xb, eps, wb, bb)) <= 2.0);
    const auto n = model::layers::float32_layer_norm(xb, eps);
    const auto m = modulate(n, scale + 1, shift);
    CHECK(m.scalar_type() == at::kBFloat16);
    CHECK(bf16_ulps(m, (n.to(at::kFloat) * (1 + scale) + shift).to(at::kBFloat16)) <= 1.0);
    auto r = xb.clone();
    const auto y = randn({2, 7, dim}, 6, at::kBFloat16);
    gated_residual_(r, y, scale);
    CHECK(r.scalar_type() == at::kBFloat16);
    CHECK(bf16_ulps(r, (xb.to(at::kFloat) + y * scale).to(at::kBFloat16)) <= 1.0);
    const auto plain_rms = model::layers::rms_norm(xb, wb, eps);
    CHECK(bf16_ulps(rms_norm_fused(xb, wb, eps, at::kBFloat16), plain_rms) <= 1.0);
    const auto widened = rms_norm_fused(xb, wb, eps, at::kFloat);
    CHECK(widened.scalar_type() == at::kFloat);
    CHECK(bf16_ulps(widened, plain_rms) <= 1.0);
  }
}

TEST_CASE("fused RoPE rotates like apply_rope, with or without the complex table", "[dit][speed]") {
  const Rope3d rope(12);  // head dim 12: time 4, height 4, width 4 channels
  const auto grid = rope.grid(3, 4, 5, at::kCPU);
  REQUIRE(grid.rotation.defined());
  REQUIRE(grid.rotation.is_complex());
  const auto x = randn({2, 60, 3, 12}, 7);
  const auto want = apply_rope(x, grid);
  CHECK(test::max_abs_diff(apply_rope_fused(x.clone(), grid, at::kFloat), want) < 1e-6);
  const RopeGrid no_table{grid.cos, grid.sin};
  CHECK(test::max_abs_diff(apply_rope_fused(x.clone(), no_table, at::kFloat), want) < 1e-6);
  const auto b16 = apply_rope_fused(x.clone(), grid, at::kBFloat16);
  CHECK(b16.scalar_type() == at::kBFloat16);
  CHECK(bf16_ulps(b16, want.to(at::kBFloat16)) <= 1.0);
}

TEST_CASE("linear_gelu is linear then tanh-GELU (the CPU keeps the plain path)", "[dit][speed]") {
  Linear fc(model::layers::LinearOptions(16, 24));
  randomize_parameters(*fc, 8);
  const auto x = randn({2, 5, 16}, 9);
  const auto got = linear_gelu(*fc, x);
  CHECK(got.sizes() == at::IntArrayRef{2, 5, 24});
  CHECK(test::max_abs_diff(got, at::gelu(fc(x), "tanh")) < 1e-5);
}

TEST_CASE("the fast DiT forward matches the plain one", "[dit][speed]") {
  SECTION("float32, every combination of fast paths") {
    const auto model = tiny_model(at::kFloat, 21);
    const auto in = test::random_inputs(model->config(), 3, 4, 6, 22);
    test::set_speed(*model, DitSpeedOptions::plain());
    const auto want = model->forward(in);
    for (const char* spec : {"fused", "gelu", "all"}) {
      test::set_speed(*model, DitSpeedOptions::parse(spec));
      INFO("fast paths " << spec);
      CHECK(test::max_abs_diff(model->forward(in), want) < 1e-5);
    }
  }
  SECTION("bfloat16: within bf16 rounding noise of the plain bf16 forward") {
    const auto model = tiny_model(at::kBFloat16, 23);
    const auto in = test::random_inputs(model->config(), 3, 4, 6, 24);
    test::set_speed(*model, DitSpeedOptions::plain());
    const auto plain = model->forward(in);
    test::set_speed(*model, DitSpeedOptions::fast());
    const auto fast = model->forward(in);
    const double scale = plain.abs().max().item<double>();
    INFO("max abs diff " << test::max_abs_diff(fast, plain) << " at output scale " << scale);
    CHECK(test::max_abs_diff(fast, plain) < 0.03 * scale);
  }
}

TEST_CASE("DitBlock::forward leaves its input alone, forward_in_place may reuse it", "[dit][speed]") {
  const auto c = DitConfig::tiny();
  DitBlock block(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(*block, 31);
  const int64_t f = 2, h = 2, w = 3, tokens = f * h * w;
  const Rope3d rope(c.head_dim());
  const auto grid = rope.grid(f, h, w, at::kCPU);
  const auto x = randn({1, tokens, c.dim}, 32);
  const auto e0 = randn({1, 6, c.dim}, 33);
  const auto context = randn({1, c.clip_tokens + c.text_len, c.dim}, 34);
  const auto audio = randn({1, f, c.audio_context_tokens, c.audio_output_dim}, 35);
  const distributed::SequenceParallel sp(tokens);
  const auto before = x.clone();
  BlockContext ctx{e0, grid, context, audio, sp, h * w};
  ctx.runtime.speed = DitSpeedOptions::fast();
  const auto out = block->forward(x, ctx);
  CHECK(at::equal(x, before));
  BlockContext plain = ctx;
  plain.runtime.speed = DitSpeedOptions::plain();
  CHECK(test::max_abs_diff(out, block->forward(x, plain)) < 1e-5);
  auto owned = x.clone();
  const auto in_place = block->forward_in_place(owned, ctx);
  CHECK(in_place.is_same(owned));
  CHECK(at::equal(in_place, out));
}

TEST_CASE("speed option and attention backend names", "[dit][speed][errors]") {
  CHECK(DitSpeedOptions{}.fused_elementwise);
  CHECK_FALSE(DitSpeedOptions{}.gelu_in_gemm);  // opt-in until checked on a GPU
  CHECK(DitSpeedOptions::parse("default").fused_elementwise);
  CHECK_FALSE(DitSpeedOptions::parse("default").gelu_in_gemm);
  CHECK(DitSpeedOptions::parse("all").fused_elementwise);
  CHECK(DitSpeedOptions::parse("all").gelu_in_gemm);
  CHECK_FALSE(DitSpeedOptions::parse("none").fused_elementwise);
  CHECK_FALSE(DitSpeedOptions::parse("none").gelu_in_gemm);
  const auto fused = DitSpeedOptions::parse("fused");
  CHECK(fused.fused_elementwise);
  CHECK_FALSE(fused.gelu_in_gemm);
  CHECK_FALSE(fused.row_kernels);  // "fused" alone: the libtorch forms (the A/B baseline of the kernels)
  CHECK(DitSpeedOptions{}.row_kernels);
  CHECK_FALSE(DitSpeedOptions::parse("none").row_kernels);
  const auto kernels = DitSpeedOptions::parse("kernels");
  CHECK(kernels.row_kernels);
  CHECK(kernels.fused_elementwise);  // the kernels are the fused path's CUDA form
  const auto both = DitSpeedOptions::parse("gelu,fused");
  CHECK(both.fused_elementwise);
  CHECK(both.gelu_in_gemm);
  try {
    DitSpeedOptions::parse("fused,turbo");
    FAIL("no error for an unknown fast path");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("turbo"));
  }

  using model::layers::AttentionBackend;
  for (const char* name : {"auto", "cudnn", "flash", "efficient"})
    CHECK(std::string(model::layers::to_string(model::layers::parse_attention_backend(name))) == name);
  CHECK_THROWS_AS(model::layers::parse_attention_backend("fastest"), Error);

  const auto variant = parse_bench_variant("flash/fused+gelu");
  CHECK(variant.attention == AttentionBackend::flash);
  CHECK(variant.speed.fused_elementwise);
  CHECK(variant.speed.gelu_in_gemm);
  CHECK(parse_bench_variant("auto/none").attention == AttentionBackend::automatic);
  CHECK_THROWS_AS(parse_bench_variant("cudnn"), Error);
  CHECK_THROWS_AS(parse_bench_variant("cudnn/fast"), Error);
  CHECK(parse_bench_variant("cudnn/default").speed.fused_elementwise);
  CHECK(variant.describe() == "attention flash, " + variant.speed.describe());

  // The library's defaults: the build's fastest attention, the default fast paths.
  const DitRuntimeOptions defaults;
  CHECK(defaults.attention == model::layers::default_attention_backend());
  CHECK(defaults.speed.fused_elementwise);
}

TEST_CASE("attention gives the same result whatever backend is preferred (CPU)", "[dit][speed]") {
  using model::layers::AttentionBackend;
  const auto q = randn({1, 2, 9, 8}, 41), k = randn({1, 2, 5, 8}, 42), v = randn({1, 2, 5, 8}, 43);
  const auto want = model::layers::attention(q, k, v, std::nullopt, std::nullopt, AttentionBackend::automatic);
  const auto exact = at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(8.0), -1), v);
  CHECK(test::max_abs_diff(want, exact) < 1e-5);
  for (auto b : {AttentionBackend::cudnn, AttentionBackend::flash, AttentionBackend::efficient}) {
    INFO(model::layers::to_string(b));
    CHECK(test::max_abs_diff(model::layers::attention(q, k, v, std::nullopt, std::nullopt, b), want) < 1e-6);
  }
}

TEST_CASE("phase profile: the forward's phases, only while installed", "[dit][speed][bench]") {
  const auto model = tiny_model(at::kFloat, 51);
  const auto in = test::random_inputs(model->config(), 2, 4, 4, 52);
  {
    PhaseProfile profile;
    profile.start(in.x);
    model->forward(in);
    std::vector<std::string> names;
    for (const auto& [name, s] : profile.seconds()) {
      names.push_back(name);
      CHECK(s >= 0);
    }
    for (const char* want : {"embeddings (patch, time)", "norm + modulation", "self_attn q/k/v GEMMs",
                             "self_attn qk norm + RoPE", "self_attn attention", "self_attn o GEMM",
                             "gated residual + norm3", "cross_attn (text + image)", "residual + norm_x",
                             "audio_cross_attn", "residual + norm + modulation", "ffn", "gated residual", "head"}) {
      INFO(want);
      CHECK(std::find(names.begin(), names.end(), want) != names.end());
    }
    CHECK(profile.total_seconds() > 0);
    CHECK_THROWS_AS(PhaseProfile(), Error);  // one per thread
  }
  PhaseProfile later;  // the first one uninstalled itself
  CHECK(later.seconds().empty());
}

TEST_CASE("benchmark A/B variants and profile on the CPU", "[dit][bench][speed]") {
  DitBenchOptions o;
  o.config = DitConfig::tiny();
  o.height = 64, o.width = 96, o.frames = 9, o.reps = 1, o.warmup = 0;
  o.dtype = at::kFloat;
  o.variants = {"auto/none", "cudnn/all", "auto/fused"};
  o.profile = true;
  const auto r = bench_dit(o);
  REQUIRE(r.variants.size() == 3);
  CHECK(r.variants[0].name == "auto/none");
  CHECK(r.variants[0].max_abs_diff == 0);
  CHECK(r.variants[0].output_scale > 0);
  for (const auto& v : r.variants) {
    INFO(v.name);
    CHECK(v.forward_s > 0);
    CHECK(v.max_abs_diff < 1e-5);
  }
  CHECK_FALSE(r.configuration.empty());
  CHECK_FALSE(r.profile.empty());
  o.variants = {"cudnn+all"};
  CHECK_THROWS_AS(bench_dit(o), Error);
}
