// The CUDA row kernels (dit_row_kernels.hpp) against the libtorch forms they replace, on the GPU. Built
// in CUDA builds only (a CPU build has no kernels to test); run on the GPU machine by
// scripts/device/session.sh (`test_model_dit "[cuda]"`).
#include "dit_test_util.hpp"  // first: see there

#if TALKGEN_WITH_CUDA

#include <ATen/CPUGeneratorImpl.h>

#include "model/dit/dit_fused.hpp"
#include "model/dit/dit_row_kernels.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

at::Device gpu() {
  REQUIRE(at::hasCUDA());  // a CUDA build's tests run where there is a GPU
  return at::Device(at::kCUDA, 0);
}

at::Tensor randn_on(at::IntArrayRef sizes, uint64_t seed, at::ScalarType dtype, double scale = 1.0,
                    double offset = 0.0) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return (at::randn(sizes, gen, at::TensorOptions().dtype(at::kFloat)) * scale + offset).to(gpu()).to(dtype);
}

// Largest difference relative to the largest wanted magnitude, and the share of elements that differ at
// all: the kernels and the libtorch forms sum in different orders, so a few elements may round to the
// neighbouring bf16 value (relative step 2^-8), never more.
struct Agreement {
  double relative_max;
  double share_different;
};

Agreement compare(const at::Tensor& got, const at::Tensor& want) {
  REQUIRE(got.sizes() == want.sizes());
  REQUIRE(got.scalar_type() == want.scalar_type());
  const auto g = got.to(at::kFloat), w = want.to(at::kFloat);
  const double scale = w.abs().max().item<double>();
  return {(g - w).abs().max().item<double>() / scale, g.ne(w).to(at::kFloat).mean().item<double>()};
}

void check_agrees(const at::Tensor& got, const at::Tensor& want, const char* what) {
  const auto a = compare(got, want);
  INFO(what << ": max |diff| / max |want| = " << a.relative_max << ", share of differing elements "
            << a.share_different);
  CHECK(a.relative_max <= 1.0 / 64);
  CHECK(a.share_different <= 0.01);
}

}  // namespace

TEST_CASE("row kernels take bf16 CUDA rows only", "[dit][cuda]") {
  const auto x = randn_on({2, 6, 64}, 1, at::kBFloat16);
  CHECK(row_kernels_take(x));
  CHECK_FALSE(row_kernels_take(x.to(at::kFloat)));
  CHECK_FALSE(row_kernels_take(x.cpu()));
  CHECK_FALSE(row_kernels_take(randn_on({2, 6, 60}, 1, at::kBFloat16)));     // not a multiple of 8
  CHECK_FALSE(row_kernels_take(randn_on({1, 2, 8200}, 1, at::kBFloat16)));   // wider than a block holds
  CHECK_FALSE(row_kernels_take(x.transpose(0, 1)));                          // not contiguous
}

TEST_CASE("q/k RMS-norm + RoPE kernel computes the fused libtorch form", "[dit][cuda]") {
  // The 14B width (40 heads of 128) and the tiny model's (2 heads of 32), two batch entries.
  for (const auto& [heads, head_dim] : {std::pair<int64_t, int64_t>{40, 128}, {2, 32}}) {
    const int64_t dim = heads * head_dim;
    const Rope3d rope(head_dim);
    const auto grid = rope.grid(3, 4, 5, gpu());
    const int64_t tokens = 3 * 4 * 5;
    const auto x = randn_on({2, tokens, dim}, 2, at::kBFloat16, 2.0, 0.3);
    const auto w = randn_on({dim}, 3, at::kBFloat16, 0.2, 1.0);
    INFO("heads " << heads << " x " << head_dim);
    const auto want = qk_norm_rope(x, w, 1e-6, &grid, heads, /*row_kernels=*/false);
    const auto got = qk_norm_rope(x, w, 1e-6, &grid, heads, /*row_kernels=*/true);
    check_agrees(got, want, "RMS-norm + RoPE");
    // The plain transcription (float32 RoPE of the bf16 norm) as a second witness.
    const auto normed = model::layers::rms_norm(x, w, 1e-6).unflatten(-1, {heads, head_dim});
    const auto plain = apply_rope(normed, grid).to(at::kBFloat16);
    check_agrees(got, plain, "RMS-norm + RoPE vs plain");
    check_agrees(qk_norm_rope(x, w, 1e-6, nullptr, heads, true), qk_norm_rope(x, w, 1e-6, nullptr, heads, false),
                 "RMS-norm alone");
  }
}

TEST_CASE("residual + norm kernel computes the fused libtorch forms", "[dit][cuda]") {
  const int64_t batch = 2, tokens = 37, dim = 5120;
  const auto x0 = randn_on({batch, tokens, dim}, 10, at::kBFloat16, 3.0, 0.5);
  const auto y = randn_on({batch, tokens, dim}, 11, at::kBFloat16, 2.0);
  const auto gate = randn_on({batch, 1, dim}, 12, at::kFloat, 0.5);
  const auto weight = randn_on({dim}, 13, at::kBFloat16, 0.2, 1.0), bias = randn_on({dim}, 14, at::kBFloat16, 0.1);
  const auto scale1p = randn_on({batch, 1, dim}, 15, at::kFloat, 0.3, 1.0);
  const auto shift = randn_on({batch, 1, dim}, 16, at::kFloat, 0.3);
  const struct {
    const char* name;
    RowNorm norm;
  } norms[] = {{"none", RowNorm{}},
               {"affine", RowNorm::affine(weight, bias, 1e-6)},
               {"modulate", RowNorm::modulated(scale1p, shift, 1e-6)}};
  for (const auto& n : norms) {
    for (int update = 0; update < 3; ++update) {  // no residual, x + y, x + y * gate
      if (update == 0 && n.norm.kind == RowNorm::Kind::none) continue;
      const auto branch = update > 0 ? y : at::Tensor();
      const auto g = update == 2 ? gate : at::Tensor();
      INFO("norm " << n.name << ", update " << update);
      auto x_want = x0.clone(), x_got = x0.clone();
      const auto want = residual_then_norm(x_want, branch, g, n.norm, /*row_kernels=*/false);
      const auto got = residual_then_norm(x_got, branch, g, n.norm, /*row_kernels=*/true);
      check_agrees(x_got, x_want, "updated residual");
      if (update == 0) CHECK(at::equal(x_got, x0));
      if (n.norm.kind == RowNorm::Kind::none) {
        CHECK_FALSE(got.defined());
      } else {
        check_agrees(got, want, "norm output");
      }
    }
  }
}

TEST_CASE("a bf16 DiT forward with the row kernels matches the libtorch fused forward", "[dit][cuda]") {
  auto model = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(at::kBFloat16).device(gpu()));
  randomize_parameters(*model, 61);
  auto in = test::random_inputs(model->config(), 3, 4, 6, 62);
  test::set_speed(*model, DitSpeedOptions::parse("fused"));
  const auto want = model->forward(in);
  test::set_speed(*model, DitSpeedOptions::fast());
  REQUIRE(model->runtime_options().speed.row_kernels);
  const auto got = model->forward(in);
  const double scale = want.abs().max().item<double>();
  INFO("max abs diff " << (got - want).abs().max().item<double>() << " at output scale " << scale);
  CHECK((got - want).abs().max().item<double>() < 0.03 * scale);
}

#endif  // TALKGEN_WITH_CUDA
