"""talkgen's own log messages (model loading, retries, warnings) go to Python's `logging`, logger "talkgen",
instead of the library's stderr: the host decides where they go (handlers, levels, formatting).

The library calls the callback from its worker threads (serialised), so it only hands the message to logging.
Levels: the library's TRACE is logging level 5, then DEBUG, INFO, WARNING, ERROR as usual. The library filters
first (default INFO, talkgen.set_log_level changes it), then the logger's own level applies.
"""
import atexit
import ctypes
import logging

# talkgen_log_fn: void (*)(talkgen_log_level level, const char* message, void* user_data)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

logger = logging.getLogger("talkgen")

TRACE = 5
_BY_C_LEVEL = {0: TRACE, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_C_LEVEL_BY_NAME = {"trace": 0, "debug": 1, "info": 2, "warning": 3, "warn": 3, "error": 4, "off": 5}

_installed = {}  # "callback": the ctypes function object the library holds (must outlive every call), "lib"


def _on_message(level, message, _user_data):
    try:
        python_level = _BY_C_LEVEL.get(level, logging.ERROR)
        if logger.isEnabledFor(python_level):
            logger.log(python_level, "%s", message.decode("utf-8", "replace") if message else "")
    except Exception:  # noqa: BLE001 (nothing may propagate into the library's thread)
        pass


def install(cdll):
    """Routes the library's messages into `logger` (called once, when the library is loaded)."""
    callback = LOG_FN(_on_message)
    cdll.talkgen_set_log_callback(callback, None)
    _installed.update(callback=callback, lib=cdll)
    # At interpreter exit the callback's Python objects go away while library threads may still log: hand the
    # library back its stderr first.
    atexit.register(_uninstall)


def _uninstall():
    cdll = _installed.pop("lib", None)
    if cdll is not None:
        cdll.talkgen_set_log_callback(LOG_FN(), None)
    _installed.pop("callback", None)


def c_level(level):
    """The library's level for a logging level (int) or name ("debug", "info", "warning", "error", "off")."""
    if isinstance(level, str):
        key = level.lower()
        if key not in _C_LEVEL_BY_NAME:
            raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(_C_LEVEL_BY_NAME)} or a "
                             "logging level number")
        return _C_LEVEL_BY_NAME[key]
    if not isinstance(level, int):
        raise TypeError(f"log level must be a name or a logging level number, got {type(level).__name__}")
    for c, python_level in sorted(_BY_C_LEVEL.items()):
        if level <= python_level:
            return c
    return 5 if level > logging.CRITICAL else 4
