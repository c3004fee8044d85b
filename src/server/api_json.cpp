#include "server/api_json.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace talkgen::server {

namespace {

using nlohmann::json;

json optional_time(const std::optional<double>& t) { return t ? json(iso_time(*t)) : json(nullptr); }

bool finished_state(const std::string& s) { return s == "succeeded" || s == "failed" || s == "cancelled"; }

}  // namespace

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string iso_time(double unix_seconds) {
  const auto whole = static_cast<std::time_t>(std::floor(unix_seconds));
  const int millis = static_cast<int>((unix_seconds - static_cast<double>(whole)) * 1000.0);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, std::min(millis, 999));
}

json job_to_json(const JobRecord& r, const LiveProgress* live) {
  json j;
  j["id"] = r.id;
  j["job_id"] = r.client_key.empty() ? r.id : r.client_key;
  const bool finished = finished_state(r.state);
  // A job running here: the live state is newer than the record (retrying is never written down).
  j["state"] = live && !finished ? std::string(to_string(live->state)) : r.state;
  const json& res = r.result;
  if (live && !finished) {
    j["progress"] = live->fraction;
    j["stage"] = to_string(live->generate.stage);
    j["chunk"] = live->generate.chunk;
    j["chunks"] = live->generate.chunks;
    j["step"] = live->generate.step;
    j["steps"] = live->generate.steps;
    j["attempt"] = live->attempt;
    j["eta_seconds"] = live->generate.eta_seconds >= 0 ? json(live->generate.eta_seconds) : json(nullptr);
    j["queue_position"] = live->queue_position ? json(*live->queue_position) : json(nullptr);
  } else {
    const bool done = r.state == "succeeded";
    j["progress"] = done ? 1.0 : res.is_object() ? res.value("progress", 0.0) : 0.0;
    j["stage"] = done ? "done" : "preparing";
    j["chunk"] = 0;
    j["chunks"] = res.is_object() ? res.value("chunks", 0) : 0;
    j["step"] = 0;
    j["steps"] = 0;
    j["attempt"] = res.is_object() ? res.value("attempts", 0) : 0;
    j["eta_seconds"] = done ? json(0.0) : json(nullptr);
    j["queue_position"] = nullptr;
  }
  j["created_at"] = iso_time(r.created_at);
  j["started_at"] = optional_time(r.started_at);
  j["finished_at"] = optional_time(r.finished_at);
  j["restarts"] = r.restarts;
  j["request"] = r.request;
  j["plan"] = res.is_object() && res.contains("estimated_seconds") && !res["estimated_seconds"].is_null()
                  ? json{{"estimated_seconds", res["estimated_seconds"]}, {"gpus", res.value("gpus", 0)}}
                  : json(nullptr);
  j["timings"] = res.is_object() && res.contains("timings") ? res["timings"] : json(nullptr);
  if (r.state == "succeeded" && res.is_object()) {
    json out = res["video"];
    out["video_url"] = fmt::format("/v1/jobs/{}/video", r.id);
    for (const char* key : {"gpus", "devices", "gpu_seconds", "cost_usd", "attempts", "resolution"})
      if (res.contains(key)) out[key] = res[key];
    j["result"] = out;
  } else {
    j["result"] = nullptr;
  }
  j["error"] = r.error_code.empty() ? json(nullptr) : json{{"code", r.error_code}, {"message", r.error_message}};
  return j;
}

json result_to_json(const JobResult& r, std::int64_t video_bytes) {
  const GenerateResult& v = r.video;
  json video{{"bytes", video_bytes},       {"frames", v.frames},
             {"width", v.width},           {"height", v.height},
             {"fps", v.fps},               {"duration_seconds", v.duration_seconds},
             {"chunks", v.chunks},         {"seed", v.seed},
             {"untrained_model", v.untrained_model}, {"model_name", v.model_name}};
  const StageTimings& t = r.timings;
  json timings{{"queued", t.queued},       {"loading", t.loading},   {"preparing", t.preparing},
               {"sampling", t.sampling},   {"decoding", t.decoding}, {"encoding", t.encoding},
               {"total", t.total}};
  return json{{"video", video},
              {"timings", timings},
              {"chunks", v.chunks},
              {"gpus", r.gpus},
              {"devices", r.devices},
              {"resolution", r.resolution},
              {"attempts", r.attempts},
              {"estimated_seconds", r.estimated_seconds ? json(*r.estimated_seconds) : json(nullptr)},
              {"actual_seconds", r.actual_seconds},
              {"gpu_seconds", r.gpu_seconds},
              {"cost_usd", r.cost_usd}};
}

json plan_to_json(const Plan& p) {
  json options = json::array();
  for (const PlanOption& o : p.options) {
    options.push_back({{"gpus", o.gpus},
                       {"fits", o.fits},
                       {"weight_sharded", o.weight_sharded},
                       {"seconds", o.seconds},
                       {"cost_usd", o.cost_usd},
                       {"memory_gib_per_gpu", o.memory_gib_per_gpu},
                       {"within_budget", o.within_budget},
                       {"within_deadline", o.within_deadline},
                       {"why_not", o.why_not}});
  }
  return json{{"gpu_type", p.gpu_type},
              {"gpu_memory_gib", p.gpu_memory_gib},
              {"usd_per_gpu_hour", p.usd_per_gpu_hour},
              {"recommended_gpus", p.recommended_gpus ? json(*p.recommended_gpus) : json(nullptr)},
              {"recommendation", p.recommendation},
              {"calibrated", p.calibrated},
              {"calibration_note", p.calibration_note},
              {"frames", p.workload.frames},
              {"chunks", p.workload.chunks},
              {"options", options}};
}

json stats_to_json(const ClientStats& s) {
  return json{{"jobs", s.jobs},           {"succeeded", s.succeeded},
              {"failed", s.failed},       {"cancelled", s.cancelled},
              {"retries", s.retries},     {"success_rate", s.success_rate},
              {"mean_seconds", s.mean_seconds}, {"p50_seconds", s.p50_seconds},
              {"p95_seconds", s.p95_seconds},   {"gpu_seconds", s.gpu_seconds},
              {"cost_usd", s.cost_usd},   {"queued", s.queued},
              {"running", s.running}};
}

}  // namespace talkgen::server
