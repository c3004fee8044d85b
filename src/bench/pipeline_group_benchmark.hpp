// `talkgen bench pipeline --gpus N`: one job through Pipeline::run on N devices of one host
// (sequence-parallel DiT, rank 0 decoding and encoding), on random weights of the real sizes that every
// rank shares, timed stage by stage on rank 0. Optionally the same job on device 0 alone first, in the
// same process on the same weights: its timing and how far apart the two videos' frames are.
#pragma once

#include <optional>
#include <vector>

#include <c10/core/Device.h>

#include "bench/pipeline_benchmark.hpp"
#include "pipeline/random_models.hpp"

namespace talkgen::bench {

struct GroupBenchOptions {
  /// One device per rank (CUDA devices: NCCL; CPU entries: in-process ranks).
  std::vector<c10::Device> devices;
  /// The models each rank builds; `device` is replaced by the rank's device, and `text_encoder_device` too
  /// unless it is the CPU.
  pipeline::RandomModelOptions models;
  /// Run the job on devices[0] alone first and compare the frames.
  bool compare_single = false;
};

struct GroupBenchResult {
  int ranks = 1;
  double build_s = 0;                          ///< every rank's models, then rank 0's DiT weights copied
  PipelineBenchResult group;                   ///< the job on all ranks (rank 0's clock)
  std::optional<PipelineBenchResult> single;   ///< the job on devices[0] alone (compare_single)
  /// |group frames - single frames| (frames in [-1, 1]) over the whole video; -1 without compare_single.
  double frames_max_abs_diff = -1, frames_mean_abs_diff = -1;
};

/// Builds the models on every device and runs `job` (its output_path is written by the group run only).
/// Throws Error(invalid_argument) without devices, and whatever the models or the job throw (a failing rank
/// aborts the group: DistributedRunner).
GroupBenchResult bench_pipeline_group(const GroupBenchOptions& options, const GenerateOptions& job);

}  // namespace talkgen::bench
