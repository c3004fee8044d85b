"""One exception class per talkgen error code (the C ABI's talkgen_status), all under TalkgenError.

Pure Python: talkgen.remote uses these without the native library. Where a built-in exception means the same
thing the class is also that built-in (NotFoundError is a FileNotFoundError, JobTimeoutError a TimeoutError, ...),
so code that catches the built-in keeps working; no class is named like a built-in.
"""


class TalkgenError(Exception):
    """Base class; `code` is the C ABI status name, e.g. "not_found".

    Raised by Client.generate for a failed or cancelled job, `result` is that job's JobResult (its job_id,
    attempts, timings); it is None for errors raised before a job existed.
    """
    code = "internal"
    status = 10

    def __init__(self, message="", result=None):
        super().__init__(message)
        self.result = result


class InvalidArgumentError(TalkgenError, ValueError):
    code, status = "invalid_argument", 1


class UnknownFieldError(InvalidArgumentError, TypeError):
    """A request, job or options field the API does not have (a typo, or a field of another version): refused
    rather than dropped. Also a TypeError, as Python's own unexpected-keyword error is. `field` is the name given,
    `accepted` the names that would have been taken."""

    def __init__(self, message="", field=None, accepted=()):
        super().__init__(message)
        self.field = field
        self.accepted = tuple(accepted)


class NotFoundError(TalkgenError, FileNotFoundError):
    code, status = "not_found", 2


class UnsupportedError(TalkgenError):
    code, status = "unsupported", 3


class CheckpointMismatchError(TalkgenError):
    code, status = "checkpoint_mismatch", 4


class OutOfMemoryError(TalkgenError, MemoryError):
    code, status = "out_of_memory", 5


class DeviceUnavailableError(TalkgenError):
    code, status = "device_unavailable", 6


class CancelledError(TalkgenError):
    code, status = "cancelled", 7


class JobTimeoutError(TalkgenError, TimeoutError):
    """A job ran past its timeout. Also Python's TimeoutError, so `except TimeoutError` catches it; named apart so
    that `from talkgen import *` does not shadow the built-in."""
    code, status = "timeout", 8


class TalkgenIOError(TalkgenError, OSError):
    """Reading or writing the filesystem failed. Also an OSError (Python's IOError is the same class)."""
    code, status = "io_error", 9


class InternalError(TalkgenError):
    code, status = "internal", 10


BY_STATUS = {cls.status: cls for cls in (InvalidArgumentError, NotFoundError, UnsupportedError,
                                         CheckpointMismatchError, OutOfMemoryError, DeviceUnavailableError,
                                         CancelledError, JobTimeoutError, TalkgenIOError, InternalError)}


BY_CODE = {cls.code: cls for cls in BY_STATUS.values()}


def from_status(status, message, result=None):
    return BY_STATUS.get(status, InternalError)(message, result)
