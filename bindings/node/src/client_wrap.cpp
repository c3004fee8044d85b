#include "client_wrap.hpp"

#include <cstdint>
#include <utility>

#include "job_spec.hpp"
#include "job_wrap.hpp"
#include "js_values.hpp"
#include "plan.hpp"

namespace talkgen_node {
namespace {

talkgen_client_options client_options(const Napi::Object& o, std::vector<int>& gpus,
                                      std::vector<std::string>& price_types, std::vector<talkgen_price>& prices,
                                      std::vector<std::string>& strings) {
  talkgen_client_options c{};
  talkgen_client_options_init_sized(&c, sizeof(c));  // this addon's struct size: the library fills what it knows
  strings.reserve(4);  // c_str() pointers below must not move
  auto keep = [&](const char* key) -> const char* {
    auto s = optional_string(o, key);
    if (!s) return nullptr;
    strings.push_back(std::move(*s));
    return strings.back().c_str();
  };
  c.model = keep("model");
  c.model_dir = keep("modelDir");
  c.device = keep("device");
  c.calibration_directory = keep("calibrationDirectory");
  if (auto v = optional_number(o, "demoSeed")) c.demo_seed = static_cast<std::uint64_t>(*v);
  c.multi_person_weights = optional_bool(o, "multiPersonWeights").value_or(false);
  if (has(o, "gpus")) {
    if (!o.Get("gpus").IsArray()) throw Napi::TypeError::New(o.Env(), "gpus must be an array of device indices");
    const auto array = o.Get("gpus").As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      if (!array.Get(i).IsNumber()) throw Napi::TypeError::New(o.Env(), "gpus must be an array of device indices");
      gpus.push_back(array.Get(i).As<Napi::Number>().Int32Value());
    }
    c.gpus = gpus.empty() ? nullptr : gpus.data();
    c.gpu_count = gpus.size();
  }
  if (auto v = optional_number(o, "cpuRanks")) c.cpu_ranks = static_cast<int>(*v);
  if (auto v = optional_number(o, "collectiveTimeoutSeconds")) c.collective_timeout_sec = *v;
  if (auto v = optional_number(o, "maxAttempts")) c.max_attempts = static_cast<int>(*v);
  if (auto v = optional_number(o, "retryBaseDelaySeconds")) c.retry_base_delay_sec = *v;
  if (auto v = optional_number(o, "retryMaxDelaySeconds")) c.retry_max_delay_sec = *v;
  if (auto v = optional_number(o, "retryJitter")) c.retry_jitter = *v;
  c.job_timeout_sec = positive_or_zero(o, "jobTimeoutSeconds");
  if (has(o, "prices")) {
    if (!o.Get("prices").IsObject()) throw Napi::TypeError::New(o.Env(), "prices must be an object {gpuType: usdPerHour}");
    const auto table = o.Get("prices").As<Napi::Object>();
    const auto names = table.GetPropertyNames();
    price_types.reserve(names.Length());
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).ToString().Utf8Value();
      if (!table.Get(name).IsNumber()) throw Napi::TypeError::New(o.Env(), "prices." + name + " must be a number");
      price_types.push_back(name);
      prices.push_back(talkgen_price{nullptr, table.Get(name).As<Napi::Number>().DoubleValue()});
    }
    for (size_t i = 0; i < prices.size(); ++i) prices[i].gpu_type = price_types[i].c_str();
    c.prices = prices.empty() ? nullptr : prices.data();
    c.price_count = prices.size();
  }
  return c;
}

