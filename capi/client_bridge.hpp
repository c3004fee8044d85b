// The C views of talkgen::Client's types, shared by the client, job and plan entry points: the opaque
// talkgen_client, C params -> C++ options and jobs, JobProgress -> talkgen_progress, JobResult ->
// talkgen_result. Scheduling, retries and cancellation stay the Client's.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "talkgen.h"
#include "talkgen/client.hpp"
#include "talkgen/error.hpp"

// The opaque handle: the Client plus the C views of its device pool (valid as long as the handle).
struct talkgen_client {
  explicit talkgen_client(talkgen::ClientOptions options);
  talkgen::Client client;
  std::vector<std::string> devices;
  std::vector<const char*> device_ptrs;
};

namespace talkgen::capi {

talkgen_client& checked(talkgen_client* client);
const talkgen_client& checked(const talkgen_client* client);

std::chrono::milliseconds to_ms(double seconds);

/// The caller's struct as this library knows it (see read_params), or Error naming what is wrong.
talkgen_client_options read_client_options(const talkgen_client_options* options);
talkgen_job_params read_job_params(const talkgen_job_params* params, const char* name);

ClientOptions to_client_options(const talkgen_client_options& options);
Job to_job(const talkgen_job_params& params);

/// `job_id` must outlive the struct's use (the progress's own string during a callback, the handle's in a poll).
talkgen_progress to_c_progress(const JobProgress& progress, const char* job_id);
/// The C progress callback behind JobCallbacks::progress (none when the caller gave none).
JobCallbacks to_callbacks(talkgen_progress_fn progress, void* user_data);

struct ResultDeleter {
  void operator()(talkgen_result* r) const { talkgen_result_free(r); }
};
using ResultPtr = std::unique_ptr<talkgen_result, ResultDeleter>;

/// A talkgen_result owning copies of everything it points at; `quality` is the profile the job asked for.
ResultPtr make_result(JobResult result, Quality quality);
/// The result of a job refused before it reached the Client (its params could not be read).
ResultPtr refused_result(const talkgen_job_params* params, const Error& error);
/// Throws the failed or cancelled job's error, so that the call returns it as its status.
void raise_job_error(const talkgen_result& result);

}  // namespace talkgen::capi
