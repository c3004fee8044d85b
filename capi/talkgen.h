/*
 * talkgen.h — the C ABI of talkgen: portrait + speech -> lip-synced talking-head MP4.
 *
 * This C ABI (libtalkgen_c.so, SONAME libtalkgen_c.so.0) is talkgen's stable interface: a program built
 * against one 0.x release of this header keeps working with any later 0.x library. Structs only grow at
 * their end, enum values never change, and no exported function is removed or changes its signature (the
 * 0.1 release's by-value `talkgen_*_default()` functions stay exported for binaries built against it). The
 * C++ headers (include/talkgen/) are the library's own API and may change from one release to the next; the
 * Python and Node packages are built on this ABI.
 *
 * Conventions (read once, they hold for every function):
 *  - Every function returns a talkgen_status; TALKGEN_OK is 0. On failure the message is available from
 *    talkgen_last_error() on the same thread until the next talkgen call on that thread.
 *  - Params structs start with `struct_size`. Initialise them with the matching talkgen_*_init(&p) macro,
 *    which passes sizeof(*p) to talkgen_*_init_sized(): the library writes exactly that many bytes (zeros
 *    and the defaults) and sets struct_size, so a newer library reads an older caller's shorter struct
 *    (fields beyond its struct_size keep their defaults), and an older library reads a newer caller's
 *    longer one as long as the fields it does not know are left at zero (TALKGEN_UNSUPPORTED otherwise).
 *  - Structs the caller provides for the library to fill (talkgen_device_pool, talkgen_stats,
 *    talkgen_progress for talkgen_job_poll) have their struct_size set by the caller to sizeof the struct;
 *    the library fills that many bytes at most and sets struct_size to the bytes it filled.
 *  - Objects are opaque handles, created by a create, open or submit function and released by the
 *    matching free.
 *  - Memory the library returns (talkgen_buffer, talkgen_result, talkgen_plan) is owned by the library and
 *    released with the matching free function.
 *  - Callbacks receive the caller's `user_data`; a progress callback returning false cancels the work.
 *  - Durations are seconds as doubles; 0 means "none" or "the default", as each field says.
 *  - Every function may be called from any thread; a talkgen_client is shared safely between threads.
 *
 *   talkgen_encode_params p;
 *   talkgen_encode_params_init(&p);
 *   p.image_path = "face.png"; p.audio_path = "speech.wav";
 *   if (talkgen_encode_to_file(&p, "out.mp4") != TALKGEN_OK) fprintf(stderr, "%s\n", talkgen_last_error());
 */
#ifndef TALKGEN_H
#define TALKGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Marks the exported functions. talkgen/export.hpp (the C++ API) defines the same macro, identically on
 * Linux and macOS; whichever header comes first defines it. */
#ifndef TALKGEN_API
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(TALKGEN_C_BUILD)
#define TALKGEN_API __declspec(dllexport)
#else
#define TALKGEN_API __declspec(dllimport)
#endif
#else
#define TALKGEN_API __attribute__((visibility("default")))
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes; the library's own is talkgen_abi_version(). It is the project's version
 * (talkgen_version()): a release that adds to the ABI raises MINOR. */
#define TALKGEN_ABI_VERSION_MAJOR 0
#define TALKGEN_ABI_VERSION_MINOR 2
#define TALKGEN_ABI_VERSION_PATCH 0
#define TALKGEN_ABI_VERSION \
  ((TALKGEN_ABI_VERSION_MAJOR << 16) | (TALKGEN_ABI_VERSION_MINOR << 8) | TALKGEN_ABI_VERSION_PATCH)

/* ---- status and errors ------------------------------------------------------------------------- */

typedef enum talkgen_status {
  TALKGEN_OK = 0,
  TALKGEN_INVALID_ARGUMENT = 1,    /* a bad option or a corrupt input */
  TALKGEN_NOT_FOUND = 2,           /* a missing file, model component or job */
  TALKGEN_UNSUPPORTED = 3,         /* a format, codec or feature this build cannot handle */
  TALKGEN_CHECKPOINT_MISMATCH = 4, /* a checkpoint with missing, unexpected or mis-shaped keys */
  TALKGEN_OUT_OF_MEMORY = 5,
  TALKGEN_DEVICE_UNAVAILABLE = 6,  /* the requested device (CUDA, NVENC) is not usable */
  TALKGEN_CANCELLED = 7,
  TALKGEN_TIMEOUT = 8,
  TALKGEN_IO_ERROR = 9,            /* reading or writing the filesystem failed */
  TALKGEN_INTERNAL = 10            /* a bug in talkgen */
} talkgen_status;

