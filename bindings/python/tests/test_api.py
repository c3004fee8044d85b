"""The API added for issue 23: lazy loading of the native library, exceptions that shadow no built-in, the library's
defaults (nothing restated here), submit / poll / wait / cancel, plan, and the log routed into `logging`."""
import builtins
import logging
import os
import re
import subprocess
import sys
import threading
import unittest
import warnings

import talkgen

from test_client import PORTRAIT, TINY, tone_wav


def run_python(code, **env_changes):
    """Runs `code` with this interpreter (the venv's) in a clean environment; returns the finished process."""
    env = {k: v for k, v in os.environ.items() if k not in ("TALKGEN_LIBRARY", "PYTHONPATH")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=os.path.dirname(PORTRAIT))


class LazyLibraryTest(unittest.TestCase):
    def test_import_and_remote_client_do_not_load_the_native_library(self):
        done = run_python(
            "import talkgen, talkgen.remote\n"
            "client = talkgen.RemoteClient('http://127.0.0.1:9')\n"
            "assert client.max_retries == 3\n"
            "print(any('libtalkgen_c' in line for line in open('/proc/self/maps')))\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "False")

    def test_without_a_loadable_library_remote_works_and_local_says_what_to_do(self):
        done = run_python(
            "import talkgen\n"
            "talkgen.RemoteClient('http://127.0.0.1:9')\n"
            "try:\n"
            "    talkgen.Client(model='demo')\n"
            "except ImportError as e:\n"
            "    print(e)\n", TALKGEN_LIBRARY="/nonexistent/libtalkgen_c.so")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("/nonexistent/libtalkgen_c.so (missing)", done.stdout)
        self.assertIn("TALKGEN_LIBRARY", done.stdout)


class ExceptionsTest(unittest.TestCase):
    def test_no_exported_name_shadows_a_builtin(self):
        self.assertEqual(set(talkgen.__all__) & set(dir(builtins)), set())
        namespace = {}
        exec("from talkgen import *", namespace)
        self.assertIs(namespace.get("TimeoutError", builtins.TimeoutError), builtins.TimeoutError)

    def test_renamed_classes_are_their_builtins_too(self):
        self.assertTrue(issubclass(talkgen.JobTimeoutError, TimeoutError))
        self.assertTrue(issubclass(talkgen.JobTimeoutError, talkgen.TalkgenError))
        self.assertTrue(issubclass(talkgen.TalkgenIOError, OSError))
        self.assertEqual((talkgen.JobTimeoutError.code, talkgen.TalkgenIOError.code), ("timeout", "io_error"))
        for cls in (talkgen.NotFoundError, talkgen.CancelledError, talkgen.RemoteError, talkgen.UnknownFieldError):
            self.assertTrue(issubclass(cls, talkgen.TalkgenError), cls)

    def test_old_names_still_resolve_with_a_warning(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.assertIs(talkgen.TimeoutError, talkgen.JobTimeoutError)
            self.assertIs(talkgen.IOError, talkgen.TalkgenIOError)
        self.assertEqual([w.category for w in caught], [DeprecationWarning] * 2)


class LocalApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = talkgen.Client(model="demo", device="cpu", max_retries=0)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_a_job_of_defaults_runs_the_librarys_defaults(self):
        result = self.client.generate(image=PORTRAIT, audio=tone_wav(), mode="clip", preset="ultrafast")
        self.assertEqual(result.quality, "balanced")  # defined once, in the library
        self.assertEqual((result.seed, result.resolution), (42, "480p"))

    def test_max_retries_and_max_attempts_are_one_setting(self):
        with self.assertRaises(talkgen.InvalidArgumentError):
            talkgen.Client(model="demo", device="cpu", max_retries=1, max_attempts=2)
        with self.assertRaises(talkgen.InvalidArgumentError):
            talkgen.Client(model="demo", device="cpu", max_retries=-1)

    def test_submit_poll_wait(self):
        seen = []
        job = self.client.submit(progress=seen.append, **TINY)
        self.assertRegex(job.id, r"^[0-9a-f]{32}$")
        first = job.poll()
        self.assertIsInstance(first, talkgen.Progress)
        self.assertEqual(first.job_id, job.id)
        self.assertIn(first.state, ("queued", "running", "succeeded"))
        result = job.wait(timeout=120)
        self.assertTrue(result.ok)
        self.assertEqual(result.job_id, job.id)
        self.assertEqual(result.video[4:8], b"ftyp")
        self.assertTrue(job.done())
        self.assertEqual(job.poll().state, "succeeded")
        self.assertEqual(job.wait().job_id, job.id)  # again: the result again
        self.assertFalse(job.cancel())  # finished: nothing to cancel
        self.assertIn("sampling", {p.stage for p in seen})

    def test_wait_with_a_timeout_then_cancel(self):
        sampling = threading.Event()
        job = self.client.submit(progress=lambda p: sampling.set() if p.stage == "sampling" else None,
                                 **dict(TINY, mode="streaming", audio=tone_wav(4.0), output=None))
        self.assertTrue(sampling.wait(120))
        with self.assertRaises(talkgen.JobTimeoutError) as caught:
            job.wait(timeout=0)
        self.assertIsNone(caught.exception.result)
        self.assertIsInstance(caught.exception, TimeoutError)
        self.assertTrue(job.cancel())
        with self.assertRaises(talkgen.CancelledError) as caught:
            job.wait(timeout=120)
        self.assertEqual(caught.exception.result.state, "cancelled")
        with self.assertRaises(talkgen.InvalidArgumentError):
            job.wait(timeout=-1)

    def test_an_exception_in_a_submitted_jobs_progress_is_raised_by_wait(self):
        def boom(p):
            raise KeyError("from the callback")

        job = self.client.submit(progress=boom, **TINY)
        with self.assertRaises(KeyError):
            job.wait(timeout=120)

    def test_submit_refuses_before_any_job_exists(self):
        with self.assertRaises(talkgen.UnknownFieldError):
            self.client.submit(qualty="draft", **TINY)
        with self.assertRaises(talkgen.NotFoundError):
            self.client.submit(**dict(TINY, image="/nonexistent/face.png"))

    def test_plan_is_unsupported_for_the_demo_model_on_the_cpu(self):
        with self.assertRaises(talkgen.UnsupportedError) as caught:
            self.client.plan(20)
        self.assertTrue(str(caught.exception))
        with self.assertRaises(talkgen.InvalidArgumentError):
            self.client.plan(20, budget_usd=0)  # None means no budget; 0 is a mistake
        with self.assertRaises(TypeError):
            self.client.plan(20, budget=1.0)


class ClosedClientTest(unittest.TestCase):
    def test_close_cancels_submitted_jobs_and_their_handles_refuse_use(self):
        client = talkgen.Client(model="demo", device="cpu")
        job = client.submit(**dict(TINY, mode="streaming", audio=tone_wav(4.0)))
        client.close()
        with self.assertRaises(talkgen.InvalidArgumentError) as caught:
            job.poll()
        self.assertIn("closed", str(caught.exception))


class LogTest(unittest.TestCase):
    def setUp(self):
        self.records = []
        handler = logging.Handler()
        handler.emit = self.records.append
        self.logger = logging.getLogger("talkgen")
        self.logger.addHandler(handler)
        self.logger.setLevel(logging.DEBUG)
        self.addCleanup(self.logger.removeHandler, handler)
        self.addCleanup(self.logger.setLevel, logging.NOTSET)
        self.addCleanup(talkgen.set_log_level, "info")

    def test_library_messages_reach_the_talkgen_logger(self):
        with talkgen.Client(model="demo", device="cpu") as client:
            result = client.generate(**TINY)
        messages = [(r.levelno, r.getMessage()) for r in self.records]
        self.assertTrue(any(level == logging.WARNING and "UNTRAINED" in m for level, m in messages), messages)
        self.assertTrue(any(level == logging.INFO and result.job_id in m and "succeeded" in m
                            for level, m in messages), messages)

        self.records.clear()
        talkgen.set_log_level("warning")
        with talkgen.Client(model="demo", device="cpu") as client:
            client.generate(**TINY)
        self.assertTrue(self.records)
        self.assertTrue(all(r.levelno >= logging.WARNING for r in self.records))

    def test_set_log_level_takes_names_and_logging_levels(self):
        talkgen.set_log_level(logging.DEBUG)
        talkgen.set_log_level("error")
        with self.assertRaises(ValueError):
            talkgen.set_log_level("loud")

    def test_nothing_goes_to_stderr_in_the_librarys_format(self):
        done = run_python(
            "import logging, sys, talkgen\n"
            "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(name)s|%(levelname)s|%(message)s')\n"
            "with talkgen.Client(model='demo', device='cpu') as c:\n"
            "    c.generate(image='portrait.png', text='Hi.', quality='draft', mode='clip', preset='ultrafast')\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotRegex(done.stderr, r"\[talkgen (info|warn)\]")
        self.assertRegex(done.stdout, re.compile(r"^talkgen\|INFO\|job '[0-9a-f]{32}' succeeded", re.M))


if __name__ == "__main__":
    unittest.main()
