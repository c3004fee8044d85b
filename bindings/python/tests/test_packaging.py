"""The installed package, as README.md's route makes it: imported from the venv (never the source tree), with the
native library inside it, loadable from any folder with no environment variable; the wheel's contents."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

import talkgen
from talkgen import _capi

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))  # bindings/python
ROOT = os.path.dirname(os.path.dirname(SOURCE))
PACKAGE = os.path.dirname(os.path.abspath(talkgen.__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(\s*talkgen\s+VERSION\s+([0-9.]+)", f.read()).group(1)


def built_library():
    """The build's libtalkgen_c.so (ctest passes it), else build/'s."""
    return os.environ.get("TALKGEN_BUILT_LIBRARY") or os.path.join(ROOT, "build", "libtalkgen_c.so")


class InstalledPackageTest(unittest.TestCase):
    def test_talkgen_comes_from_the_venv_not_the_source_tree(self):
        self.assertNotEqual(sys.prefix, sys.base_prefix, "the tests must run with the venv's python")
        self.assertTrue(PACKAGE.startswith(os.path.realpath(sys.prefix)) or PACKAGE.startswith(sys.prefix), PACKAGE)
        self.assertFalse(PACKAGE.startswith(SOURCE), PACKAGE)
        self.assertNotIn("TALKGEN_LIBRARY", os.environ)
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE, "py.typed")))

    def test_the_library_next_to_the_package_is_the_one_loaded(self):
        self.assertRegex(talkgen.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(_capi.lib.path, os.path.join(PACKAGE, "libtalkgen_c.so"))

    def test_package_and_library_versions_are_the_projects(self):
        self.assertEqual(talkgen.__version__, project_version())
        self.assertEqual(talkgen.version(), project_version())

    def test_every_dependency_of_the_installed_library_resolves(self):
        ldd = shutil.which("ldd")
        self.assertIsNotNone(ldd, "ldd (libc-bin) is needed to check the library's dependencies")
        done = subprocess.run([ldd, os.path.join(PACKAGE, "libtalkgen_c.so")], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("not found", done.stdout)
        self.assertNotIn("libtalkgen.so", done.stdout)  # talkgen's own code is inside, nothing from build/

    def test_import_works_from_another_folder_without_environment(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALKGEN_") and k != "PYTHONPATH"}
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run([sys.executable, "-c", "import talkgen; print(talkgen.version(), talkgen.__file__)"],
                                  capture_output=True, text=True, cwd=folder, env=env, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        version, path = done.stdout.split()
        self.assertEqual(version, project_version())
        self.assertEqual(os.path.dirname(path), PACKAGE)


class WheelTest(unittest.TestCase):
    """`pip wheel` of the source folder, as the install builds it."""

    def build(self, folder, **env_changes):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(env_changes)
        return subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps",
                               "--no-cache-dir", "--disable-pip-version-check", "-w", folder, SOURCE],
                              capture_output=True, text=True, env=env, cwd=folder, timeout=300)

    def test_wheel_carries_the_stripped_library_and_lists_every_file(self):
        before = sorted(os.listdir(SOURCE))
        with tempfile.TemporaryDirectory() as folder:
            done = self.build(folder, TALKGEN_LIBRARY=built_library())
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            wheels = [n for n in os.listdir(folder) if n.endswith(".whl")]
            self.assertEqual(len(wheels), 1, os.listdir(folder))
            self.assertRegex(wheels[0], rf"^talkgen-{re.escape(project_version())}-py3-none-linux_\w+\.whl$")
            with zipfile.ZipFile(os.path.join(folder, wheels[0])) as wheel:
                names = set(wheel.namelist())
                info = f"talkgen-{project_version()}.dist-info"
                record = wheel.read(f"{info}/RECORD").decode()
                wheel_file = wheel.read(f"{info}/WHEEL").decode()
                library_size = wheel.getinfo("talkgen/libtalkgen_c.so").file_size
        self.assertTrue({"talkgen/__init__.py", "talkgen/client.py", "talkgen/remote.py", "talkgen/py.typed",
                         "talkgen/libtalkgen_c.so"} <= names, names)
        self.assertFalse([n for n in names if n.startswith("tests/") or "build_backend" in n], names)
        self.assertEqual({line.split(",")[0] for line in record.splitlines() if line}, names)
        self.assertIn("Root-Is-Purelib: false", wheel_file)
        self.assertLess(library_size, os.path.getsize(os.path.realpath(built_library())))  # debug info stripped
        self.assertEqual(sorted(os.listdir(SOURCE)), before)  # setuptools' scratch folders went elsewhere

    def test_a_missing_library_is_refused_naming_what_to_do(self):
        with tempfile.TemporaryDirectory() as folder:
            done = self.build(folder, TALKGEN_LIBRARY=os.path.join(folder, "nonexistent", "libtalkgen_c.so"))
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("TALKGEN_LIBRARY=", done.stdout + done.stderr)
            self.assertIn("no such file", done.stdout + done.stderr)
            self.assertFalse([n for n in os.listdir(folder) if n.endswith(".whl")])


if __name__ == "__main__":
    unittest.main()