/* (MAJOR << 16) | (MINOR << 8) | PATCH of the loaded library's ABI. A program built against this header
 * needs talkgen_abi_version() >= TALKGEN_ABI_VERSION for every function and field it uses to exist
 * (a new field in an older library: its init leaves it zero and a non-zero value is TALKGEN_UNSUPPORTED). */
TALKGEN_API uint32_t talkgen_abi_version(void);
/* "MAJOR.MINOR.PATCH" of the loaded library (the same numbers as talkgen_abi_version()). */
TALKGEN_API const char* talkgen_version(void);
/* Build features, e.g. "torch 1.13.0, cuda off, nccl off, libavcodec 59.37.100". */
TALKGEN_API const char* talkgen_build_features(void);
/* The message of this thread's last failure ("" if none). Valid until the next talkgen call on this thread. */
TALKGEN_API const char* talkgen_last_error(void);
/* "ok", "invalid_argument", ... */
TALKGEN_API const char* talkgen_status_name(talkgen_status status);

/* ---- buffers ----------------------------------------------------------------------------------- */

typedef struct talkgen_buffer {
  uint8_t* data;
  size_t size;
} talkgen_buffer;

/* Releases a buffer the library returned; safe on a zeroed buffer. */
TALKGEN_API void talkgen_buffer_free(talkgen_buffer* buffer);

/* ---- logging ------------------------------------------------------------------------------------ */
/* talkgen's messages ("loading the VAE", "job '...' succeeded in 3.2 s ...") go to stderr as
 * "[talkgen level] message" until the host takes them with talkgen_set_log_callback. */

typedef enum talkgen_log_level {
  TALKGEN_LOG_TRACE = 0,
  TALKGEN_LOG_DEBUG = 1,
  TALKGEN_LOG_INFO = 2,
  TALKGEN_LOG_WARN = 3,
  TALKGEN_LOG_ERROR = 4,
  TALKGEN_LOG_OFF = 5
} talkgen_log_level;

/* One message (no trailing newline), valid only during the call. Called from whichever thread logs (job
 * workers included), one call at a time: the library serialises them. Keep it short, and do not call
 * talkgen_set_log_callback from it. */
typedef void (*talkgen_log_fn)(talkgen_log_level level, const char* message, void* user_data);

/* Sends every message at or above the log level to fn (process-wide; replaces the previous callback).
 * NULL: stderr again. After it returns, the previous callback is no longer called. */
TALKGEN_API void talkgen_set_log_callback(talkgen_log_fn fn, void* user_data);
/* Messages below `level` are dropped (process-wide); TALKGEN_LOG_OFF drops all. Default TALKGEN_LOG_INFO.
 * INVALID_ARGUMENT for a value outside the enum. */
TALKGEN_API talkgen_status talkgen_set_log_level(talkgen_log_level level);
/* "trace", "debug", "info", "warn", "error", "off"; "unknown" outside the enum. */
TALKGEN_API const char* talkgen_log_level_name(talkgen_log_level level);

/* ---- encode: a still video of an image for the length of the speech ---------------------------- */

typedef struct talkgen_encode_params {
  size_t struct_size;
  const char* image_path;   /* required: PNG, JPEG, WebP or BMP */
  const char* audio_path;   /* one of audio_path / text */
  const char* text;         /* spoken with espeak-ng */
  const char* voice;        /* espeak-ng voice for text; NULL = "en" */
  double fps;               /* default 25 */
  int crf;                  /* libx264 CRF, default 17 (visually lossless) */
  const char* preset;       /* libx264 preset, NULL = "medium" */
  bool use_nvenc;           /* h264_nvenc instead of libx264; fails where the GPU has no NVENC */
} talkgen_encode_params;

/* Writes caller_size bytes at p: zeros, the defaults above, struct_size = caller_size. Call it through
 * talkgen_encode_params_init(&p). INVALID_ARGUMENT for a NULL p or a caller_size smaller than the struct
 * of talkgen 0.1.0. Bindings without the macro pass their own struct's size. */
