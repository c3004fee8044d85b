// The Node addon: N-API (node-addon-api) over talkgen's C ABI; the Client is in client_wrap.cpp. Work runs on libuv's thread pool
// (Napi::AsyncWorker) so the event loop never blocks; results come back as Promises.
#include <napi.h>

#include <optional>
#include <string>

#include "addon_data.hpp"
#include "client_wrap.hpp"
#include "job_wrap.hpp"
#include "js_values.hpp"
#include "log_sink.hpp"
#include "talkgen.h"

namespace {

using talkgen_node::make_error;
using talkgen_node::optional_string;

class EncodeWorker : public Napi::AsyncWorker {
 public:
  EncodeWorker(Napi::Env env, const Napi::Object& options)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {
    image_ = optional_string(options, "image");
    audio_ = optional_string(options, "audio");
    text_ = optional_string(options, "text");
    voice_ = optional_string(options, "voice");
    output_ = optional_string(options, "output");
    preset_ = optional_string(options, "preset");
    talkgen_encode_params_init_sized(&params_, sizeof(params_));
    if (options.Has("fps")) params_.fps = options.Get("fps").ToNumber().DoubleValue();
    if (options.Has("crf")) params_.crf = options.Get("crf").ToNumber().Int32Value();
    if (options.Has("nvenc")) params_.use_nvenc = options.Get("nvenc").ToBoolean();
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    params_.image_path = image_ ? image_->c_str() : nullptr;
    params_.audio_path = audio_ ? audio_->c_str() : nullptr;
    params_.text = text_ ? text_->c_str() : nullptr;
    params_.voice = voice_ ? voice_->c_str() : nullptr;
    params_.preset = preset_ ? preset_->c_str() : nullptr;
    status_ = output_ ? talkgen_encode_to_file(&params_, output_->c_str()) : talkgen_encode_to_buffer(&params_, &buffer_);
    if (status_ != TALKGEN_OK) message_ = talkgen_last_error();  // thread-local: read it on this thread
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (status_ != TALKGEN_OK) {
      deferred_.Reject(make_error(env, status_, message_).Value());
      return;
    }
    if (output_) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    auto result = Napi::Buffer<uint8_t>::Copy(env, buffer_.data, buffer_.size);
    talkgen_buffer_free(&buffer_);
    deferred_.Resolve(result);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<std::string> image_, audio_, text_, voice_, output_, preset_;
  talkgen_encode_params params_{};
  talkgen_status status_ = TALKGEN_OK;
  std::string message_;
  talkgen_buffer buffer_{nullptr, 0};
};

Napi::Value EncodeStill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "encodeStill(options): options must be an object");
  }
  auto* worker = new EncodeWorker(env, info[0].As<Napi::Object>());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, talkgen_version()));
  exports.Set("buildFeatures", Napi::String::New(env, talkgen_build_features()));
  exports.Set("encodeStill", Napi::Function::New(env, EncodeStill));
  exports.Set("NativeClient", talkgen_node::ClientWrap::define(env));
  exports.Set("abiVersion", Napi::Number::New(env, talkgen_abi_version()));
  exports.Set("setLogHandler", Napi::Function::New(env, talkgen_node::set_log_handler));
  exports.Set("setLogLevel", Napi::Function::New(env, talkgen_node::set_log_level));
  talkgen_node::add_log_cleanup_hook(env);
  auto* data = new talkgen_node::AddonData;
  data->job_class = Napi::Persistent(talkgen_node::JobWrap::define(env));
  env.SetInstanceData(data);  // deleted with the environment
  return exports;
}

}  // namespace

NODE_API_MODULE(talkgen, Init)
