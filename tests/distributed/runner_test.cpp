// DistributedRunner: results, rank contexts, and fault injection (a rank that throws, a rank that never
// arrives, a rank that returns early): each must end in a typed error within seconds with every thread
// joined, and leave the runner usable.
#include "support/catch_torch.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include "distributed/distributed_runner.hpp"
#include "thread_harness.hpp"

using namespace talkgen;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

DistributedOptions cpu_options(int world, std::chrono::milliseconds timeout) {
  DistributedOptions o;
  o.devices = cpu_devices(world);
  o.collective_timeout = timeout;
  return o;
}

struct Caught {
  ErrorCode code = ErrorCode::ok;
  std::string message;
  double seconds = 0;
};

template <typename Fn>
Caught catch_error(Fn&& fn) {
  const auto start = Clock::now();
  Caught c;
  try {
    fn();
  } catch (const Error& e) {
    c.code = e.code();
    c.message = e.what();
  }
  c.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return c;
}

// A straggler: busy elsewhere until the group is aborted (or a bound far past every test's limit).
void wait_for_abort(Communicator& comm) {
  const auto give_up = Clock::now() + 20s;
  while (!comm.failure() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
}

}  // namespace

TEST_CASE("DistributedRunner runs every rank and returns rank 0's result", "[distributed][runner]") {
  for (int world = 1; world <= 4; ++world) {
    DistributedRunner runner(cpu_options(world, 10s));
    REQUIRE(runner.world_size() == world);
    // What each rank saw, checked here on the test thread.
    std::vector<int> ctx_rank(world, -1), ctx_world(world), comm_rank(world), local(world), on_cpu(world);
    const auto out = runner.run([&](RankContext& ctx) {
      const int i = ctx.local_rank;
      ctx_rank[i] = ctx.rank, ctx_world[i] = ctx.world_size, comm_rank[i] = ctx.comm.rank();
      local[i] = ctx.local_rank, on_cpu[i] = ctx.device.is_cpu();
      return ctx.comm.all_gather(at::full({1}, ctx.rank * 10 + 1, at::kLong), 0) + ctx.rank;
    });
    for (int r = 0; r < world; ++r) {
      CHECK(ctx_rank[r] == r);
      CHECK(ctx_world[r] == world);
      CHECK(comm_rank[r] == r);
      CHECK(on_cpu[r]);
    }
    REQUIRE(out.size(0) == world);
    for (int r = 0; r < world; ++r) CHECK(out[r].item<int64_t>() == r * 10 + 1);  // + rank 0's own rank, 0

    // A void job, and many jobs on one runner.
    for (int i = 0; i < 5; ++i) runner.run([](RankContext& ctx) { ctx.comm.barrier(); });
  }
}

TEST_CASE("DistributedRunner rejects bad options", "[distributed][runner]") {
  auto code_of = [](DistributedOptions o) { return catch_error([&] { DistributedRunner r(o); }).code; };
  DistributedOptions none;
  CHECK(code_of(none) == ErrorCode::invalid_argument);
  CHECK(code_of(cpu_options(2, 0ms)) == ErrorCode::invalid_argument);
  auto nccl_on_cpu = cpu_options(2, 1s);
  nccl_on_cpu.backend = CommBackend::nccl;
  CHECK(code_of(nccl_on_cpu) != ErrorCode::ok);
  auto multi_cpu = cpu_options(2, 1s);
  multi_cpu.multi_process = true;
  CHECK(code_of(multi_cpu) == ErrorCode::unsupported);
  CHECK(catch_error([] { cpu_devices(0); }).code == ErrorCode::invalid_argument);
#ifndef TALKGEN_WITH_CUDA
  DistributedOptions gpu;
  gpu.devices = cuda_devices(1);
  CHECK(code_of(gpu) == ErrorCode::device_unavailable);
#endif
}

