#include "job_wrap.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "addon_data.hpp"
#include "client_wrap.hpp"
#include "js_values.hpp"

namespace talkgen_node {

// What the library's progress callback reaches: the job's inputs (the params point into them) and the way to the
// event loop. The library reports a job's final state once, before its waiters wake, and never after: that report
// ends the library's use of it. The JobWrap is the other holder; the last of the two deletes it.
struct SubmittedJob {
  JobSpec spec;
  std::optional<Napi::ThreadSafeFunction> progress;  // holds the event loop open until the job ends
  std::mutex mutex;
  bool finished = false;
  std::atomic<int> holders{2};

  void drop() {
    if (--holders == 0) delete this;
  }
};

namespace {

bool is_final(talkgen_job_state state) {
  return state == TALKGEN_JOB_SUCCEEDED || state == TALKGEN_JOB_FAILED || state == TALKGEN_JOB_CANCELLED;
}

void deliver_progress(Napi::Env env, Napi::Function fn, ProgressEvent* raw) {
  std::unique_ptr<ProgressEvent> event(raw);
  if (env == nullptr || fn.IsEmpty()) return;
  fn.Call({event->to_js(env)});
}

// On a Client worker thread.
bool on_progress(const talkgen_progress* p, void* user_data) {
  auto* job = static_cast<SubmittedJob*>(user_data);
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(job->mutex);
    if (job->finished) return true;
    if (job->progress) {
      auto event = std::make_unique<ProgressEvent>(ProgressEvent::from_c(*p));
      if (job->progress->NonBlockingCall(event.get(), deliver_progress) == napi_ok) event.release();
    }
    if (is_final(p->state)) {
      job->finished = last = true;
      if (job->progress) job->progress->Release();
      job->progress.reset();
    }
  }
  if (last) job->drop();
  return true;  // cancelling goes through talkgen_job_cancel
}

}  // namespace

// Waits for the job on libuv's thread pool.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, JobWrap* job, double timeout)
      : Napi::AsyncWorker(env, "talkgen.wait"), deferred_(Napi::Promise::Deferred::New(env)), job_(job),
        handle_(job->handle(env)), timeout_(timeout) {
    job_ref_ = Napi::Persistent(job_->Value());
    job_->owner_->worker_started();  // the client (and so this handle) stays until this wait ends
  }
  ~WaitWorker() override { talkgen_result_free(result_); }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = talkgen_job_wait(handle_, timeout_, &result_);
    if (status_ != TALKGEN_OK) message_ = talkgen_last_error();  // thread-local: read it on this thread
  }
  void OnOK() override {
    Napi::Env env = Env();
    const Napi::Value result = result_ ? result_to_js(env, *result_).As<Napi::Value>() : env.Null();
    finish(env);
    if (status_ == TALKGEN_OK) {
      deferred_.Resolve(result);
      return;
    }
    Napi::Error error = make_error(env, status_, message_);
    error.Set("result", result);  // null for a timeout: the job goes on
    error.Set("jobId", Napi::String::New(env, job_id_));
    deferred_.Reject(error.Value());
  }
  void OnError(const Napi::Error& e) override {
    finish(Env());
    deferred_.Reject(e.Value());
  }

 private:
  void finish(Napi::Env env) {
    job_id_ = job_->id_;
    ClientWrap* owner = job_->owner_;
    job_ref_.Reset();
    owner->worker_finished(env);
  }

  Napi::Promise::Deferred deferred_;
  JobWrap* job_;
  Napi::ObjectReference job_ref_;
  talkgen_job* handle_;
  double timeout_;
  talkgen_status status_ = TALKGEN_OK;
  std::string message_, job_id_;
  talkgen_result* result_ = nullptr;
};

Napi::Function JobWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeJob",
                     {InstanceAccessor<&JobWrap::id>("id"), InstanceMethod<&JobWrap::poll>("poll"),
                      InstanceMethod<&JobWrap::wait>("wait"), InstanceMethod<&JobWrap::cancel>("cancel")});
}

Napi::Object JobWrap::submit(Napi::Env env, ClientWrap* owner, talkgen_client* client, JobSpec spec,
                             const Napi::Value& progress) {
  auto* shared = new SubmittedJob;
  shared->spec = std::move(spec);
  if (progress.IsFunction()) {
    shared->progress = Napi::ThreadSafeFunction::New(env, progress.As<Napi::Function>(), "talkgen.progress", 0, 1);
  }
  const talkgen_job_params params = shared->spec.params();
  talkgen_job* job = nullptr;
  const talkgen_status status = talkgen_client_submit(client, &params, on_progress, shared, &job);
  if (status != TALKGEN_OK) {
    const std::string message = talkgen_last_error();
    if (shared->progress) shared->progress->Release();
    delete shared;  // refused: the library never calls back
    throw make_error(env, status, message);
  }
  const auto shared_value = Napi::External<SubmittedJob>::New(env, shared);
  Napi::Object object = env.GetInstanceData<AddonData>()->job_class.New({shared_value});
  JobWrap* self = JobWrap::Unwrap(object);
  self->job_ = job;
  self->id_ = talkgen_job_id(job);
  self->owner_ = owner;
  self->owner_ref_ = Napi::Persistent(owner->Value());
  owner->add_job(self);
  return object;
}

JobWrap::JobWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JobWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "a Job comes from Client#submit(job)");
  }
  shared_ = info[0].As<Napi::External<SubmittedJob>>().Data();
}

JobWrap::~JobWrap() {
  detach();
  if (owner_) owner_->remove_job(this);
  if (shared_) shared_->drop();
}

void JobWrap::detach() {
  talkgen_job_free(job_);  // releases the handle only: the job itself goes on (or was cancelled by close())
  job_ = nullptr;
}

void JobWrap::forget_owner() { owner_ = nullptr; }

talkgen_job* JobWrap::handle(Napi::Env env) const {
  if (!job_) throw make_error(env, TALKGEN_INVALID_ARGUMENT, "job " + id_ + ": its Client is closed");
  return job_;
}

bool JobWrap::cancel_job() {
  if (!job_) return false;
  return talkgen_job_cancel(job_) == TALKGEN_OK;
}

Napi::Value JobWrap::id(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), id_); }

Napi::Value JobWrap::poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  talkgen_progress p{};
  p.struct_size = sizeof(p);
  const talkgen_status status = talkgen_job_poll(handle(env), &p);
  if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
  return ProgressEvent::from_c(p).to_js(env);
}

Napi::Value JobWrap::wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double timeout = -1;  // until the job ends
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsNumber() || !(info[0].As<Napi::Number>().DoubleValue() >= 0)) {
      throw Napi::RangeError::New(env, "wait({timeout}): timeout must be a number of seconds >= 0 (leave it out to "
                                       "wait until the job ends)");
    }
    timeout = info[0].As<Napi::Number>().DoubleValue();
  }
  auto* worker = new WaitWorker(env, this, timeout);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value JobWrap::cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const talkgen_status status = talkgen_job_cancel(handle(env));
  if (status == TALKGEN_OK) return Napi::Boolean::New(env, true);
  if (status == TALKGEN_NOT_FOUND) return Napi::Boolean::New(env, false);  // already finished
  throw make_error(env, status, talkgen_last_error());
}

}  // namespace talkgen_node
