// The DiT under sequence parallelism: a forward whose video tokens are shared by 2, 3 or 4 CPU ranks
// (DistributedRunner, in-process threads) must give every rank the one-rank output. The shapes are chosen
// to hit every uneven case: 5 heads (divides by none of the world sizes), 35 tokens (idem, so the last
// shard is padded), 7 tokens per latent frame (shards start and end mid-frame in the audio attention).
#include "support/catch_torch.hpp"  // first: see there

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <optional>
#include <vector>

#include "model/dit/dit_model.hpp"
#include "distributed/distributed_runner.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

DitConfig uneven_config() {
  auto c = DitConfig::tiny();
  c.dim = 80;  // 5 heads of 16
  c.num_heads = 5;
  c.validate();
  return c;
}

// frames x h x w latent pixels; patch 1x2x2 -> frames * (h/2) * (w/2) tokens.
DitInputs random_inputs(const DitConfig& c, int64_t frames, int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto r = [&](at::IntArrayRef s) { return at::randn(s, gen, at::TensorOptions().dtype(at::kFloat)); };
  DitInputs in;
  in.x = r({1, c.out_dim, frames, h, w});
  in.y = r({1, c.in_dim - c.out_dim, frames, h, w});
  in.t = at::full({1}, 640.5);
  in.context = r({1, 5, c.text_dim});
  in.clip_fea = r({1, c.clip_tokens, c.clip_dim});
  in.audio = r({1, 1, 1 + c.vae_scale * (frames - 1), c.audio_window, c.audio_blocks, c.audio_channels});
  return in;
}

// Every rank's output of one sequence-parallel forward, in rank order. Ranks on CPUs by default; with
// `device`, every rank on that device (in-process thread collectives: one GPU can host several ranks).
std::vector<at::Tensor> forward_on_ranks(const DitModel& model, const DitInputs& in, int world,
                                         std::optional<at::Device> device = std::nullopt) {
  DistributedOptions opts;
  opts.devices = device ? std::vector<at::Device>(world, *device) : cpu_devices(world);
  if (device) opts.backend = CommBackend::threads;
  opts.collective_timeout = std::chrono::seconds(60);
  DistributedRunner runner(opts);
  std::vector<at::Tensor> outs(world);
  runner.run_ranks([&](RankContext& rank) { outs[rank.rank] = model.forward(in, &rank.comm); });
  return outs;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("sequence-parallel DiT forward equals the one-rank forward", "[distributed][dit]") {
  const auto c = uneven_config();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 23);
  // 5 latent frames of 1 x 7 tokens: L = 35.
  const auto in = random_inputs(c, 5, 2, 14, 3);
  const auto reference = model.forward(in);
  REQUIRE(reference.sizes() == in.x.sizes());
  REQUIRE(at::isfinite(reference).all().item<bool>());
  // The comparison is meaningful only if the output is not tiny.
  REQUIRE(reference.abs().max().item<double>() > 0.1);

  for (int world : {1, 2, 3, 4}) {
    const auto outs = forward_on_ranks(model, in, world);
    for (int r = 0; r < world; ++r) {
      INFO("world " << world << ", rank " << r);
      REQUIRE(outs[r].defined());
      REQUIRE(outs[r].sizes() == reference.sizes());
      CHECK(max_abs_diff(outs[r], reference) <= 1e-5);
    }
  }
}

TEST_CASE("sequence-parallel DiT with a rank that holds padding only",
          "[distributed][dit]") {
  // 2 latent frames of 2 tokens: L = 4 on 3 ranks -> shards of 2, the last rank holds padding only.
  const auto c = uneven_config();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 29);
  const auto in = random_inputs(c, 2, 2, 4, 5);
  const auto reference = model.forward(in);
  const auto outs = forward_on_ranks(model, in, 3);
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r);
    CHECK(max_abs_diff(outs[r], reference) <= 1e-5);
  }
}

TEST_CASE("sequence-parallel DiT with embedded conditions reused across steps", "[distributed][dit]") {
  const auto c = uneven_config();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 31);
  auto in = random_inputs(c, 3, 4, 6, 7);  // 3 frames of 2 x 3 tokens: L = 18 on 4 ranks
  const auto cond = model.embed_conditions(in);
  DistributedOptions opts;
  opts.devices = cpu_devices(4);
  DistributedRunner runner(opts);
  for (double t : {900.0, 250.0}) {
    in.t = at::full({1}, t);
    const auto reference = model.forward_embedded(in, cond);
    const auto out = runner.run([&](RankContext& rank) { return model.forward_embedded(in, cond, &rank.comm); });
    INFO("t = " << t);
    CHECK(max_abs_diff(out, reference) <= 1e-5);
  }
}

#if TALKGEN_WITH_CUDA
// The same on a GPU in bf16, where the blocks run the CUDA row kernels (model/dit/dit_row_kernels.hpp) on
// each rank's shard: 35 tokens on 2 and 3 ranks leave padded rows in the last shard. Ranks of one GPU
// sum in other orders than the one-rank forward (GEMMs of other row counts), so bf16 noise is allowed.
TEST_CASE("sequence-parallel bf16 DiT on a GPU (row kernels on shards) equals the one-rank forward",
          "[distributed][dit][cuda]") {
  REQUIRE(at::hasCUDA());
  const at::Device gpu(at::kCUDA, 0);
  const auto c = uneven_config();
  DitModel model(c, at::TensorOptions().dtype(at::kBFloat16).device(gpu));
  randomize_parameters(model, 37);
  REQUIRE(model.speed_options().row_kernels);
  const auto in = random_inputs(c, 5, 2, 14, 9);
  const auto reference = model.forward(in).to(at::kFloat);
  const double scale = reference.abs().max().item<double>();
  REQUIRE(scale > 0.1);
  for (int world : {2, 3}) {
    const auto outs = forward_on_ranks(model, in, world, gpu);
    for (int r = 0; r < world; ++r) {
      INFO("world " << world << ", rank " << r << ", output scale " << scale);
      REQUIRE(outs[r].defined());
      CHECK(max_abs_diff(outs[r].to(at::kFloat), reference) <= 0.03 * scale);
    }
  }
}
#endif  // TALKGEN_WITH_CUDA