TEST_CASE("A rank that throws mid-collective stops every rank with its error", "[distributed][runner][faults]") {
  for (int world = 2; world <= 4; ++world) {
    // A long timeout: only the abort can end the other ranks' waits within the limit below.
    DistributedRunner runner(cpu_options(world, 60s));
    const int bad = world - 1;
    const auto c = catch_error([&] {
      runner.run([&](RankContext& ctx) {
        ctx.comm.all_gather(at::ones({2}), 0);
        if (ctx.rank == bad) {
          std::this_thread::sleep_for(100ms);  // the others are already waiting in the next collective
          fail(ErrorCode::not_found, "weights for block {} are missing", 7);
        }
        ctx.comm.all_to_all(at::ones({world * 2}), 0, 0);
        ctx.comm.barrier();
      });
    });
    INFO(c.message);
    CHECK(c.code == ErrorCode::not_found);
    CHECK_THAT(c.message, Catch::Contains(fmt::format("rank {} of {} failed", bad, world)));
    CHECK_THAT(c.message, Catch::Contains("weights for block 7 are missing"));
    CHECK(c.seconds < 5);

    // The runner starts afresh on the next job.
    const auto sum = runner.run([](RankContext& ctx) { return ctx.comm.all_reduce_sum(at::ones({1})); });
    CHECK(sum.item<float>() == world);
  }
}

TEST_CASE("A rank that throws a non-talkgen exception is reported as internal", "[distributed][runner][faults]") {
  DistributedRunner runner(cpu_options(3, 60s));
  const auto c = catch_error([&] {
    runner.run([](RankContext& ctx) {
      if (ctx.rank == 0) throw std::runtime_error("cuda kernel failed");
      ctx.comm.barrier();
    });
  });
  CHECK(c.code == ErrorCode::internal);
  CHECK_THAT(c.message, Catch::Contains("rank 0 of 3 failed: cuda kernel failed"));
  CHECK(c.seconds < 5);
}

TEST_CASE("A rank that never arrives fails the collective with timeout", "[distributed][runner][faults]") {
  for (int world = 2; world <= 4; ++world) {
    DistributedRunner runner(cpu_options(world, 1s));
    const auto c = catch_error([&] {
      runner.run([&](RankContext& ctx) {
        ctx.comm.barrier();
        if (ctx.rank == 1) {
          wait_for_abort(ctx.comm);  // stuck elsewhere; sees the abort and leaves
          return;
        }
        ctx.comm.all_gather(at::ones({3}), 0);
      });
    });
    INFO(c.message);
    CHECK(c.code == ErrorCode::timeout);
    CHECK_THAT(c.message, Catch::Contains("all_gather (collective #1) timed out after 1000 ms"));
    CHECK_THAT(c.message, Catch::Contains("rank(s) 1 did not arrive"));
    CHECK(c.seconds >= 0.9);
    CHECK(c.seconds < 5);
  }
}

TEST_CASE("A rank that returns without joining a collective fails it at once", "[distributed][runner][faults]") {
  DistributedRunner runner(cpu_options(3, 60s));
  const auto c = catch_error([&] {
    runner.run([](RankContext& ctx) {
      if (ctx.rank == 2) return;
      ctx.comm.barrier();
    });
  });
  INFO(c.message);
  CHECK(c.code == ErrorCode::internal);
  CHECK_THAT(c.message, Catch::Contains("rank(s) 2 returned from the job without calling it"));
  CHECK(c.seconds < 5);
}

TEST_CASE("ThreadComm alone: a throwing rank and a missing rank end within seconds", "[distributed][thread_comm][faults]") {
  using distributed::ThreadComm;
  SECTION("throwing rank") {
    const auto start = Clock::now();
    auto out = distributed::testing::run_threads(4, 60s, [](ThreadComm& c) {
      if (c.rank() == 3) throw std::runtime_error("boom");
      c.all_to_all(at::ones({4, 4}), 0, 1);
      return at::Tensor();
    });
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 5);
    for (int r = 0; r < 3; ++r) {
      REQUIRE(out[r].error);
      try {
        std::rethrow_exception(out[r].error);
      } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("because rank 3 failed: rank threw"));
      }
    }
  }
  SECTION("missing rank") {
    const auto start = Clock::now();
    auto out = distributed::testing::run_threads(3, 1s, [](ThreadComm& c) {
      if (c.rank() == 0) {
        wait_for_abort(c);
        return at::Tensor();
      }
      return c.all_reduce_sum(at::ones({2}));
    });
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 5);
    REQUIRE(out[1].error);
    REQUIRE(out[2].error);
    try {
      std::rethrow_exception(out[1].error);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::timeout);
      CHECK_THAT(e.what(), Catch::Contains("rank(s) 0 did not arrive"));
    }
  }
}
