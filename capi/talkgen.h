/*
 * talkgen.h — the C ABI of talkgen: portrait + speech -> lip-synced talking-head MP4.
 *
 * Conventions (read once, they hold for every function):
 *  - Every function returns a talkgen_status; TALKGEN_OK is 0. On failure the message is available from
 *    talkgen_last_error() on the same thread until the next talkgen call on that thread.
 *  - Params structs start with `struct_size`; fill them with the matching *_default() function, which sets it,
 *    so a newer library can read an older caller's struct.
 *  - Objects are opaque handles, created by a create or open function and released by the matching free.
 *  - Memory the library returns (talkgen_buffer) is owned by the library and released with talkgen_buffer_free.
 *  - Callbacks receive the caller's `user_data`; a progress callback returning false cancels the work.
 */
#ifndef TALKGEN_H
#define TALKGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TALKGEN_API __declspec(dllexport)
#else
#define TALKGEN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TALKGEN_ABI_VERSION_MAJOR 0
#define TALKGEN_ABI_VERSION_MINOR 1
#define TALKGEN_ABI_VERSION_PATCH 0

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

/* "MAJOR.MINOR.PATCH" of the loaded library. */
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

TALKGEN_API talkgen_encode_params talkgen_encode_params_default(void);

/* Writes the MP4 to output_path (temp file + rename: nothing half-written on failure). */
TALKGEN_API talkgen_status talkgen_encode_to_file(const talkgen_encode_params* params, const char* output_path);
/* Returns the MP4 in *out (free with talkgen_buffer_free). */
TALKGEN_API talkgen_status talkgen_encode_to_buffer(const talkgen_encode_params* params, talkgen_buffer* out);

#ifdef __cplusplus
}
#endif

#endif /* TALKGEN_H */
