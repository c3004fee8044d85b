// The params structs exactly as talkgen 0.1.0 (the first release) declared them, frozen: the smallest
// struct_size the library accepts, and the layout the 0.1 `talkgen_*_default()` symbols still return to
// programs built against that release. Each field is checked to sit where today's talkgen.h puts it, so the
// current structs only ever grow at their end.
#pragma once

#include <cstddef>
#include <cstdint>

#include "talkgen.h"

namespace talkgen::capi::v0_1 {

struct encode_params {
  size_t struct_size;
  const char* image_path;
  const char* audio_path;
  const char* text;
  const char* voice;
  double fps;
  int crf;
  const char* preset;
  bool use_nvenc;
};

struct client_options {
  size_t struct_size;
  const char* model;
  const char* model_dir;
  uint64_t demo_seed;
  const char* device;
  const int* gpus;
  size_t gpu_count;
  int cpu_ranks;
  double collective_timeout_sec;
  int max_attempts;
  double retry_base_delay_sec;
  double retry_max_delay_sec;
  double retry_jitter;
  double job_timeout_sec;
  const talkgen_price* prices;
  size_t price_count;
  const char* calibration_directory;
};

struct job_params {
  size_t struct_size;
  const char* image_path;
  const uint8_t* image_data;
  size_t image_size;
  const char* video_path;
  const char* audio_path;
  const uint8_t* audio_data;
  size_t audio_size;
  const char* text;
  const char* voice;
  const char* prompt;
  const char* negative_prompt;
  const char* resolution;
  const char* quality;
  const char* mode;
  int64_t seed;
  int steps;
  double shift, text_guidance, audio_guidance;
  double color_correction;
  const char* job_id;
  int gpus;
  double budget_usd;
  double deadline_sec;
  double max_duration_sec;
  double timeout_sec;
  const char* output_path;
  int crf;
  const char* preset;
  bool use_nvenc;
};

#define TALKGEN_SAME_OFFSET(frozen, current, field)                                                    \
  static_assert(offsetof(frozen, field) == offsetof(current, field) &&                                \
                    sizeof(frozen::field) == sizeof(current::field),                                 \
                "talkgen.h moved or resized " #current "::" #field " of the 0.1.0 ABI: fields may only be added " \
                "at the end of a struct")

TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, struct_size);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, image_path);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, audio_path);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, text);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, voice);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, fps);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, crf);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, preset);
TALKGEN_SAME_OFFSET(encode_params, talkgen_encode_params, use_nvenc);

TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, struct_size);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, model);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, model_dir);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, demo_seed);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, device);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, gpus);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, gpu_count);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, cpu_ranks);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, collective_timeout_sec);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, max_attempts);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, retry_base_delay_sec);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, retry_max_delay_sec);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, retry_jitter);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, job_timeout_sec);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, prices);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, price_count);
TALKGEN_SAME_OFFSET(client_options, talkgen_client_options, calibration_directory);

TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, struct_size);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, image_path);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, image_data);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, image_size);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, video_path);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, audio_path);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, audio_data);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, audio_size);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, text);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, voice);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, prompt);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, negative_prompt);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, resolution);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, quality);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, mode);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, seed);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, steps);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, shift);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, text_guidance);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, audio_guidance);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, color_correction);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, job_id);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, gpus);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, budget_usd);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, deadline_sec);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, max_duration_sec);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, timeout_sec);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, output_path);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, crf);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, preset);
TALKGEN_SAME_OFFSET(job_params, talkgen_job_params, use_nvenc);

#undef TALKGEN_SAME_OFFSET

static_assert(sizeof(encode_params) <= sizeof(talkgen_encode_params), "talkgen_encode_params shrank");
static_assert(sizeof(client_options) <= sizeof(talkgen_client_options), "talkgen_client_options shrank");
static_assert(sizeof(job_params) <= sizeof(talkgen_job_params), "talkgen_job_params shrank");

}  // namespace talkgen::capi::v0_1

namespace talkgen::capi {

/// sizeof the struct in talkgen 0.1.0: no caller has a smaller one.
template <typename Params>
constexpr size_t first_release_size();
template <>
constexpr size_t first_release_size<talkgen_encode_params>() { return sizeof(v0_1::encode_params); }
template <>
constexpr size_t first_release_size<talkgen_client_options>() { return sizeof(v0_1::client_options); }
template <>
constexpr size_t first_release_size<talkgen_job_params>() { return sizeof(v0_1::job_params); }

}  // namespace talkgen::capi
