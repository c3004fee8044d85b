// The block-offload scheduler: K from a (fake) device budget, which blocks stay, the prefetch order, the
// schedule's rules, its replay on an ideal device, and the same schedule on every rank (ThreadComm).
#include "support/catch_torch.hpp"

#include <mutex>
#include <optional>

#include "distributed/block_offload.hpp"
#include "distributed/thread_comm.hpp"
#include "talkgen/error.hpp"
#include "thread_harness.hpp"

namespace talkgen::distributed {
// For Catch's messages (glog's stl_logging prints vectors element by element).
std::ostream& operator<<(std::ostream& os, const OffloadEvent& e) {
  return os << to_string(e.op) << "(block " << e.block << ", slot " << e.slot << ")";
}
}  // namespace talkgen::distributed

using namespace talkgen;
using namespace talkgen::distributed;
using testing::run_threads;

namespace {

constexpr std::int64_t kMiB = 1 << 20;
constexpr std::chrono::milliseconds kTimeout{10000};

ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ErrorCode::ok;
}

// A fake device: `budget` MiB in all, `other` MiB taken by what is not the blocks; N blocks of B MiB.
OffloadRequest device(int blocks, std::int64_t block_mib, std::int64_t budget_mib, std::int64_t other_mib) {
  return {blocks, block_mib * kMiB, budget_mib * kMiB, other_mib * kMiB};
}

