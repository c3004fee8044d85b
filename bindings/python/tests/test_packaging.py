"""`pip install ./bindings/python` works offline: the in-tree build backend needs only the standard library."""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

PROJECT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


@unittest.skipIf(importlib.util.find_spec("pip") is None, "pip is not installed for this interpreter")
class PackagingTest(unittest.TestCase):
    def test_pip_installs_offline_with_build_isolation(self):
        with tempfile.TemporaryDirectory() as target:
            done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--quiet",
                                   "--disable-pip-version-check", "--target", target, PROJECT],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stderr)
            installed = set(os.listdir(os.path.join(target, "talkgen")))
            self.assertTrue({"__init__.py", "client.py", "_capi.py", "errors.py"} <= installed, installed)
            self.assertTrue(os.path.isdir(os.path.join(target, "talkgen-0.1.0.dist-info")))

    def test_wheel_lists_every_file_in_its_record(self):
        sys.path.insert(0, os.path.join(PROJECT, "build_backend"))
        try:
            import talkgen_build
        finally:
            sys.path.pop(0)
        with tempfile.TemporaryDirectory() as d:
            name = talkgen_build.build_wheel(d)
            self.assertEqual(name, "talkgen-0.1.0-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(d, name)) as wheel:
                names = set(wheel.namelist())
                record = wheel.read("talkgen-0.1.0.dist-info/RECORD").decode()
            listed = {line.split(",")[0] for line in record.splitlines() if line}
            self.assertEqual(names, listed)
            self.assertIn("talkgen/client.py", names)


if __name__ == "__main__":
    unittest.main()
