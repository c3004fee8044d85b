// NcclComm on the GPUs of this machine (GPU builds only). Uses every visible GPU as one rank: on one GPU the
// collectives run at world 1 (init, the non-blocking call path, the watchdog and teardown still run); the
// fault-injection cases need at least two GPUs and say so when skipped.
#include "support/catch_torch.hpp"
#include "support/skip.hpp"

#ifdef TALKGEN_WITH_NCCL

#include <chrono>
#include <thread>

#include <c10/cuda/CUDAFunctions.h>

#include "distributed/distributed_runner.hpp"

using namespace talkgen;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

int gpus() { return static_cast<int>(c10::cuda::device_count()); }

DistributedOptions nccl_options(int world, std::chrono::milliseconds timeout) {
  DistributedOptions o;
  o.devices = cuda_devices(world);
  o.backend = CommBackend::nccl;
  o.collective_timeout = timeout;
  return o;
}

}  // namespace

TEST_CASE("NcclComm collectives match the CPU results on every GPU", "[distributed][nccl][gpu]") {
  const int world = gpus();
  REQUIRE(world >= 1);
  DistributedRunner runner(nccl_options(world, 60s));
  std::vector<at::Tensor> gathered(world), exchanged(world), summed(world), broadcast(world);
  std::vector<std::string> devices(world);
  runner.run([&](RankContext& ctx) {
    const int r = ctx.rank;
    devices[r] = ctx.device.str();
    // Non-contiguous bf16 / int64 / float inputs on the rank's device.
    const auto base = (at::arange(2 * world * 3, at::kFloat).view({3, 2 * world}) + 100 * r).to(ctx.device);
    const auto x = base.t();  // [2 * world, 3], non-contiguous
    gathered[r] = ctx.comm.all_gather(x.to(at::kBFloat16), 1).cpu();
    exchanged[r] = ctx.comm.all_to_all(x, 0, 1).cpu();
    summed[r] = ctx.comm.all_reduce_sum(x.to(at::kLong)).cpu();
    broadcast[r] = ctx.comm.broadcast(x * (r == world - 1), world - 1).cpu();
    ctx.comm.barrier();
  });
  std::vector<at::Tensor> inputs;
  for (int r = 0; r < world; ++r)
    inputs.push_back((at::arange(2 * world * 3, at::kFloat).view({3, 2 * world}) + 100 * r).t());
  for (int r = 0; r < world; ++r) {
    CHECK(devices[r] == fmt::format("cuda:{}", r));
    CHECK(gathered[r].equal(at::cat(inputs, 1).to(at::kBFloat16)));
    std::vector<at::Tensor> pieces;
    for (int src = 0; src < world; ++src) pieces.push_back(inputs[src].narrow(0, 2 * r, 2));
    CHECK(exchanged[r].equal(at::cat(pieces, 1)));
    CHECK(summed[r].equal(at::stack(inputs).sum(0).to(at::kLong)));
    CHECK(broadcast[r].equal(inputs[world - 1]));
  }
  // A second job on the same communicators.
  const auto total = runner.run([](RankContext& ctx) { return ctx.comm.all_reduce_sum(at::ones({4}, ctx.device)).cpu(); });
  CHECK(total.sum().item<float>() == 4 * world);
}

TEST_CASE("NcclComm: a throwing rank aborts the group and the runner recovers", "[distributed][nccl][gpu][faults]") {
  const int world = gpus();
  DistributedRunner runner(nccl_options(world, 60s));
  const auto start = Clock::now();
  ErrorCode code = ErrorCode::ok;
  std::string message;
  try {
    runner.run([&](RankContext& ctx) {
      ctx.comm.all_reduce_sum(at::ones({8}, ctx.device));
      if (ctx.rank == world - 1) fail(ErrorCode::not_found, "planted failure");
      ctx.comm.all_gather(at::ones({8}, ctx.device), 0);
      ctx.comm.barrier();
    });
  } catch (const Error& e) {
    code = e.code(), message = e.what();
  }
  INFO(message);
  CHECK(code == ErrorCode::not_found);
  CHECK_THAT(message, Catch::Contains(fmt::format("rank {} of {} failed: planted failure", world - 1, world)));
  CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 10);
  const auto total = runner.run([](RankContext& ctx) { return ctx.comm.all_reduce_sum(at::ones({1}, ctx.device)).cpu(); });
  CHECK(total.item<float>() == world);
}

TEST_CASE("NcclComm: a rank that never arrives times out", "[distributed][nccl][gpu][faults]") {
  const int world = gpus();
  if (world < 2) TALKGEN_SKIP("needs at least 2 GPUs, this machine has " << world);
  DistributedRunner runner(nccl_options(world, 2s));
  const auto start = Clock::now();
  ErrorCode code = ErrorCode::ok;
  std::string message;
  try {
    runner.run([&](RankContext& ctx) {
      ctx.comm.barrier();
      if (ctx.rank == 1) {
        const auto give_up = Clock::now() + 20s;
        while (!ctx.comm.failure() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
        return;
      }
      ctx.comm.all_gather(at::ones({1024}, ctx.device), 0);
      ctx.comm.barrier();
    });
  } catch (const Error& e) {
    code = e.code(), message = e.what();
  }
  INFO(message);
  CHECK(code == ErrorCode::timeout);
  CHECK_THAT(message, Catch::Contains("all_gather (collective #1) timed out"));
  CHECK_THAT(message, Catch::Contains("rank(s) 1 did not arrive"));
  CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 10);
}

#endif  // TALKGEN_WITH_NCCL
