// Submitted jobs through the C ABI: talkgen_client_submit returns a talkgen_job (a talkgen::JobHandle) to
// poll, wait for with a timeout, cancel and release. The job belongs to the Client: releasing the handle
// neither cancels nor waits for it.
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "capi_support.hpp"
#include "client_bridge.hpp"
#include "talkgen.h"
#include "talkgen/client.hpp"

using talkgen::ErrorCode;
using talkgen::fail;
using talkgen::capi::guarded;

struct talkgen_job {
  talkgen_job(talkgen::JobHandle h, talkgen::Quality q) : handle(std::move(h)), id(handle.job_id()), quality(q) {}
  talkgen::JobHandle handle;
  const std::string id;            // what talkgen_job_id() and polled progress point at
  const talkgen::Quality quality;  // asked for at submit, reported in the result
};

namespace {

const talkgen_job& checked(const talkgen_job* job) {
  if (!job) fail(ErrorCode::invalid_argument, "job is NULL: pass the handle talkgen_client_submit() gave");
  return *job;
}

// Waits past this are waits without a limit (a deadline that far would overflow the clock's arithmetic).
constexpr double kUnboundedSeconds = 366.0 * 24 * 3600;

// The result if the job finishes within `timeout_sec` (< 0: however long it takes), else nullopt.
std::optional<talkgen::JobResult> wait_for(const talkgen_job& job, double timeout_sec) {
  if (std::isnan(timeout_sec)) {
    fail(ErrorCode::invalid_argument, "timeout_sec is NaN (expected seconds >= 0, or < 0 to wait until finished)");
  }
  if (timeout_sec < 0 || timeout_sec > kUnboundedSeconds) return job.handle.wait();
  return job.handle.wait_for(talkgen::capi::to_ms(timeout_sec));
}

}  // namespace

extern "C" {

talkgen_status talkgen_client_submit(talkgen_client* client, const talkgen_job_params* params,
                                     talkgen_progress_fn progress, void* user_data, talkgen_job** job_out) {
  if (job_out) *job_out = nullptr;
  return guarded([&] {
    talkgen_client& c = talkgen::capi::checked(client);
    if (!job_out) fail(ErrorCode::invalid_argument, "job_out is NULL: pass the address of a talkgen_job*");
    talkgen::Job job = talkgen::capi::to_job(talkgen::capi::read_job_params(params, "params"));
    const talkgen::Quality quality = job.generate.quality;
    talkgen::JobHandle handle = c.client.submit(std::move(job), talkgen::capi::to_callbacks(progress, user_data));
    *job_out = new talkgen_job(std::move(handle), quality);
  });
}

const char* talkgen_job_id(const talkgen_job* job) { return job ? job->id.c_str() : ""; }

talkgen_status talkgen_job_poll(const talkgen_job* job, talkgen_progress* progress_out) {
  return guarded([&] {
    const talkgen_job& j = checked(job);
    talkgen::capi::write_out(progress_out, talkgen::capi::to_c_progress(j.handle.progress(), j.id.c_str()),
                             "progress_out");
  });
}

talkgen_status talkgen_job_wait(talkgen_job* job, double timeout_sec, talkgen_result** result_out) {
  if (result_out) *result_out = nullptr;
  return guarded([&] {
    const talkgen_job& j = checked(job);
    std::optional<talkgen::JobResult> finished = wait_for(j, timeout_sec);
    if (!finished) {
      fail(ErrorCode::timeout, "job '{}' has not finished within {} s (it goes on: wait again, or cancel it)", j.id,
           timeout_sec);
    }
    talkgen::capi::ResultPtr result = talkgen::capi::make_result(std::move(*finished), j.quality);
    const talkgen_result& r = *result;
    if (result_out) *result_out = result.release();
    talkgen::capi::raise_job_error(r);
  });
}

talkgen_status talkgen_job_cancel(talkgen_job* job) {
  return guarded([&] {
    const talkgen_job& j = checked(job);
    if (!j.handle.cancel()) {
      fail(ErrorCode::not_found, "job '{}' has already finished ({}): there is nothing to cancel", j.id,
           talkgen::to_string(j.handle.state()));
    }
  });
}

void talkgen_job_free(talkgen_job* job) { delete job; }

}  // extern "C"