TALKGEN_API talkgen_status talkgen_encode_params_init_sized(talkgen_encode_params* p, size_t caller_size);
#define talkgen_encode_params_init(p) talkgen_encode_params_init_sized((p), sizeof(*(p)))

/* Writes the MP4 to output_path (temp file + rename: nothing half-written on failure). */
TALKGEN_API talkgen_status talkgen_encode_to_file(const talkgen_encode_params* params, const char* output_path);
/* Returns the MP4 in *out (free with talkgen_buffer_free). */
TALKGEN_API talkgen_status talkgen_encode_to_buffer(const talkgen_encode_params* params, talkgen_buffer* out);

/* ---- client: load the model once, run generation jobs on a pool of devices ---------------------- */
/*
 *   talkgen_client_options o;
 *   talkgen_client_options_init(&o);
 *   o.model = "demo";                         (or o.model_dir = "/models")
 *   talkgen_client* client = NULL;
 *   if (talkgen_client_create(&o, &client) != TALKGEN_OK) { puts(talkgen_last_error()); ... }
 *
 *   talkgen_job_params p;
 *   talkgen_job_params_init(&p);
 *   p.image_path = "face.png"; p.audio_path = "speech.wav"; p.output_path = "out.mp4";
 *   talkgen_result* r = NULL;
 *   talkgen_status s = talkgen_client_generate(client, &p, on_progress, my_data, &r);
 *   ... read r->frames, r->timings.total_sec, ...
 *   talkgen_result_free(r);
 *   talkgen_client_free(client);
 *
 * Or without blocking: talkgen_client_submit() returns a talkgen_job to poll, wait for or cancel.
 */

typedef struct talkgen_client talkgen_client; /* opaque; thread-safe */

/* USD per GPU-hour for a GPU type ("H100", "A100-80GB", ...), overriding the built-in price. */
typedef struct talkgen_price {
  const char* gpu_type;
  double usd_per_gpu_hour;
} talkgen_price;

typedef struct talkgen_client_options {
  size_t struct_size;
  /* The model: exactly one of these two. */
  const char* model;            /* "demo": the tiny untrained model of the real architecture (no files) */
  const char* model_dir;        /* folder with the official weights */
  uint64_t demo_seed;           /* weights of the demo model; default 0 */
  /* Devices. */
  const char* device;           /* "auto" (default, NULL): every CUDA GPU, else the CPU; "cuda": CUDA or
                                   TALKGEN_DEVICE_UNAVAILABLE (never a silent CPU run); "cpu" */
  const int* gpus;              /* CUDA device indices of the pool; NULL / gpu_count 0: every visible GPU */
  size_t gpu_count;
  int cpu_ranks;                /* CPU ranks of the pool on the CPU; default 1 */
  double collective_timeout_sec;/* how long a collective waits for the other ranks; default 300 */
  /* Retries (only transient failures: out of memory, collective timeout). */
  int max_attempts;             /* attempts per job, the first included; default 3 (1 = no retries) */
  double retry_base_delay_sec;  /* delay before retry k: min(max, base * 2^(k-1)) x [1 - jitter, 1]; 0.5 */
  double retry_max_delay_sec;   /* default 30 */
  double retry_jitter;          /* 0..1, default 0.5 */
  double job_timeout_sec;       /* default wall-clock limit per job; 0 (default) = none */
  const talkgen_price* prices;  /* price overrides, price_count of them (NULL: the defaults) */
  size_t price_count;
  const char* calibration_directory; /* planner calibration (NULL: the default directory) */
  /* Added after 0.1.0 (a shorter struct_size leaves it false). */
  bool multi_person_weights;    /* with model_dir: InfiniteTalk/multi/ (two speakers) instead of single/ */
} talkgen_client_options;

/* As talkgen_encode_params_init_sized; call it through talkgen_client_options_init(&o). */
TALKGEN_API talkgen_status talkgen_client_options_init_sized(talkgen_client_options* p, size_t caller_size);
#define talkgen_client_options_init(p) talkgen_client_options_init_sized((p), sizeof(*(p)))

/* Checks the model (files present, or "demo"), resolves the device policy and probes the devices; weights
 * are loaded onto a device the first time a job uses it (talkgen_client_preload does it now).
 * On success *client_out is a client to release with talkgen_client_free; on failure it is NULL.
 * Errors: INVALID_ARGUMENT (options), NOT_FOUND (model files), DEVICE_UNAVAILABLE (device "cuda", no GPU). */
