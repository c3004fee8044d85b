"""talkgen: portrait + speech -> lip-synced talking-head MP4, from Python.

    import talkgen
    with talkgen.Client(model="demo") as client:           # or model_dir="/models"
        r = client.generate(image="face.png", audio="speech.wav", output="out.mp4", quality="draft")
    talkgen.encode_still("face.png", "still.mp4", audio="speech.wav")
    remote = talkgen.RemoteClient("http://gpu-host:8080")   # a `talkgen serve` host, pure Python

`import talkgen` does not load the native library (libtalkgen_c, carried in this package): the local Client,
encode_still, version() and set_log_level() load it on first use, so talkgen.RemoteClient works without it.
The library's log messages go to the `logging` logger "talkgen" (see talkgen._log).
"""
import importlib.metadata as _metadata
import warnings as _warnings

from .client import (Client, ClientOptions, DevicePool, Job, JobHandle, JobResult, Plan, PlanOption, Progress,
                     StageTimings, Stats)
from .encode import EncodeOptions, encode_still
from .errors import (CancelledError, CheckpointMismatchError, DeviceUnavailableError, InternalError,
                     InvalidArgumentError, JobTimeoutError, NotFoundError, OutOfMemoryError, TalkgenError,
                     TalkgenIOError, UnknownFieldError, UnsupportedError)
from .remote import RemoteClient, RemoteError  # a `talkgen serve` host over HTTP

try:
    __version__ = _metadata.version("talkgen")
except _metadata.PackageNotFoundError:  # imported from a source folder rather than installed
    __version__ = "0+unknown"


def version() -> str:
    """The native library's version (loads it)."""
    from ._capi import lib
    return lib.talkgen_version().decode()


def build_features() -> str:
    """The native library's build features, e.g. "torch 1.13.0, cuda off, ..." (loads it)."""
    from ._capi import lib
    return lib.talkgen_build_features().decode()


def set_log_level(level) -> None:
    """The least severe message the library produces: a logging level (logging.DEBUG, ...) or a name ("trace",
    "debug", "info", "warning", "error", "off"). The library's default is info. Messages reach the logger
    "talkgen", whose own level and handlers then apply as usual."""
    from . import _capi, _log
    _capi.check(_capi.lib.talkgen_set_log_level(_log.c_level(level)))


# The names before 0.2 shadowed Python's built-ins (`from talkgen import *` replaced TimeoutError and IOError);
# they still resolve, with a warning, but are not exported.
_RENAMED = {"TimeoutError": "JobTimeoutError", "IOError": "TalkgenIOError"}


def __getattr__(name):
    if name in _RENAMED:
        _warnings.warn(f"talkgen.{name} is now talkgen.{_RENAMED[name]} (it no longer shadows the built-in)",
                       DeprecationWarning, stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module 'talkgen' has no attribute {name!r}")


__all__ = ["Client", "RemoteClient", "RemoteError", "ClientOptions", "DevicePool", "Job", "JobHandle", "JobResult",
           "Plan", "PlanOption", "Progress", "StageTimings", "Stats", "EncodeOptions", "encode_still", "version",
           "build_features", "set_log_level", "TalkgenError", "InvalidArgumentError", "NotFoundError",
           "UnknownFieldError", "UnsupportedError", "CheckpointMismatchError", "OutOfMemoryError",
           "DeviceUnavailableError", "CancelledError", "JobTimeoutError", "TalkgenIOError", "InternalError"]
