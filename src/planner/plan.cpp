// plan(): every GPU count, its time, cost and memory, and the one to use.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "planner/memory_model.hpp"
#include "planner/mode_choice.hpp"
#include "planner/option_model.hpp"
#include "planner/rates.hpp"
#include "planner/work_model.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen {
namespace {

using planner::OptionShape;

constexpr int kMaxGpus = 64;              // one host's worth and then some
constexpr double kValueCostSlack = 1.25;  // without limits: the fastest option costing <= 1.25 x the cheapest

std::string known_type_names() {
  std::string names;
  for (const auto& spec : known_gpu_types()) names += (names.empty() ? "" : ", ") + spec.name;
  return names;
}

void check_request(const PlanRequest& r) {
  if (r.gpu_type.empty())
    fail(ErrorCode::invalid_argument, "no GPU type to plan for: name one (e.g. \"H100\"; built in: {})",
         known_type_names());
  if (r.gpus_available < 1 || r.gpus_available > kMaxGpus)
    fail(ErrorCode::invalid_argument, "{} GPUs available: expected 1 to {}", r.gpus_available, kMaxGpus);
  if (r.budget_usd && (!std::isfinite(*r.budget_usd) || *r.budget_usd <= 0))
    fail(ErrorCode::invalid_argument, "budget {} USD: expected a positive amount", *r.budget_usd);
  if (r.deadline_seconds && (!std::isfinite(*r.deadline_seconds) || *r.deadline_seconds <= 0))
    fail(ErrorCode::invalid_argument, "deadline {} s: expected a positive number of seconds", *r.deadline_seconds);
  if (r.max_vram_gib && (!std::isfinite(*r.max_vram_gib) || *r.max_vram_gib <= 0))
    fail(ErrorCode::invalid_argument, "max VRAM {} GiB: expected a positive number of GiB (e.g. --max-vram 22)",
         *r.max_vram_gib);
}

std::optional<Calibration> lookup_calibration(const PlanRequest& r, std::string* why_none) {
  if (!r.use_calibration) {
    *why_none = "calibration not used (as requested)";
    return std::nullopt;
  }
  try {
    const CalibrationStore store =
        r.calibration_directory.empty() ? CalibrationStore() : CalibrationStore(r.calibration_directory);
    return planner::find_calibration(store, r.gpu_type, r.driver_version);
  } catch (const Error& e) {  // no cache directory: plan uncalibrated, and say why
    *why_none = e.what();
    return std::nullopt;
  }
}

std::string gib(double v) { return fmt::format("{:.1f} GiB", v); }

// One GPU count: the fastest mode that fits (planner/mode_choice.hpp), or, when none does, the smallest.
PlanOption evaluate_option(const planner::Workload& w, const planner::Rates& rates, const PlanRequest& r, int gpus,
                           double price) {
  const planner::ModeChoice choice = planner::choose_mode(w, rates, r, gpus);
  const planner::ModeCandidate& c = choice.fastest ? *choice.fastest : choice.smallest;
  PlanOption o;
  o.gpus = gpus;
  o.mode = c.mode;
  o.weight_sharded = c.mode.weight_sharded;
  o.text_encoder_on_gpu = c.mode.text_encoder_on_gpu;
  o.peak_vram_gib = c.memory.peak_gib();
  o.memory_gib_per_gpu = c.memory.device_gib();
  o.peak_phase = c.memory.peak_phase;
  o.host_pinned_gib = c.memory.host_pinned_bytes / planner::kGiB;
  o.streamed_gib_per_forward = c.memory.streamed_bytes_per_forward / planner::kGiB;
  o.seconds_per_forward = c.forward.compute + c.forward.communication;
  o.fits = c.fits;
  o.times = c.times;
  o.seconds = o.times.total;
  o.cost_usd = o.seconds * gpus * price / 3600.0;
  o.within_budget = !r.budget_usd || o.cost_usd <= *r.budget_usd;
  o.within_deadline = !r.deadline_seconds || o.seconds <= *r.deadline_seconds;
  const bool capped = r.max_vram_gib && *r.max_vram_gib < rates.memory_gib - planner::kCudaContextGiB;
  const double needed_cap = planner::limit_for_peak(c.memory.peak_bytes) / planner::kGiB;
  if (!o.fits)
    o.why_not = capped ? fmt::format("needs a cap of {} per GPU at the least, the cap is {}", gib(needed_cap),
                                     gib(*r.max_vram_gib))
                       : fmt::format("needs {} per GPU at the least, has {}", gib(needed_cap + planner::kCudaContextGiB),
                                     gib(rates.memory_gib));
  else if (!o.within_deadline)
    o.why_not = fmt::format("takes {:.0f} s, past the {:.0f} s deadline", o.seconds, *r.deadline_seconds);
  else if (!o.within_budget)
    o.why_not = fmt::format("costs ${:.2f}, over the ${:.2f} budget", o.cost_usd, *r.budget_usd);
  return o;
}

// Which candidate to use: with a deadline, the cheapest that meets it; with only a budget, the fastest
// within it; with neither, the fastest that costs at most kValueCostSlack x the cheapest. Ties: fewer GPUs.
void choose(Plan& p, const PlanRequest& r) {
  std::vector<const PlanOption*> ok;
  for (const auto& o : p.options)
    if (o.fits && o.within_budget && o.within_deadline) ok.push_back(&o);
  if (ok.empty()) {
    p.recommendation = "no option fits in memory and meets the limits";
    return;
  }
  auto cheaper = [](const PlanOption* a, const PlanOption* b) {
    return a->cost_usd < b->cost_usd || (a->cost_usd == b->cost_usd && a->gpus < b->gpus);
  };
  auto faster = [](const PlanOption* a, const PlanOption* b) {
    return a->seconds < b->seconds || (a->seconds == b->seconds && a->gpus < b->gpus);
  };
  const PlanOption* pick = nullptr;
  if (r.deadline_seconds) {
    pick = *std::min_element(ok.begin(), ok.end(), cheaper);
    p.recommendation = fmt::format("the cheapest option that finishes within {:.0f} s", *r.deadline_seconds);
  } else if (r.budget_usd) {
    pick = *std::min_element(ok.begin(), ok.end(), faster);
    p.recommendation = fmt::format("the fastest option within ${:.2f}", *r.budget_usd);
  } else {
    const double cheapest = (*std::min_element(ok.begin(), ok.end(), cheaper))->cost_usd;
    std::vector<const PlanOption*> value;
    for (const auto* o : ok)
      if (o->cost_usd <= cheapest * kValueCostSlack) value.push_back(o);
    pick = *std::min_element(value.begin(), value.end(), faster);
    p.recommendation = fmt::format("the fastest option costing at most {:.0f}% more than the cheapest (${:.2f})",
                                   (kValueCostSlack - 1) * 100, cheapest);
  }
  p.recommended_gpus = pick->gpus;
}

}  // namespace

