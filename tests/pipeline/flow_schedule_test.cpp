// The schedule must equal the reference's float32 values bit for bit (expected values: the reference's
// numpy linspace + timestep_transform + update formulas run with torch 1.13 on the CPU).
#include "support/catch_torch.hpp"  // first: see there

#include <cstring>
#include <vector>

#include "samplers/flow_schedule.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::samplers;

namespace {

std::vector<float> values(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

bool bit_equal(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

void require_bits(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(bit_equal(got[i], want[i]));
  }
}

}  // namespace

TEST_CASE("linspace_timesteps matches numpy's float32 linspace plus a final 0") {
  require_bits(linspace_timesteps(7), {0x1.f4p+9f, 0x1.a0cp+9f, 0x1.4d8p+9f, 0x1.f48p+8f, 0x1.4ep+8f, 0x1.4fp+7f,
                                       0x1p+0f, 0.0f});
  require_bits(linspace_timesteps(1), {1000.0f, 0.0f});
  CHECK_THROWS_AS(linspace_timesteps(0), talkgen::Error);
}

TEST_CASE("FlowSchedule reproduces the reference's shifted timesteps exactly") {
  require_bits(values(FlowSchedule(4, 2.0, at::kCPU).timesteps()),
               {0x1.f400000000000p+9f, 0x1.901eb60000000p+9f, 0x1.f4bfe40000000p+8f, 0x1.ff7d0e0000000p+0f, 0.0f});
  require_bits(
      values(FlowSchedule(40, 7.0, at::kCPU).timesteps()),
      {0x1.f400000000000p+9f, 0x1.f221180000000p+9f, 0x1.f02c2e0000000p+9f, 0x1.ee1fba0000000p+9f,
       0x1.ebfa080000000p+9f, 0x1.e9b9360000000p+9f, 0x1.e75b3a0000000p+9f, 0x1.e4ddce0000000p+9f,
       0x1.e23e680000000p+9f, 0x1.df7a480000000p+9f, 0x1.dc8e500000000p+9f, 0x1.d977080000000p+9f,
       0x1.d630940000000p+9f, 0x1.d2b69e0000000p+9f, 0x1.cf04360000000p+9f, 0x1.cb13d60000000p+9f,
       0x1.c6df3a0000000p+9f, 0x1.c25f280000000p+9f, 0x1.bd8b720000000p+9f, 0x1.b85aa40000000p+9f,
       0x1.b2c1ce0000000p+9f, 0x1.acb4360000000p+9f, 0x1.a623020000000p+9f, 0x1.9efca60000000p+9f,
       0x1.972c640000000p+9f, 0x1.8e996a0000000p+9f, 0x1.8525d60000000p+9f, 0x1.7aad540000000p+9f,
       0x1.6f03440000000p+9f, 0x1.61f0420000000p+9f, 0x1.532ea60000000p+9f, 0x1.42659e0000000p+9f,
       0x1.2f22200000000p+9f, 0x1.18cc780000000p+9f, 0x1.fd30b20000000p+8f, 0x1.bed8060000000p+8f,
       0x1.736f400000000p+8f, 0x1.1660620000000p+8f, 0x1.414e2e0000000p+7f, 0x1.bd53fa0000000p+2f, 0.0f});
}

TEST_CASE("FlowSchedule::timestep is a [1] float tensor") {
  FlowSchedule s(4, 2.0, at::kCPU);
  CHECK(s.steps() == 4);
  CHECK(s.timestep(0).sizes() == at::IntArrayRef{1});
  CHECK(s.timestep(4).item<float>() == 0.0f);
}

TEST_CASE("Euler step and add_noise match the reference's float32 arithmetic") {
  FlowSchedule s(4, 2.0, at::kCPU);
  at::Tensor latent = at::arange(6, at::kFloat).view({1, 1, 1, 2, 3}) * 0.37 - 0.5;
  at::Tensor velocity = at::arange(6, at::kFloat).view({1, 1, 1, 2, 3}) * -1.3 + 0.25;
  require_bits(values(s.euler_step(latent, velocity, 1)),
               {-0x1.b3549ap-2f, -0x1.c721ccp-2f, -0x1.daefp-2f, -0x1.eebc3p-2f, -0x1.0144bp-1f, -0x1.0b2b4cp-1f});
  require_bits(values(s.add_noise(latent, velocity, 2)), {-0x1.fdb28p-4f, -0x1.2e6edep-1f, -0x1.0e93b6p+0f,
                                                          -0x1.85effcp+0f, -0x1.fd4c44p+0f, -0x1.3a5446p+1f});
}

TEST_CASE("FlowSchedule rejects a bad shift or step count") {
  CHECK_THROWS_AS(FlowSchedule(0, 2.0, at::kCPU), talkgen::Error);
  CHECK_THROWS_AS(FlowSchedule(4, 0.0, at::kCPU), talkgen::Error);
  CHECK_THROWS_AS(FlowSchedule(4, std::nan(""), at::kCPU), talkgen::Error);
}

TEST_CASE("Integrating a constant velocity field lands on the target") {
  // x_t = (1 - s) * x0 + s * noise has velocity (noise - x0) in s = t / 1000; the sampler's velocity is
  // -prediction, so a model predicting (noise - x0) must take the noise to x0 in any number of steps.
  at::Tensor x0 = at::full({1, 2, 1, 2, 2}, 0.25f);
  at::Tensor noise = at::full({1, 2, 1, 2, 2}, -1.5f);
  for (int steps : {1, 4, 13}) {
    FlowSchedule s(steps, 3.0, at::kCPU);
    at::Tensor x = noise.clone();
    for (int i = 0; i < steps; ++i) x = s.euler_step(x, -(noise - x0), i);
    CHECK(at::allclose(x, x0, 0, 1e-5));
  }
}
