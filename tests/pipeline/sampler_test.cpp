// The chunk sampler with stand-in denoisers: draw order, motion frames held, guidance wiring.
#include "support/catch_torch.hpp"  // first: see there

#include <vector>

#include "samplers/chunk_sampler.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::samplers;

namespace {

// Records every shape it is asked for and returns deterministic values.
class CountingNoise : public NoiseSource {
 public:
  at::Tensor next(at::IntArrayRef shape) override {
    shapes.push_back(shape.vec());
    return at::full(shape, 0.5f * static_cast<float>(shapes.size()));
  }
  std::vector<std::vector<int64_t>> shapes;
};

}  // namespace

TEST_CASE("later chunks draw motion noise once before the steps and once after each, first chunks never") {
  FlowSchedule schedule(5, 3.0, at::kCPU);
  GuidanceConfig g;
  g.text_scale = 1.0;
  g.audio_scale = 1.0;
  Guidance guidance(g);
  int forwards = 0;
  Denoiser zero = [&](ForwardKind, const at::Tensor& x, const at::Tensor&) {
    ++forwards;
    return at::zeros_like(x);
  };
  ChunkSamplerInputs in;
  in.noise = at::randn({1, 4, 3, 2, 2});
  in.motion_latents = at::full({1, 4, 2, 2, 2}, 7.0f);

  CountingNoise first_noise;
  in.first_chunk = true;
  sample_chunk(zero, schedule, guidance, first_noise, in);
  CHECK(first_noise.shapes.empty());
  CHECK(forwards == 5);

  CountingNoise later_noise;
  in.first_chunk = false;
  int steps_seen = 0;
  at::Tensor out = sample_chunk(zero, schedule, guidance, later_noise, in, [&](int done) { steps_seen = done; });
  CHECK(steps_seen == 5);
  REQUIRE(later_noise.shapes.size() == 6);
  for (const auto& s : later_noise.shapes) CHECK((s == std::vector<int64_t>{4, 2, 2, 2}));
  // The condition frames are the motion latents at the end; the rest is the noise moved by v = 0.
  CHECK(at::equal(out.narrow(2, 0, 2), in.motion_latents));
  CHECK(at::equal(out.narrow(2, 2, 1), in.noise.narrow(2, 2, 1)));
}

TEST_CASE("the denoiser sees the held motion frames and each forward kind once per step") {
  FlowSchedule schedule(3, 2.0, at::kCPU);
  Guidance guidance(GuidanceConfig{});  // 3 forwards
  std::vector<ForwardKind> calls;
  Denoiser check = [&](ForwardKind kind, const at::Tensor& x, const at::Tensor& t) {
    calls.push_back(kind);
    CHECK(x.narrow(2, 0, 1).eq(-3.0f).all().item<bool>());
    CHECK(t.numel() == 1);
    return at::ones_like(x);
  };
  ChunkSamplerInputs in;
  in.noise = at::randn({1, 2, 2, 2, 2});
  in.motion_latents = at::full({1, 2, 1, 2, 2}, -3.0f);
  CountingNoise noise;
  at::Tensor out = sample_chunk(check, schedule, guidance, noise, in);
  REQUIRE(calls.size() == 9);
  CHECK(calls[0] == ForwardKind::cond);
  CHECK(calls[1] == ForwardKind::drop_text);
  CHECK(calls[2] == ForwardKind::uncond);
  // Guided prediction of all-ones inputs is 1 + 5*0 + 4*0 = 1, velocity -1, integrated over t 1000 -> 0.
  CHECK(at::allclose(out.narrow(2, 1, 1), in.noise.narrow(2, 1, 1) - 1.0, 0, 1e-5));
}

TEST_CASE("seeded noise equals torch.randn after torch.manual_seed, replayed noise checks shapes") {
  auto a = make_seeded_noise(42);
  auto b = make_seeded_noise(42);
  at::Tensor x = a->next({16, 3, 4, 5});
  CHECK(at::equal(x, b->next(at::IntArrayRef({16, 3, 4, 5}))));
  CHECK_FALSE(at::equal(a->next({16, 3, 4, 5}), x));
  // torch.manual_seed(42); torch.randn(3) on the CPU (torch 1.13 and 2.x).
  auto c = make_seeded_noise(42);
  at::Tensor r = c->next({3});
  CHECK(r[0].item<float>() == Approx(0.3367).margin(1e-4));
  CHECK(r[1].item<float>() == Approx(0.1288).margin(1e-4));
  CHECK(r[2].item<float>() == Approx(0.2345).margin(1e-4));

  auto replay = make_replayed_noise({at::ones({2, 2}), at::zeros({3})});
  CHECK(replay->next(at::IntArrayRef({2, 2})).sum().item<float>() == 4);
  CHECK_THROWS_AS(replay->next({4}), talkgen::Error);
  auto short_replay = make_replayed_noise({});
  CHECK_THROWS_AS(short_replay->next({1}), talkgen::Error);
}