TALKGEN_API talkgen_status talkgen_client_create(const talkgen_client_options* options, talkgen_client** client_out);
/* Cancels queued and running jobs, waits for them, and releases the client. NULL is ignored.
 * Results already returned stay valid (free them with talkgen_result_free). */
TALKGEN_API void talkgen_client_free(talkgen_client* client);
/* Loads the weights onto every device of the pool now instead of on first use. */
TALKGEN_API talkgen_status talkgen_client_preload(talkgen_client* client);

/* The pool a client runs on. Strings and arrays are owned by the client and live as long as it. */
typedef struct talkgen_device_pool {
  size_t struct_size;           /* set by the caller to sizeof(talkgen_device_pool) */
  const char* device_policy;    /* "auto", "cuda" or "cpu" */
  bool cuda;                    /* CUDA GPUs (false: CPU ranks) */
  const char* const* devices;   /* "cuda:0", ... or "cpu" x cpu_ranks */
  size_t device_count;
  const char* gpu_name;         /* CUDA name of the pool's GPUs ("" on the CPU) */
  const char* gpu_type;         /* planner type ("H100", ...) or the name when unknown */
  const char* note;             /* e.g. why "auto" chose the CPU */
  bool untrained_model;         /* the demo model: the videos are noise */
} talkgen_device_pool;

/* Fills *pool up to pool->struct_size bytes. */
TALKGEN_API talkgen_status talkgen_client_devices(const talkgen_client* client, talkgen_device_pool* pool);

/* One generation job. Exactly one image source (image_path, image_data, video_path) and one speech source
 * (audio_path, audio_data, text). Strings and bytes are only read during the call. */
typedef struct talkgen_job_params {
  size_t struct_size;
  /* Inputs. */
  const char* image_path;       /* portrait: PNG, JPEG, WebP or BMP */
  const uint8_t* image_data;    /* ... or the encoded image in memory (image_size bytes) */
  size_t image_size;
  const char* video_path;       /* ... or a video to dub */
  const char* audio_path;       /* speech: any audio FFmpeg reads */
  const uint8_t* audio_data;    /* ... or the encoded audio in memory (audio_size bytes) */
  size_t audio_size;
  const char* text;             /* ... or text spoken by espeak-ng */
  const char* voice;            /* espeak-ng voice for text; NULL = "en" */
  /* What to make. */
  const char* prompt;           /* NULL: "A person is talking to the camera." */
  const char* negative_prompt;  /* NULL: the reference's */
  const char* resolution;       /* "480p" (default, NULL) or "720p" */
  const char* quality;          /* "draft", "balanced" or "quality"; NULL: the library's default profile
                                   (talkgen::default_quality, "balanced") */
  const char* mode;             /* "streaming" (default, NULL): to the end of the speech; "clip": one chunk */
  int64_t seed;                 /* default 42: same seed, same video on any GPU type and count */
  int steps;                    /* sampling steps; 0 (default) = the quality profile's */
  double shift, text_guidance, audio_guidance; /* 0 (default) = the quality profile's */
  double color_correction;      /* 0..1, default 1: match each chunk's colours to the portrait's */
  /* Scheduling. */
  const char* job_id;           /* NULL: the client makes an unguessable one (see talkgen_result.job_id) */
  int gpus;                     /* GPUs (CPU ranks on the CPU); 0 (default) = the planner's recommendation */
  double budget_usd;            /* limits for that recommendation; 0 (default) = none */
  double deadline_sec;
  double max_duration_sec;      /* caps the video at this many seconds of speech; 0 (default) = 40 s */
  double timeout_sec;           /* wall-clock limit; 0 (default) = the client's job_timeout_sec */
  /* Output. */
  const char* output_path;      /* the MP4 (temp file + rename); NULL: in talkgen_result.video */
  int crf;                      /* libx264 CRF, default 17 */
  const char* preset;           /* libx264 preset, NULL = "medium" */
  bool use_nvenc;               /* h264_nvenc instead of libx264 */
  /* A second speaker (two-person mode; added after 0.1.0 -- a shorter struct_size leaves it off). */
  const char* audio2_path;      /* speaker 2's speech: any audio FFmpeg reads */
  const uint8_t* audio2_data;   /* ... or the encoded audio in memory (audio2_size bytes) */
  size_t audio2_size;
  const char* speaker_timing;   /* "one-after-another" (default, NULL) or "together" */
  bool has_speaker_boxes;       /* true: speaker1_box and speaker2_box hold the speakers' regions */
  double speaker1_box[4];       /* x0, y0, x1, y1 in pixels of the image (x: columns); default: left half */
  double speaker2_box[4];       /* default: right half */
} talkgen_job_params;

