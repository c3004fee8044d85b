// The block-offload scheduler: K from a budget, the resident layout, one forward's events, the check of
// those events, the agreement between ranks, and a replay on an ideal device.
#include "distributed/block_offload.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "distributed/distributed_runner.hpp"
#include "talkgen/error.hpp"

namespace talkgen::distributed {
namespace {

std::string gib(std::int64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1LL << 30)); }

void check_request(const OffloadRequest& r) {
  if (r.blocks < 1) fail(ErrorCode::invalid_argument, "block offload: {} blocks: expected at least 1", r.blocks);
  if (r.block_bytes <= 0 || r.budget_bytes < 0 || r.other_bytes < 0)
    fail(ErrorCode::invalid_argument, "block offload: block {} bytes, budget {} bytes, other {} bytes: expected a "
         "positive block size and sizes >= 0", r.block_bytes, r.budget_bytes, r.other_bytes);
}

// K, or nullopt when not even K = 0 fits.
std::optional<int> fit_resident_blocks(const OffloadRequest& r) {
  const std::int64_t room = r.budget_bytes - r.other_bytes;
  if (room >= static_cast<std::int64_t>(r.blocks) * r.block_bytes) return r.blocks;
  const int most = r.blocks - 1 - kOffloadSlots;  // K = N-1 or N-2 needs as much as K = N
  const std::int64_t k = room / r.block_bytes - kOffloadSlots;
  if (most < 0 || k < 0) return std::nullopt;
  return static_cast<int>(std::min<std::int64_t>(k, most));
}

// The smallest budget that runs the model at all: every block resident when there are too few to stream,
// else nothing resident and the two slots.
std::int64_t smallest_budget(const OffloadRequest& r) {
  const int blocks = r.blocks - 1 - kOffloadSlots < 0 ? r.blocks : kOffloadSlots;
  return r.other_bytes + blocks * r.block_bytes;
}

}  // namespace

int resident_blocks_for_budget(const OffloadRequest& r) {
  check_request(r);
  if (const auto k = fit_resident_blocks(r)) return *k;
  fail(ErrorCode::out_of_memory,
       "block offload: {} of device memory cannot hold the {} that stays on the device and two streamed blocks of "
       "{}: allow at least {}", gib(r.budget_bytes), gib(r.other_bytes), gib(r.block_bytes), gib(smallest_budget(r)));
}

std::int64_t device_weight_bytes(int blocks, int resident_blocks, std::int64_t block_bytes) {
  return (resident_blocks + std::min(kOffloadSlots, blocks - resident_blocks)) * block_bytes;
}

std::vector<bool> resident_blocks_layout(int blocks, int resident_blocks) {
  if (blocks < 0 || resident_blocks < 0 || resident_blocks > blocks)
    fail(ErrorCode::invalid_argument, "block offload: {} resident of {} blocks: expected 0 <= resident <= blocks",
         resident_blocks, blocks);
  std::vector<bool> resident(blocks, false);
  for (int j = 0; j < resident_blocks; ++j) {
    // ceil(j * N / K): K distinct positions from 0, evenly spaced (N / K >= 1).
    const std::int64_t i = (static_cast<std::int64_t>(j) * blocks + resident_blocks - 1) / resident_blocks;
    resident[i] = true;
  }
  return resident;
}

const char* to_string(OffloadOp op) noexcept {
  switch (op) {
    case OffloadOp::prefetch: return "prefetch";
    case OffloadOp::wait: return "wait";
    case OffloadOp::compute: return "compute";
    case OffloadOp::release: return "release";
  }
  return "?";
}

bool OffloadSchedule::operator==(const OffloadSchedule& o) const {
  return blocks == o.blocks && resident_blocks == o.resident_blocks && slots == o.slots &&
         block_bytes == o.block_bytes && resident == o.resident && events == o.events;
}

OffloadSchedule make_schedule(int blocks, int resident_blocks, std::int64_t block_bytes) {
  if (block_bytes <= 0) fail(ErrorCode::invalid_argument, "block offload: block size {} bytes: expected > 0", block_bytes);
  OffloadSchedule s;
  s.blocks = blocks;
  s.resident_blocks = resident_blocks;
  s.block_bytes = block_bytes;
  s.resident = resident_blocks_layout(blocks, resident_blocks);
  std::vector<int> streamed;
  for (int i = 0; i < blocks; ++i)
    if (!s.resident[i]) streamed.push_back(i);
  s.slots = std::min<int>(kOffloadSlots, static_cast<int>(streamed.size()));

  // The j-th streamed block goes to slot j % slots: with two slots, one holds the block computing and the
  // other the next one copying.
  auto slot_of = [&](size_t j) { return static_cast<int>(j % s.slots); };
  for (size_t j = 0; j < streamed.size() && j < static_cast<size_t>(s.slots); ++j)
    s.events.push_back({OffloadOp::prefetch, streamed[j], slot_of(j)});
  size_t next = 0;  // index into `streamed` of the next streamed block to compute
  for (int i = 0; i < blocks; ++i) {
    if (s.resident[i]) {
      s.events.push_back({OffloadOp::compute, i, -1});
      continue;
    }
    const int slot = slot_of(next);
    s.events.push_back({OffloadOp::wait, i, slot});
    s.events.push_back({OffloadOp::compute, i, slot});
    s.events.push_back({OffloadOp::release, i, slot});
    const size_t ahead = next + s.slots;
    if (ahead < streamed.size()) s.events.push_back({OffloadOp::prefetch, streamed[ahead], slot});
    ++next;
  }
  check_schedule(s);
  return s;
}

