// A job submitted with Client#submit (talkgen_client_submit): the native object behind index.js's Job, with
// poll() (its progress now), wait(timeoutSeconds) (a Promise of its result, off the event loop) and cancel().
#pragma once

#include <napi.h>

#include <string>

#include "job_spec.hpp"
#include "talkgen.h"

namespace talkgen_node {

class ClientWrap;
struct SubmittedJob;

class JobWrap : public Napi::ObjectWrap<JobWrap> {
 public:
  /// The class (kept by the addon so that submit() can make instances).
  static Napi::Function define(Napi::Env env);
  /// Submits `spec` on `owner`'s client; `progress` (a function) receives every progress event on the event loop.
  /// Throws the library's error when the job is refused.
  static Napi::Object submit(Napi::Env env, ClientWrap* owner, talkgen_client* client, JobSpec spec,
                             const Napi::Value& progress);

  explicit JobWrap(const Napi::CallbackInfo& info);
  ~JobWrap() override;

  /// Cancels the job (close() of the client); false when it had already finished.
  bool cancel_job();
  /// Frees the handle before the client is freed; the object then answers with an Error.
  void detach();
  /// The client is being destroyed first (teardown of the environment).
  void forget_owner();

 private:
  Napi::Value id(const Napi::CallbackInfo& info);
  Napi::Value poll(const Napi::CallbackInfo& info);
  Napi::Value wait(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  talkgen_job* handle(Napi::Env env) const;

  friend class WaitWorker;
  SubmittedJob* shared_ = nullptr;  // shared with the library's progress callback
  talkgen_job* job_ = nullptr;
  ClientWrap* owner_ = nullptr;
  Napi::ObjectReference owner_ref_;  // the client outlives its jobs' objects
  std::string id_;
};

}  // namespace talkgen_node
