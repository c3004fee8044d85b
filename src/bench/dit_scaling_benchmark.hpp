// `talkgen bench dit --gpus 1,2,4,8`: the DiT forward and sampling step on 1..N devices of one host
// (Ulysses sequence parallelism, distributed/sequence_parallel.hpp), on the same random weights and inputs
// at every world size: time, speed-up, scaling efficiency, the all-to-all bandwidth the forward's
// collectives get, and how far each world size's output is from the one-device output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "bench/dit_benchmark.hpp"

namespace talkgen::model::dit {

struct DitScalingOptions {
  /// Config, size, frames, dtype, warm-up and repetitions as for bench_dit (its `device`, variants and
  /// profile are not used).
  DitBenchOptions bench;
  /// One device per rank of the largest world size (CUDA devices: NCCL; CPU entries: in-process ranks).
  std::vector<c10::Device> devices;
  /// World sizes to measure, each between 1 and devices.size(), ranks 0..w-1. Sorted and de-duplicated;
  /// a world size 1 is always measured first (speed-ups and differences are against it).
  std::vector<int> world_sizes;
  /// All-to-all calls timed per world size (> 1) for the bandwidth figure.
  int alltoall_calls = 20;
};

/// One world size.
struct DitScalingPoint {
  int world = 1;
  double forward_s = 0;        ///< median forward, every rank done
  double step_s = 0;           ///< median sampling step of 3 forwards (cond / no text / no audio)
  double tflops = 0;           ///< one forward's FLOPs / forward_s (all ranks together)
  double speedup_forward = 1;  ///< forward_s at world 1 / forward_s
  double speedup_step = 1;     ///< step_s at world 1 / step_s
  double efficiency_step = 1;  ///< speedup_step / world
  double max_abs_diff = 0;     ///< max |output - the world-1 output| (0 at world 1)
  double output_scale = 0;     ///< max |output|
  int64_t peak_bytes = -1;     ///< rank 0's peak device memory during the forwards (-1: CPU)
  /// The forward's all-to-all (q, k, v of one block: [3, 1, L/w, heads, head_dim], sequence -> heads) on
  /// its own: seconds per call and GB/s each rank sends to the others ((w-1)/w of its tensor), the
  /// planner's comm_gbps. 0 at world 1.
  double alltoall_s = 0;
  double alltoall_gbps = 0;
};

struct DitScalingResult {
  std::string device;          ///< the first device's name
  int64_t tokens = 0;          ///< video tokens per forward
  int64_t param_count = 0;
  DitFlops flops;              ///< per forward
  double build_s = 0;          ///< random weights on every device, then rank 0's copied to the others
  std::vector<DitScalingPoint> points;  ///< ascending world sizes, the first at world 1
};

/// Builds the model on every device (random weights, rank 0's broadcast so all ranks hold the same), then
/// measures each world size in turn with its own communicator over devices 0..w-1. Throws
/// Error(invalid_argument) for a bad world size or option (as bench_dit), and the runner's errors.
DitScalingResult bench_dit_scaling(const DitScalingOptions& options);

}  // namespace talkgen::model::dit
