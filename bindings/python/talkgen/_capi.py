"""ctypes declarations of talkgen.h. Kept in one place so the rest of the package reads like Python."""
import ctypes

from . import _library
from .errors import from_status


class Buffer(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("size", ctypes.c_size_t)]


class EncodeParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("image_path", ctypes.c_char_p), ("audio_path", ctypes.c_char_p),
                ("text", ctypes.c_char_p), ("voice", ctypes.c_char_p), ("fps", ctypes.c_double),
                ("crf", ctypes.c_int), ("preset", ctypes.c_char_p), ("use_nvenc", ctypes.c_bool)]


class Price(ctypes.Structure):
    _fields_ = [("gpu_type", ctypes.c_char_p), ("usd_per_gpu_hour", ctypes.c_double)]


class ClientOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("model", ctypes.c_char_p), ("model_dir", ctypes.c_char_p),
                ("demo_seed", ctypes.c_uint64), ("device", ctypes.c_char_p), ("gpus", ctypes.POINTER(ctypes.c_int)),
                ("gpu_count", ctypes.c_size_t), ("cpu_ranks", ctypes.c_int), ("collective_timeout_sec", ctypes.c_double),
                ("max_attempts", ctypes.c_int), ("retry_base_delay_sec", ctypes.c_double),
                ("retry_max_delay_sec", ctypes.c_double), ("retry_jitter", ctypes.c_double),
                ("job_timeout_sec", ctypes.c_double), ("prices", ctypes.POINTER(Price)), ("price_count", ctypes.c_size_t),
                ("calibration_directory", ctypes.c_char_p), ("multi_person_weights", ctypes.c_bool)]


class DevicePool(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("device_policy", ctypes.c_char_p), ("cuda", ctypes.c_bool),
                ("devices", ctypes.POINTER(ctypes.c_char_p)), ("device_count", ctypes.c_size_t),
                ("gpu_name", ctypes.c_char_p), ("gpu_type", ctypes.c_char_p), ("note", ctypes.c_char_p),
                ("untrained_model", ctypes.c_bool)]


class JobParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("image_path", ctypes.c_char_p), ("image_data", ctypes.c_void_p), ("image_size", ctypes.c_size_t),
                ("video_path", ctypes.c_char_p),
                ("audio_path", ctypes.c_char_p), ("audio_data", ctypes.c_void_p), ("audio_size", ctypes.c_size_t),
                ("text", ctypes.c_char_p), ("voice", ctypes.c_char_p),
                ("prompt", ctypes.c_char_p), ("negative_prompt", ctypes.c_char_p), ("resolution", ctypes.c_char_p),
                ("quality", ctypes.c_char_p), ("mode", ctypes.c_char_p), ("seed", ctypes.c_int64),
                ("steps", ctypes.c_int), ("shift", ctypes.c_double), ("text_guidance", ctypes.c_double),
                ("audio_guidance", ctypes.c_double), ("color_correction", ctypes.c_double),
                ("job_id", ctypes.c_char_p), ("gpus", ctypes.c_int), ("budget_usd", ctypes.c_double),
                ("deadline_sec", ctypes.c_double), ("max_duration_sec", ctypes.c_double),
                ("timeout_sec", ctypes.c_double),
                ("output_path", ctypes.c_char_p), ("crf", ctypes.c_int), ("preset", ctypes.c_char_p),
                ("use_nvenc", ctypes.c_bool),
                ("audio2_path", ctypes.c_char_p), ("audio2_data", ctypes.c_void_p), ("audio2_size", ctypes.c_size_t),
                ("speaker_timing", ctypes.c_char_p), ("has_speaker_boxes", ctypes.c_bool),
                ("speaker1_box", ctypes.c_double * 4), ("speaker2_box", ctypes.c_double * 4)]