Plan evaluate_plan(const PlanRequest& r) {
  check_request(r);
  const QualitySettings settings = r.settings ? *r.settings : quality_settings(r.quality, r.resolution);
  std::optional<planner::FrameSize> frame;
  if (r.frame_width != 0 || r.frame_height != 0) frame = planner::FrameSize{r.frame_width, r.frame_height};
  const planner::Workload w = planner::describe_workload(r.duration_seconds, settings, r.resolution, {}, frame);

  const auto spec = find_gpu_type(r.gpu_type);
  std::string why_uncalibrated;
  const auto calibration = lookup_calibration(r, &why_uncalibrated);
  const planner::Rates rates = planner::make_rates(spec, calibration, r.gpu_type);
  planner::dtype_tiers(r.dtype, rates);  // fp8 on a GPU without FP8 tensor cores: refused here
  const auto price = r.prices.find(r.gpu_type);
  if (!price)
    fail(ErrorCode::invalid_argument, "no price for GPU type '{}': set one (PriceTable::set, or --price USD per "
         "GPU-hour)", r.gpu_type);

  Plan p;
  p.gpu_type = spec ? spec->name : calibration->gpu_name;
  p.gpu_memory_gib = rates.memory_gib;
  p.usd_per_gpu_hour = *price;
  p.workload = w.summary;
  p.calibrated = rates.calibrated;
  p.calibration_note = rates.note;
  if (!why_uncalibrated.empty()) p.calibration_note += " (" + why_uncalibrated + ")";
  for (int n = 1; n <= r.gpus_available; ++n) p.options.push_back(evaluate_option(w, rates, r, n, *price));
  choose(p, r);
  return p;
}

