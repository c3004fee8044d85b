// One option: a job on N GPUs of one type. Memory on the busiest GPU and wall time by term.
#pragma once

#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

struct OptionShape {
  int gpus = 1;
  MemoryMode mode;   ///< weights format, resident blocks, sharding, encoder placement, VAE tiling
};

/// GiB on rank 0, which holds its DiT share, the encoders and the VAE: the caching allocator's peak of
/// the largest phase (memory_model.hpp) plus the CUDA context.
double memory_gib_per_gpu(const Workload& w, const Rates& r, const OptionShape& shape, const ModelDims& m = {});

/// One DiT forward on the busiest GPU: compute (FP8 GEMMs faster where the GPU has them, int8 weights
/// dequantised at memory speed), block streaming overlapped with compute, and the all-to-alls.
struct ForwardTime {
  double compute = 0;        ///< GEMMs and attention, and the streaming the compute could not hide
  double communication = 0;  ///< all-to-all (and weight all-gather when sharded)
  double streamed_bytes = 0; ///< host -> device per forward
};
/// One forward's DiT time with `resident_blocks` of `blocks` resident and the rest streamed through two
/// slots (each block computing in `compute_seconds`, copying in `copy_seconds`): the replay of the
/// schedule distributed::make_schedule makes (src/distributed/block_offload.hpp).
double streamed_forward_seconds(int blocks, int resident_blocks, double compute_seconds, double copy_seconds);

ForwardTime forward_time(const Workload& w, const Rates& r, const OptionShape& shape, const ModelDims& m = {});

/// The all-to-all rate (GB/s per GPU) at which option_times' forward on `gpus` GPUs takes `forward_s`, when
/// the one-GPU forward of the same size (`tokens`, 81 frames) took `one_gpu_forward_s`: whatever the
/// N-GPU forward loses against an even split of the work (the all-to-alls, and the smaller GEMMs and
/// attention calls) priced as communication. 0 when nothing is lost (or for bad input).
double effective_comm_gbps(const ModelDims& m, double tokens, int gpus, double one_gpu_forward_s, double forward_s);

/// Wall time of the job by term (PlanTimes::total included). `include_model_load` adds reading the weights.
PlanTimes option_times(const Workload& w, const Rates& r, const OptionShape& shape, bool include_model_load,
                       const ModelDims& m = {});

}  // namespace talkgen::planner
