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


def check(status):
    """Raises the exception class of a non-zero status with the library's message."""
    if status != 0:
        raise from_status(status, lib.talkgen_last_error().decode("utf-8", "replace"))


def take_buffer(buffer):
    """Copies a library-owned buffer into bytes and frees it."""
    try:
        return ctypes.string_at(buffer.data, buffer.size) if buffer.size else b""
    finally:
        lib.talkgen_buffer_free(ctypes.byref(buffer))