/* As talkgen_encode_params_init_sized; call it through talkgen_job_params_init(&p). */
TALKGEN_API talkgen_status talkgen_job_params_init_sized(talkgen_job_params* p, size_t caller_size);
#define talkgen_job_params_init(p) talkgen_job_params_init_sized((p), sizeof(*(p)))

typedef enum talkgen_job_state {
  TALKGEN_JOB_QUEUED = 0,
  TALKGEN_JOB_RUNNING = 1,
  TALKGEN_JOB_RETRYING = 2,
  TALKGEN_JOB_SUCCEEDED = 3,
  TALKGEN_JOB_FAILED = 4,
  TALKGEN_JOB_CANCELLED = 5
} talkgen_job_state;
/* "queued", "running", "retrying", "succeeded", "failed", "cancelled". */
TALKGEN_API const char* talkgen_job_state_name(talkgen_job_state state);

typedef enum talkgen_stage {
  TALKGEN_STAGE_PREPARING = 0,  /* inputs, text / CLIP / audio encoders */
  TALKGEN_STAGE_SAMPLING = 1,
  TALKGEN_STAGE_DECODING = 2,
  TALKGEN_STAGE_ENCODING = 3,
  TALKGEN_STAGE_DONE = 4
} talkgen_stage;
/* "preparing", "sampling", "decoding", "encoding", "done". */
TALKGEN_API const char* talkgen_stage_name(talkgen_stage stage);

/* Where a job is. Valid only during the callback. */
typedef struct talkgen_progress {
  size_t struct_size;           /* set by the library: fields beyond it do not exist */
  const char* job_id;
  talkgen_job_state state;
  int attempt;                  /* 1-based; 0 while first queued */
  int gpus;
  talkgen_stage stage;          /* of the running attempt */
  int chunk, chunks;            /* 0-based chunk being worked on, of `chunks` */
  int step, steps;              /* sampling steps finished in this chunk, of `steps` */
  double fraction;              /* 0..1 of the whole job */
  double elapsed_sec;
  double eta_sec;               /* -1 until the first step has been timed */
} talkgen_progress;

/* Called after every state change and sampling step, on the job's worker thread (not the caller's): keep
 * it short and do not call talkgen_client_generate* from it. Return false to cancel the job. */
typedef bool (*talkgen_progress_fn)(const talkgen_progress* progress, void* user_data);

/* Wall seconds per stage of the (last) attempt. */
typedef struct talkgen_stage_timings {
  double queued_sec;            /* waiting for free devices (all attempts) */
  double loading_sec;           /* first use of a device: weights onto it */
  double preparing_sec;
  double sampling_sec;
  double decoding_sec;
  double encoding_sec;          /* H.264 / AAC not hidden behind sampling */
  double total_sec;             /* submit to finish */
} talkgen_stage_timings;

/* A finished job. Allocated by the library, read-only for the caller, released with talkgen_result_free;
 * every string and array in it lives as long as it. */
typedef struct talkgen_result {
  size_t struct_size;           /* set by the library: fields beyond it do not exist */
  const char* job_id;
  talkgen_job_state state;      /* SUCCEEDED, FAILED or CANCELLED */
  talkgen_status error_code;    /* TALKGEN_OK when succeeded */
  const char* error_message;    /* "" when succeeded */
  int attempts;
  /* The video. */
  const char* output_path;      /* the MP4 written, or NULL when it is in `video` */
  talkgen_buffer video;         /* the MP4 bytes when params.output_path was NULL (owned by the result) */
  int frames, width, height;
  double fps;
  double duration_sec;
  int chunks;
  int64_t seed;
  const char* resolution;       /* "480p" / "720p" */
  const char* quality;          /* the profile run (the library's default when params.quality was NULL) */
  int steps;                    /* the sampler settings actually run */
  double shift, text_guidance, audio_guidance;
  bool untrained_model;         /* the demo model: the video is noise */
  const char* model_name;
  /* Where and how long. */
  int gpus;                     /* devices the successful attempt used */
  const char* const* devices;   /* "cuda:0", ... / "cpu" (one per rank), device_count of them */
  size_t device_count;
  talkgen_stage_timings timings;
  double estimated_sec;         /* the planner's figure at submit; -1 when it cannot size the model */
  double actual_sec;            /* running time of the successful attempt */
  double gpu_sec;               /* actual_sec x gpus, summed over attempts */
  double cost_usd;              /* gpu_sec x the price of the pool's GPU type (0 on the CPU) */
} talkgen_result;

