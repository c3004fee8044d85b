// Block offload scheduling (issue 19 section 3): which DiT blocks stay on the GPU, and in what order the
// others stream in from pinned host memory. Pure logic: it decides; a GPU executor follows the events (a
// copy stream for `prefetch`, an event wait for `wait`, the block's kernels for `compute`, an event on the
// compute stream for `release`).
//
//   OffloadRequest req{40, block_bytes, budget_bytes, other_bytes};
//   const int k = resident_blocks_for_budget(req);            // K from the memory budget
//   const OffloadSchedule s = make_schedule(40, k, block_bytes);
//   for (const auto& e : s.events) ...                        // the same every forward
//
// K blocks stay resident, spread evenly from block 0 on; the other N - K stream through two slots: block
// i+1 copies into one slot while block i computes from the other, and a slot is refilled as soon as the
// block in it has computed. Under sequence parallelism every rank must run the same schedule (the blocks'
// all-to-alls pair up in order, and one slow rank stalls the rest): agree_schedule() gives every rank the
// schedule of the smallest K any rank can hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace talkgen {
class Communicator;  // distributed/distributed_runner.hpp
}

namespace talkgen::distributed {

/// Slots streamed blocks copy into: one computing, one in flight.
constexpr int kOffloadSlots = 2;

struct OffloadRequest {
  int blocks = 0;                   ///< N: the model's transformer blocks, run in order 0..N-1 each forward
  std::int64_t block_bytes = 0;     ///< B: one block's weights as stored (bf16, or FP8 / int8 with scales)
  std::int64_t budget_bytes = 0;    ///< device memory this rank may use
  std::int64_t other_bytes = 0;     ///< everything else on the device at this rank's peak (non-block weights,
                                    ///< activations, encoders, workspaces)
};

/// K: `blocks` when all of them fit next to `other_bytes`; else the most that fit next to the two slots,
/// at most blocks - 3 (streaming one or two blocks saves nothing: the slots take as much). Throws
/// Error(out_of_memory) naming the smallest budget that works (other + 2 blocks) when not even K = 0 fits,
/// Error(invalid_argument) for blocks < 1 or negative sizes.
int resident_blocks_for_budget(const OffloadRequest& request);

/// Device bytes of the weights with K resident blocks: (K + min(2, N - K)) x B.
std::int64_t device_weight_bytes(int blocks, int resident_blocks, std::int64_t block_bytes);

/// Which blocks stay resident: K of N spread evenly, block 0 first (block i is resident when
/// floor(i * K / N) != floor((i - 1) * K / N), i.e. i = ceil(j * N / K) for j = 0..K-1). A resident block
/// 0 lets the first streamed block copy while it computes; spreading the others gives the copy stream
/// compute to hide behind all through the forward.
std::vector<bool> resident_blocks_layout(int blocks, int resident_blocks);

enum class OffloadOp {
  prefetch,  ///< start copying `block` from host memory into `slot` (copy stream)
  wait,      ///< the compute stream waits until `block`'s copy into `slot` is done
  compute,   ///< run `block` (from `slot`, or from its resident weights when slot is -1)
  release,   ///< `block` has computed: `slot` may be refilled
};
const char* to_string(OffloadOp op) noexcept;

struct OffloadEvent {
  OffloadOp op = OffloadOp::compute;
  int block = 0;
  int slot = -1;  ///< -1: a resident block
  bool operator==(const OffloadEvent& other) const {
    return op == other.op && block == other.block && slot == other.slot;
  }
};

struct OffloadSchedule {
  int blocks = 0;
  int resident_blocks = 0;
  int slots = 0;                     ///< min(2, streamed blocks)
  std::int64_t block_bytes = 0;
  std::vector<bool> resident;        ///< per block
  std::vector<OffloadEvent> events;  ///< one forward, in issue order; every forward repeats them

  int streamed_blocks() const { return blocks - resident_blocks; }
  std::int64_t streamed_bytes_per_forward() const { return streamed_blocks() * block_bytes; }
  std::int64_t device_weight_bytes() const { return (resident_blocks + slots) * block_bytes; }
  bool operator==(const OffloadSchedule& other) const;
};

/// The events of one forward: the first two streamed blocks prefetched up front, then block by block:
/// a resident one computes; a streamed one is waited for, computes, releases its slot, and the streamed
/// block two ahead is prefetched into that slot. Throws Error(invalid_argument) unless 0 <= K <= N.
OffloadSchedule make_schedule(int blocks, int resident_blocks, std::int64_t block_bytes);

/// Throws Error(internal) naming the first broken rule: every block computes once, in order; a streamed
/// block is prefetched once, into a free slot, and waited for before it computes; a slot is released
/// only by the block in it; at most kOffloadSlots copies are outstanding; nothing is left in a slot.
void check_schedule(const OffloadSchedule& schedule);

/// Every rank's K from its own request, then the smallest on all ranks (collective: every rank calls it).
/// Throws Error(internal) when the ranks disagree on the blocks or their size (different models), and
/// rank-local Error(out_of_memory) as resident_blocks_for_budget does (the group is then aborted by the
/// caller's usual failure handling).
OffloadSchedule agree_schedule(Communicator& comm, const OffloadRequest& local);

/// Seconds of one forward on an ideal device following `schedule`: one compute stream, one copy stream,
/// each block computing in `compute_seconds` and copying in `copy_seconds`. For planning and tests.
double simulate_forward_seconds(const OffloadSchedule& schedule, double compute_seconds, double copy_seconds);

}  // namespace talkgen::distributed
