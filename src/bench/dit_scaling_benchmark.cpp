#include "bench/dit_scaling_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <tuple>

#include "distributed/replicate.hpp"
#include "distributed/sequence_parallel.hpp"
#include "model/dit/dit_model.hpp"
#include "model/layers/device_timing.hpp"
#include "model/layers/random_fill.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

#ifdef TALKGEN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace talkgen::model::dit {
namespace {

using Clock = std::chrono::steady_clock;
using layers::median_of;
using layers::wait_for_device;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// What one rank holds: its copy of the model and of the three guidance inputs.
struct RankState {
  std::shared_ptr<DitModel> model;
  DitInputs cond, no_text, no_audio;
};

struct Measured {
  DitScalingPoint point;
  at::Tensor output;  // rank 0's forward output, on the CPU
};

std::vector<int> checked_world_sizes(const DitScalingOptions& o) {
  if (o.devices.empty()) fail(ErrorCode::invalid_argument, "DiT scaling benchmark: no devices given");
  std::vector<int> sizes = o.world_sizes;
  sizes.push_back(1);  // the baseline for speed-ups and output differences
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  const int available = static_cast<int>(o.devices.size());
  if (sizes.front() < 1 || sizes.back() > available)
    fail(ErrorCode::invalid_argument, "DiT scaling benchmark: world sizes must be between 1 and the {} device(s) "
         "given; got {}", available, sizes.front() < 1 ? sizes.front() : sizes.back());
  if (o.alltoall_calls < 1)
    fail(ErrorCode::invalid_argument, "DiT scaling benchmark: alltoall_calls {} must be >= 1", o.alltoall_calls);
  return sizes;
}

std::string device_name(const c10::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0)->name;
#endif
  return device.str();
}

// The all-to-all of one block's q, k, v on its own (what the forward sends twice per block, there with
// compute in between): seconds per call and GB/s each rank sends.
std::pair<double, double> time_alltoall(const DitScalingOptions& o, Communicator& comm, const c10::Device& device,
                                        int64_t tokens) {
  const auto& c = o.bench.config;
  const distributed::SequenceParallel sp(comm, tokens);
  const at::Tensor qkv = at::randn({3, 1, sp.shard_tokens(), c.num_heads, c.head_dim()},
                                   at::TensorOptions().dtype(o.bench.dtype).device(device));
  const auto call = [&] { return distributed::all_to_all_seq_to_heads(qkv, sp, /*seq_dim=*/2, /*head_dim=*/3); };
  for (int i = 0; i < 2; ++i) (void)call();  // warm-up: NCCL sets up its channels on the first calls
  wait_for_device(device);
  comm.barrier();
  const auto t0 = Clock::now();
  for (int i = 0; i < o.alltoall_calls; ++i) (void)call();
  wait_for_device(device);
  comm.barrier();
  const double per_call = seconds_since(t0) / o.alltoall_calls;
  const double world = comm.world_size();
  const double bytes_sent = static_cast<double>(qkv.numel() * qkv.element_size()) * (world - 1) / world;
  return {per_call, bytes_sent / per_call / 1e9};
}

// Every rank runs this for one world size; rank 0's figures (which wait for every rank: each forward ends
// in gathering the output) are the result.
Measured measure(const DitScalingOptions& o, RankState& s, Communicator* comm, const c10::Device& device,
                 int64_t tokens) {
  const auto& b = o.bench;
  const auto forward = [&](const DitInputs& in) { return s.model->forward(in, comm); };
  at::Tensor out;
  for (int i = 0; i < b.warmup; ++i) out = forward(s.cond);
  wait_for_device(device);
  if (comm) comm->barrier();
  layers::reset_peak_memory(device);
  std::vector<double> forwards, steps;
  for (int i = 0; i < b.reps; ++i) {
    const auto t0 = Clock::now();
    out = forward(s.cond);
    wait_for_device(device);
    forwards.push_back(seconds_since(t0));
  }
  for (int i = 0; i < b.reps; ++i) {
    const auto t0 = Clock::now();
    (void)(forward(s.cond) + forward(s.no_text) + forward(s.no_audio));
    wait_for_device(device);
    steps.push_back(seconds_since(t0));
  }
  Measured m;
  m.point.world = comm ? comm->world_size() : 1;
  m.point.forward_s = median_of(forwards);
  m.point.step_s = median_of(steps);
  m.point.peak_bytes = layers::peak_memory_bytes(device);
  if (comm) std::tie(m.point.alltoall_s, m.point.alltoall_gbps) = time_alltoall(o, *comm, device, tokens);
  m.output = out.to(at::kCPU, at::kFloat);
  return m;
}