/* Releases a result (and its video bytes and strings). NULL is ignored. */
TALKGEN_API void talkgen_result_free(talkgen_result* result);

/* Runs one job and blocks until it has finished. `progress` may be NULL.
 * Returns TALKGEN_OK when the job succeeded; otherwise the job's error code, with its message in
 * talkgen_last_error(). *result_out (if result_out is not NULL) receives the result of every job that
 * was accepted — succeeded, failed or cancelled — and is NULL only when the job was refused before it
 * existed (bad params, a missing input file, a duplicate job id). Free it with talkgen_result_free. */
TALKGEN_API talkgen_status talkgen_client_generate(talkgen_client* client, const talkgen_job_params* params,
                                                   talkgen_progress_fn progress, void* user_data,
                                                   talkgen_result** result_out);

/* Runs `count` jobs at once over the pool (disjoint device groups in parallel, the rest queued) and
 * blocks until all have finished. params[i] points at job i's params. results_out (an array of `count`
 * pointers the caller provides) receives one result per job, in input order, each to free with
 * talkgen_result_free. One job's failure (bad params included) does not affect the others: it is in its
 * result, and the function still returns TALKGEN_OK; it fails only for bad arguments (NULL arrays).
 * `progress` is shared by all jobs (talkgen_progress.job_id tells them apart) and may be NULL. */
TALKGEN_API talkgen_status talkgen_client_generate_batch(talkgen_client* client,
                                                         const talkgen_job_params* const* params, size_t count,
                                                         talkgen_progress_fn progress, void* user_data,
                                                         talkgen_result** results_out);

/* Cancels a queued or running job by id, from any thread: a queued job never runs, a running one stops
 * before its next sampling step and its generate call returns TALKGEN_CANCELLED.
 * TALKGEN_NOT_FOUND when the client has no such unfinished job. */
TALKGEN_API talkgen_status talkgen_client_cancel(talkgen_client* client, const char* job_id);

/* ---- asynchronous jobs ---------------------------------------------------------------------------- */

typedef struct talkgen_job talkgen_job; /* opaque handle to a submitted job; thread-safe */

/* Queues a job and returns at once; the job runs on the client's workers (talkgen_client_generate is
 * submit + wait). Checks that need no model (params, input files present, a duplicate job id) are done
 * here: on failure *job_out is NULL and the job never existed. On success *job_out is a handle to release
 * with talkgen_job_free. `progress` (may be NULL) is called as for talkgen_client_generate, on a worker
 * thread, until the job has finished -- whether or not the handle was freed, so user_data must live as long. */
TALKGEN_API talkgen_status talkgen_client_submit(talkgen_client* client, const talkgen_job_params* params,
                                                 talkgen_progress_fn progress, void* user_data,
                                                 talkgen_job** job_out);
/* The job's id (given in params.job_id, or made by the client); lives as long as the handle. */
TALKGEN_API const char* talkgen_job_id(const talkgen_job* job);
/* Fills *progress_out (up to progress_out->struct_size bytes, which the caller sets) with where the job is
 * now: state, attempt, stage, chunk, step, fraction, ETA. progress_out->job_id lives as long as the handle. */
TALKGEN_API talkgen_status talkgen_job_poll(const talkgen_job* job, talkgen_progress* progress_out);
/* Waits for the job to finish: up to timeout_sec seconds (0: only looks; < 0: as long as it takes).
 * Finished: returns as talkgen_client_generate does -- TALKGEN_OK when it succeeded, else the job's error
 * code with its message in talkgen_last_error() -- and *result_out receives its result, a new one on every
 * call, to free with talkgen_result_free. Not finished in time: TALKGEN_TIMEOUT with *result_out NULL (a job
 * that itself timed out also returns TALKGEN_TIMEOUT, but with its result). result_out may be NULL. */
