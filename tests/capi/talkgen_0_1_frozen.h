/*
 * talkgen.h as released in talkgen 0.1.0, frozen: the structs and prototypes a program built against that
 * release was compiled with (only what abi_0_1_caller_test.cpp uses), plus the two prototypes such a
 * program needs to use the 0.2 initialisers with its own, 0.1-sized structs. Do not update it when
 * talkgen.h changes: it is the old program. The sizes and offsets below are the 0.1.0 layout on LP64
 * (Linux / macOS, 64-bit), written out as numbers so that a change of talkgen.h cannot move them.
 *
 * In C++ everything is in namespace talkgen_0_1, so these types do not clash with today's in the program.
 */
#ifndef TALKGEN_0_1_FROZEN_H
#define TALKGEN_0_1_FROZEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define TALKGEN_0_1_CHECK(condition) static_assert(condition, #condition)
namespace talkgen_0_1 {
extern "C" {
#else
#define TALKGEN_0_1_CHECK(condition) _Static_assert(condition, #condition)
#endif

typedef enum talkgen_status {
  TALKGEN_OK = 0,
  TALKGEN_INVALID_ARGUMENT = 1,
  TALKGEN_NOT_FOUND = 2,
  TALKGEN_UNSUPPORTED = 3,
  TALKGEN_CHECKPOINT_MISMATCH = 4,
  TALKGEN_OUT_OF_MEMORY = 5,
  TALKGEN_DEVICE_UNAVAILABLE = 6,
  TALKGEN_CANCELLED = 7,
  TALKGEN_TIMEOUT = 8,
  TALKGEN_IO_ERROR = 9,
  TALKGEN_INTERNAL = 10
} talkgen_status;

const char* talkgen_version(void);
const char* talkgen_last_error(void);

typedef struct talkgen_buffer {
  uint8_t* data;
  size_t size;
} talkgen_buffer;

typedef struct talkgen_encode_params {
  size_t struct_size;
  const char* image_path;
  const char* audio_path;
  const char* text;
  const char* voice;
  double fps;
  int crf;
  const char* preset;
  bool use_nvenc;
} talkgen_encode_params;

talkgen_encode_params talkgen_encode_params_default(void);

typedef struct talkgen_client talkgen_client;

typedef struct talkgen_price {
  const char* gpu_type;
  double usd_per_gpu_hour;
} talkgen_price;

typedef struct talkgen_client_options {
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
} talkgen_client_options;

talkgen_client_options talkgen_client_options_default(void);
talkgen_status talkgen_client_create(const talkgen_client_options* options, talkgen_client** client_out);
void talkgen_client_free(talkgen_client* client);

typedef struct talkgen_job_params {
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
} talkgen_job_params;

talkgen_job_params talkgen_job_params_default(void);

typedef enum talkgen_job_state {
  TALKGEN_JOB_QUEUED = 0,
  TALKGEN_JOB_RUNNING = 1,
  TALKGEN_JOB_RETRYING = 2,
  TALKGEN_JOB_SUCCEEDED = 3,
  TALKGEN_JOB_FAILED = 4,
  TALKGEN_JOB_CANCELLED = 5
} talkgen_job_state;

typedef enum talkgen_stage {
  TALKGEN_STAGE_PREPARING = 0,
  TALKGEN_STAGE_SAMPLING = 1,
  TALKGEN_STAGE_DECODING = 2,
  TALKGEN_STAGE_ENCODING = 3,
  TALKGEN_STAGE_DONE = 4
} talkgen_stage;

typedef struct talkgen_progress {
  size_t struct_size;
  const char* job_id;
  talkgen_job_state state;
  int attempt;
  int gpus;
  talkgen_stage stage;
  int chunk, chunks;
  int step, steps;
  double fraction;
  double elapsed_sec;
  double eta_sec;
} talkgen_progress;

typedef bool (*talkgen_progress_fn)(const talkgen_progress* progress, void* user_data);

typedef struct talkgen_stage_timings {
  double queued_sec;
  double loading_sec;
  double preparing_sec;
  double sampling_sec;
  double decoding_sec;
  double encoding_sec;
  double total_sec;
} talkgen_stage_timings;

typedef struct talkgen_result {
  size_t struct_size;
  const char* job_id;
  talkgen_job_state state;
  talkgen_status error_code;
  const char* error_message;
  int attempts;
  const char* output_path;
  talkgen_buffer video;
  int frames, width, height;
  double fps;
  double duration_sec;
  int chunks;
  int64_t seed;
  const char* resolution;
  const char* quality;
  int steps;
  double shift, text_guidance, audio_guidance;
  bool untrained_model;
  const char* model_name;
  int gpus;
  const char* const* devices;
  size_t device_count;
  talkgen_stage_timings timings;
  double estimated_sec;
  double actual_sec;
  double gpu_sec;
  double cost_usd;
} talkgen_result;

void talkgen_result_free(talkgen_result* result);
talkgen_status talkgen_client_generate(talkgen_client* client, const talkgen_job_params* params,
                                       talkgen_progress_fn progress, void* user_data, talkgen_result** result_out);

/* Not in 0.1.0: the 0.2 initialisers, called with this program's 0.1-sized structs. */
talkgen_status talkgen_client_options_init_sized(talkgen_client_options* p, size_t caller_size);
talkgen_status talkgen_job_params_init_sized(talkgen_job_params* p, size_t caller_size);

/* The 0.1.0 layout on LP64. */
TALKGEN_0_1_CHECK(sizeof(void*) == 8 && sizeof(size_t) == 8 && sizeof(int) == 4 && sizeof(bool) == 1);
TALKGEN_0_1_CHECK(sizeof(talkgen_encode_params) == 72);
TALKGEN_0_1_CHECK(offsetof(talkgen_encode_params, fps) == 40);
TALKGEN_0_1_CHECK(offsetof(talkgen_encode_params, crf) == 48);
TALKGEN_0_1_CHECK(offsetof(talkgen_encode_params, use_nvenc) == 64);
TALKGEN_0_1_CHECK(sizeof(talkgen_client_options) == 136);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, demo_seed) == 24);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, cpu_ranks) == 56);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, collective_timeout_sec) == 64);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, max_attempts) == 72);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, job_timeout_sec) == 104);
TALKGEN_0_1_CHECK(offsetof(talkgen_client_options, calibration_directory) == 128);
TALKGEN_0_1_CHECK(sizeof(talkgen_job_params) == 248);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, audio_data) == 48);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, audio_size) == 56);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, quality) == 104);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, mode) == 112);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, seed) == 120);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, color_correction) == 160);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, job_id) == 168);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, output_path) == 216);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, crf) == 224);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, preset) == 232);
TALKGEN_0_1_CHECK(offsetof(talkgen_job_params, use_nvenc) == 240);
TALKGEN_0_1_CHECK(sizeof(talkgen_progress) == 72);
TALKGEN_0_1_CHECK(sizeof(talkgen_result) == 288);
TALKGEN_0_1_CHECK(offsetof(talkgen_result, frames) == 64);
TALKGEN_0_1_CHECK(offsetof(talkgen_result, quality) == 120);
TALKGEN_0_1_CHECK(offsetof(talkgen_result, timings) == 200);
TALKGEN_0_1_CHECK(offsetof(talkgen_result, cost_usd) == 280);

#ifdef __cplusplus
}  /* extern "C" */
}  /* namespace talkgen_0_1 */
#endif

#undef TALKGEN_0_1_CHECK

#endif /* TALKGEN_0_1_FROZEN_H */
