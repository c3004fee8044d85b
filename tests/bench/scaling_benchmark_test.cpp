// The multi-device benchmarks' building blocks on CPU ranks: rank 0's weights copied to every rank, and
// `talkgen bench dit --gpus` (bench_dit_scaling) on a tiny DiT shared by 1 and 2 in-process ranks.
#include "support/catch_torch.hpp"  // first: see there

#include <vector>

#include "distributed/replicate.hpp"
#include "bench/dit_scaling_benchmark.hpp"
#include "distributed/distributed_runner.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

TEST_CASE("copy_from_rank0 gives every rank rank 0's tensors, in place", "[distributed][bench]") {
  DistributedOptions o;
  o.devices = cpu_devices(3);
  DistributedRunner runner(o);
  std::vector<std::vector<at::Tensor>> held(3);
  runner.run_ranks([&](RankContext& rank) {
    // Different values, shapes and dtypes per position; the same shapes on every rank.
    held[rank.local_rank] = {at::full({2, 3}, 1.0 + rank.rank), at::arange(5, at::kLong) * (rank.rank + 1)};
    distributed::copy_from_rank0(held[rank.local_rank], rank.comm);
  });
  for (int r = 0; r < 3; ++r) {
    CHECK(at::equal(held[r][0], at::full({2, 3}, 1.0)));
    CHECK(at::equal(held[r][1], at::arange(5, at::kLong)));
  }
}

TEST_CASE("bench_dit_scaling: 2 CPU ranks give the 1-rank output and report every figure", "[distributed][bench]") {
  DitScalingOptions o;
  o.bench.config = DitConfig::tiny();
  o.bench.height = 64, o.bench.width = 96, o.bench.frames = 9;
  o.bench.dtype = at::kFloat;
  o.bench.reps = 1, o.bench.warmup = 0;
  o.devices = cpu_devices(2);
  o.world_sizes = {2};  // world 1 is added as the baseline
  o.alltoall_calls = 2;
  const auto r = bench_dit_scaling(o);
  CHECK(r.tokens == 3 * 4 * 6);
  CHECK(r.param_count > 0);
  CHECK(r.flops.total() > 0);
  REQUIRE(r.points.size() == 2);
  const auto& one = r.points[0];
  const auto& two = r.points[1];
  CHECK(one.world == 1);
  CHECK(two.world == 2);
  CHECK(one.max_abs_diff == 0);
  CHECK(one.alltoall_gbps == 0);
  CHECK(one.output_scale > 0.1);
  // Same weights, same inputs: the sequence-parallel forward is the one-rank forward (float32).
  CHECK(two.max_abs_diff < 1e-4 * one.output_scale);
  CHECK(two.output_scale == Approx(one.output_scale).epsilon(1e-4));
  for (const auto& p : r.points) {
    CHECK(p.forward_s > 0);
    CHECK(p.step_s > 0);
    CHECK(p.tflops == Approx(r.flops.total() / p.forward_s / 1e12));
    CHECK(p.peak_bytes == -1);
  }
  CHECK(two.alltoall_s > 0);
  CHECK(two.alltoall_gbps > 0);
  CHECK(two.speedup_step == Approx(one.step_s / two.step_s));
  CHECK(two.efficiency_step == Approx(two.speedup_step / 2));

  o.world_sizes = {3};
  CHECK_THROWS_AS(bench_dit_scaling(o), Error);
  o.world_sizes = {0};
  CHECK_THROWS_AS(bench_dit_scaling(o), Error);
  o.world_sizes = {2};
  o.devices.clear();
  CHECK_THROWS_AS(bench_dit_scaling(o), Error);
}