TALKGEN_API talkgen_status talkgen_job_wait(talkgen_job* job, double timeout_sec, talkgen_result** result_out);
/* Cancels the job: a queued job never runs, a running one stops before its next sampling step (a wait
 * then returns TALKGEN_CANCELLED). TALKGEN_NOT_FOUND when it had already finished (nothing to cancel). */
TALKGEN_API talkgen_status talkgen_job_cancel(talkgen_job* job);
/* Releases the handle; the job itself goes on (cancel it first to stop it). NULL is ignored. */
TALKGEN_API void talkgen_job_free(talkgen_job* job);

typedef struct talkgen_stats {
  size_t struct_size;           /* set by the caller to sizeof(talkgen_stats) */
  int64_t jobs;                 /* finished jobs */
  int64_t succeeded, failed, cancelled;
  int64_t retries;              /* attempts beyond the first */
  double success_rate;          /* succeeded / jobs (0 when none) */
  double mean_sec, p50_sec, p95_sec; /* total time of succeeded jobs */
  double gpu_sec;
  double cost_usd;
  int64_t queued, running;      /* now */
} talkgen_stats;

/* Fills *stats up to stats->struct_size bytes. */
TALKGEN_API talkgen_status talkgen_client_stats(const talkgen_client* client, talkgen_stats* stats);
/* Forgets finished jobs and zeroes the counters. */
TALKGEN_API talkgen_status talkgen_client_reset_stats(talkgen_client* client);

/* ---- planner: GPUs, time and cost of a job on this client's pool, before it runs --------------------- */

/* One GPU count of the pool. Callers index arrays of it, so it never changes size: per-option data added
 * later comes as another array in talkgen_plan. */
typedef struct talkgen_plan_option {
  int gpus;
  double estimated_sec;         /* wall time of the job on `gpus` GPUs */
  double gpu_sec;               /* estimated_sec x gpus */
  double cost_usd;              /* gpu_sec x the price of the pool's GPU type */
  bool within_budget;           /* cost_usd <= budget_usd (true without a budget) */
  bool within_deadline;         /* estimated_sec <= deadline_sec (true without a deadline) */
  bool fits;                    /* the job fits in the memory of each of these GPUs */
} talkgen_plan_option;

/* A plan, allocated by the library, read-only for the caller, released with talkgen_plan_free; every
 * string and array in it lives as long as it. */
typedef struct talkgen_plan {
  size_t struct_size;           /* set by the library: fields beyond it do not exist */
  const char* gpu_type;         /* the pool's GPU type as the Planner knows it ("H100", ...) */
  double video_sec;             /* seconds of video the job makes (25 fps) */
  int chunks;                   /* 81-frame chunks */
  const char* quality;          /* the profile planned ("balanced", ...) */
  const char* resolution;       /* "480p" / "720p" */
  int recommended_gpus;         /* the Planner's choice among the options that fit and meet the limits
                                   (`reason` says by which rule); 0 when none does */
  double estimated_sec, cost_usd; /* of the recommendation (0 when none) */
  const char* reason;           /* why this recommendation (or why none) */
  const talkgen_plan_option* options; /* one per GPU count of the pool, 1..N */
  size_t option_count;
} talkgen_plan;

/* Plans a job of duration_sec seconds of speech on this client's pool (its GPU type and count, its
 * prices, its calibration). quality / resolution: NULL for the library's defaults. budget_usd and
 * deadline_sec: 0 for none. Limits no option meets are not an error: recommended_gpus is 0 and reason says
 * why. UNSUPPORTED when the Planner cannot size this client's model or devices (the demo model, the CPU).
 * On success *plan_out is a plan to release with talkgen_plan_free; on failure it is NULL. */
TALKGEN_API talkgen_status talkgen_client_plan(const talkgen_client* client, double duration_sec, const char* quality,
                                               const char* resolution, double budget_usd, double deadline_sec,
                                               talkgen_plan** plan_out);
/* Releases a plan. NULL is ignored. */
TALKGEN_API void talkgen_plan_free(talkgen_plan* plan);

#ifdef __cplusplus
}
#endif

#endif /* TALKGEN_H */