class Progress(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("job_id", ctypes.c_char_p), ("state", ctypes.c_int),
                ("attempt", ctypes.c_int), ("gpus", ctypes.c_int), ("stage", ctypes.c_int), ("chunk", ctypes.c_int),
                ("chunks", ctypes.c_int), ("step", ctypes.c_int), ("steps", ctypes.c_int),
                ("fraction", ctypes.c_double), ("elapsed_sec", ctypes.c_double), ("eta_sec", ctypes.c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.POINTER(Progress), ctypes.c_void_p)


class StageTimings(ctypes.Structure):
    _fields_ = [(name, ctypes.c_double) for name in ("queued_sec", "loading_sec", "preparing_sec", "sampling_sec",
                                                      "decoding_sec", "encoding_sec", "total_sec")]


class Result(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("job_id", ctypes.c_char_p), ("state", ctypes.c_int),
                ("error_code", ctypes.c_int), ("error_message", ctypes.c_char_p), ("attempts", ctypes.c_int),
                ("output_path", ctypes.c_char_p), ("video", Buffer), ("frames", ctypes.c_int),
                ("width", ctypes.c_int), ("height", ctypes.c_int), ("fps", ctypes.c_double),
                ("duration_sec", ctypes.c_double), ("chunks", ctypes.c_int), ("seed", ctypes.c_int64),
                ("resolution", ctypes.c_char_p), ("quality", ctypes.c_char_p), ("steps", ctypes.c_int),
                ("shift", ctypes.c_double), ("text_guidance", ctypes.c_double), ("audio_guidance", ctypes.c_double),
                ("untrained_model", ctypes.c_bool), ("model_name", ctypes.c_char_p), ("gpus", ctypes.c_int),
                ("devices", ctypes.POINTER(ctypes.c_char_p)), ("device_count", ctypes.c_size_t),
                ("timings", StageTimings), ("estimated_sec", ctypes.c_double), ("actual_sec", ctypes.c_double),
                ("gpu_sec", ctypes.c_double), ("cost_usd", ctypes.c_double)]


class Stats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("jobs", ctypes.c_int64), ("succeeded", ctypes.c_int64),
                ("failed", ctypes.c_int64), ("cancelled", ctypes.c_int64), ("retries", ctypes.c_int64),
                ("success_rate", ctypes.c_double), ("mean_sec", ctypes.c_double), ("p50_sec", ctypes.c_double),
                ("p95_sec", ctypes.c_double), ("gpu_sec", ctypes.c_double), ("cost_usd", ctypes.c_double),
                ("queued", ctypes.c_int64), ("running", ctypes.c_int64)]


lib = _library.load()
lib.talkgen_version.restype = ctypes.c_char_p
lib.talkgen_build_features.restype = ctypes.c_char_p
lib.talkgen_last_error.restype = ctypes.c_char_p
lib.talkgen_status_name.restype = ctypes.c_char_p
lib.talkgen_status_name.argtypes = [ctypes.c_int]
lib.talkgen_buffer_free.argtypes = [ctypes.POINTER(Buffer)]
lib.talkgen_encode_params_default.restype = EncodeParams
lib.talkgen_encode_to_file.argtypes = [ctypes.POINTER(EncodeParams), ctypes.c_char_p]
lib.talkgen_encode_to_buffer.argtypes = [ctypes.POINTER(EncodeParams), ctypes.POINTER(Buffer)]

lib.talkgen_client_options_default.restype = ClientOptions
lib.talkgen_client_create.argtypes = [ctypes.POINTER(ClientOptions), ctypes.POINTER(ctypes.c_void_p)]
lib.talkgen_client_free.argtypes = [ctypes.c_void_p]
lib.talkgen_client_free.restype = None
lib.talkgen_client_preload.argtypes = [ctypes.c_void_p]
lib.talkgen_client_devices.argtypes = [ctypes.c_void_p, ctypes.POINTER(DevicePool)]
lib.talkgen_job_params_default.restype = JobParams
lib.talkgen_job_state_name.argtypes = [ctypes.c_int]
lib.talkgen_job_state_name.restype = ctypes.c_char_p
lib.talkgen_stage_name.argtypes = [ctypes.c_int]
lib.talkgen_stage_name.restype = ctypes.c_char_p
lib.talkgen_result_free.argtypes = [ctypes.POINTER(Result)]
lib.talkgen_result_free.restype = None
lib.talkgen_client_generate.argtypes = [ctypes.c_void_p, ctypes.POINTER(JobParams), PROGRESS_FN, ctypes.c_void_p,
                                        ctypes.POINTER(ctypes.POINTER(Result))]
lib.talkgen_client_generate_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(JobParams)),
                                              ctypes.c_size_t, PROGRESS_FN, ctypes.c_void_p,
                                              ctypes.POINTER(ctypes.POINTER(Result))]
lib.talkgen_client_cancel.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.talkgen_client_stats.argtypes = [ctypes.c_void_p, ctypes.POINTER(Stats)]
lib.talkgen_client_reset_stats.argtypes = [ctypes.c_void_p]


def last_error():
    return lib.talkgen_last_error().decode("utf-8", "replace")


def check(status):
    """Raises the exception class of a non-zero status with the library's message."""
    if status != 0:
        raise from_status(status, last_error())


def take_buffer(buffer):
    """Copies a library-owned buffer into bytes and frees it."""
    try:
        return ctypes.string_at(buffer.data, buffer.size) if buffer.size else b""
    finally:
        lib.talkgen_buffer_free(ctypes.byref(buffer))