std::vector<c10::Device> first_devices(const std::vector<c10::Device>& devices, int count) {
  return {devices.begin(), devices.begin() + count};
}

}  // namespace

DitScalingResult bench_dit_scaling(const DitScalingOptions& o) {
  check_bench_options(o.bench);
  const std::vector<int> sizes = checked_world_sizes(o);
  const auto& c = o.bench.config;
  DitScalingResult r;
  r.device = device_name(o.devices.front());
  r.tokens = bench_tokens(c, o.bench.frames, o.bench.height, o.bench.width);
  r.flops = dit_forward_flops(c, o.bench.frames, o.bench.height, o.bench.width);

  // Build on every device at once; then every rank takes rank 0's weights (random draws differ per device).
  std::vector<RankState> ranks(o.devices.size());
  log_info("bench dit: building the model on {} device(s)", o.devices.size());
  const auto built = Clock::now();
  {
    DistributedOptions everyone;
    everyone.devices = o.devices;
    DistributedRunner runner(everyone);
    runner.run_ranks([&](RankContext& rank) {
      RankState& s = ranks[rank.local_rank];
      const auto options = at::TensorOptions().dtype(o.bench.dtype).device(rank.device);
      s.model = std::make_shared<DitModel>(c, options, o.bench.runtime);
      layers::fill_random_on_device(*s.model);
      distributed::copy_from_rank0(s.model->parameters(), rank.comm);
      s.cond = bench_inputs(c, o.bench.frames, o.bench.height, o.bench.width, options);  // same seed everywhere
      s.no_text = s.no_audio = s.cond;
      s.no_text.context = at::zeros_like(s.cond.context);
      s.no_audio.audio = at::zeros_like(s.cond.audio);
      wait_for_device(rank.device);
    });
  }
  r.build_s = seconds_since(built);
  log_info("bench dit: built and replicated in {:.1f} s", r.build_s);
  for (const auto& p : ranks.front().model->parameters()) r.param_count += p.numel();

  at::Tensor baseline;
  for (const int world : sizes) {
    // A communicator of exactly `world` ranks; none at world 1, which runs the plain one-device forward.
    log_info("bench dit: measuring on {} device(s)", world);
    DistributedOptions group;
    group.devices = first_devices(o.devices, world);
    DistributedRunner runner(group);
    Measured m = runner.run<Measured>([&](RankContext& rank) {
      return measure(o, ranks[rank.local_rank], world > 1 ? &rank.comm : nullptr, rank.device, r.tokens);
    });
    DitScalingPoint& p = m.point;
    p.tflops = r.flops.total() / p.forward_s / 1e12;
    p.output_scale = m.output.abs().max().item<double>();
    if (!baseline.defined()) {
      baseline = m.output;
    } else {
      const DitScalingPoint& one = r.points.front();
      p.max_abs_diff = (m.output - baseline).abs().max().item<double>();
      p.speedup_forward = one.forward_s / p.forward_s;
      p.speedup_step = one.step_s / p.step_s;
      p.efficiency_step = p.speedup_step / world;
    }
    log_info("bench dit on {} device(s): forward {:.3f} s, step {:.3f} s (x{:.2f}, efficiency {:.0f}%), all-to-all "
             "{:.1f} GB/s, max |diff| vs 1 device {:.3g}", world, p.forward_s, p.step_s, p.speedup_step,
             100 * p.efficiency_step, p.alltoall_gbps, p.max_abs_diff);
    r.points.push_back(p);
  }
  return r;
}

}  // namespace talkgen::model::dit
