// Device memory of a job per mode (issue 19): the DiT's weights in bf16 / FP8 / int8, resident or with K
// resident blocks and the rest streamed, the encoders kept or loaded only while used, the VAE tiled or
// not. The job is a sequence of phases (umT5, CLIP + wav2vec2, VAE encode, DiT sampling, VAE decode);
// the peak is the largest phase. Every constant says where it comes from (memory_model.cpp).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

constexpr double kGiB = 1024.0 * 1024 * 1024;
/// Copy slots for streamed blocks: block i+1 copies into one while block i computes from the other
/// (the same number src/distributed/block_offload.hpp schedules).
constexpr int kStreamingSlots = 2;
/// The CUDA context and the kernels libtorch, cuBLAS and cuDNN load: outside the caching allocator, so
/// outside max_vram_gib, but on the GPU. ~0.5-1 GiB for a CUDA 12 libtorch process (nvidia-smi's "used"
/// less torch.cuda.memory_reserved()); an estimate, not measured in this repo.
constexpr double kCudaContextGiB = 0.75;
/// Share of the memory allowed (the cap, or the GPU's memory less the context) kept free. The fitted
/// figures are allocated-memory peaks of single jobs; loading and freeing encoders and reusing streaming
/// slots between phases fragments the caching allocator, whose reserved memory is what runs out. 4% keeps
/// a 24 GB card's estimate at ~22 GiB, the target for its 24 GB mode (and 14.3 GiB for a 16 GB
/// card against 14.5). The previous model added 5% to every figure for the same reason.
constexpr double kAllocatorHeadroom = 0.04;
/// The estimated peak that fits under `limit_bytes` (a cap or the GPU's memory less the context).
inline double usable_bytes(double limit_bytes) { return limit_bytes * (1 - kAllocatorHeadroom); }
/// The smallest limit (cap) that a peak of `peak_bytes` fits under.
inline double limit_for_peak(double peak_bytes) { return peak_bytes / (1 - kAllocatorHeadroom); }

/// Bytes of the DiT's weights in one format.
struct DitBytes {
  double block = 0;              ///< one transformer block as stored (on the GPU, and as streamed)
  double non_block = 0;          ///< embeddings, head, audio_proj: always on the GPU
  double dequant_workspace = 0;  ///< int8: one block's Linear weights in bf16 while the block computes
  double total(int blocks) const { return non_block + blocks * block; }
};
/// `dtype` bf16, fp8 or int8 (automatic is refused: Error(internal)).
DitBytes dit_bytes(WeightDtype dtype, const ModelDims& m = {});

/// The memory of a job on the busiest GPU (rank 0).
struct MemoryEstimate {
  double peak_bytes = 0;                 ///< caching-allocator peak: the largest phase
  std::string peak_phase;                ///< "umT5", "CLIP and wav2vec2", "VAE encode", "DiT sampling", "VAE decode"
  double dit_device_bytes = 0;           ///< the DiT's weights on the GPU (non-block + resident + slots)
  double host_pinned_bytes = 0;          ///< streamed blocks, in pinned host memory
  double streamed_bytes_per_forward = 0; ///< host -> device per DiT forward
  std::vector<std::pair<std::string, double>> phases;  ///< every phase's bytes, in job order (0: not on the GPU)
  double phase_bytes(const std::string& name) const {
    for (const auto& [n, bytes] : phases)
      if (n == name) return bytes;
    return 0;
  }
  double peak_gib() const { return peak_bytes / kGiB; }
  double device_gib() const { return peak_gib() + kCudaContextGiB; }
};

/// The memory of `mode` (its resident_blocks included) for job `w` on `gpus` GPUs.
MemoryEstimate estimate_memory(const Workload& w, const Rates& r, const MemoryMode& mode, int gpus,
                               const ModelDims& m = {});

/// K for `mode` within `budget_bytes` (the allocator peak allowed): mode.blocks when the whole DiT fits;
/// else the most blocks, at most blocks - 3, that fit next to the two streaming slots (streaming one or
/// two blocks saves nothing: the slots hold as much); nullopt when not even K = 0 fits. The rule of
/// distributed::resident_blocks_for_budget, applied to this job's largest phase.
std::optional<int> resident_blocks_within(const Workload& w, const Rates& r, MemoryMode mode, int gpus,
                                          double budget_bytes, const ModelDims& m = {});

}  // namespace talkgen::planner