// Runs one job (generate) or several (generateBatch) on the thread pool; progress events are queued to the
// main thread in order.
class GenerateWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
 public:
  // Nothing here throws: the caller has checked the handle and registered the job ids (`flags`).
  GenerateWorker(Napi::Env env, ClientWrap* owner, talkgen_client* client, std::vector<JobSpec> jobs, JobFlags flags,
                 bool batch, Napi::Value progress)
      : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "talkgen.generate"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        client_(client),
        jobs_(std::move(jobs)),
        batch_(batch),
        flags_(std::move(flags)),
        results_(jobs_.size(), nullptr) {
    if (progress.IsFunction()) progress_fn_ = Napi::Persistent(progress.As<Napi::Function>());
    owner_ref_ = Napi::Persistent(owner_->Value());  // keeps the client alive while the job runs
    owner_->worker_started();
  }
  ~GenerateWorker() override {
    for (talkgen_result* r : results_) talkgen_result_free(r);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    progress_ = &progress;
    std::vector<talkgen_job_params> params;
    for (const JobSpec& job : jobs_) params.push_back(job.params());
    if (!batch_) {
      status_ = talkgen_client_generate(client_, &params[0], on_progress, this, &results_[0]);
    } else {
      std::vector<const talkgen_job_params*> pointers;
      for (const auto& p : params) pointers.push_back(&p);
      status_ = talkgen_client_generate_batch(client_, pointers.data(), pointers.size(), on_progress, this,
                                              results_.data());
    }
    if (status_ != TALKGEN_OK) message_ = talkgen_last_error();  // thread-local: read it on this thread
    progress_ = nullptr;
  }

  void OnProgress(const ProgressEvent* events, size_t count) override {
    if (progress_fn_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    for (size_t i = 0; i < count; ++i) progress_fn_.Call({events[i].to_js(Env())});
  }

  void OnOK() override {
    Napi::Env env = Env();
    finish(env);
    if (batch_) {
      if (status_ != TALKGEN_OK) {
        deferred_.Reject(make_error(env, status_, message_).Value());
        return;
      }
      Napi::Array out = Napi::Array::New(env, results_.size());
      for (size_t i = 0; i < results_.size(); ++i) out.Set(static_cast<uint32_t>(i), result_to_js(env, *results_[i]));
      deferred_.Resolve(out);
      return;
    }
    const Napi::Value result = results_[0] ? result_to_js(env, *results_[0]).As<Napi::Value>() : env.Null();
    if (status_ == TALKGEN_OK) {
      deferred_.Resolve(result);
      return;
    }
    Napi::Error error = make_error(env, status_, message_);
    error.Set("result", result);
    error.Set("jobId", jobs_[0].job_id ? Napi::String::New(env, *jobs_[0].job_id).As<Napi::Value>() : env.Null());
    deferred_.Reject(error.Value());
  }

  void OnError(const Napi::Error& e) override {
    finish(Env());
    deferred_.Reject(e.Value());
  }

 private:
  // On a Client worker thread: forward the event, then honour cancel() / close() of this job.
  static bool on_progress(const talkgen_progress* p, void* user_data) {
    auto* self = static_cast<GenerateWorker*>(user_data);
    if (!self->progress_fn_.IsEmpty() && self->progress_) {
      const ProgressEvent event = ProgressEvent::from_c(*p);
      self->progress_->Send(&event, 1);
    }
    const auto flag = self->flags_.find(p->job_id);
    return flag == self->flags_.end() || !flag->second->load();
  }

  void finish(Napi::Env env) {
    for (const auto& [id, flag] : flags_) owner_->end_job(id);
    owner_->worker_finished(env);
    owner_ref_.Reset();
  }

  Napi::Promise::Deferred deferred_;
  ClientWrap* owner_;
  Napi::ObjectReference owner_ref_;
  Napi::FunctionReference progress_fn_;
  talkgen_client* client_;
  std::vector<JobSpec> jobs_;
  bool batch_;
  JobFlags flags_;  // read-only while Execute runs
  const ExecutionProgress* progress_ = nullptr;
  std::vector<talkgen_result*> results_;
  talkgen_status status_ = TALKGEN_OK;
  std::string message_;
};

