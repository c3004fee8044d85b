#include "plan.hpp"

#include <memory>
#include <optional>
#include <string>

#include "js_values.hpp"

namespace talkgen_node {
namespace {

Napi::Value string_or_null(Napi::Env env, const char* s) { return s ? Napi::String::New(env, s) : env.Null(); }

Napi::Value number_if(Napi::Env env, bool present, double value) {
  return present ? Napi::Number::New(env, value).As<Napi::Value>() : env.Null();
}

Napi::Object plan_to_js(Napi::Env env, const talkgen_plan& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gpuType", string_or_null(env, p.gpu_type));
  o.Set("videoSeconds", p.video_sec);
  o.Set("chunks", p.chunks);
  o.Set("quality", string_or_null(env, p.quality));
  o.Set("resolution", string_or_null(env, p.resolution));
  // The C ABI says 0 for "no option meets the limits"; null says it without a magic number (as Python's None).
  const bool recommended = p.recommended_gpus > 0;
  o.Set("recommendedGpus", number_if(env, recommended, p.recommended_gpus));
  o.Set("estimatedSeconds", number_if(env, recommended, p.estimated_sec));
  o.Set("costUsd", number_if(env, recommended, p.cost_usd));
  o.Set("reason", string_or_null(env, p.reason));
  Napi::Array options = Napi::Array::New(env, p.option_count);
  for (size_t i = 0; i < p.option_count; ++i) {
    const talkgen_plan_option& c = p.options[i];
    Napi::Object option = Napi::Object::New(env);
    option.Set("gpus", c.gpus);
    option.Set("estimatedSeconds", c.estimated_sec);
    option.Set("gpuSeconds", c.gpu_sec);
    option.Set("costUsd", c.cost_usd);
    option.Set("withinBudget", c.within_budget);
    option.Set("withinDeadline", c.within_deadline);
    option.Set("fits", c.fits);
    options.Set(static_cast<uint32_t>(i), option);
  }
  o.Set("options", options);
  return o;
}

}  // namespace

Napi::Value plan_job(const Napi::CallbackInfo& info, const talkgen_client* client) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "plan(durationSec, options): durationSec must be a number (seconds of speech)");
  }
  const double duration = info[0].As<Napi::Number>().DoubleValue();
  std::optional<std::string> quality, resolution;
  double budget = 0, deadline = 0;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "plan(durationSec, options): options must be an object");
    const Napi::Object o = info[1].As<Napi::Object>();
    quality = optional_string(o, "quality");
    resolution = optional_string(o, "resolution");
    budget = positive_or_zero(o, "budgetUsd");
    deadline = positive_or_zero(o, "deadlineSec");
  }
  talkgen_plan* raw = nullptr;
  const talkgen_status status =
      talkgen_client_plan(client, duration, c_str(quality), c_str(resolution), budget, deadline, &raw);
  std::unique_ptr<talkgen_plan, void (*)(talkgen_plan*)> plan(raw, talkgen_plan_free);
  if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
  return plan_to_js(env, *plan);
}

}  // namespace talkgen_node
