// The Planner through the C ABI: talkgen_client_plan is talkgen::Client::plan (the client's GPU type and
// count, prices and calibration) as a library-owned talkgen_plan.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "capi_support.hpp"
#include "client_bridge.hpp"
#include "talkgen.h"
#include "talkgen/client.hpp"
#include "talkgen/generate.hpp"
#include "talkgen/planner.hpp"

using talkgen::ErrorCode;
using talkgen::fail;
using talkgen::capi::guarded;

namespace {

// A plan and everything its pointers point at, released together by talkgen_plan_free; `c` first in a
// standard-layout struct, so a talkgen_plan* converts back to its PlanBox*.
struct PlanBox {
  talkgen_plan c;
  struct Storage {
    std::string gpu_type, quality, resolution, reason;
    std::vector<talkgen_plan_option> options;
  } * storage;
};
static_assert(std::is_standard_layout<PlanBox>::value, "talkgen_plan* must convert back to PlanBox*");

struct PlanDeleter {
  void operator()(talkgen_plan* plan) const { talkgen_plan_free(plan); }
};

const char* resolution_name(talkgen::Resolution resolution) {
  return resolution == talkgen::Resolution::p720 ? "720p" : "480p";
}

// 0 is "no limit", as in talkgen_job_params.
std::optional<double> limit(double value, const char* field) {
  talkgen::capi::non_negative(value, field);
  return value > 0 ? std::optional<double>(value) : std::nullopt;
}

std::unique_ptr<talkgen_plan, PlanDeleter> to_c_plan(const talkgen::Plan& plan, talkgen::Quality quality,
                                                     talkgen::Resolution resolution) {
  auto box = std::make_unique<PlanBox>();
  box->c = talkgen_plan{};
  box->storage = new PlanBox::Storage();
  std::unique_ptr<talkgen_plan, PlanDeleter> out(&box.release()->c);
  PlanBox::Storage& s = *reinterpret_cast<PlanBox*>(out.get())->storage;
  talkgen_plan& c = *out;

  s.gpu_type = plan.gpu_type;
  s.quality = talkgen::to_string(quality);
  s.resolution = resolution_name(resolution);
  s.reason = plan.recommendation;
  for (const talkgen::PlanOption& o : plan.options) {
    talkgen_plan_option option{};
    option.gpus = o.gpus;
    option.estimated_sec = o.seconds;
    option.gpu_sec = o.seconds * o.gpus;
    option.cost_usd = o.cost_usd;
    option.within_budget = o.within_budget;
    option.within_deadline = o.within_deadline;
    option.fits = o.fits;
    s.options.push_back(option);
    if (plan.recommended_gpus && o.gpus == *plan.recommended_gpus && c.recommended_gpus == 0) {
      c.recommended_gpus = o.gpus;
      c.estimated_sec = o.seconds;
      c.cost_usd = o.cost_usd;
    }
  }
  if (plan.recommended_gpus && c.recommended_gpus == 0) {
    fail(ErrorCode::internal, "the Planner recommended {} GPU(s) but listed no such option", *plan.recommended_gpus);
  }
  c.struct_size = sizeof(talkgen_plan);
  c.gpu_type = s.gpu_type.c_str();
  c.video_sec = static_cast<double>(plan.workload.frames) / 25.0;  // the model's fixed frame rate
  c.chunks = plan.workload.chunks;
  c.quality = s.quality.c_str();
  c.resolution = s.resolution.c_str();
  c.reason = s.reason.c_str();
  c.options = s.options.data();
  c.option_count = s.options.size();
  return out;
}

}  // namespace

extern "C" {

talkgen_status talkgen_client_plan(const talkgen_client* client, double duration_sec, const char* quality,
                                   const char* resolution, double budget_usd, double deadline_sec,
                                   talkgen_plan** plan_out) {
  if (plan_out) *plan_out = nullptr;
  return guarded([&] {
    const talkgen_client& c = talkgen::capi::checked(client);
    if (!plan_out) fail(ErrorCode::invalid_argument, "plan_out is NULL: pass the address of a talkgen_plan*");
    if (!std::isfinite(duration_sec) || duration_sec <= 0) {
      fail(ErrorCode::invalid_argument, "duration_sec is {} (expected the seconds of speech, > 0)", duration_sec);
    }
    const talkgen::GenerateOptions defaults;
    const talkgen::Quality q = quality ? talkgen::parse_quality(quality) : defaults.quality;
    const talkgen::Resolution r = resolution ? talkgen::parse_resolution(resolution) : defaults.resolution;
    talkgen::PlanLimits limits;
    limits.budget_usd = limit(budget_usd, "budget_usd");
    limits.deadline_seconds = limit(deadline_sec, "deadline_sec");
    *plan_out = to_c_plan(c.client.plan(duration_sec, q, r, limits), q, r).release();
  });
}

void talkgen_plan_free(talkgen_plan* plan) {
  if (!plan) return;
  auto* box = reinterpret_cast<PlanBox*>(plan);
  delete box->storage;
  delete box;
}

}  // extern "C"