class PreloadWorker : public Napi::AsyncWorker {
 public:
  PreloadWorker(Napi::Env env, ClientWrap* owner, talkgen_client* client)
      : Napi::AsyncWorker(env, "talkgen.preload"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        client_(client) {
    owner_ref_ = Napi::Persistent(owner_->Value());
    owner_->worker_started();
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = talkgen_client_preload(client_);
    if (status_ != TALKGEN_OK) message_ = talkgen_last_error();
  }
  void OnOK() override {
    owner_->worker_finished(Env());
    owner_ref_.Reset();
    if (status_ == TALKGEN_OK) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(make_error(Env(), status_, message_).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  ClientWrap* owner_;
  Napi::ObjectReference owner_ref_;
  talkgen_client* client_;
  talkgen_status status_ = TALKGEN_OK;
  std::string message_;
};

std::vector<JobSpec> job_specs(const Napi::Value& value, bool batch) {
  std::vector<JobSpec> jobs;
  if (!batch) {
    if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), "generate(job): job must be an object");
    jobs.push_back(JobSpec::from_js(value.As<Napi::Object>()));
  } else {
    if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "generateBatch(jobs): jobs must be an array");
    const auto array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      if (!array.Get(i).IsObject()) throw Napi::TypeError::New(value.Env(), "generateBatch(jobs): every job must be an object");
      jobs.push_back(JobSpec::from_js(array.Get(i).As<Napi::Object>()));
    }
  }
  for (const JobSpec& job : jobs) {
    if (!job.job_id) throw Napi::TypeError::New(value.Env(), "every job needs a jobId (index.js makes one)");
  }
  return jobs;
}

}  // namespace

Napi::Function ClientWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeClient",
                     {InstanceMethod<&ClientWrap::generate>("generate"),
                      InstanceMethod<&ClientWrap::generate_batch>("generateBatch"),
                      InstanceMethod<&ClientWrap::submit>("submit"), InstanceMethod<&ClientWrap::plan>("plan"),
                      InstanceMethod<&ClientWrap::cancel>("cancel"), InstanceMethod<&ClientWrap::stats>("stats"),
                      InstanceMethod<&ClientWrap::reset_stats>("resetStats"),
                      InstanceMethod<&ClientWrap::devices>("devices"),
                      InstanceMethod<&ClientWrap::preload>("preload"), InstanceMethod<&ClientWrap::close>("close")});
}

ClientWrap::ClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClientWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new Client(options): options must be an object");
  std::vector<int> gpus;
  std::vector<std::string> price_types, strings;
  std::vector<talkgen_price> prices;
  const talkgen_client_options options = client_options(info[0].As<Napi::Object>(), gpus, price_types, prices, strings);
  const talkgen_status status = talkgen_client_create(&options, &client_);
  if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
}

ClientWrap::~ClientWrap() {
  // Garbage-collected (no worker or job object holds it: they keep a reference), or the environment is ending.
  for (JobWrap* job : jobs_) {
    job->detach();
    job->forget_owner();
  }
  talkgen_client_free(client_);
}

talkgen_client* ClientWrap::handle(Napi::Env env) {
  if (closed_ || !client_) {
    throw make_error(env, TALKGEN_INVALID_ARGUMENT, "this talkgen Client is closed: make a new one");
  }
  return client_;
}

JobFlags ClientWrap::begin_jobs(Napi::Env env, const std::vector<JobSpec>& jobs) {
  JobFlags flags;
  for (const JobSpec& job : jobs) {
    const std::string& id = *job.job_id;
    if (in_flight_.count(id) || flags.count(id)) {
      throw make_error(env, TALKGEN_INVALID_ARGUMENT,
                       "job id '" + id + "' is already queued or running: give each job its own jobId");
    }
    flags[id] = std::make_shared<std::atomic<bool>>(false);
  }
  in_flight_.insert(flags.begin(), flags.end());
  return flags;
}

void ClientWrap::end_job(const std::string& job_id) { in_flight_.erase(job_id); }

void ClientWrap::worker_finished(Napi::Env env) {
  --workers_;
  if (closed_ && workers_ == 0) release(env);
}

void ClientWrap::release(Napi::Env env) {
  for (JobWrap* job : jobs_) job->detach();  // handles go before the client
  talkgen_client_free(client_);
  client_ = nullptr;
  for (auto& waiter : close_waiters_) waiter.Resolve(env.Undefined());
  close_waiters_.clear();
}

Napi::Value ClientWrap::start(const Napi::CallbackInfo& info, bool batch) {
  Napi::Env env = info.Env();
  talkgen_client* client = handle(env);
  std::vector<JobSpec> jobs = job_specs(info[0], batch);
  JobFlags flags = begin_jobs(env, jobs);
  auto* worker = new GenerateWorker(env, this, client, std::move(jobs), std::move(flags), batch, info[1]);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value ClientWrap::generate(const Napi::CallbackInfo& info) { return start(info, false); }

Napi::Value ClientWrap::submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  talkgen_client* client = handle(env);
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "submit(job): job must be an object");
  JobSpec spec = JobSpec::from_js(info[0].As<Napi::Object>());
  return JobWrap::submit(env, this, client, std::move(spec), info.Length() > 1 ? info[1] : env.Undefined());
}