namespace {

// The first GPU count (up to kMaxGpus) at which `r`, with or without weight sharding, fits in memory.
std::optional<int> gpus_that_fit(PlanRequest r, bool weight_sharding) {
  r.weight_sharding = weight_sharding;
  r.budget_usd.reset();
  r.deadline_seconds.reset();
  r.gpus_available = kMaxGpus;
  for (const auto& o : evaluate_plan(r).options)
    if (o.fits) return o.gpus;
  return std::nullopt;
}

// Why nothing fits: the least memory any mode needs (the smallest cap that would work), the GPU types that
// have it, and the GPU counts at which this type would fit, replicated or weight-sharded.
[[noreturn]] void fail_memory(const Plan& p, const PlanRequest& r) {
  const PlanOption* least = &p.options.front();
  for (const auto& o : p.options)
    if (o.peak_vram_gib < least->peak_vram_gib) least = &o;
  // The smallest cap that works (the least peak and the allocator's headroom), rounded up to a tenth of a
  // GiB so that passing it back fits.
  const double min_cap = std::ceil(planner::limit_for_peak(least->peak_vram_gib * planner::kGiB) / planner::kGiB * 10) / 10;
  const double device_gib = min_cap + planner::kCudaContextGiB;
  const bool cap_binds = r.max_vram_gib && device_gib <= p.gpu_memory_gib;
  std::string alternatives;
  auto add = [&](const std::string& text) { alternatives += (alternatives.empty() ? "" : ", or ") + text; };
  if (cap_binds)
    add(fmt::format("raise the cap to at least {:.1f} GiB (max_vram_gib, --max-vram {:.1f})", min_cap, min_cap));
  std::string types;
  for (const auto& spec : known_gpu_types())
    if (spec.memory_gib >= device_gib) types += (types.empty() ? "" : ", ") + spec.name;
  if (!cap_binds && !types.empty()) add(fmt::format("use a GPU type with that much memory ({})", types));
  if (r.dtype != WeightDtype::automatic)
    add("let the planner choose the weight format (--dtype auto)");
  if (const auto n = gpus_that_fit(r, r.weight_sharding); n && *n > least->gpus)
    add(fmt::format("use >= {} GPUs of this type", *n));
  if (!r.weight_sharding) {
    if (const auto n = gpus_that_fit(r, true))
      add(fmt::format("weight sharding over >= {} GPUs (PlanRequest::weight_sharding, --weight-sharding)", *n));
  }
  const std::string limit = r.max_vram_gib ? fmt::format("the cap is {} (max_vram_gib)", gib(*r.max_vram_gib))
                                           : fmt::format("one {} has {}", p.gpu_type, gib(p.gpu_memory_gib));
  fail(ErrorCode::out_of_memory,
       "this job needs {:.1f} GiB per GPU at the least ({} GPU{}, {}; peak in {}; {:.1f} GiB with the CUDA context), "
       "but {}: {}",
       min_cap, least->gpus, least->gpus == 1 ? "" : "s", describe(least->mode), least->peak_phase, device_gib, limit,
       alternatives.empty() ? "no GPU type, count or cap the planner knows would hold it" : alternatives);
}

}  // namespace

