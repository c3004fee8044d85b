// FlashAttention-3 (model/layers/attention_fa3.hpp): what every build answers about it, and in builds
// configured with it (-DTALKGEN_FLASH_ATTENTION3_DIR, run on a Hopper GPU by the device scripts) its
// results against exact attention at the shapes the models use.
#include "dit_test_util.hpp"  // first: see there

#include <cmath>

#include "model/layers/attention.hpp"
#include "model/layers/attention_fa3.hpp"

using namespace talkgen;
namespace layers = talkgen::model::layers;

TEST_CASE("the fa3 attention backend exists only in builds that have FlashAttention-3", "[dit][attention]") {
  const auto q = at::randn({1, 2, 4, 128});
  CHECK_FALSE(layers::flash_attention3_fits(q, q, q));  // CPU tensors never fit
  if (layers::flash_attention3_built()) {
    CHECK(layers::parse_attention_backend("fa3") == layers::AttentionBackend::fa3);
    CHECK(std::string(layers::to_string(layers::AttentionBackend::fa3)) == "fa3");
    return;
  }
  try {
    layers::parse_attention_backend("fa3");
    FAIL("a build without FlashAttention-3 accepted the fa3 backend");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unsupported);
    CHECK_THAT(e.what(), Catch::Contains("TALKGEN_FLASH_ATTENTION3_DIR"));
  }
  CHECK_THROWS_AS(layers::flash_attention3(q, q, q, std::nullopt), Error);
}

#if TALKGEN_WITH_FLASH_ATTENTION3

namespace {

at::Tensor randn_gpu(at::IntArrayRef sizes, uint64_t seed) {
  REQUIRE(at::hasCUDA());  // a CUDA build's tests run where there is a GPU
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(sizes, gen).to(at::Device(at::kCUDA, 0)).to(at::kBFloat16);
}

// softmax(q k^T * scale) v in float64 on the bf16 inputs.
at::Tensor exact(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const auto qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  return at::matmul(at::softmax(at::matmul(qd, kd.transpose(-2, -1)) * scale, -1), vd);
}

double relative_error(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want).norm().item<double>() / want.norm().item<double>();
}

// [B, H, L, 128] views of [B, L, H, 128] memory, as the DiT hands them over.
at::Tensor heads_view(int64_t b, int64_t l, int64_t h, uint64_t seed) {
  return randn_gpu({b, l, h, 128}, seed).transpose(1, 2);
}

}  // namespace

TEST_CASE("FlashAttention-3 matches exact attention at the models' shapes", "[dit][attention][cuda]") {
  REQUIRE(layers::flash_attention3_built());
  struct Case {
    const char* what;
    at::Tensor q, k, v;
  };
  // Packed q/k/v ([B, L, 3, H, D], rows 3·H·D apart) as a fused projection would give them.
  const auto packed = randn_gpu({2, 300, 3, 3, 128}, 7);
  const std::vector<Case> cases = {
      {"self-attention, 8 query tiles (2-CTA clusters)", heads_view(1, 1024, 4, 1), heads_view(1, 1024, 4, 2),
       heads_view(1, 1024, 4, 3)},
      {"odd tile count, ragged last tile", heads_view(2, 777, 3, 4), heads_view(2, 1500, 3, 5),
       heads_view(2, 1500, 3, 6)},
      {"packed q/k/v", packed.select(2, 0).transpose(1, 2), packed.select(2, 1).transpose(1, 2),
       packed.select(2, 2).transpose(1, 2)},
      {"audio: 21 frames, 32 audio tokens", heads_view(21, 390, 2, 8), heads_view(21, 32, 2, 9),
       heads_view(21, 32, 2, 10)},
      {"text: 512 context tokens", heads_view(1, 2000, 2, 11), heads_view(1, 512, 2, 12),
       heads_view(1, 512, 2, 13)},
      {"one query", heads_view(1, 1, 2, 14), heads_view(1, 70, 2, 15), heads_view(1, 70, 2, 16)},
      {"contiguous [B, H, L, D]", randn_gpu({1, 2, 640, 128}, 17), randn_gpu({1, 2, 640, 128}, 18),
       randn_gpu({1, 2, 640, 128}, 19)},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    REQUIRE(layers::flash_attention3_fits(c.q, c.k, c.v));
    for (double scale : {1.0 / std::sqrt(128.0), 0.05}) {
      const auto got = layers::flash_attention3(c.q, c.k, c.v, scale);
      REQUIRE(got.sizes() == c.q.sizes());
      CHECK(got.scalar_type() == at::kBFloat16);
      CHECK(got.isfinite().all().item<bool>());
      // bf16 inputs and output: cuDNN and flash land at ~2e-3 of the exact result here too.
      const double err = relative_error(got, exact(c.q, c.k, c.v, scale));
      INFO("scale " << scale << ": relative error " << err);
      CHECK(err < 5e-3);
    }
  }
}

TEST_CASE("FlashAttention-3 declines what it is not built for, and attention() then uses cuDNN's rules",
          "[dit][attention][cuda]") {
  const auto q = heads_view(1, 256, 2, 21), k = heads_view(1, 256, 2, 22), v = heads_view(1, 256, 2, 23);
  REQUIRE(layers::flash_attention3_fits(q, k, v));
  CHECK_FALSE(layers::flash_attention3_fits(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat)));
  CHECK_FALSE(layers::flash_attention3_fits(q.to(at::kHalf), k.to(at::kHalf), v.to(at::kHalf)));
  CHECK_FALSE(layers::flash_attention3_fits(q.cpu(), k.cpu(), v.cpu()));
  const auto small_heads = randn_gpu({1, 256, 4, 64}, 24).transpose(1, 2);
  CHECK_FALSE(layers::flash_attention3_fits(small_heads, small_heads, small_heads));
  CHECK_FALSE(layers::flash_attention3_fits(q, k.narrow(1, 0, 1), v.narrow(1, 0, 1)));  // fewer k/v heads
  // Rows 129 elements apart: not 16-byte aligned for the copy engine.
  const auto odd_rows = randn_gpu({1, 256, 2, 129}, 25).narrow(3, 0, 128).transpose(1, 2);
  CHECK_FALSE(layers::flash_attention3_fits(odd_rows, k, v));

  using layers::AttentionBackend;
  for (const auto& [a, b, c] : {std::tuple{small_heads, small_heads, small_heads}, std::tuple{odd_rows, k, v}}) {
    const auto via_fa3 = layers::attention(a, b, c, std::nullopt, std::nullopt, AttentionBackend::fa3);
    const auto via_cudnn = layers::attention(a, b, c, std::nullopt, std::nullopt, AttentionBackend::cudnn);
    CHECK(via_fa3.to(at::kFloat).equal(via_cudnn.to(at::kFloat)));
  }
  // Where it fits, the fa3 preference gives FA3's own result.
  CHECK(layers::attention(q, k, v, std::nullopt, std::nullopt, AttentionBackend::fa3)
            .equal(layers::flash_attention3(q, k, v, std::nullopt)));
}

#endif
