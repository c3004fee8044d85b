// C params -> C++ ClientOptions / Job, C++ progress and results -> their C structs (client_bridge.hpp).
#include "client_bridge.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "capi_support.hpp"
#include "struct_defaults.hpp"

using talkgen::ErrorCode;
using talkgen::fail;
using talkgen::capi::non_negative;

talkgen_client::talkgen_client(talkgen::ClientOptions options) : client(std::move(options)) {
  devices = client.devices().devices;
  for (const auto& name : devices) device_ptrs.push_back(name.c_str());
}

namespace talkgen::capi {
namespace {

// A result and everything its pointers point at, released together by talkgen_result_free. `c` comes first
// and the struct is standard-layout, so a talkgen_result* converts back to its ResultBox*.
struct ResultStorage {
  std::string job_id, error_message, output_path, resolution, quality, model_name;
  std::vector<std::string> devices;
  std::vector<const char*> device_ptrs;
  std::vector<std::uint8_t> mp4;
};
struct ResultBox {
  talkgen_result c;
  ResultStorage* storage;
};
static_assert(std::is_standard_layout<ResultBox>::value, "talkgen_result* must convert back to ResultBox*");

// 0 is "not given" for the optional numeric fields of talkgen_job_params; negative or NaN is an error.
std::optional<double> optional_positive(double value, const char* field) {
  non_negative(value, field);
  return value > 0 ? std::optional<double>(value) : std::nullopt;
}

// In-memory input: both pointer and size, or neither.
std::vector<std::uint8_t> bytes_of(const std::uint8_t* data, size_t size, const char* field) {
  if (!data && size > 0) {
    fail(ErrorCode::invalid_argument, "params.{}_data is NULL but params.{}_size is {}: give both or neither", field,
         field, size);
  }
  if (data && size == 0) {
    fail(ErrorCode::invalid_argument, "params.{}_data is set but params.{}_size is 0: pass the byte count", field,
         field);
  }
  return data ? std::vector<std::uint8_t>(data, data + size) : std::vector<std::uint8_t>{};
}

GenerationMode parse_mode(const char* mode) {
  const std::string m = mode ? mode : "streaming";
  if (m == "streaming") return GenerationMode::streaming;
  if (m == "clip") return GenerationMode::clip;
  fail(ErrorCode::invalid_argument, "params.mode is '{}' (expected \"streaming\" or \"clip\")", m);
}

ResultPtr new_result() {
  auto box = std::make_unique<ResultBox>();
  box->c = talkgen_result{};
  box->c.struct_size = sizeof(talkgen_result);
  box->c.estimated_sec = -1;
  box->storage = new ResultStorage();
  return ResultPtr(&box.release()->c);
}

ResultStorage& storage_of(talkgen_result* r) { return *reinterpret_cast<ResultBox*>(r)->storage; }

}  // namespace

talkgen_client_options client_options_defaults() {
  const ClientOptions d;
  talkgen_client_options o{};
  o.struct_size = sizeof(o);
  o.demo_seed = d.demo_seed;
  o.cpu_ranks = d.cpu_ranks;
  o.collective_timeout_sec = std::chrono::duration<double>(d.collective_timeout).count();
  o.max_attempts = d.retry.max_attempts;
  o.retry_base_delay_sec = std::chrono::duration<double>(d.retry.base_delay).count();
  o.retry_max_delay_sec = std::chrono::duration<double>(d.retry.max_delay).count();
  o.retry_jitter = d.retry.jitter;
  o.job_timeout_sec = std::chrono::duration<double>(d.job_timeout).count();
  o.multi_person_weights = d.multi_person_weights;
  return o;
}

// The string fields stay NULL: NULL is "the library's default" (quality included), decided in to_job().
talkgen_job_params job_params_defaults() {
  const GenerateOptions d;
  talkgen_job_params p{};
  p.struct_size = sizeof(p);
  p.seed = d.seed;
  p.color_correction = d.color_correction;
  p.crf = d.encoder.crf;
  return p;
}

talkgen_client& checked(talkgen_client* client) {
  if (!client) fail(ErrorCode::invalid_argument, "client is NULL: create one with talkgen_client_create()");
  return *client;
}
const talkgen_client& checked(const talkgen_client* client) {
  if (!client) fail(ErrorCode::invalid_argument, "client is NULL: create one with talkgen_client_create()");
  return *client;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

talkgen_client_options read_client_options(const talkgen_client_options* options) {
  return read_params(options, client_options_defaults(), "options", "talkgen_client_options");
}

talkgen_job_params read_job_params(const talkgen_job_params* params, const char* name) {
  return read_params(params, job_params_defaults(), name, "talkgen_job_params");
}

ClientOptions to_client_options(const talkgen_client_options& p) {
  ClientOptions o;
  if (p.model) o.model = p.model;
  if (p.model_dir) o.model_dir = p.model_dir;
  o.demo_seed = p.demo_seed;
  o.device = parse_device_policy(p.device ? p.device : "auto");
  if (!p.gpus && p.gpu_count > 0) {
    fail(ErrorCode::invalid_argument, "options.gpus is NULL but options.gpu_count is {}: give both or neither",
         p.gpu_count);
  }
  if (p.gpus) o.gpus.assign(p.gpus, p.gpus + p.gpu_count);
  o.cpu_ranks = p.cpu_ranks;
  o.collective_timeout = to_ms(non_negative(p.collective_timeout_sec, "options.collective_timeout_sec"));
  o.retry.max_attempts = p.max_attempts;
  o.retry.base_delay = to_ms(non_negative(p.retry_base_delay_sec, "options.retry_base_delay_sec"));
  o.retry.max_delay = to_ms(non_negative(p.retry_max_delay_sec, "options.retry_max_delay_sec"));
  o.retry.jitter = p.retry_jitter;
  o.job_timeout = to_ms(non_negative(p.job_timeout_sec, "options.job_timeout_sec"));
  if (!p.prices && p.price_count > 0) {
    fail(ErrorCode::invalid_argument, "options.prices is NULL but options.price_count is {}", p.price_count);
  }
  for (size_t i = 0; i < p.price_count; ++i) {
    if (!p.prices[i].gpu_type) fail(ErrorCode::invalid_argument, "options.prices[{}].gpu_type is NULL", i);
    o.prices.set(p.prices[i].gpu_type, p.prices[i].usd_per_gpu_hour);
  }
  if (p.calibration_directory) o.calibration_directory = p.calibration_directory;
  o.multi_person_weights = p.multi_person_weights;
  return o;
}

Job to_job(const talkgen_job_params& p) {
  Job job;
  GenerateOptions& g = job.generate;
  if (p.image_path) g.image_path = p.image_path;
  g.image_bytes = bytes_of(p.image_data, p.image_size, "image");
  if (p.video_path) g.video_path = p.video_path;
  if (p.audio_path) g.audio_path = p.audio_path;
  g.audio_bytes = bytes_of(p.audio_data, p.audio_size, "audio");
  if (p.text) g.speech_text = p.text;
  if (p.voice) g.speech.voice = p.voice;
  if (p.prompt) g.prompt = p.prompt;
  if (p.negative_prompt) g.negative_prompt = p.negative_prompt;
  if (p.resolution) g.resolution = parse_resolution(p.resolution);
  if (p.quality) g.quality = parse_quality(p.quality);
  g.mode = parse_mode(p.mode);
  g.seed = p.seed;
  if (p.steps < 0) fail(ErrorCode::invalid_argument, "params.steps is {} (expected >= 0; 0 = the profile's)", p.steps);
  if (p.steps > 0) g.steps = p.steps;
  g.shift = optional_positive(p.shift, "params.shift");
  g.text_guidance = optional_positive(p.text_guidance, "params.text_guidance");
  g.audio_guidance = optional_positive(p.audio_guidance, "params.audio_guidance");
  g.color_correction = p.color_correction;
  if (p.job_id) job.job_id = p.job_id;
  if (p.gpus < 0) fail(ErrorCode::invalid_argument, "params.gpus is {} (expected >= 0; 0 = automatic)", p.gpus);
  if (p.gpus > 0) job.gpus = p.gpus;
  job.budget_usd = optional_positive(p.budget_usd, "params.budget_usd");
  job.deadline_seconds = optional_positive(p.deadline_sec, "params.deadline_sec");
  job.max_duration_seconds = optional_positive(p.max_duration_sec, "params.max_duration_sec");
  if (auto timeout = optional_positive(p.timeout_sec, "params.timeout_sec")) job.timeout = to_ms(*timeout);
  if (p.output_path) g.output_path = p.output_path;
  g.encoder.crf = p.crf;
  if (p.preset) g.encoder.preset = p.preset;
  g.encoder.codec = p.use_nvenc ? VideoCodec::h264_nvenc : VideoCodec::libx264;
  if (p.audio2_path) g.audio2_path = p.audio2_path;
  g.audio2_bytes = bytes_of(p.audio2_data, p.audio2_size, "audio2");
  if (p.speaker_timing) g.speaker_timing = parse_speaker_timing(p.speaker_timing);
  if (p.has_speaker_boxes) {
    const auto box = [](const double (&b)[4]) { return PixelBox{b[0], b[1], b[2], b[3]}; };
    g.speaker1_box = box(p.speaker1_box);
    g.speaker2_box = box(p.speaker2_box);
  }
  return job;
}

talkgen_progress to_c_progress(const JobProgress& p, const char* job_id) {
  talkgen_progress c{};
  c.struct_size = sizeof(c);
  c.job_id = job_id;
  c.state = static_cast<talkgen_job_state>(p.state);
  c.attempt = p.attempt;
  c.gpus = p.gpus;
  c.stage = static_cast<talkgen_stage>(p.generate.stage);
  c.chunk = p.generate.chunk;
  c.chunks = p.generate.chunks;
  c.step = p.generate.step;
  c.steps = p.generate.steps;
  c.fraction = p.generate.fraction;
  c.elapsed_sec = p.generate.elapsed_seconds;
  c.eta_sec = p.generate.eta_seconds;
  return c;
}

JobCallbacks to_callbacks(talkgen_progress_fn progress, void* user_data) {
  JobCallbacks callbacks;
  if (!progress) return callbacks;
  callbacks.progress = [progress, user_data](const JobProgress& p) {
    const talkgen_progress c = to_c_progress(p, p.job_id.c_str());
    return progress(&c, user_data);
  };
  return callbacks;
}

ResultPtr make_result(JobResult r, Quality quality) {
  ResultPtr out = new_result();
  ResultStorage& s = storage_of(out.get());
  talkgen_result& c = *out;
  s.job_id = std::move(r.job_id);
  s.error_message = std::move(r.error_message);
  s.output_path = std::move(r.video.output_path);
  s.resolution = std::move(r.resolution);
  s.quality = to_string(quality);
  s.model_name = std::move(r.video.model_name);
  s.devices = std::move(r.devices);
  s.mp4 = std::move(r.video.mp4);
  for (const auto& d : s.devices) s.device_ptrs.push_back(d.c_str());

  c.job_id = s.job_id.c_str();
  c.state = static_cast<talkgen_job_state>(r.state);
  c.error_code = static_cast<talkgen_status>(r.error_code);
  if (!r.ok() && c.error_code == TALKGEN_OK) c.error_code = TALKGEN_INTERNAL;  // a finished failure has a cause
  c.error_message = s.error_message.c_str();
  c.attempts = r.attempts;
  c.output_path = s.output_path.empty() ? nullptr : s.output_path.c_str();
  if (r.ok() && s.output_path.empty()) c.video = talkgen_buffer{s.mp4.data(), s.mp4.size()};
  c.frames = r.video.frames;
  c.width = r.video.width;
  c.height = r.video.height;
  c.fps = r.video.fps;
  c.duration_sec = r.video.duration_seconds;
  c.chunks = r.video.chunks;
  c.seed = r.video.seed;
  c.resolution = s.resolution.c_str();
  c.quality = s.quality.c_str();
  c.steps = r.video.settings.steps;
  c.shift = r.video.settings.shift;
  c.text_guidance = r.video.settings.text_guidance;
  c.audio_guidance = r.video.settings.audio_guidance;
  c.untrained_model = r.video.untrained_model;
  c.model_name = s.model_name.c_str();
  c.gpus = r.gpus;
  c.devices = s.device_ptrs.data();
  c.device_count = s.device_ptrs.size();
  c.timings = talkgen_stage_timings{r.timings.queued,   r.timings.loading,  r.timings.preparing, r.timings.sampling,
                                    r.timings.decoding, r.timings.encoding, r.timings.total};
  c.estimated_sec = r.estimated_seconds.value_or(-1.0);
  c.actual_sec = r.actual_seconds;
  c.gpu_sec = r.gpu_seconds;
  c.cost_usd = r.cost_usd;
  return out;
}

ResultPtr refused_result(const talkgen_job_params* params, const Error& error) {
  JobResult r;
  if (params && params->struct_size >= offsetof(talkgen_job_params, job_id) + sizeof(const char*) &&
      params->job_id) {
    r.job_id = params->job_id;
  }
  r.state = JobState::failed;
  r.error_code = error.code();
  r.error_message = error.what();
  r.resolution = "";
  return make_result(std::move(r), default_quality);
}

void raise_job_error(const talkgen_result& r) {
  if (r.state != TALKGEN_JOB_SUCCEEDED) throw Error(static_cast<ErrorCode>(r.error_code), r.error_message);
}

}  // namespace talkgen::capi

extern "C" void talkgen_result_free(talkgen_result* result) {
  if (!result) return;
  auto* box = reinterpret_cast<talkgen::capi::ResultBox*>(result);
  delete box->storage;
  delete box;
}
