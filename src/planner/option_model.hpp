// One option: a job on N GPUs of one type. Memory on the busiest GPU and wall time by term.
#pragma once

#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

struct OptionShape {
  int gpus = 1;
  bool weight_sharded = false;   ///< DiT weights split over the GPUs, all-gathered block by block
  bool text_encoder_on_gpu = true;
};

/// GiB on rank 0, which holds its DiT share, the encoders and the VAE:
///   DiT weights (bf16; /N + two prefetched blocks when sharded) + umT5 (bf16, when on the GPU) + CLIP
///   (fp16) + wav2vec2 and VAE (fp32) + max(DiT activations ~ tokens/N, VAE decode workspace)
///   + runtime (CUDA context, cuBLAS workspace: 2 GiB) + 5% allocator fragmentation.
double memory_gib_per_gpu(const Workload& w, const Rates& r, const OptionShape& shape, const ModelDims& m = {});

/// The all-to-all rate (GB/s per GPU) at which option_times' forward on `gpus` GPUs takes `forward_s`, when
/// the one-GPU forward of the same size (`tokens`, 81 frames) took `one_gpu_forward_s`: whatever the
/// N-GPU forward loses against an even split of the work (the all-to-alls, and the smaller GEMMs and
/// attention calls) priced as communication. 0 when nothing is lost (or for bad input).
double effective_comm_gbps(const ModelDims& m, double tokens, int gpus, double one_gpu_forward_s, double forward_s);

/// Wall time of the job by term (PlanTimes::total included). `include_model_load` adds reading the weights.
PlanTimes option_times(const Workload& w, const Rates& r, const OptionShape& shape, bool include_model_load,
                       const ModelDims& m = {});

}  // namespace talkgen::planner
