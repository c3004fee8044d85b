"""A PEP 517 build backend using only the standard library, so `pip install ./bindings/python` works offline
(with or without build isolation: there is nothing to download, not even setuptools or wheel).

It packs talkgen/*.py (and a libtalkgen_c.so* placed next to them, which makes the wheel platform-specific)
into a wheel, and the source tree into an sdist. Project metadata comes from pyproject.toml's [project].
"""
import base64
import hashlib
import io
import os
import re
import sys
import sysconfig
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "talkgen"


def _project():
    """name, version, description, requires-python and license from pyproject.toml's [project] table."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.S | re.M).group(1)

    def value(key, default=""):
        found = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', table, re.M)
        return found.group(1) if found else default

    license_text = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"', table, re.M)
    return {"name": value("name"), "version": value("version"), "summary": value("description"),
            "requires_python": value("requires-python"), "license": license_text.group(1) if license_text else ""}


def _package_files():
    """(path in the wheel, path on disk) of the package, and whether a native library is among them."""
    files, native = [], False
    directory = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        if name.endswith(".py"):
            files.append((f"{PACKAGE}/{name}", path))
        elif re.match(r"libtalkgen_c\.so(\.\d+)*$", name):
            files.append((f"{PACKAGE}/{name}", path))
            native = True
    return files, native


def _metadata(project):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}",
             f"Summary: {project['summary']}"]
    if project["license"]:
        lines.append(f"License: {project['license']}")
    if project["requires_python"]:
        lines.append(f"Requires-Python: {project['requires_python']}")
    return "\n".join(lines) + "\n"


def _tag(native):
    if not native:
        return "py3-none-any"
    return "py3-none-" + re.sub(r"[-.]", "_", sysconfig.get_platform())


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory, entries, native):
    """entries: (arcname, bytes). Adds the .dist-info files and RECORD; returns the wheel's file name."""
    project = _project()
    dist = f"{project['name']}-{project['version']}"
    tag = _tag(native)
    info = f"{dist}.dist-info"
    entries = list(entries) + [
        (f"{info}/METADATA", _metadata(project).encode()),
        (f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: talkgen_build\nRoot-Is-Purelib: {str(not native).lower()}\n"
                          f"Tag: {tag}\n".encode()),
        (f"{info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = "\n".join(_record_line(name, data) for name, data in entries) + f"\n{info}/RECORD,,\n"
    filename = f"{dist}-{tag}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries + [(f"{info}/RECORD", record.encode())]:
            wheel.writestr(name, data)
    return filename


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- PEP 517 hooks ---------------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files, native = _package_files()
    return _write_wheel(wheel_directory, [(arcname, _read(path)) for arcname, path in files], native)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel holding a .pth file that puts this source folder on sys.path."""
    return _write_wheel(wheel_directory, [(f"_{PACKAGE}_editable.pth", (ROOT + "\n").encode())], native=False)


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = f"{project['name']}-{project['version']}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        for relative in ["pyproject.toml", "build_backend/talkgen_build.py"] + \
                [arcname for arcname, _ in _package_files()[0]]:
            sdist.add(os.path.join(ROOT, relative), arcname=f"{base}/{relative}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata(project).encode()
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return filename


if __name__ == "__main__":  # python3 build_backend/talkgen_build.py DIR: build a wheel by hand
    print(build_wheel(sys.argv[1] if len(sys.argv) > 1 else "."))
