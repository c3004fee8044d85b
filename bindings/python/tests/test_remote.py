"""talkgen.RemoteClient against a real `talkgen serve --model demo --port 0` started here.

The talkgen binary: TALKGEN_CLI, else next to TALKGEN_BUILT_LIBRARY (both live in the build folder; ctest sets
them), else build/talkgen.
"""
import io
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import wave
from unittest import mock

import talkgen
from talkgen import remote

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORTRAIT = os.path.join(ROOT, "examples", "portrait.png")
FAST = dict(base_delay=0.02, max_delay=0.2, poll_interval=0.2)


def talkgen_binary():
    candidates = []
    if os.environ.get("TALKGEN_CLI"):
        candidates.append(os.environ["TALKGEN_CLI"])
    if os.environ.get("TALKGEN_BUILT_LIBRARY"):
        candidates.append(os.path.join(os.path.dirname(os.environ["TALKGEN_BUILT_LIBRARY"]), "talkgen"))
    candidates.append(os.path.join(ROOT, "build", "talkgen"))
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise RuntimeError(f"no talkgen binary (tried {', '.join(candidates)}): build talkgen_cli or set TALKGEN_CLI")


def speech_wav(seconds, rate=16000):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(8000 * (0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)) * math.sin(2 * math.pi * 140 * t)))
            for t in (i / rate for i in range(int(seconds * rate)))))
    return buffer.getvalue()


class ServeProcess:
    """talkgen serve on 127.0.0.1 with an ephemeral port; the URL comes from its JSON 'listening' line."""

    def __init__(self, token=None):
        self.dir = tempfile.mkdtemp(prefix="talkgen-py-remote-")
        args = [talkgen_binary(), "serve", "--model", "demo", "--host", "127.0.0.1", "--port", "0",
                "--data-dir", os.path.join(self.dir, "data")]
        if token:
            with open(os.path.join(self.dir, "token"), "w") as f:
                f.write(token + "\n")
            args += ["--token-file", os.path.join(self.dir, "token")]
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        line = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(120)
        if not line or not line[0]:
            self.stop()
            raise RuntimeError(f"talkgen serve did not report listening: {self.logs()}")
        self.url = json.loads(line[0])["url"]
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def logs(self):
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class CountingOpener:
    """Wraps remote._urlopen (every request of RemoteClient) to count calls and optionally answer some itself."""

    def __init__(self, intercept=None):
        self.calls = []
        self.intercept = intercept
        self.real = remote._urlopen

    def __call__(self, request, timeout=None):
        path = urllib.parse.urlparse(request.full_url).path
        self.calls.append((request.get_method(), path))
        if self.intercept:
            self.intercept(request, path, self.real)
        return self.real(request, timeout=timeout)


def http_error(url, status, code):
    body = json.dumps({"code": code, "message": "test"}).encode()
    return urllib.error.HTTPError(url, status, code, {"Content-Type": "application/json"}, io.BytesIO(body))


class RemoteClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServeProcess()
        cls.client = talkgen.RemoteClient(cls.server.url, **FAST)
        with open(PORTRAIT, "rb") as f:
            cls.portrait = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_is_exported_from_the_package(self):
        self.assertIs(talkgen.RemoteClient, remote.RemoteClient)

    def test_recommend_and_estimate_for_a_gpu_type(self):
        gpus = self.client.recommend_gpu_count(20, quality="balanced", gpu_type="H100", gpus_available=8)
        self.assertTrue(1 <= gpus <= 8)
        one = self.client.estimate_time(20, 1, gpu_type="H100")
        four = self.client.estimate_time(20, 4, gpu_type="H100")
        self.assertGreater(one, four)
        self.assertGreater(four, 0)

    def test_4xx_is_not_retried(self):
        opener = CountingOpener()
        with mock.patch.object(remote, "_urlopen", opener):
            with self.assertRaises(remote.RemoteError) as caught:
                self.client.recommend_gpu_count(20)  # a CPU server cannot plan for itself
        self.assertEqual((caught.exception.code, caught.exception.status), ("unsupported", 422))
        self.assertEqual(len(opener.calls), 1)

    def test_generate_bytes_progress_and_stats(self):
        self.client.reset_stats()
        seen = []
        result = self.client.generate(image=self.portrait, audio=speech_wav(1.0), quality="draft", seed=5,
                                      on_progress=seen.append)
        self.assertTrue(result["ok"])
        self.assertRegex(result["id"], r"^[0-9a-f]{32}$")
        self.assertTrue(result["job_id"].startswith("py-"))
        self.assertEqual(result["video"][4:8], b"ftyp")
        self.assertEqual(len(result["video"]), result["bytes"])
        self.assertEqual(result["video_url"], f"{self.server.url}/v1/jobs/{result['id']}/video")
        fractions = [j["progress"] for j in seen]
        self.assertEqual(fractions, sorted(fractions))
        self.assertEqual(seen[-1]["state"], "succeeded")
        stats = self.client.stats()
        self.assertGreaterEqual(stats["jobs"], 1)
        self.assertEqual(self.client.get_stats()["jobs"], stats["jobs"])  # the original client's name
        self.assertGreaterEqual(stats["succeeded"], 1)

    def test_two_speakers(self):
        job = self.client.submit(image=self.portrait, audio=speech_wav(1.0), audio2=speech_wav(0.5),
                                 speaker_timing="together", speaker1_box=[0, 0, 256, 512],
                                 speaker2_box=(256, 0, 512, 512), quality="draft")
        self.assertEqual(job["request"]["speakers"], 2)
        self.assertEqual(job["request"]["speaker_timing"], "together")
        self.assertEqual(job["request"]["speaker2_box"], [256, 0, 512, 512])
        self.assertEqual(self.client.wait(job["id"])["state"], "succeeded")
        with self.assertRaises(TypeError):
            self.client.submit(image=self.portrait, audio=speech_wav(1.0), audio2=b"x", audio2_b64="eA==")
        with self.assertRaises(remote.RemoteError) as caught:  # text speech is for one speaker
            self.client.submit(image=self.portrait, text="Hi.", audio2=speech_wav(0.5))
        self.assertEqual(caught.exception.status, 400)

    def test_get_job_waits_for_the_end_and_finds_the_clients_job_id(self):
        job = self.client.submit(image=self.portrait, text="Wait.", quality="draft", job_id="py-wait-lookup")
        finished = self.client.get_job("py-wait-lookup", wait=60)
        self.assertEqual(finished["id"], job["id"])
        self.assertIn(finished["state"], ("succeeded", "failed", "cancelled"))
        with self.assertRaises(ValueError):
            self.client.get_job(job["id"], wait=61)

    def test_generate_to_a_file_atomically(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.mp4")
            result = self.client.generate(image=PORTRAIT, text="Hi.", quality="draft", output=out)
            self.assertEqual(result["output"], out)
            self.assertNotIn("video", result)
            self.assertEqual(os.listdir(d), ["out.mp4"])
            self.assertEqual(os.path.getsize(out), result["bytes"])

    def test_lost_submit_answer_is_retried_without_a_second_job(self):
        state = {"dropped": False}

        def drop_first_answer(request, path, real):
            if request.get_method() == "POST" and path == "/v1/jobs" and not state["dropped"]:
                state["dropped"] = True
                real(request, timeout=60).read()  # the server takes the job; its answer is "lost"
                raise http_error(request.full_url, 503, "internal")

        before = self.client.list_jobs(limit=100)["total"]
        opener = CountingOpener(drop_first_answer)
        with mock.patch.object(remote, "_urlopen", opener):
            result = self.client.generate(image=self.portrait, text="Once.", quality="draft", job_id="py-retry-once")
        self.assertEqual(result["job_id"], "py-retry-once")
        self.assertEqual(sum(1 for c in opener.calls if c == ("POST", "/v1/jobs")), 2)
        after = self.client.list_jobs(limit=100)
        self.assertEqual(after["total"], before + 1)
        self.assertEqual(sum(1 for j in after["jobs"] if j["job_id"] == "py-retry-once"), 1)

    def test_429_is_retried(self):
        count = {"n": 0}

        def refuse_twice(request, path, real):
            if path == "/v1/stats" and count["n"] < 2:
                count["n"] += 1
                raise http_error(request.full_url, 429, "too_many_jobs")

        opener = CountingOpener(refuse_twice)
        with mock.patch.object(remote, "_urlopen", opener):
            self.assertIn("jobs", self.client.get_stats())
        self.assertEqual(len(opener.calls), 3)

    def test_corrupt_image_is_rejected_once(self):
        opener = CountingOpener()
        with mock.patch.object(remote, "_urlopen", opener):
            with self.assertRaises(remote.RemoteError) as caught:
                self.client.generate(image=b"not an image", text="Hi.")
        self.assertEqual((caught.exception.code, caught.exception.status), ("invalid_argument", 422))
        self.assertEqual(len(opener.calls), 1)

    def test_generate_batch_keeps_order_and_isolates_failures(self):
        results = self.client.generate_batch([
            dict(image=self.portrait, text="One.", quality="draft"),
            dict(image=self.portrait, audio=b"RIFF broken", quality="draft"),
            dict(image=self.portrait, text="Three.", quality="draft", seed=11),
        ])
        self.assertEqual([r["ok"] for r in results], [True, False, True])
        self.assertEqual(results[1]["error"].code, "invalid_argument")
        self.assertEqual(results[2]["job"]["request"]["seed"], 11)

    def test_cancel_event_cancels_the_job_on_the_server(self):
        blocker = threading.Thread(target=self.client.generate, kwargs=dict(
            image=self.portrait, audio=speech_wav(3.0), quality="draft", download=False))
        blocker.start()
        cancel = threading.Event()
        victim = {}

        def on_progress(job):
            victim["id"] = job["id"]
            if job["state"] not in ("succeeded", "failed", "cancelled"):  # queued behind the blocker, or running
                cancel.set()

        with self.assertRaises(remote.RemoteError) as caught:
            self.client.generate(image=self.portrait, text="Never.", quality="draft", cancel=cancel,
                                 on_progress=on_progress)
        self.assertEqual(caught.exception.code, "cancelled")
        blocker.join()
        self.assertEqual(self.client.wait(victim["id"])["state"], "cancelled")

    def test_timeout_cancels_the_job(self):
        blocker = threading.Thread(target=self.client.generate, kwargs=dict(
            image=self.portrait, audio=speech_wav(3.0), quality="draft", download=False))
        blocker.start()
        time.sleep(0.2)
        with self.assertRaises(remote.RemoteError) as caught:
            self.client.generate(image=self.portrait, text="Late.", quality="draft", timeout=0.5)
        self.assertEqual(caught.exception.code, "timeout")
        blocker.join()
        self.assertEqual(self.client.wait(caught.exception.job_id)["state"], "cancelled")


class WithoutServerTest(unittest.TestCase):
    def test_connection_errors_are_retried_then_reported(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        opener = CountingOpener()
        client = talkgen.RemoteClient(f"http://127.0.0.1:{port}", max_attempts=3, **FAST)
        with mock.patch.object(remote, "_urlopen", opener):
            with self.assertRaises(remote.RemoteError) as caught:
                client.get_stats()
        self.assertEqual(caught.exception.code, "connection_error")
        self.assertIn("gave up after 3 attempts", str(caught.exception))
        self.assertEqual(len(opener.calls), 3)

    def test_max_retries_counts_retries_after_the_first_try(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        self.assertEqual(talkgen.RemoteClient(url).max_retries, remote.DEFAULT_MAX_RETRIES)
        self.assertEqual(remote.DEFAULT_MAX_RETRIES, 3)  # the TypeScript client's default
        for client, tries in ((talkgen.RemoteClient(url, max_retries=1, **FAST), 2),
                              (talkgen.RemoteClient(url, max_attempts=1, **FAST), 1)):  # the 0.1 name, an alias
            opener = CountingOpener()
            with mock.patch.object(remote, "_urlopen", opener):
                with self.assertRaises(talkgen.RemoteError) as caught:
                    client.stats()
            self.assertEqual(len(opener.calls), tries)
            self.assertIn(f"gave up after {tries} attempts", str(caught.exception))
        with self.assertRaises(ValueError):
            talkgen.RemoteClient(url, max_retries=2, max_attempts=3)
        with self.assertRaises(ValueError):
            talkgen.RemoteClient(url, max_retries=-1)

    def test_remote_errors_are_talkgen_errors(self):
        self.assertTrue(issubclass(talkgen.RemoteError, talkgen.TalkgenError))

    def test_bad_arguments_raise_before_any_request(self):
        with self.assertRaises(ValueError):
            talkgen.RemoteClient("gpu-host:8080")
        client = talkgen.RemoteClient("http://127.0.0.1:9")
        with self.assertRaises(TypeError):
            client.generate(image=PORTRAIT)
        with self.assertRaises(TypeError):
            client.generate(image=PORTRAIT, text="a", audio=b"b")
        with self.assertRaises(remote.RemoteError) as caught:
            client.generate(image="/nonexistent/face.png", text="a")
        self.assertEqual(caught.exception.code, "not_found")


class TokenTest(unittest.TestCase):
    def test_401_without_the_token_and_success_with_it(self):
        server = ServeProcess(token="py-test-token-0123456789")
        try:
            opener = CountingOpener()
            with mock.patch.object(remote, "_urlopen", opener):
                with self.assertRaises(remote.RemoteError) as caught:
                    talkgen.RemoteClient(server.url, **FAST).get_stats()
            self.assertEqual((caught.exception.code, caught.exception.status), ("unauthorized", 401))
            self.assertEqual(len(opener.calls), 1)
            self.assertEqual(talkgen.RemoteClient(server.url, token="py-test-token-0123456789", **FAST).get_stats()["jobs"], 0)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
