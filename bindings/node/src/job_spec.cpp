#include "job_spec.hpp"

#include <cmath>
#include <cstdint>

namespace talkgen_node {

namespace {

// [x0, y0, x1, y1] in pixels, or nothing.
std::optional<std::array<double, 4>> optional_box(const Napi::Object& o, const char* key) {
  if (!has(o, key)) return std::nullopt;
  const auto v = o.Get(key);
  const auto fail = [&] {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be [x0, y0, x1, y1] in pixels");
  };
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 4) fail();
  std::array<double, 4> box{};
  for (uint32_t i = 0; i < 4; ++i) {
    const auto x = v.As<Napi::Array>().Get(i);
    if (!x.IsNumber()) fail();
    box[i] = x.As<Napi::Number>().DoubleValue();
  }
  return box;
}

}  // namespace

JobSpec JobSpec::from_js(const Napi::Object& o) {
  JobSpec s;
  s.image = optional_source(o, "image");
  s.audio = optional_source(o, "audio");
  s.video = optional_string(o, "video");
  s.text = optional_string(o, "text");
  s.voice = optional_string(o, "voice");
  s.prompt = optional_string(o, "prompt");
  s.negative_prompt = optional_string(o, "negativePrompt");
  s.resolution = optional_string(o, "resolution");
  s.quality = optional_string(o, "quality");
  s.mode = optional_string(o, "mode");
  s.job_id = optional_string(o, "jobId");
  s.output = optional_string(o, "output");
  s.preset = optional_string(o, "preset");
  s.seed = optional_number(o, "seed");
  if (s.seed && (*s.seed != std::floor(*s.seed) || std::fabs(*s.seed) > 9007199254740991.0)) {
    throw Napi::RangeError::New(o.Env(), "seed must be a safe integer");
  }
  s.color_correction = optional_number(o, "colorCorrection");
  s.crf = optional_number(o, "crf");
  s.steps = positive_or_zero(o, "steps");
  s.shift = positive_or_zero(o, "shift");
  s.text_guidance = positive_or_zero(o, "textGuidance");
  s.audio_guidance = positive_or_zero(o, "audioGuidance");
  s.gpus = positive_or_zero(o, "gpus");
  s.budget_usd = positive_or_zero(o, "budgetUsd");
  s.deadline = positive_or_zero(o, "deadlineSeconds");
  s.max_duration = positive_or_zero(o, "maxDurationSeconds");
  s.timeout = positive_or_zero(o, "timeoutSeconds");
  s.nvenc = optional_bool(o, "nvenc").value_or(false);
  s.audio2 = optional_source(o, "audio2");
  s.speaker_timing = optional_string(o, "speakerTiming");
  s.speaker1_box = optional_box(o, "speaker1Box");
  s.speaker2_box = optional_box(o, "speaker2Box");
  if (s.speaker1_box.has_value() != s.speaker2_box.has_value())
    throw Napi::TypeError::New(o.Env(), "speaker1Box and speaker2Box: give both or neither");
  return s;
}

talkgen_job_params JobSpec::params() const {
  talkgen_job_params p{};
  talkgen_job_params_init_sized(&p, sizeof(p));  // this addon's struct size: the library fills what it knows
  p.image_path = c_str(image.path);
  p.image_data = image.bytes.empty() ? nullptr : image.bytes.data();
  p.image_size = image.bytes.size();
  p.video_path = c_str(video);
  p.audio_path = c_str(audio.path);
  p.audio_data = audio.bytes.empty() ? nullptr : audio.bytes.data();
  p.audio_size = audio.bytes.size();
  p.text = c_str(text);
  p.voice = c_str(voice);
  p.prompt = c_str(prompt);
  p.negative_prompt = c_str(negative_prompt);
  p.resolution = c_str(resolution);
  p.quality = c_str(quality);
  p.mode = c_str(mode);
  if (seed) p.seed = static_cast<std::int64_t>(*seed);
  p.steps = static_cast<int>(steps);
  p.shift = shift;
  p.text_guidance = text_guidance;
  p.audio_guidance = audio_guidance;
  if (color_correction) p.color_correction = *color_correction;
  p.job_id = c_str(job_id);
  p.gpus = static_cast<int>(gpus);
  p.budget_usd = budget_usd;
  p.deadline_sec = deadline;
  p.max_duration_sec = max_duration;
  p.timeout_sec = timeout;
  p.output_path = c_str(output);
  if (crf) p.crf = static_cast<int>(*crf);
  p.preset = c_str(preset);
  p.use_nvenc = nvenc;
  p.audio2_path = c_str(audio2.path);
  p.audio2_data = audio2.bytes.empty() ? nullptr : audio2.bytes.data();
  p.audio2_size = audio2.bytes.size();
  p.speaker_timing = c_str(speaker_timing);
  if (speaker1_box && speaker2_box) {
    p.has_speaker_boxes = true;
    for (int i = 0; i < 4; ++i) {
      p.speaker1_box[i] = (*speaker1_box)[i];
      p.speaker2_box[i] = (*speaker2_box)[i];
    }
  }
  return p;
}

