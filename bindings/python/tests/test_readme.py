"""Runs README.md's examples as a user would: each code block after an `<!-- example: NAME -->` marker, as its own
script with the installed package's python, in an empty folder holding portrait.png and speech.wav. Examples that
talk to http://127.0.0.1:8080 get the URL of a `talkgen serve --model demo` started here instead.

ctest runs one example per test (`python: readme NAME`, registered from the markers by CMakeLists.txt).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from test_client import PORTRAIT, tone_wav
from test_remote import ServeProcess

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
DOCUMENTED_URL = "http://127.0.0.1:8080"
# What an example must leave in its folder, besides printing without an error.
WRITES = {"local-client": ["out.mp4"], "progress": ["out.mp4"], "submit": ["async.mp4"],
          "batch": ["one.mp4", "two.mp4"], "remote": ["remote.mp4"]}


def examples():
    """{name: code} of README.md's marked python blocks, in order."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    found = re.findall(r"^<!-- example: ([a-z0-9-]+) -->\n```python\n(.*?)^```", text, re.S | re.M)
    return dict(found)


class ReadmeExamplesTest(unittest.TestCase):
    server = None

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()

    @classmethod
    def url(cls):
        if cls.server is None:
            cls.server = ServeProcess()
        return cls.server.url

    def run_example(self, name):
        code = examples()[name]
        if DOCUMENTED_URL in code:
            code = code.replace(DOCUMENTED_URL, self.url())
        with tempfile.TemporaryDirectory(prefix=f"talkgen-readme-{name}-") as folder:
            shutil.copyfile(PORTRAIT, os.path.join(folder, "portrait.png"))
            with open(os.path.join(folder, "speech.wav"), "wb") as f:
                f.write(tone_wav(1.0))
            env = {k: v for k, v in os.environ.items() if not k.startswith("TALKGEN_") and k != "PYTHONPATH"}
            done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=240)
            self.assertEqual(done.returncode, 0, f"README example {name!r} failed:\n{done.stdout}\n{done.stderr}")
            self.assertTrue(done.stdout.strip() or done.stderr.strip(), f"README example {name!r} printed nothing")
            if name == "logging":  # the library's messages through logging's format, not the library's own
                self.assertRegex(done.stderr, r"talkgen INFO: job '[0-9a-f]{32}' succeeded")
                self.assertNotIn("[talkgen info]", done.stderr)
            for output in WRITES.get(name, []):
                path = os.path.join(folder, output)
                self.assertTrue(os.path.isfile(path) and os.path.getsize(path) > 1000, f"{name}: no {output}")
            self.assertFalse(os.path.exists(os.path.join(folder, "never.mp4")), "a cancelled job wrote its video")
        return done.stdout

    def test_every_python_block_is_a_marked_example(self):
        with open(README, encoding="utf-8") as f:
            blocks = re.findall(r"^```python$", f.read(), re.M)
        self.assertEqual(len(blocks), len(examples()))
        self.assertTrue({"local-client", "remote", "progress", "cancellation", "batch", "plan", "submit"}
                        <= set(examples()))


def _add_tests():
    """test_<name> for every example (CMakeLists.txt registers each with ctest)."""
    for name in examples():
        def test(self, name=name):
            self.run_example(name)
        test.__name__ = "test_" + name.replace("-", "_")
        setattr(ReadmeExamplesTest, test.__name__, test)


_add_tests()

if __name__ == "__main__":
    unittest.main()
