"""Finds and loads libtalkgen_c: $TALKGEN_LIBRARY, next to this package, or the system's library path."""
import ctypes
import ctypes.util
import os

_NAMES = ("libtalkgen_c.so", "libtalkgen_c.so.0")


def _candidates():
    explicit = os.environ.get("TALKGEN_LIBRARY")
    if explicit:
        yield explicit
        return  # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _NAMES:
        yield os.path.join(here, name)
    found = ctypes.util.find_library("talkgen_c")
    if found:
        yield found


def load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("talkgen: cannot load libtalkgen_c; tried " + "; ".join(tried or ["nothing"]) +
                      ". Set TALKGEN_LIBRARY to the library's path or install talkgen.")
