"""setuptools build of the talkgen wheel: the Python package plus the native library it loads.

The wheel carries libtalkgen_c.so next to talkgen/__init__.py (talkgen/_library.py looks there first), so the
installed package needs no environment variable. The library comes from, in order:
  1. $TALKGEN_LIBRARY at build time (a built libtalkgen_c.so, e.g. ctest passes the build's own);
  2. the repository's build/ folder (README's setup: `cmake --preset cpu && cmake --build build`);
  3. a CMake build of the talkgen_c target into build/, when build/ has none (configured with the `cpu` preset
     when build/ is not configured yet).
Debug information is stripped from the copy (152 MB -> 3 MB on the CPU build); build/ keeps its own.

libtalkgen_c.so links talkgen's parts statically; its dependencies are system libraries (FFmpeg, espeak-ng,
ICU, fmt, libtorch from Debian's packages on the CPU build), so the wheel carries no other library. A CUDA build
with python3's PyTorch finds libtorch through the RUNPATH CMake recorded (torch's lib folder), kept in the copy.

setuptools' scratch folders (build/, talkgen.egg-info/) go to a temporary folder rather than the source tree, so
two builds at once (or a read-only checkout) do not collide.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools 70.1 and later have their own; older ones use the wheel package's
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:
        sys.exit("talkgen: building the wheel needs setuptools >= 70.1 or the wheel package: on Debian "
                 "`apt install python3-wheel` (and build in a venv made with --system-site-packages)")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository, when building from it
BUILD = os.path.join(ROOT, "build")
LIBRARY = "libtalkgen_c.so"  # its name in the wheel (talkgen/_library.py looks for it)


def _fail(message):
    sys.exit(f"talkgen: {message}")


def project_version():
    """CMakeLists.txt's project(talkgen VERSION x.y.z); from an sdist, its PKG-INFO."""
    cmake = os.path.join(ROOT, "CMakeLists.txt")
    if os.path.isfile(cmake):
        with open(cmake, encoding="utf-8") as f:
            found = re.search(r"project\(\s*talkgen\s+VERSION\s+([0-9.]+)", f.read())
        if found:
            return found.group(1)
    pkg_info = os.path.join(HERE, "PKG-INFO")
    if os.path.isfile(pkg_info):
        with open(pkg_info, encoding="utf-8") as f:
            found = re.search(r"^Version:\s*(\S+)", f.read(), re.M)
        if found:
            return found.group(1)
    _fail(f"no version: neither {cmake} (project(talkgen VERSION ...)) nor an sdist's PKG-INFO")


def _run(command, cwd=None):
    print("talkgen: " + " ".join(command), file=sys.stderr, flush=True)
    if subprocess.run(command, cwd=cwd).returncode != 0:
        _fail(f"`{' '.join(command)}` failed (its output is above)")


def native_library():
    """The path of the libtalkgen_c.so to carry (see the module's docstring)."""
    explicit = os.environ.get("TALKGEN_LIBRARY")
    if explicit:
        if not os.path.isfile(explicit):
            _fail(f"TALKGEN_LIBRARY={explicit}: no such file; point it at a built libtalkgen_c.so or unset it "
                  f"to use {BUILD}")
        return os.path.realpath(explicit)
    built = os.path.join(BUILD, LIBRARY)
    if os.path.isfile(built):
        return os.path.realpath(built)
    if not os.path.isfile(os.path.join(ROOT, "CMakeLists.txt")):
        _fail(f"no libtalkgen_c.so to put in the wheel: this is not a talkgen source tree ({ROOT}); build the "
              "library and set TALKGEN_LIBRARY to it")
    cmake = shutil.which("cmake")
    commands = ([] if os.path.isfile(os.path.join(BUILD, "CMakeCache.txt")) else [["cmake", "--preset", "cpu"]]) + \
        [["cmake", "--build", BUILD, "--target", "talkgen_c"]]
    if cmake is None:
        _fail(f"{built} does not exist and cmake is not installed to build it; in {ROOT} run " +
              " && ".join(" ".join(c) for c in commands) + " (README.md lists the packages), then install again")
    print(f"talkgen: {built} does not exist: building it with CMake (this takes a while)", file=sys.stderr)
    for command in commands:
        _run(command, cwd=ROOT)
    if not os.path.isfile(built):
        _fail(f"the CMake build finished but {built} is missing")
    return os.path.realpath(built)


class BuildPyWithLibrary(build_py):
    """build_py, then the native library into the package (debug information stripped when binutils' strip
    is there; without it the copy is whole, only larger)."""

    def run(self):
        super().run()
        source = native_library()
        target = os.path.join(self.build_lib, "talkgen", LIBRARY)
        strip = shutil.which("strip")
        if strip:
            self.announce(f"talkgen: {source} -> {target} (strip --strip-debug)", level=2)
            _run([strip, "--strip-debug", "-o", target, source])
        else:
            print(f"talkgen: no `strip` (binutils): {source} goes into the wheel with its debug information",
                  file=sys.stderr)
            shutil.copyfile(source, target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    """The wheel holds a native library: platform-specific (platlib, linux_x86_64, ...)."""

    def has_ext_modules(self):
        return True


class BdistWheelAnyPython(bdist_wheel):
    """py3-none-<platform>: the library is loaded through ctypes, so any Python 3 of the platform can use it."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


_scratch = tempfile.mkdtemp(prefix="talkgen-wheel-")
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)

setup(
    version=project_version(),
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": BdistWheelAnyPython},
    options={"build": {"build_base": os.path.join(_scratch, "build")}, "egg_info": {"egg_base": _scratch}},
)
