"""talkgen: portrait + speech -> lip-synced talking-head MP4, from Python.

    import talkgen
    with talkgen.Client(model="demo") as client:           # or model_dir="/models"
        r = client.generate(image="face.png", audio="speech.wav", output="out.mp4", quality="draft")
    talkgen.encode_still("face.png", "still.mp4", audio="speech.wav")
    mp4_bytes = talkgen.encode_still("face.png", text="Hello there")
"""
from .client import Client, ClientOptions, DevicePool, Job, JobResult, Progress, StageTimings, Stats
from .encode import EncodeOptions, encode_still
from .errors import (CancelledError, CheckpointMismatchError, DeviceUnavailableError, InternalError,
                     InvalidArgumentError, IOError, NotFoundError, OutOfMemoryError, TalkgenError, TimeoutError,
                     UnknownFieldError, UnsupportedError)
from .remote import RemoteClient, RemoteError  # a `talkgen serve` host over HTTP
from ._capi import lib as _lib

__version__ = _lib.talkgen_version().decode()


def version():
    """The loaded library's version."""
    return _lib.talkgen_version().decode()


def build_features():
    return _lib.talkgen_build_features().decode()


__all__ = ["Client", "RemoteClient", "ClientOptions", "DevicePool", "Job", "JobResult", "Progress", "StageTimings", "Stats",
           "EncodeOptions", "encode_still", "version", "build_features", "TalkgenError", "InvalidArgumentError",
           "NotFoundError", "UnknownFieldError", "UnsupportedError", "CheckpointMismatchError", "OutOfMemoryError",
           "DeviceUnavailableError", "CancelledError", "TimeoutError", "IOError", "InternalError"]