Napi::Value ClientWrap::plan(const Napi::CallbackInfo& info) { return plan_job(info, handle(info.Env())); }
Napi::Value ClientWrap::generate_batch(const Napi::CallbackInfo& info) { return start(info, true); }

Napi::Value ClientWrap::cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "cancel(jobId): jobId must be a string");
  const std::string id = info[0].As<Napi::String>().Utf8Value();
  const auto it = in_flight_.find(id);
  const bool known = it != in_flight_.end();
  if (known) it->second->store(true);  // reaches the job even before the library has it
  if (!client_) return Napi::Boolean::New(env, known);
  const talkgen_status status = talkgen_client_cancel(client_, id.c_str());
  if (status == TALKGEN_OK) return Napi::Boolean::New(env, true);
  if (status == TALKGEN_NOT_FOUND) return Napi::Boolean::New(env, known);
  throw make_error(env, status, talkgen_last_error());
}

Napi::Value ClientWrap::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  talkgen_stats s{};
  s.struct_size = sizeof(s);
  const talkgen_status status = talkgen_client_stats(handle(env), &s);
  if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
  Napi::Object o = Napi::Object::New(env);
  o.Set("jobs", static_cast<double>(s.jobs));
  o.Set("succeeded", static_cast<double>(s.succeeded));
  o.Set("failed", static_cast<double>(s.failed));
  o.Set("cancelled", static_cast<double>(s.cancelled));
  o.Set("retries", static_cast<double>(s.retries));
  o.Set("successRate", s.success_rate);
  o.Set("meanSeconds", s.mean_sec);
  o.Set("p50Seconds", s.p50_sec);
  o.Set("p95Seconds", s.p95_sec);
  o.Set("gpuSeconds", s.gpu_sec);
  o.Set("costUsd", s.cost_usd);
  o.Set("queued", static_cast<double>(s.queued));
  o.Set("running", static_cast<double>(s.running));
  return o;
}

Napi::Value ClientWrap::reset_stats(const Napi::CallbackInfo& info) {
  const talkgen_status status = talkgen_client_reset_stats(handle(info.Env()));
  if (status != TALKGEN_OK) throw make_error(info.Env(), status, talkgen_last_error());
  return info.Env().Undefined();
}

Napi::Value ClientWrap::devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  talkgen_device_pool pool{};
  pool.struct_size = sizeof(pool);
  const talkgen_status status = talkgen_client_devices(handle(env), &pool);
  if (status != TALKGEN_OK) throw make_error(env, status, talkgen_last_error());
  Napi::Object o = Napi::Object::New(env);
  o.Set("policy", pool.device_policy);
  o.Set("cuda", pool.cuda);
  Napi::Array devices = Napi::Array::New(env, pool.device_count);
  for (size_t i = 0; i < pool.device_count; ++i) devices.Set(static_cast<uint32_t>(i), pool.devices[i]);
  o.Set("devices", devices);
  o.Set("gpuName", pool.gpu_name);
  o.Set("gpuType", pool.gpu_type);
  o.Set("note", pool.note);
  o.Set("untrainedModel", pool.untrained_model);
  return o;
}

Napi::Value ClientWrap::preload(const Napi::CallbackInfo& info) {
  auto* worker = new PreloadWorker(info.Env(), this, handle(info.Env()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value ClientWrap::close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto waiter = Napi::Promise::Deferred::New(env);
  Napi::Promise promise = waiter.Promise();
  if (!client_) {
    closed_ = true;
    waiter.Resolve(env.Undefined());
    return promise;
  }
  close_waiters_.push_back(waiter);
  if (closed_) return promise;  // already closing
  closed_ = true;
  for (const auto& [id, flag] : in_flight_) {
    flag->store(true);
    talkgen_client_cancel(client_, id.c_str());  // not_found: not submitted yet; its flag stops it
  }
  for (JobWrap* job : jobs_) job->cancel_job();
  if (workers_ == 0) release(env);
  return promise;
}

}  // namespace talkgen_node
