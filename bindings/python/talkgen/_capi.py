"""ctypes declarations of talkgen.h. Kept in one place so the rest of the package reads like Python.

`lib` loads libtalkgen_c on its first use (not at import: talkgen.remote must work without it), declares every
function's types, checks the library's ABI and routes its log into Python's `logging`.
"""
import ctypes
import threading

from . import _library, _log
from .errors import from_status

# The ABI these declarations describe: talkgen.h's TALKGEN_ABI_VERSION (MAJOR << 16 | MINOR << 8 | PATCH). A
# library of the same MAJOR and at least this MINOR has every function and struct field used here.
ABI_MAJOR, ABI_MINOR = 0, 2


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
LOG_FN = _log.LOG_FN


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




class PlanOption(ctypes.Structure):
    _fields_ = [("gpus", ctypes.c_int), ("estimated_sec", ctypes.c_double), ("gpu_sec", ctypes.c_double),
                ("cost_usd", ctypes.c_double), ("within_budget", ctypes.c_bool), ("within_deadline", ctypes.c_bool),
                ("fits", ctypes.c_bool)]


class Plan(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("gpu_type", ctypes.c_char_p), ("video_sec", ctypes.c_double),
                ("chunks", ctypes.c_int), ("quality", ctypes.c_char_p), ("resolution", ctypes.c_char_p),
                ("recommended_gpus", ctypes.c_int), ("estimated_sec", ctypes.c_double), ("cost_usd", ctypes.c_double),
                ("reason", ctypes.c_char_p), ("options", ctypes.POINTER(PlanOption)),
                ("option_count", ctypes.c_size_t)]


def _declare(cdll):
    """Every function's argument and result types (ctypes' default, int, would truncate pointers)."""
    def fn(name, restype, *argtypes):
        try:
            f = getattr(cdll, name)
        except AttributeError:
            raise ImportError(f"talkgen: the loaded libtalkgen_c has no {name} although its ABI version says it "
                              "should: install the package and the library from one build") from None
        f.restype, f.argtypes = restype, list(argtypes)

    c_int, c_double, c_char_p, c_size_t, c_void_p = (ctypes.c_int, ctypes.c_double, ctypes.c_char_p, ctypes.c_size_t,
                                                     ctypes.c_void_p)
    P = ctypes.POINTER
    fn("talkgen_abi_version", ctypes.c_uint32)
    fn("talkgen_version", c_char_p)
    fn("talkgen_build_features", c_char_p)
    fn("talkgen_last_error", c_char_p)
    fn("talkgen_status_name", c_char_p, c_int)
    fn("talkgen_set_log_callback", None, LOG_FN, c_void_p)
    fn("talkgen_set_log_level", c_int, c_int)
    fn("talkgen_buffer_free", None, P(Buffer))
    fn("talkgen_encode_params_init_sized", c_int, P(EncodeParams), c_size_t)
    fn("talkgen_encode_to_file", c_int, P(EncodeParams), c_char_p)
    fn("talkgen_encode_to_buffer", c_int, P(EncodeParams), P(Buffer))

    fn("talkgen_client_options_init_sized", c_int, P(ClientOptions), c_size_t)
    fn("talkgen_client_create", c_int, P(ClientOptions), P(c_void_p))
    fn("talkgen_client_free", None, c_void_p)
    fn("talkgen_client_preload", c_int, c_void_p)
    fn("talkgen_client_devices", c_int, c_void_p, P(DevicePool))
    fn("talkgen_job_params_init_sized", c_int, P(JobParams), c_size_t)
    fn("talkgen_job_state_name", c_char_p, c_int)
    fn("talkgen_stage_name", c_char_p, c_int)
    fn("talkgen_result_free", None, P(Result))
    fn("talkgen_client_generate", c_int, c_void_p, P(JobParams), PROGRESS_FN, c_void_p, P(P(Result)))
    fn("talkgen_client_generate_batch", c_int, c_void_p, P(P(JobParams)), c_size_t, PROGRESS_FN, c_void_p,
       P(P(Result)))
    fn("talkgen_client_cancel", c_int, c_void_p, c_char_p)
    fn("talkgen_client_stats", c_int, c_void_p, P(Stats))
    fn("talkgen_client_reset_stats", c_int, c_void_p)
    fn("talkgen_client_plan", c_int, c_void_p, c_double, c_char_p, c_char_p, c_double, c_double, P(P(Plan)))
    fn("talkgen_plan_free", None, P(Plan))

    fn("talkgen_client_submit", c_int, c_void_p, P(JobParams), PROGRESS_FN, c_void_p, P(c_void_p))
    fn("talkgen_job_id", c_char_p, c_void_p)
    fn("talkgen_job_poll", c_int, c_void_p, P(Progress))
    fn("talkgen_job_wait", c_int, c_void_p, c_double, P(P(Result)))
    fn("talkgen_job_cancel", c_int, c_void_p)
    fn("talkgen_job_free", None, c_void_p)


class _Library:
    """libtalkgen_c, loaded, declared and checked on first attribute access; then its functions by name."""

    def __init__(self):
        self._cdll = None
        self.path = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._cdll is None:
                cdll, path = _library.load()
                try:
                    abi = cdll.talkgen_abi_version
                except AttributeError:
                    raise ImportError(f"talkgen: {path} is a talkgen library older than 0.2 (no talkgen_abi_version); "
                                      f"this package needs ABI {ABI_MAJOR}.{ABI_MINOR} or later: rebuild talkgen_c "
                                      "and reinstall the package") from None
                abi.restype = ctypes.c_uint32
                version = abi()
                major, minor = version >> 16, (version >> 8) & 0xFF
                if major != ABI_MAJOR or minor < ABI_MINOR:
                    raise ImportError(f"talkgen: {path} has ABI {major}.{minor}.{version & 0xFF}; this package needs "
                                      f"{ABI_MAJOR}.{ABI_MINOR} or a later {ABI_MAJOR}.x: install the package and "
                                      "the library from one build")
                _declare(cdll)
                _log.install(cdll)
                self._cdll, self.path = cdll, path
            return self._cdll

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._cdll or self._load(), name)


lib = _Library()


def init_sized(init_function, struct_type):
    """A params struct filled by the library's talkgen_*_init_sized with its defaults (for this struct's size)."""
    params = struct_type()
    check(init_function(ctypes.byref(params), ctypes.sizeof(struct_type)))
    return params


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
