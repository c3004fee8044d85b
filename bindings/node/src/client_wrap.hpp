// The native Client class behind index.js's Client: a talkgen_client handle, jobs run by async workers on
// libuv's thread pool, and the bookkeeping that lets cancel() and close() reach jobs that are still queued.
#pragma once

#include <napi.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "job_spec.hpp"
#include "talkgen.h"

namespace talkgen_node {

class JobWrap;

/// Cancel requests by job id.
using JobFlags = std::map<std::string, std::shared_ptr<std::atomic<bool>>>;

class ClientWrap : public Napi::ObjectWrap<ClientWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ClientWrap(const Napi::CallbackInfo& info);
  ~ClientWrap() override;

  /// The handle; throws an Error with code invalid_argument after close().
  talkgen_client* handle(Napi::Env env);

  // Called by the workers on the main thread.
  /// Registers the jobs' ids (throws for one already in flight, or repeated); end_job() unregisters.
  JobFlags begin_jobs(Napi::Env env, const std::vector<JobSpec>& jobs);
  void end_job(const std::string& job_id);
  void worker_started() { ++workers_; }
  void worker_finished(Napi::Env env);
  /// Submitted jobs whose objects are alive: close() cancels them, and their handles are freed before the client.
  void add_job(JobWrap* job) { jobs_.insert(job); }
  void remove_job(JobWrap* job) { jobs_.erase(job); }

 private:
  Napi::Value start(const Napi::CallbackInfo& info, bool batch);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value generate_batch(const Napi::CallbackInfo& info);
  Napi::Value submit(const Napi::CallbackInfo& info);
  Napi::Value plan(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value reset_stats(const Napi::CallbackInfo& info);
  Napi::Value devices(const Napi::CallbackInfo& info);
  Napi::Value preload(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  void release(Napi::Env env);

  talkgen_client* client_ = nullptr;
  bool closed_ = false;
  int workers_ = 0;  // generate / batch / preload / wait workers holding client_
  std::set<JobWrap*> jobs_;
  // Cancel requests by job id, from generate() until the job's promise settles (a job not yet submitted
  // to the library is cancelled through its progress callback).
  JobFlags in_flight_;
  std::vector<Napi::Promise::Deferred> close_waiters_;
};

}  // namespace talkgen_node
