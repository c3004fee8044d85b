// plan_each_gpu_type(): the mode, peak memory and time of one job on one GPU of every built-in type, for
// `talkgen plan`'s per-type table.
#include <cmath>

#include <fmt/format.h>

#include "planner/memory_model.hpp"
#include "planner/mode_choice.hpp"
#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/error.hpp"

namespace talkgen {

std::vector<GpuTypeMode> plan_each_gpu_type(const PlanRequest& request) {
  PlanRequest r = request;
  r.gpus_available = 1;
  r.weight_sharding = false;  // one GPU
  r.budget_usd.reset();
  r.deadline_seconds.reset();
  r.use_calibration = false;  // built-in figures for every type, so they compare like for like
  if (r.max_vram_gib && (!std::isfinite(*r.max_vram_gib) || *r.max_vram_gib <= 0))
    fail(ErrorCode::invalid_argument, "max VRAM {} GiB: expected a positive number of GiB", *r.max_vram_gib);
  const QualitySettings settings = r.settings ? *r.settings : quality_settings(r.quality, r.resolution);
  std::optional<planner::FrameSize> frame;
  if (r.frame_width != 0 || r.frame_height != 0) frame = planner::FrameSize{r.frame_width, r.frame_height};
  const planner::Workload w = planner::describe_workload(r.duration_seconds, settings, r.resolution, {}, frame);

  std::vector<GpuTypeMode> out;
  for (const auto& spec : known_gpu_types()) {
    GpuTypeMode t;
    t.gpu_type = spec.name;
    t.gpu_memory_gib = spec.memory_gib;
    const planner::Rates rates = planner::make_rates(spec, std::nullopt, spec.name);
    try {
      planner::dtype_tiers(r.dtype, rates);
    } catch (const Error& e) {  // fp8 asked for on a GPU without FP8 tensor cores
      t.why_not = e.what();
      out.push_back(std::move(t));
      continue;
    }
    const planner::ModeChoice choice = planner::choose_mode(w, rates, r, 1);
    const planner::ModeCandidate& c = choice.fastest ? *choice.fastest : choice.smallest;
    t.fits = c.fits;
    t.mode = c.mode;
    t.peak_vram_gib = c.memory.peak_gib();
    t.memory_gib = c.memory.device_gib();
    t.peak_phase = c.memory.peak_phase;
    t.seconds = c.times.total;
    t.seconds_per_forward = c.forward.compute + c.forward.communication;
    t.streamed_gib_per_forward = c.memory.streamed_bytes_per_forward / planner::kGiB;
    const auto price = r.prices.find(spec.name);
    t.cost_usd = price ? t.seconds * *price / 3600.0 : 0;
    if (!t.fits)
      t.why_not = fmt::format("needs {:.1f} GiB at the least ({}), {} {:.1f} GiB",
                              planner::limit_for_peak(c.memory.peak_bytes) / planner::kGiB, describe(t.mode),
                              r.max_vram_gib && *r.max_vram_gib < spec.memory_gib - planner::kCudaContextGiB
                                  ? "the cap is" : "the GPU allows",
                              choice.limit_bytes / planner::kGiB);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace talkgen