std::vector<int> resident_indices(const std::vector<bool>& resident) {
  std::vector<int> out;
  for (size_t i = 0; i < resident.size(); ++i)
    if (resident[i]) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

TEST_CASE("K from a budget: all blocks when they fit, else what fits next to two streaming slots",
          "[distributed][offload]") {
  // 40 blocks of 100 MiB, 1000 MiB of other residents.
  CHECK(resident_blocks_for_budget(device(40, 100, 5000, 1000)) == 40);  // exactly fits
  CHECK(resident_blocks_for_budget(device(40, 100, 9000, 1000)) == 40);
  // One block short: streaming one or two saves nothing (the slots hold as much), so 37 = N - 3.
  CHECK(resident_blocks_for_budget(device(40, 100, 4999, 1000)) == 37);
  CHECK(resident_blocks_for_budget(device(40, 100, 4900, 1000)) == 37);
  CHECK(resident_blocks_for_budget(device(40, 100, 4899, 1000)) == 36);
  // 3000 MiB: 2000 for weights = 20 blocks = 18 resident + 2 slots.
  CHECK(resident_blocks_for_budget(device(40, 100, 3000, 1000)) == 18);
  CHECK(resident_blocks_for_budget(device(40, 100, 3099, 1000)) == 18);
  // The least that works: the other residents and two slots.
  CHECK(resident_blocks_for_budget(device(40, 100, 1200, 1000)) == 0);
  std::string message;
  CHECK(code_of([&] { resident_blocks_for_budget(device(40, 100, 1199, 1000)); }, &message) ==
        ErrorCode::out_of_memory);
  CHECK(message.find("allow at least 1.17 GiB") != std::string::npos);  // 1200 MiB
  // Too few blocks to stream: all of them or nothing.
  CHECK(resident_blocks_for_budget(device(2, 100, 250, 50)) == 2);
  CHECK(code_of([&] { resident_blocks_for_budget(device(2, 100, 249, 50)); }, &message) == ErrorCode::out_of_memory);
  CHECK(code_of([&] { resident_blocks_for_budget(device(0, 100, 249, 50)); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { resident_blocks_for_budget(device(4, 0, 249, 50)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("every budget: K's weights fit and one more resident block would not", "[distributed][offload]") {
  const int n = 40;
  const std::int64_t block = 100 * kMiB, other = 700 * kMiB;
  for (std::int64_t budget = other + 2 * block; budget <= other + 45 * block; budget += 7 * kMiB) {
    const int k = resident_blocks_for_budget({n, block, budget, other});
    INFO("budget " << budget / kMiB << " MiB, K " << k);
    CHECK(other + device_weight_bytes(n, k, block) <= budget);
    if (k < n - 3) CHECK(other + device_weight_bytes(n, k + 1, block) > budget);
    if (k == n - 3) CHECK(other + device_weight_bytes(n, n, block) > budget);
    CHECK((k == n || k <= n - 3));
  }
}

TEST_CASE("resident blocks are spread evenly from block 0", "[distributed][offload]") {
  CHECK(resident_indices(resident_blocks_layout(10, 0)).empty());
  CHECK(resident_indices(resident_blocks_layout(10, 10)) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(resident_indices(resident_blocks_layout(10, 2)) == std::vector<int>{0, 5});
  CHECK(resident_indices(resident_blocks_layout(10, 3)) == std::vector<int>{0, 4, 7});
  CHECK(resident_indices(resident_blocks_layout(40, 1)) == std::vector<int>{0});
  for (int k = 0; k <= 40; ++k) {
    const auto r = resident_indices(resident_blocks_layout(40, k));
    REQUIRE(static_cast<int>(r.size()) == k);
    for (size_t j = 1; j < r.size(); ++j) {
      const int gap = r[j] - r[j - 1];
      CHECK((gap == 40 / k || gap == (40 + k - 1) / k));  // gaps differ by at most one
    }
  }
  CHECK(code_of([&] { resident_blocks_layout(10, 11); }) == ErrorCode::invalid_argument);
}

TEST_CASE("one forward's events: two prefetches up front, each slot refilled as its block releases",
          "[distributed][offload]") {
  // 6 blocks, 2 resident at 0 and 3; 1, 2, 4, 5 stream through slots 0, 1, 0, 1.
  const OffloadSchedule s = make_schedule(6, 2, 64);
  CHECK(s.slots == 2);
  CHECK(s.streamed_blocks() == 4);
  CHECK(s.streamed_bytes_per_forward() == 4 * 64);
  CHECK(s.device_weight_bytes() == 4 * 64);
  using O = OffloadOp;
  const std::vector<OffloadEvent> expected = {
      {O::prefetch, 1, 0}, {O::prefetch, 2, 1},                                                           //
      {O::compute, 0, -1},                                                                                //
      {O::wait, 1, 0},     {O::compute, 1, 0}, {O::release, 1, 0}, {O::prefetch, 4, 0},                   //
      {O::wait, 2, 1},     {O::compute, 2, 1}, {O::release, 2, 1}, {O::prefetch, 5, 1},                   //
      {O::compute, 3, -1},                                                                                //
      {O::wait, 4, 0},     {O::compute, 4, 0}, {O::release, 4, 0},                                        //
      {O::wait, 5, 1},     {O::compute, 5, 1}, {O::release, 5, 1},
  };
  CHECK(s.events == expected);

  // Everything resident: compute only, no slots.
  const OffloadSchedule all = make_schedule(4, 4, 64);
  CHECK(all.slots == 0);
  CHECK(all.events == std::vector<OffloadEvent>{{O::compute, 0, -1}, {O::compute, 1, -1}, {O::compute, 2, -1},
                                                {O::compute, 3, -1}});
  // One streamed block: one slot.
  CHECK(make_schedule(4, 3, 64).slots == 1);
  CHECK(code_of([&] { make_schedule(4, 5, 64); }) == ErrorCode::invalid_argument);
}

TEST_CASE("while a streamed block computes, the next streamed block is already in flight",
          "[distributed][offload]") {
  for (int k : {0, 1, 7, 20, 37}) {
    const OffloadSchedule s = make_schedule(40, k, 1);
    std::vector<int> streamed;
    for (int i = 0; i < 40; ++i)
      if (!s.resident[i]) streamed.push_back(i);
    std::vector<bool> in_flight(40, false);  // prefetched, not yet released
    size_t next = 0;
    for (const auto& e : s.events) {
      if (e.op == OffloadOp::prefetch) in_flight[e.block] = true;
      if (e.op == OffloadOp::release) in_flight[e.block] = false;
      if (e.op == OffloadOp::compute && e.slot >= 0) {
        INFO("K " << k << ", block " << e.block);
        if (next + 1 < streamed.size()) CHECK(in_flight[streamed[next + 1]]);
        ++next;
      }
    }
    CHECK(next == streamed.size());
  }
}

TEST_CASE("check_schedule refuses broken schedules", "[distributed][offload]") {
  const OffloadSchedule good = make_schedule(6, 2, 64);
  CHECK_NOTHROW(check_schedule(good));
  auto broken = [&](const std::function<void(OffloadSchedule&)>& edit) {
    OffloadSchedule s = good;
    edit(s);
    std::string message;
    const ErrorCode code = code_of([&] { check_schedule(s); }, &message);
    INFO(message);
    CHECK(code == ErrorCode::internal);
    return message;
  };
  // Computing before the wait.
  CHECK(broken([](OffloadSchedule& s) { std::swap(s.events[3], s.events[4]); }).find("waited") != std::string::npos);
  // Prefetching into a slot that still holds a block (drop the release of block 1).
  CHECK(broken([](OffloadSchedule& s) { s.events.erase(s.events.begin() + 5); }).find("still holds") !=
        std::string::npos);
  // Blocks out of order.
  CHECK(broken([](OffloadSchedule& s) { std::swap(s.events[2], s.events[11]); }).find("out of order") !=
        std::string::npos);
  // A block never copied (its prefetch and its events removed).
  broken([](OffloadSchedule& s) { s.events.resize(s.events.size() - 3); });
}

TEST_CASE("replay: copies hide behind compute, or set the pace when slower", "[distributed][offload]") {
  const double c = 1.0;
  // Copy faster than compute: with a resident block 0 nothing shows; with none, the first copy does.
  CHECK(simulate_forward_seconds(make_schedule(40, 10, 1), c, 0.5) == Approx(40 * c));
  CHECK(simulate_forward_seconds(make_schedule(40, 0, 1), c, 0.5) == Approx(40 * c + 0.5));
  CHECK(simulate_forward_seconds(make_schedule(40, 40, 1), c, 0.5) == Approx(40 * c));
  // Copy slower than compute: the copy stream never idles, and the last streamed block computes after it.
  const double t = 3.0;
  CHECK(simulate_forward_seconds(make_schedule(40, 0, 1), c, t) == Approx(40 * t + c));
  // Resident blocks between streamed ones give copies time; where they are too few, compute waits. Worked
  // by hand (and restated in tests/planner/mode_choice_test.cpp, whose planner replays the same policy):
  // K = 20, copy 3 s: 20 streamed copies = 60 s, the last computes after its copy: 61 s.
  CHECK(simulate_forward_seconds(make_schedule(40, 20, 1), c, t) == Approx(61.0));
  // K = 37, copy 3 s: block 0 computes 1 s while block 1 copies 3: 2 s of waiting, then the 3 copies hide.
  CHECK(simulate_forward_seconds(make_schedule(40, 37, 1), c, t) == Approx(42.0));
  CHECK(simulate_forward_seconds(make_schedule(40, 35, 1), c, 10.0) == Approx(57.0));
  CHECK(simulate_forward_seconds(make_schedule(40, 5, 1), c, 1.1) == Approx(42.7));
  for (int k = 0; k <= 40; ++k) {
    const OffloadSchedule s = make_schedule(40, k, 1);
    for (double copy : {0.2, 1.0, 2.5, 8.0}) {
      const double sim = simulate_forward_seconds(s, c, copy);
      INFO("K " << k << ", copy " << copy << ": " << sim << " s");
      CHECK(sim >= std::max(40 * c, s.streamed_blocks() * copy) - 1e-9);  // neither stream can beat its own work
      CHECK(sim <= 40 * c + s.streamed_blocks() * copy + 1e-9);           // nor be slower than no overlap at all
    }
  }
}

TEST_CASE("every rank derives the same schedule: the smallest K any rank can hold", "[distributed][offload]") {
  for (int world : {1, 2, 4}) {
    std::mutex mutex;
    std::vector<std::optional<OffloadSchedule>> got(world);
    const auto outcomes = run_threads(world, kTimeout, [&](ThreadComm& comm) {
      // Rank 0 also holds the encoders and the VAE: 900 MiB more than the others.
      const std::int64_t other = comm.rank() == 0 ? 1900 : 1000;
      const OffloadSchedule s = agree_schedule(comm, device(40, 100, 4000, other));
      std::lock_guard<std::mutex> lock(mutex);
      got[comm.rank()] = s;
      return at::Tensor();
    });
    for (int r = 0; r < world; ++r) {
      INFO("world " << world << ", rank " << r);
      REQUIRE_FALSE(outcomes[r].error);
      REQUIRE(got[r]);
      // Rank 0 alone: (4000 - 1900) / 100 - 2 = 19 resident.
      CHECK(got[r]->resident_blocks == 19);
      CHECK(*got[r] == *got[0]);
      CHECK(*got[r] == make_schedule(40, 19, 100 * kMiB));
    }
  }
}

TEST_CASE("ranks that cannot agree fail together", "[distributed][offload]") {
  SECTION("one rank too small: every rank gets out_of_memory naming it") {
    std::vector<std::string> messages(3);
    const auto outcomes = run_threads(3, kTimeout, [&](ThreadComm& comm) {
      const std::int64_t budget = comm.rank() == 2 ? 1100 : 4000;
      try {
        agree_schedule(comm, device(40, 100, budget, 1000));
      } catch (const Error& e) {
        messages[comm.rank()] = fmt::format("{}|{}", static_cast<int>(e.code()), e.what());
      }
      return at::Tensor();
    });
    for (int r = 0; r < 3; ++r) {
      INFO(messages[r]);
      CHECK_FALSE(outcomes[r].error);
      CHECK(messages[r].rfind(std::to_string(static_cast<int>(ErrorCode::out_of_memory)) + "|", 0) == 0);
      CHECK(messages[r].find("rank 2") != std::string::npos);
      CHECK(messages[r].find("1.17 GiB") != std::string::npos);
    }
  }
  SECTION("different block sizes: the ranks load different models") {
    std::vector<int> codes(2, 0);
    run_threads(2, kTimeout, [&](ThreadComm& comm) {
      try {
        agree_schedule(comm, device(40, comm.rank() == 0 ? 100 : 50, 4000, 1000));
      } catch (const Error& e) {
        codes[comm.rank()] = static_cast<int>(e.code());
      }
      return at::Tensor();
    });
    CHECK(codes[0] == static_cast<int>(ErrorCode::internal));
    CHECK(codes[1] == static_cast<int>(ErrorCode::internal));
  }
}
