"""Finds and loads libtalkgen_c, the first time the local Client, encode_still or version() needs it.

Where it looks, in order:
  1. $TALKGEN_LIBRARY, when set: an explicit choice (a debug build, say), never silently replaced by another.
  2. Next to this file: the installed package carries the library (see setup.py).
  3. The system's library path (`cmake --install` put it in /usr/local/lib, say).
Nothing here runs at `import talkgen`: talkgen.remote and the exception classes work without the library.
"""
import ctypes
import ctypes.util
import os

# What the wheel carries (setup.py copies the build's library under this name); the SONAME, for a library
# installed by `cmake --install` next to a copy of the package.
NAMES = ("libtalkgen_c.so", "libtalkgen_c.so.0")
HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    explicit = os.environ.get("TALKGEN_LIBRARY")
    if explicit:
        yield explicit
        return
    for name in NAMES:
        yield os.path.join(HERE, name)
    found = ctypes.util.find_library("talkgen_c")
    if found:
        yield found


def load():
    """(ctypes.CDLL, the path it was loaded from). ImportError naming every place tried and what to do."""
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:  # present but not loadable: a dependency missing, another architecture, ...
            tried.append(f"{path} ({e})")
    hint = ("unset TALKGEN_LIBRARY or point it at an existing libtalkgen_c.so" if os.environ.get("TALKGEN_LIBRARY")
            else "reinstall the package from a built tree (cmake --preset cpu && cmake --build build --target "
                 "talkgen_c, then pip install ./bindings/python), or set TALKGEN_LIBRARY to the library's path")
    raise ImportError("talkgen: cannot load the native library libtalkgen_c; tried " + "; ".join(tried) +
                      f". {hint}. (talkgen.RemoteClient needs no native library.)")
