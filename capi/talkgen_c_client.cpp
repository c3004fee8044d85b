// The C ABI of talkgen::Client: create, devices, blocking generate and batch, cancel by id, statistics, and
// the options / job params initialisers. Conversions live in client_bridge.cpp, submitted jobs in
// talkgen_c_jobs.cpp, plans in talkgen_c_plan.cpp.
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "capi_support.hpp"
#include "client_bridge.hpp"
#include "struct_defaults.hpp"
#include "talkgen.h"
#include "talkgen/client.hpp"

using talkgen::ErrorCode;
using talkgen::fail;
using talkgen::capi::checked;
using talkgen::capi::guarded;
using talkgen::capi::ResultPtr;

extern "C" {

talkgen_status talkgen_client_options_init_sized(talkgen_client_options* p, size_t caller_size) {
  return guarded([&] {
    talkgen::capi::init_sized(p, caller_size, talkgen::capi::client_options_defaults(), "talkgen_client_options");
  });
}

talkgen_status talkgen_job_params_init_sized(talkgen_job_params* p, size_t caller_size) {
  return guarded([&] {
    talkgen::capi::init_sized(p, caller_size, talkgen::capi::job_params_defaults(), "talkgen_job_params");
  });
}

talkgen_status talkgen_client_create(const talkgen_client_options* options, talkgen_client** client_out) {
  if (client_out) *client_out = nullptr;
  return guarded([&] {
    if (!client_out) fail(ErrorCode::invalid_argument, "client_out is NULL: pass the address of a talkgen_client*");
    const talkgen_client_options o = talkgen::capi::read_client_options(options);
    *client_out = new talkgen_client(talkgen::capi::to_client_options(o));
  });
}

void talkgen_client_free(talkgen_client* client) {
  try {
    delete client;
  } catch (...) {
    // ~Client cancels and joins; nothing a C caller could do with a failure there.
  }
}

talkgen_status talkgen_client_preload(talkgen_client* client) {
  return guarded([&] { checked(client).client.preload(); });
}

talkgen_status talkgen_client_devices(const talkgen_client* client, talkgen_device_pool* pool) {
  return guarded([&] {
    const talkgen_client& c = checked(client);
    const talkgen::ClientDevices& d = c.client.devices();
    talkgen_device_pool out{};
    out.device_policy = talkgen::to_string(d.policy);
    out.cuda = d.cuda;
    out.devices = c.device_ptrs.data();
    out.device_count = c.device_ptrs.size();
    out.gpu_name = d.gpu_name.c_str();
    out.gpu_type = d.gpu_type.c_str();
    out.note = d.note.c_str();
    out.untrained_model = c.client.untrained_model();
    talkgen::capi::write_out(pool, out, "pool");
  });
}

const char* talkgen_job_state_name(talkgen_job_state state) {
  if (state < TALKGEN_JOB_QUEUED || state > TALKGEN_JOB_CANCELLED) return "unknown";
  return talkgen::to_string(static_cast<talkgen::JobState>(state));
}

const char* talkgen_stage_name(talkgen_stage stage) {
  if (stage < TALKGEN_STAGE_PREPARING || stage > TALKGEN_STAGE_DONE) return "unknown";
  return talkgen::to_string(static_cast<talkgen::GenerateProgress::Stage>(stage));
}

talkgen_status talkgen_client_generate(talkgen_client* client, const talkgen_job_params* params,
                                       talkgen_progress_fn progress, void* user_data, talkgen_result** result_out) {
  if (result_out) *result_out = nullptr;
  return guarded([&] {
    talkgen_client& c = checked(client);
    talkgen::Job job = talkgen::capi::to_job(talkgen::capi::read_job_params(params, "params"));
    const talkgen::Quality quality = job.generate.quality;
    // submit() + wait() rather than Client::generate(): a failed job still gives its result to the caller.
    const talkgen::JobHandle handle = c.client.submit(std::move(job), talkgen::capi::to_callbacks(progress, user_data));
    ResultPtr result = talkgen::capi::make_result(handle.wait(), quality);
    const talkgen_result& r = *result;
    if (result_out) *result_out = result.release();
    talkgen::capi::raise_job_error(r);
  });
}

talkgen_status talkgen_client_generate_batch(talkgen_client* client, const talkgen_job_params* const* params,
                                             size_t count, talkgen_progress_fn progress, void* user_data,
                                             talkgen_result** results_out) {
  if (results_out) std::fill(results_out, results_out + count, nullptr);
  return guarded([&] {
    talkgen_client& c = checked(client);
    if (count > 0 && (!params || !results_out)) {
      fail(ErrorCode::invalid_argument, "params and results_out must point at arrays of {} entries", count);
    }
    std::vector<ResultPtr> results(count);
    std::vector<talkgen::Job> jobs;
    std::vector<talkgen::Quality> qualities;
    std::vector<size_t> index;  // jobs[k] is input index[k]
    for (size_t i = 0; i < count; ++i) {
      try {
        jobs.push_back(talkgen::capi::to_job(talkgen::capi::read_job_params(params[i], "params[i]")));
        qualities.push_back(jobs.back().generate.quality);
        index.push_back(i);
      } catch (const talkgen::Error& e) {
        results[i] = talkgen::capi::refused_result(params[i], e);  // this job only; the others still run
      }
    }
    std::vector<talkgen::JobResult> done =
        c.client.generate_batch(jobs, talkgen::capi::to_callbacks(progress, user_data));
    if (done.size() != jobs.size()) {
      fail(ErrorCode::internal, "generate_batch returned {} results for {} jobs", done.size(), jobs.size());
    }
    for (size_t k = 0; k < done.size(); ++k) {
      results[index[k]] = talkgen::capi::make_result(std::move(done[k]), qualities[k]);
    }
    for (size_t i = 0; i < count; ++i) results_out[i] = results[i].release();
  });
}

talkgen_status talkgen_client_cancel(talkgen_client* client, const char* job_id) {
  return guarded([&] {
    talkgen_client& c = checked(client);
    if (!job_id) fail(ErrorCode::invalid_argument, "job_id is NULL");
    if (!c.client.cancel(job_id)) {
      fail(ErrorCode::not_found, "no queued or running job '{}' in this client (it finished or never existed)",
           job_id);
    }
  });
}

talkgen_status talkgen_client_stats(const talkgen_client* client, talkgen_stats* stats) {
  return guarded([&] {
    const talkgen::ClientStats s = checked(client).client.stats();
    const talkgen_stats out{0,           s.jobs,         s.succeeded,   s.failed,      s.cancelled,
                            s.retries,   s.success_rate, s.mean_seconds, s.p50_seconds, s.p95_seconds,
                            s.gpu_seconds, s.cost_usd,   s.queued,      s.running};
    talkgen::capi::write_out(stats, out, "stats");
  });
}

talkgen_status talkgen_client_reset_stats(talkgen_client* client) {
  return guarded([&] { checked(client).client.reset_stats(); });
}

}  // extern "C"
