#include "bench/pipeline_group_benchmark.hpp"

#include <chrono>
#include <memory>

#include <c10/core/DeviceGuard.h>

#include "distributed/distributed_runner.hpp"
#include "distributed/replicate.hpp"
#include "model/layers/device_timing.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::bench {
namespace {

// Each chunk's new frames, kept as handed over (the pipeline does not reuse them), joined at the end.
struct FrameRecorder {
  std::vector<at::Tensor> chunks;
  std::function<void(int, const at::Tensor&)> hook() {
    return [this](int, const at::Tensor& frames) { chunks.push_back(frames); };
  }
  at::Tensor video() const { return chunks.empty() ? at::Tensor() : at::cat(chunks, /*dim=*/1); }
};

pipeline::RandomModelOptions for_rank(pipeline::RandomModelOptions o, const c10::Device& device) {
  o.device = device;
  if (!o.text_encoder_device.is_cpu()) o.text_encoder_device = device;
  return o;
}

}  // namespace

GroupBenchResult bench_pipeline_group(const GroupBenchOptions& o, const GenerateOptions& job) {
  if (o.devices.empty()) fail(ErrorCode::invalid_argument, "pipeline group benchmark: no devices given");
  GroupBenchResult r;
  r.ranks = static_cast<int>(o.devices.size());
  DistributedOptions group;
  group.devices = o.devices;
  DistributedRunner runner(group);

  // Every rank builds its own models; the DiT must be the same everywhere for the video to be the
  // one-device video (the conditioning is rank 0's anyway: Pipeline::run broadcasts it).
  std::vector<std::unique_ptr<pipeline::Pipeline>> pipelines(o.devices.size());
  const auto t0 = std::chrono::steady_clock::now();
  runner.run_ranks([&](RankContext& rank) {
    pipeline::PipelineModels models = pipeline::make_random_models(for_rank(o.models, rank.device));
    distributed::copy_from_rank0(models.dit->parameters(), rank.comm);
    model::layers::wait_for_device(rank.device);
    pipelines[rank.local_rank] = std::make_unique<pipeline::Pipeline>(std::move(models));
  });
  r.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  FrameRecorder single_frames, group_frames;
  if (o.compare_single) {
    GenerateOptions alone = job;
    alone.output_path.clear();  // the group run writes the video
    c10::OptionalDeviceGuard guard;
    if (!o.devices.front().is_cpu()) guard.reset_device(o.devices.front());
    r.single = bench_pipeline(*pipelines.front(), alone, {nullptr, single_frames.hook()});
    log_info("bench pipeline: the job on 1 device took {:.2f} s", r.single->seconds.total);
  }

  r.group = runner.run<PipelineBenchResult>([&](RankContext& rank) {
    pipeline::Pipeline& ranks_pipeline = *pipelines[rank.local_rank];
    if (rank.rank == 0) {
      return bench_pipeline(ranks_pipeline, job, {&rank.comm, o.compare_single ? group_frames.hook() : nullptr});
    }
    pipeline::RunHooks hooks;
    hooks.comm = &rank.comm;
    (void)ranks_pipeline.run(job, std::move(hooks));
    return PipelineBenchResult{};
  });

  if (o.compare_single) {
    const at::Tensor a = group_frames.video(), b = single_frames.video();
    if (!a.defined() || !b.defined() || !a.sizes().equals(b.sizes()))
      fail(ErrorCode::internal, "pipeline group benchmark: the {}-rank run and the 1-device run made videos of "
           "different sizes", r.ranks);
    const at::Tensor diff = (a - b).abs();
    r.frames_max_abs_diff = diff.max().item<double>();
    r.frames_mean_abs_diff = diff.mean().item<double>();
  }
  return r;
}

}  // namespace talkgen::bench