Plan plan(const PlanRequest& r) {
  Plan p = evaluate_plan(r);
  if (p.recommended_gpus) return p;
  std::vector<const PlanOption*> fitting;
  for (const auto& o : p.options)
    if (o.fits) fitting.push_back(&o);
  if (fitting.empty()) fail_memory(p, r);

  const auto* fastest = *std::min_element(fitting.begin(), fitting.end(),
                                          [](auto* a, auto* b) { return a->seconds < b->seconds; });
  const auto* cheapest = *std::min_element(fitting.begin(), fitting.end(),
                                           [](auto* a, auto* b) { return a->cost_usd < b->cost_usd; });
  const auto seconds = [](const PlanOption* o) { return static_cast<long long>(std::ceil(o->seconds)); };
  std::string limits;
  if (r.deadline_seconds) limits += fmt::format("the {:.0f} s deadline", *r.deadline_seconds);
  if (r.budget_usd) limits += fmt::format("{}the ${:.2f} budget", limits.empty() ? "" : " and ", *r.budget_usd);
  fail(ErrorCode::invalid_argument,
       "no option meets {} for {:.1f} s of {} video ({} chunks x {} steps x {} forwards): the fastest takes {} s "
       "(${:.2f} on {} {}), "
       "the cheapest costs ${:.2f} ({} s on {} GPU{}). Raise the {}, allow more GPUs (--gpus-available, now {}), or use a "
       "faster quality",
       limits, r.duration_seconds, fmt::format("{}x{}", p.workload.width, p.workload.height), p.workload.chunks,
       p.workload.steps, p.workload.forwards_per_step, seconds(fastest), fastest->cost_usd, fastest->gpus, p.gpu_type,
       cheapest->cost_usd, seconds(cheapest), cheapest->gpus, cheapest->gpus == 1 ? "" : "s",
       r.deadline_seconds && r.budget_usd ? "deadline or budget" : (r.deadline_seconds ? "deadline" : "budget"),
       r.gpus_available);
}

int recommend_gpu_count(double duration_seconds, Quality quality, const PlanLimits& limits,
                        const PlanRequest& hardware) {
  PlanRequest r = hardware;
  r.duration_seconds = duration_seconds;
  r.quality = quality;
  r.settings.reset();
  r.budget_usd = limits.budget_usd;
  r.deadline_seconds = limits.deadline_seconds;
  return *plan(r).recommended_gpus;
}

namespace {
PlanOption option_on(double duration_seconds, int gpus, Resolution resolution, Quality quality,
                     const PlanRequest& hardware) {
  if (gpus < 1 || gpus > kMaxGpus) fail(ErrorCode::invalid_argument, "{} GPUs: expected 1 to {}", gpus, kMaxGpus);
  PlanRequest r = hardware;
  r.duration_seconds = duration_seconds;
  r.resolution = resolution;
  r.quality = quality;
  r.settings.reset();
  r.budget_usd.reset();
  r.deadline_seconds.reset();
  r.gpus_available = gpus;
  const Plan p = evaluate_plan(r);
  const PlanOption& o = p.options.back();
  if (!o.fits)
    fail(ErrorCode::out_of_memory, "{} x {} cannot hold this job: {}{}", gpus, p.gpu_type, o.why_not,
         hardware.weight_sharding ? "" : "; more GPUs or weight sharding may fit (see plan())");
  return o;
}
}  // namespace

double effective_comm_gbps(std::int64_t tokens, int gpus, double one_gpu_forward_s, double forward_s) {
  return planner::effective_comm_gbps(planner::ModelDims{}, static_cast<double>(tokens), gpus, one_gpu_forward_s,
                                      forward_s);
}

double estimate_time(double duration_seconds, int gpus, Resolution resolution, Quality quality,
                     const PlanRequest& hardware) {
  return option_on(duration_seconds, gpus, resolution, quality, hardware).seconds;
}

double estimate_cost(double duration_seconds, int gpus, Resolution resolution, Quality quality,
                     const PlanRequest& hardware) {
  return option_on(duration_seconds, gpus, resolution, quality, hardware).cost_usd;
}

}  // namespace talkgen
