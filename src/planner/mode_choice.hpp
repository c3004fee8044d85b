// Which mode a job runs in on N GPUs of one type: the fastest that fits the memory allowed (the GPU's,
// or the max_vram cap), at the highest precision allowed (issue 19 section 4).
#pragma once

#include <optional>
#include <vector>

#include "planner/memory_model.hpp"
#include "planner/option_model.hpp"
#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

struct ModeCandidate {
  MemoryMode mode;
  MemoryEstimate memory;
  ForwardTime forward;
  PlanTimes times;
  bool fits = false;
};

struct ModeChoice {
  std::optional<ModeCandidate> fastest;  ///< the fastest mode that fits, when one does
  ModeCandidate smallest;                ///< the mode needing the least memory (what a cap must allow)
  double limit_bytes = 0;    ///< min(cap, GPU memory less the CUDA context)
  double allowed_bytes = 0;  ///< the estimated peak allowed: limit_bytes less the allocator headroom
};

/// The weight formats to try, best first: tiers of equal precision. automatic: bf16, then the quantised
/// ones (fp8 where the GPU has FP8 tensor cores, and int8); an explicit dtype: itself. Error(unsupported)
/// for fp8 on a GPU without FP8 tensor cores (or not known to have them), saying what to use.
std::vector<std::vector<WeightDtype>> dtype_tiers(WeightDtype requested, const Rates& r);

/// The memory limit (allocator, bytes) on one GPU of `r` under `max_vram_gib`: min(cap, GPU memory less the
/// CUDA context). Estimated peaks must stay within usable_bytes() of it.
double limit_bytes(const Rates& r, const std::optional<double>& max_vram_gib);

/// Tries every mode the request allows on `gpus` GPUs: each weight format (dtype_tiers), umT5 on the GPU
/// or the CPU (TextEncoderPlacement), encoders kept or on demand, VAE decode tiled or not, weight
/// sharding when asked for, and for each the most resident blocks that fit. The fastest that fits in
/// the first tier with any; among those within 1% of the fastest, the one streaming the fewest bytes
/// (less pinned host memory and PCIe traffic for no loss of time), then the earlier (fewer compromises).
ModeChoice choose_mode(const Workload& w, const Rates& r, const PlanRequest& request, int gpus,
                       const ModelDims& m = {});

}  // namespace talkgen::planner