namespace {

Napi::Value string_or_null(Napi::Env env, const char* s) {
  return s ? Napi::String::New(env, s) : env.Null();
}

}  // namespace

Napi::Object result_to_js(Napi::Env env, const talkgen_result& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("jobId", Napi::String::New(env, r.job_id));
  o.Set("state", Napi::String::New(env, talkgen_job_state_name(r.state)));
  o.Set("errorCode", r.error_code == TALKGEN_OK ? env.Null() : Napi::String::New(env, talkgen_status_name(r.error_code)));
  o.Set("errorMessage", Napi::String::New(env, r.error_message));
  o.Set("attempts", r.attempts);
  o.Set("output", string_or_null(env, r.output_path));
  o.Set("video", r.video.data ? Napi::Buffer<uint8_t>::Copy(env, r.video.data, r.video.size).As<Napi::Value>()
                              : env.Null());
  o.Set("frames", r.frames);
  o.Set("width", r.width);
  o.Set("height", r.height);
  o.Set("fps", r.fps);
  o.Set("durationSeconds", r.duration_sec);
  o.Set("chunks", r.chunks);
  o.Set("seed", static_cast<double>(r.seed));
  o.Set("resolution", Napi::String::New(env, r.resolution));
  o.Set("quality", Napi::String::New(env, r.quality));
  o.Set("steps", r.steps);
  o.Set("shift", r.shift);
  o.Set("textGuidance", r.text_guidance);
  o.Set("audioGuidance", r.audio_guidance);
  o.Set("untrainedModel", r.untrained_model);
  o.Set("modelName", Napi::String::New(env, r.model_name));
  o.Set("gpus", r.gpus);
  Napi::Array devices = Napi::Array::New(env, r.device_count);
  for (size_t i = 0; i < r.device_count; ++i) devices.Set(static_cast<uint32_t>(i), r.devices[i]);
  o.Set("devices", devices);
  Napi::Object t = Napi::Object::New(env);
  t.Set("queued", r.timings.queued_sec);
  t.Set("loading", r.timings.loading_sec);
  t.Set("preparing", r.timings.preparing_sec);
  t.Set("sampling", r.timings.sampling_sec);
  t.Set("decoding", r.timings.decoding_sec);
  t.Set("encoding", r.timings.encoding_sec);
  t.Set("total", r.timings.total_sec);
  o.Set("timings", t);
  o.Set("estimatedSeconds", r.estimated_sec >= 0 ? Napi::Number::New(env, r.estimated_sec).As<Napi::Value>()
                                                 : env.Null());
  o.Set("actualSeconds", r.actual_sec);
  o.Set("gpuSeconds", r.gpu_sec);
  o.Set("costUsd", r.cost_usd);
  return o;
}

ProgressEvent ProgressEvent::from_c(const talkgen_progress& p) {
  ProgressEvent e;
  e.job_id = p.job_id;
  e.state = p.state;
  e.stage = p.stage;
  e.attempt = p.attempt;
  e.gpus = p.gpus;
  e.chunk = p.chunk;
  e.chunks = p.chunks;
  e.step = p.step;
  e.steps = p.steps;
  e.fraction = p.fraction;
  e.elapsed = p.elapsed_sec;
  e.eta = p.eta_sec;
  return e;
}

Napi::Object ProgressEvent::to_js(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  o.Set("jobId", job_id);
  o.Set("state", talkgen_job_state_name(state));
  o.Set("attempt", attempt);
  o.Set("gpus", gpus);
  o.Set("stage", talkgen_stage_name(stage));
  o.Set("chunk", chunk);
  o.Set("chunks", chunks);
  o.Set("step", step);
  o.Set("steps", steps);
  o.Set("fraction", fraction);
  o.Set("elapsedSeconds", elapsed);
  o.Set("etaSeconds", eta >= 0 ? Napi::Number::New(env, eta).As<Napi::Value>() : env.Null());
  return o;
}

}  // namespace talkgen_node
