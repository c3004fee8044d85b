"""ctest's fixture for the Python tests: the package as a user installs it (README.md), nothing from the source tree.

    python3 install_venv.py --source bindings/python --venv DIR --work DIR [--library build/libtalkgen_c.so]

Makes a fresh `python3 -m venv --system-site-packages` at --venv, runs `<venv>/bin/pip install --no-index
--no-build-isolation <source>` in it from --work (an empty folder, the tests' working folder), with
TALKGEN_LIBRARY=--library at build time so the wheel carries this build's library. The tests then run with
<venv>/bin/python from --work, and import talkgen from the venv.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys


def require_build_tools():
    """The interpreter must have what README's route needs; say which Debian packages give it."""
    missing = [name for name in ("venv", "ensurepip", "setuptools") if importlib.util.find_spec(name) is None]
    if importlib.util.find_spec("setuptools") is not None:
        import setuptools
        major_minor = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
        if major_minor < (70, 1) and importlib.util.find_spec("wheel") is None:
            missing.append("wheel")
    if missing:
        sys.exit(f"{sys.executable} lacks {', '.join(missing)}: the offline install needs python3-venv, "
                 "python3-setuptools and python3-wheel (apt install them, or configure CMake with "
                 "-DTALKGEN_PACKAGE_PYTHON3=<a python3 that has them>)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--library")
    args = parser.parse_args()
    require_build_tools()

    for folder in (args.venv, args.work):
        shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(args.work)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TALKGEN_LIBRARY", "PIP_INDEX_URL")}
    if args.library:
        env["TALKGEN_LIBRARY"] = args.library  # build time only: which library the wheel carries
    for command in ([sys.executable, "-m", "venv", "--system-site-packages", args.venv],
                    [os.path.join(args.venv, "bin", "pip"), "install", "--no-index", "--no-build-isolation",
                     "--no-cache-dir", "--disable-pip-version-check", os.path.abspath(args.source)]):
        print("+ " + " ".join(command), flush=True)
        done = subprocess.run(command, cwd=args.work, env=env)
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(command)}")
    print(f"installed into {args.venv}; tests run from {args.work}")


if __name__ == "__main__":
    main()