void check_schedule(const OffloadSchedule& s) {
  auto broken = [&](size_t at, const std::string& why) {
    const OffloadEvent& e = s.events[std::min(at, s.events.size() - 1)];
    fail(ErrorCode::internal, "block offload schedule ({} of {} blocks resident), event {} ({} block {} slot {}): {}",
         s.resident_blocks, s.blocks, at, to_string(e.op), e.block, e.slot, why);
  };
  if (static_cast<int>(s.resident.size()) != s.blocks)
    fail(ErrorCode::internal, "block offload schedule: {} residency flags for {} blocks", s.resident.size(), s.blocks);
  std::vector<int> slot_holder(std::max(s.slots, 1), -1);  // block in each slot (prefetched, not released)
  std::vector<bool> arrived(s.blocks, false), prefetched(s.blocks, false);
  int next_compute = 0, outstanding = 0;
  for (size_t at = 0; at < s.events.size(); ++at) {
    const OffloadEvent& e = s.events[at];
    if (e.block < 0 || e.block >= s.blocks) broken(at, "no such block");
    const bool streamed = !s.resident[e.block];
    if (streamed != (e.slot >= 0)) broken(at, streamed ? "a streamed block without a slot" : "a resident block in a slot");
    if (e.slot >= s.slots) broken(at, fmt::format("only {} slots", s.slots));
    switch (e.op) {
      case OffloadOp::prefetch:
        if (prefetched[e.block]) broken(at, "prefetched twice");
        if (slot_holder[e.slot] != -1) broken(at, fmt::format("the slot still holds block {}", slot_holder[e.slot]));
        if (++outstanding > kOffloadSlots) broken(at, "more copies outstanding than slots");
        slot_holder[e.slot] = e.block;
        prefetched[e.block] = true;
        break;
      case OffloadOp::wait:
        if (slot_holder[e.slot] != e.block) broken(at, "waits for a block that is not in the slot");
        arrived[e.block] = true;
        break;
      case OffloadOp::compute:
        if (e.block != next_compute) broken(at, fmt::format("out of order: block {} is next", next_compute));
        if (streamed && !arrived[e.block]) broken(at, "computes before its copy was waited for");
        ++next_compute;
        break;
      case OffloadOp::release:
        if (slot_holder[e.slot] != e.block) broken(at, "releases a slot it does not hold");
        if (next_compute <= e.block) broken(at, "released before it computed");
        slot_holder[e.slot] = -1;
        --outstanding;
        break;
    }
  }
  if (next_compute != s.blocks)
    fail(ErrorCode::internal, "block offload schedule: {} of {} blocks computed", next_compute, s.blocks);
  for (int b = 0; b < s.blocks; ++b)
    if (!s.resident[b] && !prefetched[b]) fail(ErrorCode::internal, "block offload schedule: block {} never copied", b);
  for (int h : slot_holder)
    if (h != -1) fail(ErrorCode::internal, "block offload schedule: block {} left in its slot", h);
}

OffloadSchedule agree_schedule(Communicator& comm, const OffloadRequest& local) {
  check_request(local);
  // Each rank's K (-1: cannot fit), block count and block size, gathered on every rank: every rank then
  // takes the same decision, failing together rather than leaving the others waiting in a collective.
  const std::optional<int> k = fit_resident_blocks(local);
  const at::Tensor mine = at::tensor({static_cast<std::int64_t>(k ? *k : -1), static_cast<std::int64_t>(local.blocks),
                                      local.block_bytes, smallest_budget(local)}, at::kLong).view({1, 4});
  const at::Tensor all = comm.all_gather(mine, 0).to(at::kCPU).contiguous();
  const auto* v = all.data_ptr<std::int64_t>();
  std::int64_t agreed = local.blocks;
  for (int r = 0; r < comm.world_size(); ++r) {
    const std::int64_t* row = v + 4 * r;
    if (row[1] != local.blocks || row[2] != local.block_bytes)
      fail(ErrorCode::internal, "block offload: rank {} has {} blocks of {} bytes, rank {} {} of {}: the ranks "
           "load different models", comm.rank(), local.blocks, local.block_bytes, r, row[1], row[2]);
    if (row[0] < 0)
      fail(ErrorCode::out_of_memory, "block offload: rank {} cannot hold its share: it needs at least {} of device "
           "memory (the rest of its peak and two streamed blocks of {})", r, gib(row[3]), gib(local.block_bytes));
    agreed = std::min(agreed, row[0]);
  }
  return make_schedule(local.blocks, static_cast<int>(agreed), local.block_bytes);
}

double simulate_forward_seconds(const OffloadSchedule& s, double compute_seconds, double copy_seconds) {
  // Events in issue order; each stream runs its own in order. A prefetch starts when the copy stream is
  // free and its slot released; a wait holds the compute stream until the copy lands.
  double copy_free = 0, compute_free = 0;
  std::vector<double> slot_free(std::max(s.slots, 1), 0.0), landed(s.blocks, 0.0);
  for (const auto& e : s.events) {
    switch (e.op) {
      case OffloadOp::prefetch: {
        const double start = std::max(copy_free, slot_free[e.slot]);
        copy_free = landed[e.block] = start + copy_seconds;
        break;
      }
      case OffloadOp::wait: compute_free = std::max(compute_free, landed[e.block]); break;
      case OffloadOp::compute: compute_free += compute_seconds; break;
      case OffloadOp::release: slot_free[e.slot] = compute_free; break;
    }
  }
  return compute_free;
}

}  // namespace talkgen::distributed
